"""The Linker: blocking -> comparisons -> Fellegi-Sunter -> links, with good defaults.

A facade: the Linker holds the settings and the fitted state and chains the stages,
each a module of plain functions on the chunk or arrays it is given
(:mod:`~bansos_linkage.linkage.preparation`: checks, pruning, encoding;
:mod:`~bansos_linkage.linkage.scoring`: candidate pairs compared chunk by chunk;
:mod:`~bansos_linkage.linkage.fitting` and :mod:`~bansos_linkage.linkage.frequencies`:
the Fellegi-Sunter model and term frequencies; :mod:`~bansos_linkage.linkage.supervised`:
reviewed pairs and the ML matcher; :mod:`~bansos_linkage.linkage.decision`: links,
family pairs, duplicates; :mod:`~bansos_linkage.linkage.linking`: a fitted model applied
to registers; :mod:`~bansos_linkage.linkage.outputs`: the tables and the summary;
:mod:`~bansos_linkage.linkage.inspection`: one pair's waterfall, the parameter table;
:mod:`~bansos_linkage.linkage.persistence`: the model file). Memory stays
bounded: only the compact per-pair results (positions, int8 levels, one weight) are
kept for the whole run.

Parameters are estimated so that they do not depend on the blocking
(:mod:`bansos_linkage.linkage.training`): u from random pairs, m by EM sessions, the
prior as the match probability of a random pair. Match weights include a
term-frequency adjustment for exact name agreement, consistent with that u, so
agreeing on a rare name counts for more than agreeing on SITI or MUHAMMAD.

Comparisons and blocking rules whose columns neither register has are left out
at ``fit`` (``dropped_`` says which, and the run summary repeats it).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bansos_linkage.errors import NotFittedError, SchemaError
from bansos_linkage.linkage import model_file, training
from bansos_linkage.linkage import preparation as prep
from bansos_linkage.linkage.blocking import DEFAULT_RULES, Rule
from bansos_linkage.linkage.comparisons import DEFAULT_COMPARISONS, Comparison, columns_read
from bansos_linkage.linkage.decision import Decision, train_ml
from bansos_linkage.linkage.fellegi_sunter import FellegiSunter
from bansos_linkage.linkage.fitting import PairWeights, fit_scored
from bansos_linkage.linkage.frequencies import TF_CLIP
from bansos_linkage.linkage.inspection import explain_pair, parameter_table
from bansos_linkage.linkage.linking import Scoring, link_scored, score_ids, scored_duplicates
from bansos_linkage.linkage.ml_matcher import MLMatcher
from bansos_linkage.linkage.outputs import LinkResult, LinkSummary
from bansos_linkage.linkage.persistence import fitted_attributes, model_content
from bansos_linkage.linkage.scoring import (
    FAMILY_RULE,
    PairCompare,
    ScoredPairs,
    compare_chunk,
)
from bansos_linkage.linkage.settings import check_params
from bansos_linkage.linkage.supervised import REVIEWED_BITS, check_labels
from bansos_linkage.progress import Progress

__all__ = [
    "DEFAULT_THRESHOLD",
    "FAMILY_COLUMNS",
    "FAMILY_RULE",
    "REVIEWED_BITS",
    "TF_CLIP",
    "LinkResult",
    "LinkSummary",
    "Linker",
    "Progress",
    "ScoredPairs",
]

#: Default link threshold on the match probability. The probabilities are estimated
#: independently of the blocking (u from random pairs, the prior of a random pair), so
#: 0.5 means what it says: a link is more likely right than wrong.
DEFAULT_THRESHOLD = 0.5
#: Where a register says which family a record belongs to, in order of preference.
FAMILY_COLUMNS = ("household_id", "kk_number")


class Linker:
    """Link two standardised registers at person level.

    The parameters are checked by the methods that fit (as scikit-learn does);
    using a model before it is fitted or loaded raises
    :class:`~bansos_linkage.errors.NotFittedError`.

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
        Probability at or above which two records of one register are taken for
        the same person: their match weight with the prior moved from a pair across
        the registers to the register's own (two records of one register are far
        less often one person; estimated from the pairs resolution tests, see
        :func:`~bansos_linkage.linkage.resolve.duplicate_shift`).
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
    sole_candidates
        Also link two records that are each other's only candidate (neither linked,
        no other candidate not linked elsewhere) when their link reaches the
        threshold: its odds are the pair's against "neither record has a counterpart"
        (most DTKS records have one), not against every pair of the registers (see
        :func:`~bansos_linkage.linkage.resolve.sole_candidates`). The Fellegi-Sunter
        model only; ``False`` links by the pairs' probabilities alone.
    family_members
        Also link the unlinked members of two families that a link joins, on their
        family's prior (about 1 : (n - 1) for families of n members) rather than the
        registers': a member whose NIK and birth date are missing and whose sex was
        mistyped links on its name within its family (see
        :func:`~bansos_linkage.linkage.resolve.member_links`). The Fellegi-Sunter model
        only; ``False`` turns this off.

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
        duplicate_threshold: float = 0.5,
        chunk_size: int = 100_000,
        matcher: FellegiSunter | None = None,
        ml_matcher: MLMatcher | None = None,
        ml_threshold: float = 0.5,
        n_jobs: int | None = None,
        u_pairs: int = training.DEFAULT_U_PAIRS,
        sessions: Sequence[training.Session] = training.DEFAULT_SESSIONS,
        random_state: int = 0,
        family_columns: Sequence[str] = FAMILY_COLUMNS,
        sole_candidates: bool = True,
        family_members: bool = True,
    ) -> None:
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
        self.sole_candidates = bool(sole_candidates)
        self.family_members = bool(family_members)
        # what is used: the given rules and comparisons less those whose columns
        # neither register has (decided at fit)
        self.rules_: tuple[Rule, ...] = self.rules
        self.comparisons_: tuple[Comparison, ...] = self.comparisons
        self.dropped_: dict[str, list[str]] = {"comparisons": [], "blocking_rules": []}
        self.training_: dict[str, Any] = {}
        self.model_: FellegiSunter | None = None
        self.ml_model_: MLMatcher | None = None
        self.reviewed_: pd.DataFrame | None = None
        self.ml_training_: dict[str, Any] = {}
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
        params = f"threshold={self.threshold}, resolution={self.resolution!r}"
        sizes = f"{len(self.rules)} rules, {len(self.comparisons)} comparisons"
        fitted = "fitted" if self.model_ is not None else "not fitted"
        return f"Linker({params}, {sizes}, {fitted})"

    @property
    def fitted_model(self) -> FellegiSunter:
        """The fitted Fellegi-Sunter model (:class:`~bansos_linkage.errors.NotFittedError`
        before :meth:`fit` or :meth:`load`)."""
        self._require_fitted()
        assert self.model_ is not None
        return self.model_

    def _require_fitted(self) -> None:
        if self.model_ is None:
            raise NotFittedError("the Linker is not fitted: call fit() or Linker.load() first")

    def fit(
        self,
        left: pd.DataFrame,
        right: pd.DataFrame,
        progress: Progress | None = None,
        labels: pd.DataFrame | None = None,
    ) -> Linker:
        """Estimate the matcher's parameters (u from random pairs, m by EM sessions on the
        candidate pairs, the prior of a random pair); with ``labels`` (reviewed pairs)
        also train the ML matcher (:meth:`fit_ml`)."""
        self._fit_pairs(left, right, progress, labels)
        return self

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
        left, right, scored = self._fit_pairs(left, right, progress, labels)
        return self._link_scored(left, right, scored, keep_pairs)

    def fit_ml(self, left: pd.DataFrame, right: pd.DataFrame, labels: pd.DataFrame) -> Linker:
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
        self._require_fitted()
        self._validate(labels)
        prep.check_not_empty(left, right)
        left, right = self.prepare(left, right)
        # the unsupervised model is judged by the links it makes: score the candidates
        scored = self._pair_weights().set_bits(self._scoring().score(left, right), right)
        self._fit_ml(left, right, labels, scored)
        return self

    def fit_within(self, records: pd.DataFrame, progress: Progress | None = None) -> Linker:
        """Estimate the parameters on the pairs of one register (deduplication): u from
        random pairs of two different records, m by EM sessions on the register's
        candidate pairs, the prior of a random pair among its n (n - 1) / 2."""
        self._fit_pairs(records, records, progress, within=True)
        return self

    def fit_duplicate_pairs(
        self, records: pd.DataFrame, progress: Progress | None = None
    ) -> pd.DataFrame:
        """:meth:`fit_within` then :meth:`duplicate_pairs` on the same register, comparing
        the pairs once."""
        frame, same, scored = self._fit_pairs(records, records, progress, within=True)
        return self._within_pairs(frame, same, scored, None)

    def link(
        self,
        left: pd.DataFrame,
        right: pd.DataFrame,
        progress: Progress | None = None,
        keep_pairs: bool | float = False,
    ) -> LinkResult:
        """Score the candidate pairs and resolve them into links. ``keep_pairs``: keep the
        scored pairs (``LinkResult.pairs``): all of them, or (a number) the links and
        the pairs at least that probable."""
        self._require_fitted()
        self._validate()
        prep.check_not_empty(left, right)
        prep.check_columns(left, right, self.comparisons_)
        left, right = self.prepare(left, right)
        scored = self._scoring().score(left, right, progress, self.ml_model_ is not None)
        scored = self._pair_weights().set_bits(scored, right)
        return self._link_scored(left, right, scored, keep_pairs)

    def relink(
        self,
        left: pd.DataFrame,
        right: pd.DataFrame,
        scored: ScoredPairs,
        threshold: float | None = None,
        compare: PairCompare | None = None,
        *,
        keep_pairs: bool | float = False,
    ) -> LinkResult:
        """Resolve pairs scored before (e.g. a run's stored pairs, or pairs scored by an
        engine) into links at ``threshold`` (default :attr:`threshold`), without scoring
        the candidates again: reviewed decisions, the ML matcher where it decides,
        family pairs the links bring in, duplicates. ``left``, ``right``: registers from
        :meth:`prepare`; ``scored`` gets the family pairs appended (pass a copy to keep
        it); ``compare`` replaces :meth:`compare_pairs` (one that remembers, say);
        ``keep_pairs`` as in :meth:`link`."""
        decision = self._decision(compare, threshold)
        return self._link_scored(left, right, scored, keep_pairs, decision)

    def duplicate_pairs(
        self,
        records: pd.DataFrame,
        progress: Progress | None = None,
        threshold: float | None = None,
    ) -> pd.DataFrame:
        """Pairs of records of one register that the fitted model takes for one person.

        A pair qualifies when its match probability reaches ``threshold`` (default:
        :attr:`threshold` for a model fitted on this kind of pair by :meth:`fit_within`;
        :attr:`duplicate_threshold` for a model fitted across registers, whose prior is
        first moved to the register's own, estimated on these pairs) and
        there is evidence about the person itself (names that agree, or equal birth
        dates): a shared NIK or KK alone never makes a duplicate, as registers put a
        relative's NIK on a member's row, nor does a birth date that agrees only through
        the NIK both records carry, unless they share a family card and a role on it
        (:func:`~bansos_linkage.linkage.duplicates.person_evidence`). Columns:
        ``record_id_a``, ``record_id_b`` (a before b in the register), ``match_weight``,
        ``match_probability``.
        """
        self._require_fitted()
        prep.check_not_empty(records, records)
        prep.check_columns(records, records, self.comparisons_)
        frame, same = self.prepare(records, records)
        scored = self._scoring().score(frame, same, progress, within=True)
        return self._within_pairs(frame, same, scored, threshold)

    def score_pairs(
        self, left: pd.DataFrame, right: pd.DataFrame, left_ids: Any, right_ids: Any
    ) -> np.ndarray:
        """Match weights (log2 odds, term frequencies included) of the given pairs of
        record ids, compared directly whether or not blocking would pair them; NaN
        where an id is not in its register."""
        w, registers = self._pair_weights(), (left, right)
        return score_ids(w, self.prepare, self.compare_pairs, registers, left_ids, right_ids)

    def explain(
        self, left: pd.DataFrame, right: pd.DataFrame, left_id: str, right_id: str
    ) -> pd.DataFrame:
        """The waterfall table of one pair: prior, each comparison's level and weight, the
        term-frequency bits, the final weight and probability (see
        :mod:`bansos_linkage.linkage.explain`; draw it with
        :func:`~bansos_linkage.linkage.explain.plot_waterfall`). An id not in its
        register raises :class:`~bansos_linkage.errors.UnknownRecordError`."""
        w = self._pair_weights()
        prep.check_not_empty(left, right)
        left, right = self.prepare(left, right)
        return explain_pair(w, self.compare_pairs, left, right, left_id, right_id)

    def prepare(self, left: pd.DataFrame, right: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Both registers as the stages read them: only the columns blocking and comparing
        read, text columns encoded over shared vocabularies, family codes
        (:func:`~bansos_linkage.linkage.preparation.prepare`)."""
        return prep.prepare(left, right, self.rules_, self.comparisons_, self.family_columns)

    def compare_pairs(
        self,
        left: pd.DataFrame,
        right: pd.DataFrame,
        a: np.ndarray,
        b: np.ndarray,
        similarities: bool = False,
    ) -> Any:
        """Levels (int8, pairs x comparisons) of the pairs at positions (a, b) of two
        registers from :meth:`prepare`; with ``similarities`` also the similarities
        (float32), as a tuple."""
        return compare_chunk(left, right, a, b, self.comparisons_, similarities)

    def columns_read(self) -> list[str]:
        """The record columns blocking and comparing read (and those the blocking keys
        are derived from), in a stable order."""
        return columns_read(self.rules_, self.comparisons_)

    def parameters(self) -> pd.DataFrame:
        """m, u and match weight of every comparison level
        (:meth:`FellegiSunter.parameters`) with its ``level_name`` and ``observed``:
        False where linking saw no candidate pair at that level (m and u then come
        from smoothing, not data; see :func:`bansos_linkage.linkage.explain.observed_levels`)."""
        model = self.fitted_model
        return parameter_table(model, self.comparisons_, self.max_level_seen_, self.u_pairs)

    def save(self, path: str | Path) -> Path:
        """Write the whole model as JSON: the settings (as :mod:`bansos_linkage.linkage.settings`
        writes them, to fit again with), the rules and comparisons used, the fitted
        parameters and what the run was (:attr:`settings`: reference date, schemas)."""
        self._require_fitted()
        return model_file.save(path, model_content(self))

    @classmethod
    def load(cls, path: str | Path) -> Linker:
        """A fitted Linker from a model file written by :meth:`save` (any version)."""
        content = model_file.load(path)
        try:
            linker = cls(**content["options"])
            linker._validate()
        except ValueError as exc:
            raise SchemaError(f"{path}: key 'settings' is inconsistent ({exc})") from None
        linker._set(fitted_attributes(content, linker.rules, linker.comparisons))
        return linker

    def _validate(self, labels: pd.DataFrame | None = None) -> None:
        # the constructor's parameters (and labels), checked when used (as scikit-learn does)
        check_params(self.get_params())
        if labels is not None:
            check_labels(labels)

    def _set(self, fitted: dict[str, Any]) -> None:
        for name, value in fitted.items():
            setattr(self, name, value)

    def _fit_pairs(
        self,
        left: pd.DataFrame,
        right: pd.DataFrame,
        progress: Progress | None,
        labels: pd.DataFrame | None = None,
        within: bool = False,
    ) -> tuple[pd.DataFrame, pd.DataFrame, ScoredPairs]:
        """Fit on the candidate pairs of two registers (or one, ``within``); the prepared
        registers and the scored pairs, for linking them next."""
        self._validate(labels)
        prep.check_not_empty(left, right)
        chosen = prep.choose(left, right, self.rules, self.comparisons)
        self.comparisons_, self.rules_, self.dropped_ = chosen
        left, right = self.prepare(left, right)
        scored = self._scoring().score(left, right, progress, labels is not None, True, within)
        args = (self.term_frequency, self.matcher, self.sessions, within)
        self._set(fit_scored(scored, left, right, self.comparisons_, *args).attributes(within))
        if labels is not None:
            self._fit_ml(left, right, labels, scored)
        return left, right, scored

    def _scoring(self) -> Scoring:
        random_pairs = (self.u_pairs, self.random_state)
        sizes = (self.chunk_size, self.n_jobs, random_pairs)
        return Scoring(self.rules_, self.compare_pairs, len(self.comparisons_), *sizes)

    def _pair_weights(self) -> PairWeights:
        args = (self.term_frequency, self.tf_typical_, self.max_level_seen_)
        return PairWeights(self.fitted_model, self.comparisons_, *args)

    def _decision(
        self, compare: PairCompare | None = None, threshold: float | None = None
    ) -> Decision:
        threshold = self.threshold if threshold is None else float(threshold)
        links = (threshold, self.resolution, self.duplicate_threshold, self.chunk_size)
        ml = (self.ml_model_, self.ml_threshold, self.ml_training_.get("fs_weight_band"))
        weights, compare = self._pair_weights(), compare or self.compare_pairs
        return Decision(
            weights,
            compare,
            *links,
            len(self.rules_),
            *ml,
            self.reviewed_,
            sole_candidates=self.sole_candidates,
            family_members=self.family_members,
        )

    def _fit_ml(
        self, left: pd.DataFrame, right: pd.DataFrame, labels: pd.DataFrame, scored: ScoredPairs
    ) -> None:
        trained = train_ml(self._decision(), self.ml_matcher, left, right, labels, scored)
        self.ml_model_, self.reviewed_, self.ml_training_ = trained

    def _link_scored(
        self,
        left: pd.DataFrame,
        right: pd.DataFrame,
        scored: ScoredPairs,
        keep_pairs: bool | float,
        decision: Decision | None = None,
    ) -> LinkResult:
        d, rule_names = decision or self._decision(), [r.name for r in self.rules_]
        fitted = (self.dropped_, self.training_, self.ml_training_)
        return link_scored(d, left, right, scored, keep_pairs, rule_names, fitted)

    def _within_pairs(
        self, frame: pd.DataFrame, same: pd.DataFrame, scored: ScoredPairs, threshold: float | None
    ) -> pd.DataFrame:
        default = self.threshold if self.within_ else self.duplicate_threshold
        cut, w = default if threshold is None else threshold, self._pair_weights()
        return scored_duplicates(w, frame, same, scored, cut, cap=not self.within_)


def _init_parameters() -> list[str]:
    return [p for p in inspect.signature(Linker.__init__).parameters if p != "self"]
