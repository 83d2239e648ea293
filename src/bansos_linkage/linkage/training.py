"""Parameter estimation that does not depend on the blocking.

The Fellegi-Sunter weight of a pair is ``log2(m / u)`` summed over comparisons plus the
prior. Estimated by EM on the candidate pairs alone, both drift with the blocking:
non-matches among candidates agree on whatever brought them in, so ``u`` comes out
inflated, the prior is the candidates' match share, and a pair's score changes when a
rule is added. Here, as in Splink and fastLink:

- ``u`` comes from random pairs of the two registers (almost all non-matches), with the
  probability of exact agreement computed from the value frequencies when the sample
  is too small to see it (``sum_v p_left(v) * p_right(v)``);
- ``m`` comes from EM with ``u`` fixed, in *sessions*: each session keeps the candidate
  pairs that agree on one comparison and learns ``m`` of the others only, so no
  comparison confirms the pairs it selected (:data:`DEFAULT_SESSIONS`);
- the prior ``lambda`` is the match probability of a random pair of the two registers:
  the fixed point of ``lambda = sum(p_i) / (n_left * n_right)`` over the candidates
  (pairs the blocking left out are taken as non-matches).

The resulting probabilities mean the same whichever rule found a pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bansos_linkage.linkage.encoding import same_vocabulary
from bansos_linkage.linkage.fellegi_sunter import FellegiSunter, logit2

#: Number of random pairs compared to estimate u.
DEFAULT_U_PAIRS = 300_000
_MIN_EXACT_COUNT = 50  # below this many exact agreements, u(exact) is computed, not sampled
_MIN_SESSION_PAIRS = 30


@dataclass(frozen=True)
class Session:
    """An EM session: the candidate pairs at or above ``min_level`` of every comparison in
    ``select`` (levels by name), learning ``m`` of every comparison not in ``exclude``.

    ``exclude`` always contains ``select``; comparisons whose evidence is tied to the
    selecting ones (the NIK encodes the birth date) are excluded too.
    """

    select: tuple[tuple[str, tuple[str, ...]], ...]
    exclude: tuple[str, ...]

    @property
    def name(self) -> str:
        return " & ".join(f"{label} in {'/'.join(levels)}" for label, levels in self.select)


#: Sessions for the default DTKS <-> Regsosek comparisons: pairs that share a NIK teach
#: everything but the NIK and the date it encodes; pairs that share a name and a birth
#: date teach the NIK and the household; pairs that share a name and a family card
#: teach the birth date.
DEFAULT_SESSIONS: tuple[Session, ...] = (
    Session(select=(("nik", ("exact",)),), exclude=("nik", "birth_date")),
    Session(
        select=(("name", ("exact", "token_set")), ("birth_date", ("exact",))),
        exclude=("name", "birth_date"),
    ),
    Session(
        select=(("name", ("exact", "token_set")), ("household", ("same_kk",))),
        exclude=("name", "household"),
    ),
)


def random_pairs(n_left: int, n_right: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``size`` random (left, right) position pairs, sorted by left then right."""
    rng = np.random.default_rng(seed)
    size = int(min(size, n_left * n_right))
    a = rng.integers(0, n_left, size) if n_left else np.zeros(0, np.int64)
    b = rng.integers(0, n_right, size) if n_right else np.zeros(0, np.int64)
    if n_left * n_right < 2**62:  # one integer key: a stable sort of it is the lexsort
        order = np.argsort(a * n_right + b, kind="stable")
    else:
        order = np.lexsort((b, a))
    return a[order], b[order]


def exact_agreement(left: pd.Series, right: pd.Series) -> float:
    """Probability that a random pair agrees exactly on a column (both present):
    ``sum_v p_left(v) * p_right(v)``.

    Examples
    --------
    >>> exact_agreement(pd.Series(["A", "A", "B", None]), pd.Series(["A", "C"]))
    0.3333333333333333
    """
    if same_vocabulary(left, right):  # encoded: count the shared codes
        ca, cb = left.array.codes, right.array.codes
        size = len(left.dtype.categories)  # type: ignore[union-attr]
        pa = np.bincount(ca[ca >= 0], minlength=size) / max(int((ca >= 0).sum()), 1)
        pb = np.bincount(cb[cb >= 0], minlength=size) / max(int((cb >= 0).sum()), 1)
        return float(pa @ pb)
    a = left.astype("string").dropna()
    b = right.astype("string").dropna()
    if not len(a) or not len(b):
        return 0.0
    share_a = a.value_counts(normalize=True)
    share_b = b.value_counts(normalize=True)
    common = share_a.index.intersection(share_b.index)
    return float((share_a[common] * share_b[common]).sum())


