"""The Fellegi-Sunter matcher: m and u probabilities by EM on agreement-pattern counts.

Each candidate pair is a vector of comparison levels (``-1`` missing, ``0``
else, higher = stronger agreement). EM runs on the counts of the distinct
patterns (the sufficient statistics, as fastLink and Splink do), so its cost
does not grow with the number of pairs. Missing levels drop out of the
likelihood (missing at random) instead of counting as disagreement. ``u``
probabilities can be fixed from random pairs (:func:`estimate_u`), which are
nearly all non-matches, and EM then learns only ``m`` and the prior
``lambda_``.

The estimator follows scikit-learn's contract: parameters in ``__init__``,
learned attributes end in ``_``, ``fit`` returns ``self``; it works with
``clone`` and ``get_params``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_array, check_is_fitted

_EPS = 1e-6


def _looked_up(weights: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Each pair's weight of its level (0 where missing, -1, or beyond the model's)."""
    if levels.dtype == np.int8:
        # a 256-slot table indexed by the levels' bytes (-1 is byte 255): no mask, no copy
        table = np.zeros(256)
        table[: min(len(weights), 128)] = weights[:128]
        return table[levels.view(np.uint8)]
    table = np.concatenate([[0.0], weights])
    return table[np.where(levels < len(weights), levels + 1, 0)]


#: How a comparison's m/u may vary with its level: True (never falling), "ends" (none
#: above the strongest level nor below the weakest), False (free).
Monotone = bool | Literal["ends"]


