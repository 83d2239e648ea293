"""The Linker: blocking -> comparisons -> Fellegi-Sunter -> links, with good defaults.

Every stage is also a function of its own module; the Linker chains them and
keeps the memory bounded: candidate pairs are generated rule by rule, compared
and scored in chunks of ``chunk_size`` pairs, and only the compact per-pair
results (positions, int8 levels, one weight) are kept for the whole run.

Parameters are estimated so that they do not depend on the blocking
(:mod:`bansos_linkage.linkage.training`): u from random pairs, m by EM sessions, the
prior as the match probability of a random pair. Match weights include a
term-frequency adjustment for exact name agreement, consistent with that u:
``log2(u_exact / frequency of this name)``, clipped to +-``TF_CLIP`` bits, so
agreeing on a rare name counts for more than agreeing on SITI or MUHAMMAD.

Comparisons and blocking rules whose columns neither register has are left out
at ``fit`` (``dropped_`` says which, and the run summary repeats it).
"""

from __future__ import annotations

import inspect
import multiprocessing as mp
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from bansos_linkage.errors import EmptyInputError, SchemaError
from bansos_linkage.linkage import model_file, training
from bansos_linkage.linkage.blocking import (
    DEFAULT_RULES,
    Rule,
    blocking_keys,
    family_codes,
    family_pairs,
    iter_candidate_pairs,
    rule_keys,
)
from bansos_linkage.linkage.comparisons import (
    DEFAULT_COMPARISONS,
    Comparison,
    DateComparison,
    ExactComparison,
    NameComparison,
    NikComparison,
    RegionComparison,
    add_derived_columns,
    columns_read,
    columns_used,
    compare,
    derived_columns,
    vocabulary_groups,
)
from bansos_linkage.linkage.encoding import encode_columns
from bansos_linkage.linkage.fellegi_sunter import FellegiSunter, expected_errors, frequency_bits
from bansos_linkage.linkage.ml_matcher import (
    MLMatcher,
    choose_matcher,
    matcher_to_dict,
    pair_features,
)
from bansos_linkage.linkage.resolve import MODES, link_probabilities, resolve_links

#: Default link threshold on the match probability. The probabilities are estimated
#: independently of the blocking (u from random pairs, the prior of a random pair), so
#: 0.5 means what it says: a link is more likely right than wrong.
DEFAULT_THRESHOLD = 0.5
TF_CLIP = 5.0
#: The match weight given to reviewed pairs (+ for a match, - for a non-match).
REVIEWED_BITS = 60.0
#: Where a register says which family a record belongs to, in order of preference.
FAMILY_COLUMNS = ("household_id", "kk_number")
#: The prepared registers' column of family codes, and the rule name of family pairs.
FAMILY = "_family"
FAMILY_RULE = "family"


Progress = Callable[[int, int, str], None]


@dataclass
class LinkResult:
    """Everything a run produces; every input record is in exactly one output.

    ``links``: ``left_id, right_id, match_probability, match_weight``, the level
    name of each comparison, ``duplicate_of`` (for a record linked as a duplicate
    of another record of its register). ``unlinked_left`` / ``unlinked_right``:
    the record id and its best candidate with its score, if any.
    """

    links: pd.DataFrame
    unlinked_left: pd.DataFrame
    unlinked_right: pd.DataFrame
    summary: dict[str, Any]
    pairs: pd.DataFrame | None = None


@dataclass
class _Scored:
    left: np.ndarray
    right: np.ndarray
    rule: np.ndarray
    levels: np.ndarray
    tf: np.ndarray
    similarities: np.ndarray | None = None  # float32 (pairs x comparisons), for the ML matcher
    timings: dict[str, float] = field(default_factory=dict)
    random_levels: np.ndarray | None = None  # levels of random pairs (u), when fitting
    family_pairs: int = 0  # pairs added by family context (the last rows)