def exact_agreement_within(values: pd.Series) -> float:
    """Probability that two different records of one register, drawn at random, agree
    exactly on a column (both present): ``sum_v c_v (c_v - 1) / (n (n - 1))``.

    Examples
    --------
    >>> exact_agreement_within(pd.Series(["A", "A", "B", None]))
    0.3333333333333333
    """
    codes = pd.factorize(values.astype("string"))[0]
    counts = np.bincount(codes[codes >= 0]).astype(float)
    n = counts.sum()
    return float((counts * (counts - 1)).sum() / (n * (n - 1))) if n > 1 else 0.0


def u_from_random(
    levels: np.ndarray,
    n_levels: Sequence[int],
    exact: dict[int, float] | None = None,
) -> list[np.ndarray]:
    """u per comparison from the levels of random pairs (half a pair of pseudo-count per
    level, so no level is impossible); ``exact`` gives comparison k's probability of
    its strongest level where the sample saw it fewer than 50 times."""
    exact = exact or {}
    out = []
    for k, n in enumerate(n_levels):
        col = levels[:, k]
        counts = np.bincount(col[col >= 0], minlength=int(n)).astype(float)
        u = (counts + 0.5) / (counts.sum() + 0.5 * n)
        if k in exact and counts[-1] < _MIN_EXACT_COUNT and 0 < exact[k] < 1:
            rest = u[:-1] / u[:-1].sum()
            u = np.r_[rest * (1 - exact[k]), exact[k]]
        out.append(u)
    return out


def session_mask(levels: np.ndarray, labels: Sequence[str], level_names, session: Session):
    """The candidate pairs a session learns from."""
    keep = np.ones(len(levels), dtype=bool)
    for label, wanted in session.select:
        if label not in labels:
            return None
        k = labels.index(label)
        names = level_names[k]
        codes = [len(names) - 1 - names.index(w) for w in wanted if w in names]
        keep &= np.isin(levels[:, k], codes)
    return keep


def estimate_m(
    levels: np.ndarray,
    labels: Sequence[str],
    level_names: Sequence[tuple[str, ...]],
    u: list[np.ndarray],
    sessions: Sequence[Session],
    template: FellegiSunter,
    counts: np.ndarray | None = None,
) -> tuple[list[np.ndarray | None], list[dict]]:
    """m per comparison, averaged over the sessions that learned it (None: none did).
    ``counts``: how many candidate pairs each row of ``levels`` stands for (rows
    aggregated by :func:`pattern_counts`; default one each)."""
    weight = np.ones(len(levels)) if counts is None else np.asarray(counts, dtype=float)
    learned: list[list[np.ndarray]] = [[] for _ in labels]
    report = []
    for session in sessions:
        mask = session_mask(levels, labels, level_names, session)
        pairs = 0 if mask is None else int(round(weight[mask].sum()))
        if mask is None or pairs < _MIN_SESSION_PAIRS:
            report.append({"session": session.name, "pairs": pairs})
            continue
        cols = [k for k, label in enumerate(labels) if label not in session.exclude]
        params = template.get_params()
        params.update(
            u_probabilities=[u[k] for k in cols],
            m_probabilities=None,
            n_levels=[len(level_names[k]) for k in cols],
            monotone=_pick(params["monotone"], cols),
            prior=0.5,
        )
        model = FellegiSunter(**params).fit(levels[mask][:, cols], sample_weight=weight[mask])
        for j, k in enumerate(cols):
            learned[k].append(model.m_[j])
        report.append(
            {
                "session": session.name,
                "pairs": pairs,
                "match_share": round(float(model.lambda_), 4),
                "learned": [labels[k] for k in cols],
                "iterations": int(model.n_iter_),
            }
        )
    m = [np.mean(ms, axis=0) if ms else None for ms in learned]
    return m, report


def _pick(monotone, cols: list[int]):
    return monotone if isinstance(monotone, bool | str) else [monotone[k] for k in cols]


def default_m(n_levels: int, top: float = 0.9) -> np.ndarray:
    """m for a comparison no session could learn: most mass on the strongest level."""
    m = np.full(n_levels, (1 - top) / max(n_levels - 1, 1))
    m[-1] = top
    return m