def monotone_flag(value: object) -> Monotone | None:
    """``value`` as a :data:`Monotone` flag (a numpy boolean as a boolean), None if it
    is none: what the estimator, settings files and model files accept."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    return "ends" if value == "ends" else None


class FellegiSunter(ClassifierMixin, BaseEstimator):
    """Unsupervised Fellegi-Sunter matcher fitted by EM.

    Parameters
    ----------
    max_iter
        Maximum EM iterations.
    tol
        Stop when the log-likelihood improves by less than this.
    prior
        Starting value of the match prior lambda.
    m_init
        Starting m probability of a comparison's strongest level (spread over
        the rest); u starts from the observed level frequencies.
    u_probabilities
        Fixed u per comparison (a list of arrays, one value per level from 0 up),
        e.g. from :func:`estimate_u`; ``None`` learns u by EM too.
    threshold
        Match probability at or above which :meth:`predict` says "match".
    monotone
        How m/u may vary with the level, for all comparisons or one per comparison:
        ``"ends"`` (default): no level weighs more than the strongest (exact
        agreement) nor less than the weakest ("else"); the levels between are a
        comparison's kinds of near agreement, not a scale: a date 40 days off is
        weaker evidence than a date known only to its year that agrees, when
        registers rarely mistype a day. ``True``: m/u never falls as the level
        rises (levels pooled where it would); ``False``: free.
    m_smoothing
        Share of each comparison's m mass spread evenly over its levels (a
        Dirichlet prior): no level is ever impossible for a match, which keeps EM
        from fitting the quirks of one register pair (a weight of -20 for a NIK typo
        nobody happened to make). A level gets at most ``m_smoothing`` times its u,
        so one that no match showed weighs at most ``log2(m_smoothing)`` bits (-9 at
        the default): spread evenly regardless, a level rare among random pairs (one
        district, another village) weighed +7 bits with no match behind it.
    m_probabilities
        Fixed m per comparison (as ``u_probabilities``), e.g. from a labelled
        sample or an earlier run; EM then learns only u and lambda.
    n_levels
        Number of levels per comparison (``len(comparison.levels)``), so levels
        absent from this data still get parameters; default: as observed.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> match = rng.random(5000) < 0.1
    >>> X = np.where(match[:, None], rng.random((5000, 3)) < 0.9, rng.random((5000, 3)) < 0.1)
    >>> model = FellegiSunter().fit(X.astype(int))
    >>> bool(abs(model.lambda_ - match.mean()) < 0.02), model.converged_
    (True, True)
    """

    def __init__(
        self,
        max_iter: int = 200,
        tol: float = 1e-6,
        prior: float = 0.05,
        m_init: float = 0.9,
        u_probabilities: Sequence[np.ndarray] | None = None,
        threshold: float = 0.5,
        monotone: Monotone | Sequence[Monotone] = "ends",
        m_smoothing: float = 0.002,
        n_levels: Sequence[int] | None = None,
        m_probabilities: Sequence[np.ndarray] | None = None,
    ) -> None:
        self.max_iter = max_iter
        self.tol = tol
        self.prior = prior
        self.m_init = m_init
        self.u_probabilities = u_probabilities
        self.threshold = threshold
        self.monotone = monotone
        self.m_smoothing = m_smoothing
        self.n_levels = n_levels
        self.m_probabilities = m_probabilities

    def fit(self, X, y=None, sample_weight=None) -> FellegiSunter:
        """Estimate ``m_``, ``u_`` and ``lambda_`` by EM on the distinct level patterns.

        ``sample_weight``: how many pairs each row stands for, so that EM can run on
        pattern counts summed elsewhere (over the partitions of a distributed run):
        fitting distinct rows with their counts gives the model of the rows repeated.
        """
        # scikit-learn's checks: sparse, complex, NaN/inf, 1-D or empty X raise ValueError
        levels = _as_levels(check_array(X, dtype=None))
        weight = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        if weight is not None and (weight.shape != (len(levels),) or (weight < 0).any()):
            raise ValueError("sample_weight needs one non-negative count per row of X")
        if weight is not None and not weight.sum() > 0:
            raise ValueError("sample_weight is zero for every row: no pairs to fit")
        self.feature_names_in_ = _names(X, levels.shape[1])
        self.n_features_in_ = levels.shape[1]
        self.n_levels_ = np.maximum(levels.max(axis=0, initial=0) + 1, 2).astype(int)
        for fixed in (self.u_probabilities, self.m_probabilities):
            if fixed is not None:
                self.n_levels_ = np.maximum(self.n_levels_, [len(p) for p in fixed])
        if self.n_levels is not None:
            declared = np.asarray(self.n_levels, dtype=int)
            if len(declared) != len(self.n_levels_) or (self.n_levels_ > declared).any():
                raise ValueError("levels exceed the declared n_levels of their comparison")
            self.n_levels_ = declared
        patterns, counts = _pattern_counts(levels, weight)
        m, u = self._initial(patterns, counts)
        lam = float(self.prior)
        history: list[float] = []
        for _ in range(self.max_iter):
            lm, lu = _log_lik(patterns, m), _log_lik(patterns, u)
            g, ll = _posterior(lm, lu, lam)
            history.append(float((counts * ll).sum()))
            lam = float(np.clip((counts * g).sum() / counts.sum(), _EPS, 1 - _EPS))
            if self.m_probabilities is None:
                m = _m_step(patterns, counts * g, self.n_levels_, self.m_smoothing, u)
            if self.u_probabilities is None:
                u = _m_step(patterns, counts * (1 - g), self.n_levels_)
            if len(history) > 1 and abs(history[-1] - history[-2]) < self.tol:
                break
        # levels whose weights would fall as agreement rises are pooled once EM has
        # converged (inside the loop the pooling makes EM cycle instead of converge)
        if self.m_probabilities is None:
            m = [
                _monotone_ratio(mk, uk, how)
                for mk, uk, how in zip(m, u, self._ordered(), strict=True)
            ]
        self.m_, self.u_, self.lambda_ = m, u, lam
        self.n_iter_ = len(history)
        self.log_likelihood_ = history[-1] if history else float("nan")
        self.converged_ = len(history) > 1 and abs(history[-1] - history[-2]) < self.tol
        self.classes_ = np.array([0, 1])
        return self

    @classmethod
    def from_parameters(
        cls,
        m: Sequence[np.ndarray],
        u: Sequence[np.ndarray],
        lambda_: float,
        names: Sequence[str],
        params: dict | None = None,
    ) -> FellegiSunter:
        """A fitted matcher from known m, u and prior (estimated elsewhere, e.g. u from
        random pairs and m from EM sessions: :mod:`bansos_linkage.linkage.training`)."""
        model = cls(**(params or {}))
        model.m_ = [np.asarray(x, dtype=float) for x in m]
        model.u_ = [np.asarray(x, dtype=float) for x in u]
        model.lambda_ = float(lambda_)
        model.n_levels_ = np.array([len(x) for x in model.m_])
        model.feature_names_in_ = np.asarray([str(n) for n in names], dtype=object)
        model.n_features_in_ = len(model.m_)
        model.n_iter_, model.converged_, model.log_likelihood_ = 0, True, float("nan")
        model.classes_ = np.array([0, 1])
        return model

    def _ordered(self) -> list[Monotone]:
        n = len(self.n_levels_)
        given = self.monotone
        flags = [given] * n if isinstance(given, bool | str) else list(given)
        if len(flags) != n:
            raise ValueError(f"monotone has {len(flags)} flags for {n} comparisons")
        read = []
        for flag in flags:
            how = monotone_flag(flag)
            if how is None:
                raise ValueError(f"monotone must be true, false or 'ends', not {flag!r}")
            read.append(how)
        return read

    def _initial(
        self, patterns: np.ndarray, counts: np.ndarray
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        m, u = [], []
        for k, n in enumerate(self.n_levels_):
            if self.m_probabilities is not None:
                mk = np.asarray(self.m_probabilities[k], dtype=float)
                m.append(np.clip(np.pad(mk, (0, n - len(mk))), _EPS, 1))
            else:
                top = np.full(n, (1 - self.m_init) / max(n - 1, 1))
                top[-1] = self.m_init
                m.append(top)
            if self.u_probabilities is not None:
                uk = np.asarray(self.u_probabilities[k], dtype=float)
                u.append(np.clip(np.pad(uk, (0, n - len(uk))), _EPS, 1))
            else:
                col = patterns[:, k]
                seen = col >= 0
                freq = np.bincount(col[seen], weights=counts[seen], minlength=n) + 1.0
                u.append(freq / freq.sum())
        return m, u

    def match_weight(self, X) -> np.ndarray:
        """log2 of the posterior odds of a match (prior included) per pair."""
        check_is_fitted(self)
        # no copy of integer levels (check_array would copy a frame's); zero pairs score
        # to an empty array
        levels = np.asarray(X) if isinstance(X, pd.DataFrame) else X
        levels = check_array(levels, dtype=None, ensure_min_samples=0)
        if levels.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {levels.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input"
            )
        if not np.issubdtype(levels.dtype, np.integer):
            levels = _as_levels(levels)
        elif len(levels) and levels.min() < -1:
            raise ValueError("comparison levels must be >= -1 (-1 = missing)")
        # one lookup table per comparison: millions of pairs are scored without widening
        # their int8 levels
        out = np.full(len(levels), self._prior_nats())
        for k in range(len(self.m_)):
            out += _looked_up(self._level_nats(k), levels[:, k])
        return out / np.log(2)

    def _prior_nats(self) -> float:
        return float(np.log(self.lambda_ / (1 - self.lambda_)))

    def _level_nats(self, k: int) -> np.ndarray:
        return np.log(np.maximum(self.m_[k], _EPS)) - np.log(np.maximum(self.u_[k], _EPS))

    def prior_weight(self) -> float:
        """log2 of the prior odds of a match (``lambda_``)."""
        check_is_fitted(self)
        return self._prior_nats() / np.log(2)

    def level_weights(self, k: int) -> np.ndarray:
        """log2(m / u) of each level of the ``k``-th comparison: the bits it adds."""
        check_is_fitted(self)
        return self._level_nats(k) / np.log(2)

    def comparison_weight(self, X, k: int) -> np.ndarray:
        """The bits the ``k``-th comparison adds to each pair's weight (0 where missing)."""
        return _looked_up(self.level_weights(k), np.asarray(X)[:, k])

    def predict_proba(self, X) -> np.ndarray:
        """Columns: P(non-match), P(match)."""
        w = self.match_weight(X) * np.log(2)
        p = 1.0 / (1.0 + np.exp(-np.clip(w, -700, 700)))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        """1 where the match probability reaches ``threshold``."""
        return (self.predict_proba(X)[:, 1] >= self.threshold).astype(int)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # X holds comparison levels: small integers, as a categorical input
        tags.input_tags.categorical = True
        # EM learns from X alone; y is accepted for the API and ignored
        tags.target_tags.required = False
        return tags

    def parameters(self, level_names: Mapping[str, Sequence[str]] | None = None) -> pd.DataFrame:
        """m, u and the match weight log2(m/u) of every comparison level.

        Columns ``comparison``, ``level`` (0 = else, up to the strongest), ``m``, ``u``,
        ``match_weight``; with ``level_names`` (comparison -> level names by level
        number, as :func:`bansos_linkage.linkage.explain.level_names` gives them, or
        ``Linker.parameters()`` does) also ``level_name`` after ``level``. Levels a
        mapping does not name keep their number as name.

        Examples
        --------
        >>> model = FellegiSunter.from_parameters([[0.1, 0.9]], [[0.8, 0.2]], 0.1, ["nik"])
        >>> model.parameters({"nik": ("else", "exact")})[["level", "level_name"]].values.tolist()
        [[0, 'else'], [1, 'exact']]
        """
        check_is_fitted(self)
        rows = []
        for k, name in enumerate(self.feature_names_in_):
            names = None if level_names is None else level_names.get(str(name))
            for level in range(self.n_levels_[k]):
                m, u = self.m_[k][level], self.u_[k][level]
                row = {"comparison": name, "level": level}
                if level_names is not None:
                    known = names is not None and level < len(names)
                    row["level_name"] = str(names[level]) if names and known else str(level)
                row.update(
                    {
                        "m": m,
                        "u": u,
                        "match_weight": float(np.log2(max(m, _EPS) / max(u, _EPS))),
                    }
                )
                rows.append(row)
        return pd.DataFrame(rows)