class Linker:
    """Link two standardised registers at person level.

    Parameters
    ----------
    rules, comparisons
        Blocking rules and comparisons (defaults for DTKS <-> Regsosek).
    threshold
        Match probability at or above which a pair may become a link.
    resolution
        ``"duplicates"`` (one-to-one, plus duplicates of one register linked to
        their person's counterpart), ``"one_to_one"`` or ``"many_to_one"``.
    term_frequency
        Labels of name comparisons whose exact level gets the term-frequency
        adjustment.
    duplicate_threshold
        Match probability at or above which two records of one register are
        taken for the same person (stricter than ``threshold``: a duplicate
        shares its person's counterpart).
    chunk_size
        Pairs compared and scored at a time.
    matcher
        An unfitted :class:`FellegiSunter` with the EM settings to use.
    ml_matcher
        An unfitted :class:`~bansos_linkage.linkage.ml_matcher.MLMatcher` (default: its
        defaults) trained by :meth:`fit_ml` on reviewed pairs; it decides the links
        only where it beats the Fellegi-Sunter links on them (cross-validated).
    ml_threshold
        Match probability of the ML matcher at or above which a pair may become a
        link (its probabilities are calibrated, so 0.5 is the natural cut).
    n_jobs
        Processes comparing chunks of pairs at once (default: the cores, at most
        4; 1 = in this process). Results do not depend on it.
    u_pairs
        Random pairs compared to estimate the u probabilities.
    sessions
        EM sessions that estimate the m probabilities (default:
        :data:`bansos_linkage.linkage.training.DEFAULT_SESSIONS`).
    random_state
        Seed of the random pairs: the same seed gives the same model.
    family_columns
        Where each register says which family a record belongs to (the first column
        present on a side: a Regsosek household id, else the KK number). Members of
        two families that share a link are compared with each other even when no
        blocking rule paired them; ``()`` turns this off.

    Examples
    --------
    >>> import datetime as dt
    >>> from bansos_linkage.synthetic import generate, scenario
    >>> from bansos_linkage import standardise
    >>> data = generate(scenario("default", households=200, seed=1))
    >>> left, right = (standardise(data.registers[n], n, reference_date=dt.date(2026, 1, 1))
    ...                .records for n in ("dtks", "regsosek"))
    >>> result = Linker().fit(left, right).link(left, right)
    >>> len(result.links) + len(result.unlinked_left) == len(left)
    True
    """

    def __init__(
        self,
        rules: Sequence[Rule] = DEFAULT_RULES,
        comparisons: Sequence[Comparison] = DEFAULT_COMPARISONS,
        threshold: float = DEFAULT_THRESHOLD,
        resolution: str = "duplicates",
        term_frequency: Sequence[str] = ("name",),
        duplicate_threshold: float = 0.9,
        chunk_size: int = 100_000,
        matcher: FellegiSunter | None = None,
        ml_matcher: MLMatcher | None = None,
        ml_threshold: float = 0.5,
        n_jobs: int | None = None,
        u_pairs: int = training.DEFAULT_U_PAIRS,
        sessions: Sequence[training.Session] = training.DEFAULT_SESSIONS,
        random_state: int = 0,
        family_columns: Sequence[str] = FAMILY_COLUMNS,
    ) -> None:
        if resolution not in MODES:
            raise ValueError(f"resolution must be one of {MODES}, not {resolution!r}")
        if not 0 < threshold < 1 or not 0 < ml_threshold < 1:
            raise ValueError("a threshold is a match probability: between 0 and 1")
        labels = [c.label for c in comparisons]
        if len(set(labels)) != len(labels):
            raise ValueError("comparison labels must be unique")
        unknown = sorted(set(term_frequency) - set(labels))
        if unknown:
            raise ValueError(f"term_frequency names unknown comparisons {unknown}")
        self.rules = tuple(rules)
        self.comparisons = tuple(comparisons)
        self.threshold = threshold
        self.resolution = resolution
        self.term_frequency = tuple(term_frequency)
        self.duplicate_threshold = duplicate_threshold
        self.chunk_size = chunk_size
        self.matcher = matcher
        self.ml_matcher = ml_matcher
        self.ml_threshold = ml_threshold
        self.n_jobs = n_jobs
        self.u_pairs = u_pairs
        self.sessions = tuple(sessions)
        self.random_state = random_state
        self.family_columns = tuple(family_columns)
        # what is used: the given rules and comparisons less those whose columns
        # neither register has (decided at fit)
        self.rules_: tuple[Rule, ...] = self.rules
        self.comparisons_: tuple[Comparison, ...] = self.comparisons
        self.dropped_: dict[str, list[str]] = {"comparisons": [], "blocking_rules": []}
        self.training_: dict[str, Any] = {}
        self.model_: FellegiSunter | None = None
        self.ml_model_: MLMatcher | None = None
        self.reviewed_: pd.DataFrame | None = None
        self.ml_training_: dict[str, int] = {}
        self.tf_typical_: dict[str, float] = {}
        self.max_level_seen_: list[int] = []
        self.settings: dict[str, Any] = {}
        self.within_ = False  # fitted on the pairs of one register (fit_within)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's parameters, as scikit-learn's ``get_params`` (so ``clone``
        makes an unfitted copy)."""
        return {name: getattr(self, name) for name in _init_parameters()}

    def set_params(self, **params: Any) -> Linker:
        """Set constructor parameters (scikit-learn's ``set_params``); unknown names
        are refused."""
        unknown = sorted(set(params) - set(_init_parameters()))
        if unknown:
            raise ValueError(f"Linker has no parameters {unknown}")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        fitted = "fitted" if self.model_ is not None else "not fitted"
        return (
            f"Linker(threshold={self.threshold}, resolution={self.resolution!r}, "
            f"{len(self.rules)} rules, {len(self.comparisons)} comparisons, {fitted})"
        )

    # --- training -----------------------------------------------------------

    def fit(
        self,
        left: pd.DataFrame,
        right: pd.DataFrame,
        progress: Progress | None = None,
        labels: pd.DataFrame | None = None,
    ):
        """Estimate the matcher's parameters (u from random pairs, m by EM sessions on the
        candidate pairs, the prior of a random pair); with ``labels`` (reviewed pairs)
        also train the ML matcher (:meth:`fit_ml`)."""
        _check_not_empty(left, right)
        self._choose(left, right)
        left, right = self._prepare(left, right)
        scored = self._score_candidates(left, right, progress, labels is not None, fitting=True)
        self._fit_scored(scored, left, right)
        if labels is not None:
            self._fit_ml_prepared(left, right, labels, scored)
        return self

    def fit_ml(self, left: pd.DataFrame, right: pd.DataFrame, labels: pd.DataFrame):
        """Train the ML matcher on reviewed pairs (the Fellegi-Sunter weight is one of its
        features). Reviewed decisions are final; the ML matcher decides the other links
        (with ``ml_threshold``) only if it beats the Fellegi-Sunter links on the labels,
        cross-validated, and only within the band of weights the labels cover
        (:func:`~bansos_linkage.linkage.ml_matcher.choose_matcher`).

        ``labels`` has ``left_id``, ``right_id`` and ``is_match`` (bool), e.g. from
        :func:`~bansos_linkage.review.training_pairs`. Pairs need not be candidates
        (field verification may confirm a pair blocking missed): each is compared
        directly. Pairs whose ids are not in the registers are skipped and counted
        in ``ml_training_``.
        """
        self._fitted()
        _check_not_empty(left, right)
        left, right = self._prepare(left, right)
        # the unsupervised model is judged by the links it makes: score the candidates
        scored = self._score_candidates(left, right, None)
        scored.tf = self._bits(scored.levels, scored.right, self._freqs(right))
        self._fit_ml_prepared(left, right, labels, scored)
        return self

    def _fit_ml_prepared(
        self,
        left: pd.DataFrame,
        right: pd.DataFrame,
        labels: pd.DataFrame,
        scored: _Scored | None = None,
    ):
        """Train the ML matcher on reviewed pairs, and let it decide only where it makes
        fewer wrong decisions on those pairs than the Fellegi-Sunter model, judged by
        cross-validation (labels must never make the links worse)."""
        missing = [c for c in ("left_id", "right_id", "is_match") if c not in labels]
        if missing:
            raise ValueError(f"labels need the columns {missing}")
        a = _positions(left, labels["left_id"])
        b = _positions(right, labels["right_id"])
        found = (a >= 0) & (b >= 0)
        y = labels["is_match"].astype(bool).to_numpy()[found]
        X = self._features(left, right, a[found], b[found])
        template = self.ml_matcher if self.ml_matcher is not None else MLMatcher()
        fs_decisions = None
        if scored is not None:  # judge the unsupervised model by the links it makes
            fs_weight = self._weights(scored.levels, scored.tf)
            if self._add_family_pairs(left, right, scored, fs_weight):
                fs_weight = self._weights(scored.levels, scored.tf)
            fs_keep = self._resolve(left, right, scored, fs_weight)
            fs_decisions = _pair_flags(scored, fs_keep.keep, a[found], b[found], len(right))
        choice = choose_matcher(
            template, X, y, self.threshold, self.ml_threshold, fs_decisions=fs_decisions
        )
        model = clone(template).fit(X, y) if len(np.unique(y)) == 2 else None
        self.ml_model_ = model if choice["decides"] == "ml" else None
        self.reviewed_ = labels.loc[found, ["left_id", "right_id", "is_match"]].astype(
            {"left_id": str, "right_id": str, "is_match": bool}
        )
        self.ml_training_ = {
            "labelled_pairs": int(found.sum()),
            "matches": int(y.sum()),
            "unknown_ids": int((~found).sum()),
            **choice,
        }

    def _features(
        self, left: pd.DataFrame, right: pd.DataFrame, a: np.ndarray, b: np.ndarray
    ) -> pd.DataFrame:
        levels, sims = self._compare_chunk(left, right, a, b, similarities=True)
        weight = self._weights(levels, self._bits(levels, b, self._freqs(right)))
        return pair_features(levels, [c.label for c in self.comparisons_], sims, weight)

    def _fit_scored(
        self, scored: _Scored, left: pd.DataFrame, right: pd.DataFrame, within: bool = False
    ) -> None:
        template = self.matcher if self.matcher is not None else FellegiSunter()
        start = time.perf_counter()
        labels = [c.label for c in self.comparisons_]
        level_names = [c.levels for c in self.comparisons_]
        assert scored.random_levels is not None
        u = training.u_from_random(
            scored.random_levels, [len(n) for n in level_names], self._exact_u(left, right, within)
        )
        # term frequencies replace u(exact) by the value's own frequency (as Splink does)
        self.tf_typical_ = {
            c.label: float(u[k][-1])
            for k, c in enumerate(self.comparisons_)
            if c.label in self.term_frequency
        }
        scored.tf = self._bits(scored.levels, scored.right, self._freqs(right))
        self.model_, sessions = training.fit_model(
            scored.levels,
            u,
            labels,
            level_names,
            scored.tf,
            len(left),
            # within one register a random pair is one of n (n - 1) / 2
            (len(right) - 1) / 2 if within else len(right),
            template,
            self.sessions,
        )
        self.max_level_seen_ = [int(x) for x in scored.levels.max(axis=0, initial=-1)]
        self.training_ = {"u_random_pairs": int(len(scored.random_levels)), "sessions": sessions}
        self.within_ = within
        scored.timings["em"] = time.perf_counter() - start

    def _exact_u(
        self, left: pd.DataFrame, right: pd.DataFrame, within: bool = False
    ) -> dict[int, float]:
        """Comparison k's chance of exact agreement among random pairs, from the value
        frequencies (random samples rarely see two records share a NIK); ``within`` one
        register, among pairs of two different records."""
        out = {}
        for k, comp in enumerate(self.comparisons_):
            column = _exact_column(comp)
            if column is not None and column in left and column in right:
                out[k] = (
                    training.exact_agreement_within(left[column])
                    if within
                    else training.exact_agreement(left[column], right[column])
                )
        return out

    # --- linking ------------------------------------------------------------

    def link(
        self,
        left: pd.DataFrame,
        right: pd.DataFrame,
        progress: Progress | None = None,
        keep_pairs: bool | float = False,
    ) -> LinkResult:
        """Score the candidate pairs and resolve them into links."""
        self._fitted()
        _check_not_empty(left, right)
        self._check_columns(left, right)
        left, right = self._prepare(left, right)
        scored = self._score_candidates(left, right, progress, self.ml_model_ is not None)
        scored.tf = self._bits(scored.levels, scored.right, self._freqs(right))
        return self._link_scored(left, right, scored, keep_pairs)

    def fit_link(
        self,
        left: pd.DataFrame,
        right: pd.DataFrame,
        progress: Progress | None = None,
        keep_pairs: bool | float = False,
        labels: pd.DataFrame | None = None,
    ) -> LinkResult:
        """:meth:`fit` (with ``labels``, the ML matcher too) then :meth:`link` on the same
        registers, comparing the pairs once."""
        _check_not_empty(left, right)
        self._choose(left, right)
        left, right = self._prepare(left, right)
        scored = self._score_candidates(left, right, progress, labels is not None, fitting=True)
        self._fit_scored(scored, left, right)
        if labels is not None:
            self._fit_ml_prepared(left, right, labels, scored)
        return self._link_scored(left, right, scored, keep_pairs)

    def fit_within(self, records: pd.DataFrame, progress: Progress | None = None):
        """Estimate the parameters on the pairs of one register (deduplication): u from
        random pairs of two different records, m by EM sessions on the register's
        candidate pairs, the prior of a random pair among its n (n - 1) / 2."""
        _check_not_empty(records, records)
        self._choose(records, records)
        frame, same = self._prepare(records, records)
        scored = self._score_candidates(frame, same, progress, fitting=True, within=True)
        self._fit_scored(scored, frame, same, within=True)
        return self

    def duplicate_pairs(
        self,
        records: pd.DataFrame,
        progress: Progress | None = None,
        threshold: float | None = None,
    ) -> pd.DataFrame:
        """Pairs of records of one register that the fitted model takes for one person.

        A pair qualifies when its match probability reaches ``threshold`` (default:
        :attr:`threshold` for a model fitted on this kind of pair by :meth:`fit_within`,
        the stricter :attr:`duplicate_threshold` for a model fitted across registers) and
        there is evidence about the person itself (names that agree, or equal birth
        dates): a shared NIK or KK alone never makes a duplicate, as registers put a
        relative's NIK on a member's row. Columns: ``record_id_a``, ``record_id_b``
        (a before b in the register), ``match_weight``, ``match_probability``.
        """
        self._fitted()
        _check_not_empty(records, records)
        self._check_columns(records, records)
        frame, same = self._prepare(records, records)
        scored = self._score_candidates(frame, same, progress, within=True)
        return self._within_pairs(frame, same, scored, threshold)

    def fit_duplicate_pairs(
        self, records: pd.DataFrame, progress: Progress | None = None
    ) -> pd.DataFrame:
        """:meth:`fit_within` then :meth:`duplicate_pairs` on the same register, comparing
        the pairs once."""
        _check_not_empty(records, records)
        self._choose(records, records)
        frame, same = self._prepare(records, records)
        scored = self._score_candidates(frame, same, progress, fitting=True, within=True)
        self._fit_scored(scored, frame, same, within=True)
        return self._within_pairs(frame, same, scored, None)

    def _within_pairs(
        self, frame: pd.DataFrame, same: pd.DataFrame, scored: _Scored, threshold: float | None
    ) -> pd.DataFrame:
        if threshold is None:
            threshold = self.threshold if self.within_ else self.duplicate_threshold
        levels = scored.levels
        if not self.within_ and self.max_level_seen_:
            # levels linking never saw (one register, one region scheme: "same village")
            # count as the strongest level the model was trained on
            levels = np.minimum(levels, np.asarray(self.max_level_seen_, dtype=np.int8))
        weight = self._weights(levels, self._bits(levels, scored.right, self._freqs(same)))
        keep = (weight >= _logit2(threshold)) & _person_evidence(self.comparisons_)(levels)
        ids = frame["record_id"].astype("string").to_numpy(dtype=object)
        return pd.DataFrame(
            {
                "record_id_a": ids[scored.left[keep]],
                "record_id_b": ids[scored.right[keep]],
                "match_weight": weight[keep],
                "match_probability": _probability(weight[keep]),
            }
        )

    def score_pairs(
        self, left: pd.DataFrame, right: pd.DataFrame, left_ids, right_ids
    ) -> np.ndarray:
        """Match weights (log2 odds, term frequencies included) of the given pairs of
        record ids, compared directly whether or not blocking would pair them; NaN
        where an id is not in its register."""
        self._fitted()
        a = _positions(left, pd.Series(left_ids, dtype="string"))
        b = _positions(right, pd.Series(right_ids, dtype="string"))
        found = (a >= 0) & (b >= 0)
        out = np.full(len(a), np.nan)
        if not found.any():
            return out
        # a name's frequency belongs to the whole register; all else is read off the
        # compared rows alone, so only those are prepared
        freqs = self._freqs(right)
        rows_a, at_a = np.unique(a[found], return_inverse=True)
        rows_b, at_b = np.unique(b[found], return_inverse=True)
        sub_a, sub_b = self._prepare(left.iloc[rows_a], right.iloc[rows_b])
        levels = self._compare_chunk(sub_a, sub_b, at_a, at_b)
        out[found] = self._weights(levels, self._bits(levels, b[found], freqs))
        return out

    def _link_scored(
        self, left: pd.DataFrame, right: pd.DataFrame, scored: _Scored, keep_pairs: bool | float
    ) -> LinkResult:
        model = self._fitted()
        start = time.perf_counter()
        weight, fs_weight = self._decision_weights(left, right, scored)
        if self._add_family_pairs(left, right, scored, weight):
            weight, fs_weight = self._decision_weights(left, right, scored)
        threshold = self.threshold
        timings = {**scored.timings, "score": time.perf_counter() - start}
        start = time.perf_counter()
        resolved = self._resolve(left, right, scored, weight)
        timings["resolve"] = time.perf_counter() - start
        result = self._outputs(left, right, scored, weight, resolved, keep_pairs, fs_weight)
        result.summary.update(
            {
                "matcher": "fellegi_sunter" if self.ml_model_ is None else "ml",
                "threshold": threshold,
                "left_out": self.dropped_,
                "training": self.training_,
                **({"ml_training": self.ml_training_} if self.ml_training_ else {}),
                "em": {
                    "iterations": int(model.n_iter_),
                    "converged": bool(model.converged_),
                    "log_likelihood": float(model.log_likelihood_),
                    "lambda": float(model.lambda_),
                },
                "seconds": {k: round(v, 3) for k, v in timings.items()},
            }
        )
        return result

    def _decision_weights(
        self, left: pd.DataFrame, right: pd.DataFrame, scored: _Scored
    ) -> tuple[np.ndarray, np.ndarray]:
        """The weights that decide (the ML matcher's where it decides, reviewed pairs
        final) and the Fellegi-Sunter weights."""
        fs_weight = self._weights(scored.levels, scored.tf)
        weight = fs_weight
        if self.ml_model_ is not None:
            weight = self._ml_weights(scored, fs_weight)
        return self._reviewed(left, right, scored, weight), fs_weight

    def _add_family_pairs(
        self, left: pd.DataFrame, right: pd.DataFrame, scored: _Scored, weight: np.ndarray
    ) -> int:
        """Compare the members of families that share a link (by ``weight``) and were
        not paired yet; their pairs join ``scored`` under the rule ``family``. The
        model's parameters do not change: a pair scores the same whichever rule
        brought it in."""
        if FAMILY not in left or FAMILY not in right or not len(weight):
            return 0
        start = time.perf_counter()
        keep = self._resolve(left, right, scored, weight).keep
        li, ri = family_pairs(
            left[FAMILY].to_numpy(), right[FAMILY].to_numpy(), scored.left[keep], scored.right[keep]
        )
        new = _not_among(li, ri, scored.left, scored.right, len(right))
        li, ri = li[new], ri[new]
        if len(li):
            sims = scored.similarities is not None
            parts = [
                self._compare_chunk(
                    left, right, li[lo : lo + self.chunk_size], ri[lo : lo + self.chunk_size], sims
                )
                for lo in range(0, len(li), self.chunk_size)
            ]
            levels = np.concatenate([p[0] for p in parts] if sims else parts)
            if sims:
                scored.similarities = np.concatenate([scored.similarities, *[p[1] for p in parts]])
            scored.left = np.concatenate([scored.left, li])
            scored.right = np.concatenate([scored.right, ri])
            scored.rule = np.concatenate(
                [scored.rule, np.full(len(li), len(self.rules_), np.int16)]
            )
            scored.levels = np.concatenate([scored.levels, levels])
            scored.tf = np.concatenate([scored.tf, self._bits(levels, ri, self._freqs(right))])
        scored.family_pairs += len(li)
        scored.timings["family"] = scored.timings.get("family", 0.0) + time.perf_counter() - start
        return len(li)

    def _resolve(self, left: pd.DataFrame, right: pd.DataFrame, scored: _Scored, weight):
        return resolve_links(
            scored.left,
            scored.right,
            weight,
            _logit2(self.threshold),
            len(left),
            len(right),
            mode=self.resolution,
            left_is_duplicate=self._duplicate_test(left),
            right_is_duplicate=self._duplicate_test(right),
        )

    def _reviewed(
        self, left: pd.DataFrame, right: pd.DataFrame, scored: _Scored, weight: np.ndarray
    ) -> np.ndarray:
        """A reviewer's decision is final: reviewed matches score as certain, reviewed
        non-matches as impossible, whatever the model says."""
        if self.reviewed_ is None or not len(self.reviewed_) or not len(weight):
            return weight
        a = _positions(left, self.reviewed_["left_id"])
        b = _positions(right, self.reviewed_["right_id"])
        where = _pair_index(scored, a, b, len(right))
        hit = where >= 0
        decided = self.reviewed_["is_match"].to_numpy(dtype=bool)[hit]
        out = weight.copy()
        out[where[hit]] = np.where(decided, REVIEWED_BITS, -REVIEWED_BITS)
        return out

    def _ml_weights(self, scored: _Scored, fs_weight: np.ndarray) -> np.ndarray:
        """Log2 odds of a match on the link threshold's scale: the ML matcher's (measured
        against ``ml_threshold``) within the band of Fellegi-Sunter weights its labels
        cover, the Fellegi-Sunter weight outside it."""
        assert self.ml_model_ is not None and scored.similarities is not None
        labels = [c.label for c in self.comparisons_]
        lo_w, hi_w = self.ml_training_.get("fs_weight_band") or [-np.inf, np.inf]
        # shift the ML odds so that its threshold falls where the Fellegi-Sunter one does
        shift = _logit2(self.threshold) - _logit2(self.ml_threshold)
        out = np.asarray(fs_weight, dtype=float).copy()
        inside = np.flatnonzero((fs_weight >= lo_w) & (fs_weight <= hi_w))
        for lo in range(0, len(inside), self.chunk_size):
            part = inside[lo : lo + self.chunk_size]
            X = pair_features(
                scored.levels[part], labels, scored.similarities[part], fs_weight[part]
            )
            out[part] = self.ml_model_.match_weight(X) + shift
        return out

    def explain(
        self, left: pd.DataFrame, right: pd.DataFrame, left_id: str, right_id: str
    ) -> pd.DataFrame:
        """The waterfall table of one pair: prior, each comparison's level and weight, the
        term-frequency bits, the final weight and probability (see
        :mod:`bansos_linkage.linkage.explain`; draw it with
        :func:`~bansos_linkage.linkage.explain.plot_waterfall`)."""
        from bansos_linkage.linkage.explain import level_names, waterfall

        model = self._fitted()
        left, right = self._prepare(left, right)
        a = _position(left, left_id, "left")
        b = _position(right, right_id, "right")
        levels = self._compare_chunk(left, right, a, b)
        tf = self._bits(levels, b, self._freqs(right))
        row = pd.DataFrame(levels, columns=list(model.feature_names_in_))
        extra = {f"term_frequency:{label}": float(tf[0]) for label in self.term_frequency}
        return waterfall(model, row, level_names(self.comparisons_), extra_weights=extra)

    # --- persistence --------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write the whole model as JSON: the settings (as :mod:`bansos_linkage.linkage.settings`
        writes them, to fit again with), the rules and comparisons used, the fitted
        parameters and what the run was (:attr:`settings`: reference date, schemas)."""
        from bansos_linkage.linkage.settings import linker_settings

        model = self._fitted()
        return model_file.save(
            path,
            {
                "settings": linker_settings(self),
                "blocking_rules": [model_file.rule_to_dict(r) for r in self.rules_],
                "comparisons": [model_file.comparison_to_dict(c) for c in self.comparisons_],
                "matcher": model_file.matcher_to_dict(model),
                "ml_matcher": None if self.ml_model_ is None else matcher_to_dict(self.ml_model_),
                "fitted": {
                    "tf_typical": self.tf_typical_,
                    "max_level_seen": self.max_level_seen_,
                    "within": self.within_,
                    "ml_training": self.ml_training_,
                    "reviewed": None
                    if self.reviewed_ is None
                    else self.reviewed_.to_numpy().tolist(),
                },
                "run": dict(self.settings),
            },
        )

    @classmethod
    def load(cls, path: str | Path) -> Linker:
        """A fitted Linker from a model file written by :meth:`save` (any version)."""
        content = model_file.load(path)
        try:
            linker = cls(**content["options"])
        except ValueError as exc:
            raise SchemaError(f"{path}: key 'settings' is inconsistent ({exc})") from None
        # the rules and comparisons the fitted model uses (a fit may have left some out)
        linker.rules_ = tuple(content["blocking_rules"])
        linker.comparisons_ = tuple(content["comparisons"])
        used = {c.label for c in linker.comparisons_}
        used_rules = {r.name for r in linker.rules_}
        linker.dropped_ = {
            "comparisons": [c.label for c in linker.comparisons if c.label not in used],
            "blocking_rules": [r.name for r in linker.rules if r.name not in used_rules],
        }
        fitted = content["fitted"]
        linker.tf_typical_ = fitted["tf_typical"]
        linker.max_level_seen_ = fitted["max_level_seen"]
        linker.within_ = bool(fitted.get("within", False))  # absent in older model files
        linker.ml_training_ = fitted["ml_training"]
        if fitted["reviewed"] is not None:
            linker.reviewed_ = pd.DataFrame(
                fitted["reviewed"], columns=["left_id", "right_id", "is_match"]
            ).astype({"left_id": str, "right_id": str, "is_match": bool})
        linker.settings = dict(content["run"])
        linker.model_ = content["matcher"]
        linker.ml_model_ = content["ml_matcher"]
        return linker

    # --- internals ----------------------------------------------------------

    def _fitted(self) -> FellegiSunter:
        if self.model_ is None:
            raise RuntimeError("the Linker is not fitted: call fit() or Linker.load() first")
        return self.model_

    def _prepare(
        self, left: pd.DataFrame, right: pd.DataFrame
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Both registers with only the columns blocking and comparing read (registers
        carry many household columns), text columns encoded over shared vocabularies."""
        keys = rule_keys(self.rules_)
        frames = []
        for records in (left, right):
            needs_keys = any(k.startswith("bk_") and k not in records for k in keys)
            out = blocking_keys(records) if needs_keys else records
            out = add_derived_columns(out, self.comparisons_)
            keep = [c for c in self.columns_read() if c in out]
            frames.append(out[keep].reset_index(drop=True))
        groups = [g for comp in self.comparisons_ for g in vocabulary_groups(comp)]
        groups += [[k] for k in keys]
        encoded = encode_columns(frames[0], frames[1], groups)
        for frame, records in zip(encoded, (left, right), strict=True):
            frame[FAMILY] = family_codes(records, self.family_columns)
        return encoded

    def columns_read(self) -> list[str]:
        """The record columns blocking and comparing read (and those the blocking keys
        are derived from), in a stable order."""
        return columns_read(self.rules_, self.comparisons_)

    def _check_columns(self, left: pd.DataFrame, right: pd.DataFrame) -> None:
        """A fitted model needs its comparisons' columns on at least one side."""
        _require_ids(left, right)
        derived = derived_columns(self.comparisons_)
        used = {c for comp in self.comparisons_ for c in _main_columns(comp)} - set(derived)
        absent = sorted(c for c in used if c not in left and c not in right)
        if absent:
            raise SchemaError(
                f"neither register has the columns {absent} that the model's comparisons "
                "use: were they standardised with a matching schema?"
            )

    def _choose(self, left: pd.DataFrame, right: pd.DataFrame) -> None:
        """Leave out the comparisons and blocking rules whose columns neither register has
        (a comparison missing on one side only stays: it counts as missing there)."""
        _require_ids(left, right)

        def has(column: str) -> bool:
            return column in left or column in right

        derived = derived_columns(self.comparisons)
        keep, dropped = [], []
        for comp in self.comparisons:
            main = [c for c in _main_columns(comp) if c not in derived]
            (keep if all(has(c) for c in main) else dropped).append(comp)
        if not keep:
            raise SchemaError(
                "neither register has the columns of any of the model's comparisons "
                f"({[c.label for c in self.comparisons]}): were they standardised?"
            )
        rules, dropped_rules = [], []
        for rule in self.rules:
            usable = all(any(has(c) for c in _KEY_SOURCE.get(k, (k,))) for k in rule_keys([rule]))
            (rules if usable else dropped_rules).append(rule)
        self.comparisons_, self.rules_ = tuple(keep), tuple(rules)
        self.dropped_ = {
            "comparisons": [c.label for c in dropped],
            "blocking_rules": [r.name for r in dropped_rules],
        }

    def _score_candidates(
        self,
        left: pd.DataFrame,
        right: pd.DataFrame,
        progress: Progress | None,
        similarities: bool = False,
        fitting: bool = False,
        within: bool = False,
    ) -> _Scored:
        """Compare the candidate pairs (and, when ``fitting``, random pairs for u).
        ``within``: ``left`` and ``right`` are one register; each pair of two different
        records is kept once (left position below right)."""
        lefts, rights, rules, levels = [], [], [], []
        timings = {"block": 0.0, "compare": 0.0}
        start = time.perf_counter()
        with _ChunkPool(self, left, right, self.n_jobs, similarities) as pool:
            for i, li, ri, _ in iter_candidate_pairs(left, right, self.rules_):
                if within:  # blocking a register with itself finds each pair both ways
                    li, ri = li[li < ri], ri[li < ri]
                timings["block"] += time.perf_counter() - start
                start = time.perf_counter()
                for lo in range(0, len(li), self.chunk_size):
                    a, b = li[lo : lo + self.chunk_size], ri[lo : lo + self.chunk_size]
                    pool.submit(a, b)
                    lefts.append(a.astype(np.int64))
                    rights.append(b.astype(np.int64))
                    rules.append(np.full(len(a), i, dtype=np.int16))
                if progress is not None:
                    progress(i + 1, len(self.rules_), f"pairs: {self.rules_[i].name}")
                timings["compare"] += time.perf_counter() - start
                start = time.perf_counter()
            n_random = 0
            if fitting:
                ra, rb = training.random_pairs(
                    len(left), len(right), self.u_pairs, self.random_state
                )
                if within:  # a record compared with itself is no random pair
                    ra, rb = ra[ra != rb], rb[ra != rb]
                n_random = len(ra)
                for lo in range(0, n_random, self.chunk_size):
                    pool.submit(ra[lo : lo + self.chunk_size], rb[lo : lo + self.chunk_size])
            levels.extend(pool.results())
            timings["compare"] += time.perf_counter() - start
        n = len(self.comparisons_)
        sims = None
        if similarities:
            sims = np.concatenate([s for _, s in levels]) if levels else np.zeros((0, n), "f4")
            levels = [lv for lv, _ in levels]
        n_pairs = sum(len(a) for a in lefts)
        everything = np.concatenate(levels) if levels else np.zeros((0, n), np.int8)
        random_levels = everything[n_pairs:] if fitting else None
        if sims is not None:
            sims = sims[:n_pairs]
        return _Scored(
            left=np.concatenate(lefts) if lefts else np.zeros(0, np.int64),
            right=np.concatenate(rights) if rights else np.zeros(0, np.int64),
            rule=np.concatenate(rules) if rules else np.zeros(0, np.int16),
            levels=everything[:n_pairs],
            tf=np.zeros(n_pairs, dtype=np.float32),  # set once fitted
            similarities=sims,
            timings=timings,
            random_levels=random_levels,
        )

    def _compare_chunk(
        self,
        left: pd.DataFrame,
        right: pd.DataFrame,
        a: np.ndarray,
        b: np.ndarray,
        similarities: bool = False,
    ):
        """Levels (int8) of one chunk of pairs; with ``similarities`` also the continuous
        similarities (float32), as a tuple."""
        levels, sims = compare(left, right, a, b, self.comparisons_)
        if similarities:
            return levels.to_numpy(dtype=np.int8), sims.to_numpy(dtype=np.float32)
        return levels.to_numpy(dtype=np.int8)

    def _bits(self, matrix: np.ndarray, b: np.ndarray, freqs: dict[str, np.ndarray]) -> np.ndarray:
        """Term-frequency bits of exact name agreement, from the right record's value."""
        tf = np.zeros(len(b), dtype=np.float32)
        for k, comp in enumerate(self.comparisons_):
            typical = self.tf_typical_.get(comp.label)
            if comp.label not in freqs or typical is None:
                continue
            exact = matrix[:, k] == len(comp.levels) - 1
            bits = frequency_bits(freqs[comp.label][b[exact]], typical, clip=TF_CLIP)
            tf[exact] += bits.astype(np.float32)
        return tf

    def _freqs(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        return {
            c.label: _frequencies(frame, c.column)
            for c in self.comparisons_
            if c.label in self.term_frequency
        }

    def _weights(self, levels: np.ndarray, tf: np.ndarray | None) -> np.ndarray:
        model = self._fitted()
        frame = pd.DataFrame(levels, columns=list(model.feature_names_in_))
        weight = model.match_weight(frame)
        return weight + (0.0 if tf is None else np.asarray(tf, dtype=float))

    def _duplicate_test(
        self, frame: pd.DataFrame
    ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """Two records of one register are the same person when the model scores them as a
        match (the same model, term frequencies of that register) on evidence about the
        person: their names agree, or their birth dates agree and their names are close.
        A shared NIK or KK alone never makes a duplicate (registers put a relative's NIK
        on a member's row)."""
        freqs = self._freqs(frame)
        person = _person_evidence(self.comparisons_)

        def test(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            levels = self._compare_chunk(frame, frame, a, b)
            # within one register some levels occur that linking never saw (both use
            # one region scheme, so "same village" appears): count them as the
            # strongest level the model was trained on, not with untrained weights
            if self.max_level_seen_:
                levels = np.minimum(levels, np.asarray(self.max_level_seen_, dtype=np.int8))
            tf = self._bits(levels, b, freqs)
            return (self._weights(levels, tf) >= weight_threshold) & person(levels)

        p = self.duplicate_threshold
        weight_threshold = float(np.log2(p / (1 - p)))
        return test

    def _outputs(
        self,
        left: pd.DataFrame,
        right: pd.DataFrame,
        scored: _Scored,
        weight: np.ndarray,
        resolved,
        keep_pairs: bool | float,
        fs_weight: np.ndarray,
    ) -> LinkResult:
        """``weight`` decides (the ML matcher's when trained); ``fs_weight`` is the
        Fellegi-Sunter weight, reported next to it."""
        probability = 1.0 / (1.0 + np.exp2(-np.clip(weight, -1000, 1000)))
        left_ids = left["record_id"].astype("string").to_numpy(dtype=object)
        right_ids = right["record_id"].astype("string").to_numpy(dtype=object)
        keep = resolved.keep
        links = pd.DataFrame(
            {
                "left_id": left_ids[scored.left[keep]],
                "right_id": right_ids[scored.right[keep]],
                "match_probability": probability[keep],
                "match_weight": weight[keep],
            }
        )
        if self.ml_model_ is not None:
            links["fs_match_weight"] = fs_weight[keep]
        for k, comp in enumerate(self.comparisons_):
            links[comp.label] = _level_names(scored.levels[keep, k], comp.levels)
        dup_left = resolved.left_duplicate_of[scored.left[keep]]
        dup_right = resolved.right_duplicate_of[scored.right[keep]]
        links["duplicate_of"] = np.where(
            dup_left >= 0,
            left_ids[np.maximum(dup_left, 0)],
            np.where(dup_right >= 0, right_ids[np.maximum(dup_right, 0)], None),
        )
        links = links.sort_values(["left_id", "right_id"], kind="stable").reset_index(drop=True)
        unlinked_left = _unlinked(scored.left, scored.right, weight, keep, left_ids, right_ids)
        unlinked_right = _unlinked(scored.right, scored.left, weight, keep, right_ids, left_ids)
        link_p = link_probabilities(
            scored.left, scored.right, weight, keep, self._fitted().lambda_, len(left), len(right)
        )
        errors = expected_errors(link_p, 0.0)
        summary = {
            "n_left": len(left),
            "n_right": len(right),
            "candidate_pairs": int(len(weight)),
            "family_pairs": int(scored.family_pairs),
            "links": int(keep.sum()),
            "linked_left": int(len(left) - len(unlinked_left)),
            "linked_right": int(len(right) - len(unlinked_right)),
            "unlinked_left": len(unlinked_left),
            "unlinked_right": len(unlinked_right),
            "duplicates_left": int((resolved.left_duplicate_of >= 0).sum()),
            "duplicates_right": int((resolved.right_duplicate_of >= 0).sum()),
            "threshold": self.threshold,
            "resolution": self.resolution,
            "expected_false_links": round(errors["expected_false_links"], 2),
            "estimated_fdr": round(errors["fdr"], 6),
            "estimated_fnr": round(_estimated_fnr(link_p, unlinked_left), 6),
        }
        pairs = None
        if keep_pairs is not False:
            # a number keeps the links and the pairs at least that probable
            floor = 0.0 if keep_pairs is True else float(keep_pairs)
            rows = np.flatnonzero(keep | (probability >= floor))
            fs = fs_weight[rows]
            pairs = pd.DataFrame(
                {
                    "left": scored.left[rows],
                    "right": scored.right[rows],
                    "left_id": left_ids[scored.left[rows]],
                    "right_id": right_ids[scored.right[rows]],
                    "rule": np.array([*(r.name for r in self.rules_), FAMILY_RULE], dtype=object)[
                        scored.rule[rows]
                    ],
                    "match_weight": fs,
                    "match_probability": 1.0 / (1.0 + np.exp2(-np.clip(fs, -1000, 1000))),
                    "tf_adjustment": scored.tf[rows],
                    "link": keep[rows],
                }
            )
            if self.ml_model_ is not None:
                pairs["ml_weight"] = weight[rows]
                pairs["ml_probability"] = probability[rows]
            for k, comp in enumerate(self.comparisons_):
                pairs[comp.label] = scored.levels[rows, k]
        return LinkResult(links, unlinked_left, unlinked_right, summary, pairs)

    def parameters(self) -> pd.DataFrame:
        """m, u and match weight of every comparison level
        (:meth:`FellegiSunter.parameters`) with its ``level_name`` and ``observed``:
        False where linking saw no candidate pair at that level (m and u then come
        from smoothing, not data; see :func:`bansos_linkage.linkage.explain.observed_levels`)."""
        from bansos_linkage.linkage.explain import level_names, observed_levels

        model = self._fitted()
        table = model.parameters(level_names(self.comparisons_))
        seen = observed_levels(model, self.max_level_seen_, self.u_pairs)
        table["observed"] = [
            seen[str(c)][int(level)]
            for c, level in zip(table["comparison"], table["level"], strict=True)
        ]
        return table


# What forked workers compare: set just before the pool forks, so the children share the
# registers copy-on-write instead of receiving a pickled copy.
_SHARED: dict[str, Any] = {}


def _compare_shared(ab: tuple[np.ndarray, np.ndarray]):
    w = _SHARED
    return w["linker"]._compare_chunk(w["left"], w["right"], ab[0], ab[1], w["similarities"])


class _ChunkPool:
    """Compare chunks of pairs in ``n_jobs`` forked processes (in order), or in this
    process when one job is asked for or the platform cannot fork."""

    def __init__(self, linker, left, right, n_jobs: int | None, similarities: bool) -> None:
        self.args = (linker, left, right)
        self.similarities = similarities
        jobs = n_jobs if n_jobs is not None else min(os.cpu_count() or 1, 4)
        self.parallel = jobs > 1 and "fork" in mp.get_all_start_methods()
        self.jobs = jobs
        self.pending: list = []

    def __enter__(self) -> _ChunkPool:
        if self.parallel:
            linker, left, right = self.args
            if len(left) and len(right):
                # one pair compared here derives the per-value data (name words, NIK
                # digits) once, for the forked workers to inherit instead of each redoing it
                one = np.zeros(1, dtype=np.int64)
                linker._compare_chunk(left, right, one, one)
            _SHARED.update(linker=linker, left=left, right=right, similarities=self.similarities)
            self.pool = mp.get_context("fork").Pool(self.jobs)
        return self

    def submit(self, a: np.ndarray, b: np.ndarray) -> None:
        if self.parallel:
            self.pending.append(self.pool.apply_async(_compare_shared, ((a, b),)))
        else:
            linker, left, right = self.args
            self.pending.append(linker._compare_chunk(left, right, a, b, self.similarities))

    def results(self):
        for item in self.pending:
            yield item.get() if self.parallel else item

    def __exit__(self, *exc) -> None:
        if self.parallel:
            self.pool.terminate()
            _SHARED.clear()


#: Record columns the derived blocking keys come from (any one of them suffices).
_KEY_SOURCE = {
    "bk_name_first": ("name_phonetic",),
    "bk_name_last": ("name_phonetic",),
    "bk_name_pair": ("name_phonetic",),
    "bk_birth_date": ("birth_date",),
    "bk_birth_year": ("birth_date",),
    "bk_nik_birth_date": ("nik_birth_date",),
    "bk_village": ("village_name", "village_code"),
    "bk_name_end": ("name_phonetic",),
    "bk_name_words": ("name_phonetic",),
    "bk_village_name": ("full_name",),
    "bk_village_eman": ("full_name",),
}


def _require_ids(left: pd.DataFrame, right: pd.DataFrame) -> None:
    for side, frame in (("left", left), ("right", right)):
        if "record_id" not in frame:
            raise SchemaError(f"{side} records have no 'record_id' column: standardise first")


def _main_columns(comp: Comparison) -> list[str]:
    """The columns without which a comparison has nothing to compare."""
    if isinstance(comp, RegionComparison):
        return ["province_code"]
    column = getattr(comp, "column", None)
    return [column] if column else columns_used(comp)[:1]


_STRONG_NAME = ("exact", "token_set", "phonetic", "initials")
_STRONG_DATE = ("exact", "day_month_swapped")
_COMPATIBLE_DATE = ("exact", "day_month_swapped", "year_only_agrees")


def _person_evidence(comparisons: Sequence[Comparison]) -> Callable[[np.ndarray], np.ndarray]:
    """Per pair (a levels matrix): is there evidence about the person itself? Names that
    agree with birth dates that do not differ (missing, equal, swapped, year-only), or
    equal birth dates."""

    def codes(comp: Comparison, wanted: Sequence[str]) -> list[int]:
        names = comp.levels
        high = [n for n in names if n.startswith("jw>=")][:1] if wanted is _STRONG_NAME else []
        return [len(names) - 1 - names.index(w) for w in (*wanted, *high) if w in names]

    names = [
        (k, codes(c, _STRONG_NAME))
        for k, c in enumerate(comparisons)
        if isinstance(c, NameComparison) and c.column == "full_name"
    ]
    dates = [
        (k, codes(c, _STRONG_DATE), codes(c, _COMPATIBLE_DATE))
        for k, c in enumerate(comparisons)
        if isinstance(c, DateComparison)
    ]

    def test(levels: np.ndarray) -> np.ndarray:
        if not names:  # no full-name comparison (other data, FEBRL): no test to make
            return np.ones(len(levels), dtype=bool)
        name_ok = np.zeros(len(levels), dtype=bool)
        for k, strong in names:
            name_ok |= np.isin(levels[:, k], strong)
        date_ok = np.zeros(len(levels), dtype=bool)
        date_compatible = np.ones(len(levels), dtype=bool)
        for k, strong, compatible in dates:
            date_ok |= np.isin(levels[:, k], strong)
            date_compatible &= np.isin(levels[:, k], [-1, *compatible])
        return (name_ok & date_compatible) | date_ok

    return test


def _pair_index(scored: _Scored, a: np.ndarray, b: np.ndarray, n_right: int) -> np.ndarray:
    """Row of each pair (a, b) among the scored pairs; -1 where not scored (or a position
    is -1: an id not in the registers)."""
    width = max(n_right, 1)
    where = pd.Index(scored.left * width + scored.right).get_indexer(a * width + b)
    return np.where((a >= 0) & (b >= 0), where, -1)


def _pair_flags(
    scored: _Scored, flags: np.ndarray, a: np.ndarray, b: np.ndarray, n_right: int
) -> np.ndarray:
    """``flags`` (one per scored pair) at the pairs (a, b); False for pairs not scored."""
    where = _pair_index(scored, a, b, n_right)
    return np.where(where >= 0, flags[np.maximum(where, 0)], False)


def _not_among(
    li: np.ndarray, ri: np.ndarray, left: np.ndarray, right: np.ndarray, n_right: int
) -> np.ndarray:
    """Which pairs (li, ri) are not among the pairs (left, right) (by binary search:
    np.isin hashes millions of keys several times slower)."""
    known = np.sort(left.astype(np.int64) * n_right + right)
    keys = li.astype(np.int64) * n_right + ri
    at = np.minimum(np.searchsorted(known, keys), max(len(known) - 1, 0))
    return known[at] != keys if len(known) else np.ones(len(keys), dtype=bool)


def _init_parameters() -> list[str]:
    return [p for p in inspect.signature(Linker.__init__).parameters if p != "self"]


def _logit2(p: float) -> float:
    return float(np.log2(p / (1 - p)))


def _probability(weight: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp2(-np.clip(weight, -1000, 1000)))


def _exact_column(comp: Comparison) -> str | None:
    """The column whose equality is a comparison's strongest level, if there is one."""
    if isinstance(comp, RegionComparison):
        return comp.kk_column
    if isinstance(comp, NameComparison | NikComparison | ExactComparison):
        return comp.column
    return None


def _position(frame: pd.DataFrame, record_id: str, side: str) -> np.ndarray:
    hit = np.flatnonzero(frame["record_id"].astype(str).to_numpy() == str(record_id))
    if not len(hit):
        raise KeyError(f"no {side} record with id {record_id!r}")
    return hit[:1]


def _positions(frame: pd.DataFrame, ids: pd.Series) -> np.ndarray:
    """Position of each id in ``frame`` (-1 where absent)."""
    index = pd.Index(frame["record_id"].astype(str))
    return index.get_indexer(ids.astype(str))


def _frequencies(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Relative frequency of each record's value in ``frame`` (NaN where missing)."""
    values = frame[column]
    if isinstance(values.dtype, pd.CategoricalDtype):  # encoded: count the codes
        codes = values.array.codes
        present = codes >= 0
        counts = np.bincount(codes[present], minlength=len(values.dtype.categories))
        freq = np.full(len(codes), np.nan)
        freq[present] = counts[codes[present]] / max(int(present.sum()), 1)
        return freq
    values = values.astype("string")
    counts = values.value_counts(normalize=True, dropna=True)
    return values.map(counts).to_numpy(dtype=float, na_value=np.nan)


def _level_names(levels: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    by_number = np.array(list(reversed(names)) + ["missing"], dtype=object)
    return by_number[np.where(levels < 0, len(names), levels)]


def _unlinked(
    own: np.ndarray,
    other: np.ndarray,
    weight: np.ndarray,
    keep: np.ndarray,
    own_ids: np.ndarray,
    other_ids: np.ndarray,
) -> pd.DataFrame:
    """Records without a link, with their best candidate (if any) and its score."""
    linked = np.zeros(len(own_ids), dtype=bool)
    linked[own[keep]] = True
    # each record's best candidate: highest weight, ties to the lowest position
    # (ufunc.at in one pass: a lexsort of millions of pairs takes seconds)
    best = np.full(len(own_ids), -np.inf)
    np.fmax.at(best, own, weight)
    top = np.flatnonzero(weight == best[own])
    lowest = np.full(len(own_ids), np.iinfo(np.int64).max)
    np.minimum.at(lowest, own[top], other[top].astype(np.int64))
    has_pair = lowest < np.iinfo(np.int64).max
    w_of = np.where(has_pair, best, np.nan)
    partner_of = np.where(has_pair, lowest, np.nan)
    ids = np.flatnonzero(~linked)
    w, partner = w_of[ids], partner_of[ids]
    has = ~np.isnan(partner)
    return pd.DataFrame(
        {
            "record_id": own_ids[ids],
            "best_candidate_id": np.where(
                has, other_ids[np.where(has, partner, 0).astype(np.int64)], None
            ),
            "best_match_probability": 1.0 / (1.0 + np.exp2(-w)),
            "best_match_weight": w,
        }
    )


def _estimated_fnr(linked_probability: np.ndarray, unlinked: pd.DataFrame) -> float:
    """Expected missed links (best candidate of each unlinked record) over expected matches."""
    missed = float(np.nansum(unlinked["best_match_probability"].to_numpy(dtype=float)))
    total = missed + float(linked_probability.sum())
    return missed / total if total else 0.0


def _check_not_empty(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """Linking needs records on both sides (an export of only a header has none)."""
    for side, records in (("left", left), ("right", right)):
        if len(records) == 0:
            raise EmptyInputError(
                f"no {side} records to link: the register has no rows below its header, "
                "or every row was rejected",
                side=side,
            )