def global_prior(
    weights_without_prior: np.ndarray,
    n_left: int,
    n_right: float,
    iterations: int = 100,
    counts: np.ndarray | None = None,
) -> float:
    """The probability that a random pair of the two registers matches, by fixed point
    over the candidates' weights (``log2(m/u)`` sums); non-candidates count as
    non-matches. ``counts``: how many candidates each weight stands for."""
    total = float(n_left) * float(n_right)
    if not total or not len(weights_without_prior):
        return 1e-6
    lam = min(n_left, n_right) / total
    w = np.asarray(weights_without_prior, dtype=float)
    p = np.empty_like(w)  # one buffer for all iterations: millions of pairs
    for _ in range(iterations):
        _probability_into(w, logit2(lam), p)
        expected = p.sum() if counts is None else float(p @ np.asarray(counts, dtype=float))
        new = float(np.clip(expected / total, 1e-12, 0.5))
        if abs(new - lam) <= 1e-6 * lam:
            lam = new
            break
        lam = new
    return lam


def _probability_into(weights: np.ndarray, shift: float, out: np.ndarray) -> np.ndarray:
    """``probability(weights + shift)`` written into ``out``, the same operations in
    place (no temporary arrays)."""
    np.add(weights, shift, out=out)
    np.clip(out, -1000, 1000, out=out)
    np.negative(out, out=out)
    np.exp2(out, out=out)
    np.add(1.0, out, out=out)
    return np.divide(1.0, out, out=out)


def fit_model(
    candidate_levels: np.ndarray,
    u: list[np.ndarray],
    labels: Sequence[str],
    level_names: Sequence[tuple[str, ...]],
    extra_bits: np.ndarray,
    n_left: int,
    n_right: float,
    template: FellegiSunter,
    sessions: Sequence[Session] = DEFAULT_SESSIONS,
    counts: np.ndarray | None = None,
) -> tuple[FellegiSunter, list[dict]]:
    """m by EM sessions (u fixed), then the prior by fixed point: a fitted matcher and
    what each session learned. ``extra_bits`` are per-candidate bits added to the
    weights (term frequencies) when the prior is solved for. ``counts``: how many
    candidates each row stands for, when the rows are :func:`pattern_counts` (summed
    over partitions, say): the model is the one fitted on the rows repeated."""
    m, report = estimate_m(candidate_levels, labels, level_names, u, sessions, template, counts)
    n_levels = [len(names) for names in level_names]
    if any(mk is None for mk in m) and len(candidate_levels):
        # comparisons no session learned (custom comparisons, or sessions that did not
        # apply): EM on all candidate pairs, u still fixed from random pairs
        params = template.get_params()
        params.update(u_probabilities=u, m_probabilities=None, n_levels=n_levels)
        fallback = FellegiSunter(**params).fit(candidate_levels, sample_weight=counts)
        m = [fallback.m_[k] if mk is None else mk for k, mk in enumerate(m)]
        pairs = len(candidate_levels) if counts is None else int(round(float(np.sum(counts))))
        report.append({"session": "all candidate pairs", "pairs": pairs})
    filled = [mk if mk is not None else default_m(n) for mk, n in zip(m, n_levels, strict=True)]
    model = FellegiSunter.from_parameters(filled, u, 0.5, labels, params=template.get_params())
    weights = model.match_weight(candidate_levels) + extra_bits  # prior 0.5: no prior term
    model.lambda_ = global_prior(weights, n_left, n_right, counts=counts)
    return model, report


def pattern_counts(
    levels: np.ndarray, extra_bits: np.ndarray, counts: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (levels, extra bits) rows of some candidate pairs and how many pairs
    each stands for: all that :func:`fit_model` needs of them. A partition's pairs
    reduce to a few thousand rows; rows of several partitions (concatenated, with
    their ``counts``) reduce again, and the model fitted on the result is the model
    of all the pairs.

    Examples
    --------
    >>> levels = np.array([[1, 0], [1, 0], [0, 0]], dtype=np.int8)
    >>> rows, bits, n = pattern_counts(levels, np.zeros(3, dtype=np.float32))
    >>> rows.tolist(), n.tolist()
    ([[0, 0], [1, 0]], [1.0, 2.0])
    """
    weight = np.ones(len(levels)) if counts is None else np.asarray(counts, dtype=float)
    table = pd.DataFrame(np.asarray(levels)).assign(_bits=np.asarray(extra_bits), _n=weight)
    keys = [*range(np.asarray(levels).shape[1]), "_bits"]
    summed = table.groupby(keys, sort=True, dropna=False)["_n"].sum().reset_index()
    rows = summed[keys[:-1]].to_numpy(dtype=np.asarray(levels).dtype)
    return rows, summed["_bits"].to_numpy(dtype=np.float32), summed["_n"].to_numpy(dtype=float)


__all__ = [
    "DEFAULT_SESSIONS",
    "DEFAULT_U_PAIRS",
    "Session",
    "default_m",
    "estimate_m",
    "exact_agreement",
    "exact_agreement_within",
    "fit_model",
    "global_prior",
    "pattern_counts",
    "random_pairs",
    "session_mask",
    "u_from_random",
]