def expected_errors(probabilities: np.ndarray, threshold: float) -> dict[str, float]:
    """Label-free estimate of false and missed links at ``threshold`` (as fastLink does).

    Expected false links are the summed non-match probabilities of the pairs
    linked; expected missed links the summed match probabilities of the pairs
    not linked.
    """
    p = np.asarray(probabilities, dtype=float)
    linked = p >= threshold
    false_links = float((1 - p[linked]).sum())
    missed = float(p[~linked].sum())
    n_links = int(linked.sum())
    expected_matches = float(p.sum())
    return {
        "links": n_links,
        "expected_false_links": false_links,
        "expected_missed_links": missed,
        "fdr": false_links / n_links if n_links else 0.0,
        "fnr": missed / expected_matches if expected_matches else 0.0,
    }


def estimate_u(levels_of_random_pairs, n_levels: Sequence[int] | None = None) -> list[np.ndarray]:
    """u probabilities from the levels of random (almost surely non-matching) pairs."""
    levels = _as_levels(levels_of_random_pairs)
    if n_levels is None:
        n_levels = np.maximum(levels.max(axis=0, initial=0) + 1, 2)
    out = []
    for k, n in enumerate(n_levels):
        col = levels[:, k]
        freq = np.bincount(col[col >= 0], minlength=int(n)).astype(float) + 0.5
        out.append(freq / freq.sum())
    return out


def probability(weight: np.ndarray | float) -> np.ndarray:
    """Match weights (log2 odds) as probabilities; beyond +-1000 bits they are 0 or 1."""
    return 1.0 / (1.0 + np.exp2(-np.clip(np.asarray(weight, dtype=float), -1000, 1000)))


def logit2(p: float) -> float:
    """A probability as log2 odds: the match weight at which a pair reaches ``p``."""
    return float(np.log2(p / (1 - p)))


def _pattern_counts(
    levels: np.ndarray, weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct level rows and their counts (summed ``weight``: rows standing for
    several pairs), via one integer code per row (mixed radix): far faster than
    ``np.unique(axis=0)`` on millions of pairs."""
    if not len(levels):
        return levels, np.zeros(0, dtype=float)
    radix = levels.max(axis=0) + 2  # levels -1..max -> digits 0..max+1
    if float(np.prod(radix.astype(float))) >= 2**62:
        patterns, inverse = np.unique(levels, axis=0, return_inverse=True)
        codes = inverse.ravel()
    else:
        place = np.cumprod(np.r_[1, radix[:-1]]).astype(np.int64)
        values, codes = np.unique((levels + 1) @ place, return_inverse=True)
        patterns = (values[:, None] // place[None, :]) % radix[None, :] - 1
    counts = np.bincount(codes, weights=weight, minlength=len(patterns)).astype(float)
    return patterns.astype(np.int64), counts


def _as_levels(X) -> np.ndarray:
    levels = np.asarray(X)
    if levels.ndim != 2:
        raise ValueError("expected a 2-D array of comparison levels (pairs x comparisons)")
    if not np.issubdtype(levels.dtype, np.integer):
        if not np.all(np.isfinite(levels.astype(float))):
            raise ValueError("comparison levels must be finite integers (-1 = missing)")
        levels = levels.astype(np.int64)
    if (levels < -1).any():
        raise ValueError("comparison levels must be >= -1 (-1 = missing)")
    return levels.astype(np.int64)


def _names(X, n: int) -> np.ndarray:
    if isinstance(X, pd.DataFrame):
        return np.asarray([str(c) for c in X.columns], dtype=object)
    return np.asarray([f"x{k}" for k in range(n)], dtype=object)


def _log_lik(levels: np.ndarray, probs: list[np.ndarray]) -> np.ndarray:
    out = np.zeros(len(levels))
    for k, p in enumerate(probs):
        col = levels[:, k]
        ok = (col >= 0) & (col < len(p))
        out[ok] += np.log(np.maximum(p[col[ok]], _EPS))
    return out


def _posterior(lm: np.ndarray, lu: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
    a = lm + np.log(lam)
    b = lu + np.log(1 - lam)
    top = np.maximum(a, b)
    log_total = top + np.log(np.exp(a - top) + np.exp(b - top))
    return np.exp(a - log_total), log_total


def _m_step(
    patterns: np.ndarray,
    weights: np.ndarray,
    n_levels: np.ndarray,
    smoothing: float = 0.0,
    toward: Sequence[np.ndarray] | None = None,
) -> list[np.ndarray]:
    """Level probabilities from weighted pattern counts; ``smoothing`` spreads that share
    of the mass evenly over the levels (a Dirichlet prior), so no level of a real
    register is ever impossible for a match, but never more onto a level than
    ``smoothing`` times its ``toward`` (u): a level no match showed then weighs at most
    ``log2(smoothing)``, however rare among non-matches."""
    out = []
    for k, n in enumerate(n_levels):
        col = patterns[:, k]
        ok = col >= 0
        mass = np.bincount(col[ok], weights=weights[ok], minlength=int(n)) + _EPS
        mass = mass / mass.sum()
        prior = np.full(int(n), 1.0 / n)
        if toward is not None:
            prior = np.minimum(prior, toward[k])
        out.append((1 - smoothing * prior.sum()) * mass + smoothing * prior)
    return out


def _monotone_ratio(m: np.ndarray, u: np.ndarray, how: Monotone = True) -> np.ndarray:
    """m adjusted so that m/u keeps the order ``how`` asks (see ``FellegiSunter``'s
    ``monotone``): pooled levels share one ratio.

    ``True``: m/u never falls as the level rises (pool adjacent violators); ``"ends"``:
    no level above the strongest nor below the weakest; ``False``: m as it is.
    """
    if how is False:
        return m
    return _tie(m, u, _end_blocks(m, u) if how == "ends" else _monotone_blocks(m, u))


def _end_blocks(m: np.ndarray, u: np.ndarray) -> list[list[int]]:
    """Levels to pool so that none weighs more than the strongest (the last) nor less
    than the weakest (the first): each violator joins that end, until none is left."""
    if len(m) < 3:
        return _monotone_blocks(m, u)
    low, high, free = [0], [len(m) - 1], list(range(1, len(m) - 1))
    while True:
        r_low, r_high = m[low].sum() / u[low].sum(), m[high].sum() / u[high].sum()
        if r_low > r_high:  # disagreement weighs more than agreement: pool in order
            return _monotone_blocks(m, u)
        above = [j for j in free if m[j] / u[j] > r_high]
        below = [j for j in free if m[j] / u[j] < r_low]
        if not above and not below:
            return [sorted(low), *([j] for j in free), sorted(high)]
        high, low = high + above, low + below
        free = [j for j in free if j not in above and j not in below]


def _monotone_blocks(m: np.ndarray, u: np.ndarray) -> list[list[int]]:
    """Runs of adjacent levels to pool so that m/u is non-decreasing (PAVA)."""
    blocks: list[list[int]] = []
    for j in range(len(m)):
        blocks.append([j])
        while len(blocks) > 1:
            a, b = blocks[-2], blocks[-1]
            if m[a].sum() / u[a].sum() <= m[b].sum() / u[b].sum():
                break
            blocks[-2:] = [a + b]
    return blocks


def _tie(m: np.ndarray, u: np.ndarray, blocks: list[list[int]]) -> np.ndarray:
    """m with one m/u ratio per block: each block's m mass spread in proportion to u."""
    out = np.empty_like(m)
    for block in blocks:
        out[block] = u[block] * m[block].sum() / u[block].sum()
    return out / out.sum()


def term_frequency_adjustment(
    values: np.ndarray, agrees: np.ndarray, reference: np.ndarray, u_exact: float
) -> np.ndarray:
    """Extra log2 weight for exact agreement on a value, by how common the value is.

    Agreement on a rare name is stronger evidence than agreement on SITI or
    MUHAMMAD: the average u of exact agreement (``u_exact``) is replaced by the
    value's own frequency in ``reference`` (e.g. the names of the right-hand
    register), as Splink's term-frequency adjustment does. Pairs that do not
    agree exactly get 0.

    Examples
    --------
    >>> ref = np.array(["SITI"] * 98 + ["KARTINI", "SUPARMI"])
    >>> adj = term_frequency_adjustment(np.array(["SITI", "KARTINI"]), np.array([True, True]),
    ...                                 ref, u_exact=0.05)
    >>> bool(adj[0] < 0 < adj[1])
    True
    """
    counts = pd.Series(reference).value_counts(dropna=True)
    freq = pd.Series(values).map(counts / counts.sum()).to_numpy(dtype=float)
    freq = np.where(np.isnan(freq), 1.0 / max(len(reference), 1), freq)
    return np.where(np.asarray(agrees, dtype=bool), frequency_bits(freq, u_exact), 0.0)


def frequency_bits(freq: np.ndarray, typical: float, clip: float | None = None) -> np.ndarray:
    """log2(typical / freq): the term-frequency bits of exact agreement on values with
    relative frequencies ``freq`` (NaN = unknown: 0 bits), optionally clipped to
    +-``clip``.

    Examples
    --------
    >>> frequency_bits(np.array([0.25, 0.01, np.nan]), typical=0.05).round(2).tolist()
    [-2.32, 2.32, 0.0]
    """
    freq = np.where(np.isfinite(freq), freq, max(typical, _EPS))
    bits = np.log2(max(typical, _EPS) / np.maximum(freq, _EPS))
    return bits if clip is None else np.clip(bits, -clip, clip)


__all__ = [
    "logit2",
    "probability",
    "FellegiSunter",
    "estimate_u",
    "Monotone",
    "monotone_flag",
    "expected_errors",
    "frequency_bits",
    "term_frequency_adjustment",
]
