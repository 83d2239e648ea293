"""Accuracy of links against the truth: plain functions of true and predicted pairs.

The truth comes as the entity (person) id of each record on both sides, as the
synthetic generator's ``truth`` tables give it; every pair of records with the
same entity is a true link (a person registered twice in DTKS has two).
:func:`run_threshold_curve` gives the precision, recall and F1 of the links a run's
model makes at each threshold after the run's resolution (what ``link --model
RUN_DIR/model.json --threshold T`` would make: :class:`RunRelinker`), and
:func:`choose_threshold` picks one (the highest F1, or the lowest threshold that
keeps a precision floor); :func:`threshold_curve` does the same on scored pairs
taken one by one, before resolution. :func:`link_errors` lists false and missed
links with both records side by side.

Without a complete truth, :func:`labels_metrics` uses a run's reviewed labels:
:func:`estimate_from_sample` estimates precision with a confidence interval from
the reviewed random sample of the links, and
:func:`estimate_from_random_pairs` precision and recall from a reviewed random
sample of the candidate pairs.

DataFrames in, DataFrames out: a run folder's tables are read by
:func:`bansos_linkage.runs.link.read_run`, and the ``evaluate`` command's folders are
written by :mod:`bansos_linkage.runs.evaluate`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy.stats import norm

from bansos_linkage.linkage.fellegi_sunter import probability


def true_links(left_entity: pd.Series, right_entity: pd.Series) -> pd.DataFrame:
    """All (left_id, right_id) pairs whose records share an entity id.

    Both Series are indexed by record id and hold the entity id (missing = unknown).

    Examples
    --------
    >>> left = pd.Series({"a": "p1", "b": "p2", "c": "p1"})
    >>> right = pd.Series({"x": "p1", "y": "p3"})
    >>> true_links(left, right).values.tolist()
    [['a', 'x'], ['c', 'x']]
    """
    lf = left_entity.dropna().rename("entity").rename_axis("left_id").reset_index()
    rf = right_entity.dropna().rename("entity").rename_axis("right_id").reset_index()
    pairs = lf.merge(rf, on="entity")[["left_id", "right_id"]]
    return pairs.sort_values(["left_id", "right_id"], ignore_index=True)


def exact_nik_links(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """The baseline every linker is measured against: pairs with the same (standardised,
    valid) NIK, each record used once (first come). Columns ``left_id``, ``right_id``.

    Examples
    --------
    >>> left = pd.DataFrame({"record_id": ["a", "b"], "nik": ["1", None]})
    >>> right = pd.DataFrame({"record_id": ["x", "y"], "nik": ["1", "1"]})
    >>> exact_nik_links(left, right).values.tolist()
    [['a', 'x']]
    """
    pairs = (
        left[["record_id", "nik"]]
        .dropna()
        .merge(right[["record_id", "nik"]].dropna(), on="nik", suffixes=("_l", "_r"))
    )
    pairs = pairs.drop_duplicates("record_id_l").drop_duplicates("record_id_r")
    pairs = pairs.rename(columns={"record_id_l": "left_id", "record_id_r": "right_id"})
    return pairs[["left_id", "right_id"]].reset_index(drop=True)


def link_metrics(predicted: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """Precision, recall, F1 and confusion counts of predicted against true pairs.

    Both frames have ``left_id`` and ``right_id`` columns; duplicated rows count once.

    Examples
    --------
    >>> truth = pd.DataFrame({"left_id": ["a", "b"], "right_id": ["x", "y"]})
    >>> pred = pd.DataFrame({"left_id": ["a", "c"], "right_id": ["x", "z"]})
    >>> link_metrics(pred, truth)["f1"]
    0.5
    """
    key = ["left_id", "right_id"]
    pred = predicted[key].astype(str).drop_duplicates()
    true = truth[key].astype(str).drop_duplicates()
    tp = len(pred.merge(true, on=key))
    fp, fn = len(pred) - tp, len(true) - tp
    precision = tp / len(pred) if len(pred) else 1.0
    recall = tp / len(true) if len(true) else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
    }


def threshold_curve(
    scored: pd.DataFrame, truth: pd.DataFrame, score: str = "match_probability"
) -> pd.DataFrame:
    """Precision, recall and F1 of the links kept at every distinct score threshold.

    ``scored`` has ``left_id``, ``right_id`` and a ``score`` column (e.g. the links of
    a run made at a low threshold, or all candidate pairs); a threshold keeps the
    rows scoring at or above it. Recall counts all of ``truth``, including pairs
    never scored. Returns one row per threshold, highest first.

    Examples
    --------
    >>> truth = pd.DataFrame({"left_id": ["a", "b"], "right_id": ["x", "y"]})
    >>> scored = pd.DataFrame({"left_id": ["a", "b", "c"], "right_id": ["x", "y", "z"],
    ...                        "match_probability": [0.9, 0.4, 0.6]})
    >>> threshold_curve(scored, truth)[["threshold", "precision", "recall"]].values.tolist()
    [[0.9, 1.0, 0.5], [0.6, 0.5, 0.5], [0.4, 0.6666666666666666, 1.0]]
    """
    key = ["left_id", "right_id"]
    true = truth[key].astype(str).drop_duplicates()
    rows = scored[[*key, score]].astype({"left_id": str, "right_id": str})
    rows = rows.merge(true.assign(_true=True), on=key, how="left")
    rows["_true"] = rows["_true"].fillna(False).astype(bool)
    rows = rows.sort_values(score, ascending=False, kind="stable")
    grouped = rows.groupby(score, sort=False)["_true"].agg(["sum", "count"])
    tp = grouped["sum"].cumsum().to_numpy(dtype=float)
    n = grouped["count"].cumsum().to_numpy(dtype=float)
    precision = tp / n
    recall = tp / len(true) if len(true) else np.ones_like(tp)
    f1 = np.divide(
        2 * precision * recall,
        precision + recall,
        out=np.zeros_like(tp),
        where=(precision + recall) > 0,
    )
    return pd.DataFrame(
        {
            "threshold": grouped.index.to_numpy(dtype=float),
            "links": n.astype(int),
            "true_positives": tp.astype(int),
            "false_positives": (n - tp).astype(int),
            "precision": precision,
            "recall": recall,
            "f1": f1,
        }
    )


def choose_threshold(
    curve: pd.DataFrame, min_precision: float | None = None, confidence: float | None = None
) -> pd.Series:
    """The row of :func:`threshold_curve` to use: the highest F1, or with ``min_precision``
    the lowest threshold whose precision still reaches it (most links at that precision).

    With ``confidence`` (e.g. 0.95) the precision must reach the floor with that
    confidence (the lower end of its Wilson interval), so that the threshold holds on
    new data rather than only on the pairs it was tuned on.

    Raises ``ValueError`` when no threshold reaches ``min_precision``.
    """
    if min_precision is None:
        return curve.loc[curve["f1"].idxmax()]  # type: ignore[call-overload]  # a label: Hashable in the stubs
    precision = curve["precision"].to_numpy(dtype=float)
    if confidence is not None:
        precision = _wilson_low(
            curve["true_positives"].to_numpy(dtype=float),
            curve["links"].to_numpy(dtype=float),
            confidence,
        )
    ok = curve[precision >= min_precision]
    if ok.empty:
        raise ValueError(f"no threshold reaches precision {min_precision}")
    return ok.loc[ok["threshold"].idxmin()]  # type: ignore[call-overload]  # a label: Hashable in the stubs


# --- threshold curves of a run: the links `link --threshold T` would make ---------------

#: Step of the threshold grid of :func:`run_threshold_curve`, in bits (log2 odds).
CURVE_STEP = 0.5
#: The lowest threshold a run folder can be re-resolved at: pairs.parquet keeps every
#: pair at least this probable (``runs.link.PAIRS_FLOOR``), so none above it is missing.
_PAIRS_FLOOR = 1e-4


class RunRelinker:
    """The links a run folder's model makes at another threshold, without the registers.

    ``link --model RUN_DIR/model.json --threshold T`` scores the same candidate pairs
    the same way (no EM), so only the resolution changes with ``T``. This replays it
    on the scored pairs of ``pairs.parquet`` (every pair at least 1e-4 probable, so
    none that could be a link at ``T >= 1e-4`` is missing): the run's resolution
    mode (one-to-one, duplicates tested by the model on the stored records, or many
    to one), its reviewed decisions, its ML matcher where it decides, and the family
    pairs the links at ``T`` bring in (compared afresh from ``records_*.parquet``).
    At the run's own threshold it gives the run's links exactly.
    """

    def __init__(self, run) -> None:
        from bansos_linkage.linkage.linker import FAMILY_RULE, Linker, ScoredPairs

        self.run = run
        linker = Linker.load(run.model_path)
        self.linker = linker
        self.left, self.right = linker.prepare(run.left, run.right)
        pairs = run.pairs[run.pairs["rule"].astype(str) != FAMILY_RULE]
        rules = {r.name: i for i, r in enumerate(linker.rules_)}
        rule = pairs["rule"].astype(str).map(rules)
        if rule.isna().any():
            raise ValueError("pairs.parquet names blocking rules the run's model does not have")
        a, b = self._positions(pairs)
        sims = None
        if linker.ml_model_ is not None:  # the ML matcher reads the similarities too
            n = len(linker.comparisons_)
            parts = [
                linker.compare_pairs(
                    self.left, self.right, a[lo : lo + 50_000], b[lo : lo + 50_000], True
                )[1]
                for lo in range(0, len(a), 50_000)
            ]
            sims = np.concatenate(parts) if parts else np.zeros((0, n), np.float32)
        self._base = ScoredPairs(
            left=a,
            right=b,
            rule=rule.to_numpy(dtype=np.int16),
            levels=pairs[[c.label for c in linker.comparisons_]].to_numpy(dtype=np.int8),
            tf=pairs["tf_adjustment"].to_numpy(dtype=np.float32),
            similarities=sims,
        )
        # the family pairs and duplicate tests of one threshold are mostly those of the
        # next: compare each pair once (this instance only; the comparisons are pure)
        self._compare = _MemoCompare(linker.compare_pairs)
        score = "ml_weight" if "ml_weight" in run.pairs else "match_weight"
        #: the deciding weights of the stored pairs (before reviewed decisions)
        self.weights = run.pairs[score].to_numpy(dtype=float)

    def _positions(self, pairs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        if {"left", "right"} <= set(pairs.columns):
            return pairs["left"].to_numpy(np.int64), pairs["right"].to_numpy(np.int64)
        out = []
        for ids, records in (
            (pairs["left_id"], self.run.left),
            (pairs["right_id"], self.run.right),
        ):
            where = pd.Index(records["record_id"].astype(str)).get_indexer(ids.astype(str))
            if (where < 0).any():
                raise ValueError("pairs.parquet holds ids its records do not")
            out.append(where.astype(np.int64))
        return out[0], out[1]

    def link(self, threshold: float):
        """The :class:`~bansos_linkage.linkage.linker.LinkResult` (without pairs) at ``threshold``
        (a match probability, at least 1e-4)."""
        from dataclasses import replace

        if not _PAIRS_FLOOR <= threshold < 1:
            raise ValueError(f"a run folder can be re-resolved at thresholds from {_PAIRS_FLOOR}")
        scored = replace(self._base, timings={}, family_pairs=0)
        return self.linker.relink(self.left, self.right, scored, threshold, self._compare)

    def links(self, threshold: float) -> pd.DataFrame:
        """The links (``left_id``, ``right_id``, ...) at ``threshold``."""
        return self.link(threshold).links


class _MemoCompare:
    """``Linker.compare_pairs`` remembering the pairs it compared, per pair of frames."""

    def __init__(self, compare) -> None:
        self.compare = compare
        self.memo: dict[tuple[int, int, bool], tuple[pd.Index, list]] = {}

    def __call__(self, left, right, a, b, similarities: bool = False):
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        if not len(a):
            return self.compare(left, right, a, b, similarities)
        key = (id(left), id(right), bool(similarities))
        codes = a * max(len(right), 1) + b
        index, parts = self.memo.get(key, (pd.Index([], dtype=np.int64), []))
        new = index.get_indexer(codes) < 0
        if new.any():
            fresh = np.unique(codes[new])
            width = max(len(right), 1)
            got = self.compare(left, right, fresh // width, fresh % width, similarities)
            parts.append(got)
            index = index.append(pd.Index(fresh))
            self.memo[key] = (index, parts)
        where = index.get_indexer(codes)
        if similarities:
            levels = np.concatenate([p[0] for p in parts])[where]
            return levels, np.concatenate([p[1] for p in parts])[where]
        return np.concatenate(parts)[where]


def curve_thresholds(
    weights: np.ndarray, run_threshold: float, step: float = CURVE_STEP
) -> np.ndarray:
    """Probability thresholds of a curve: a grid of match weights ``step`` bits apart
    over the weights the pairs have (from 1e-4 up; reviewed pairs' +-60 left out),
    and the run's own threshold exactly. Highest first."""
    w = np.asarray(weights, dtype=float)
    w = w[np.isfinite(w) & (np.abs(w) < 59)]
    floor = float(np.log2(_PAIRS_FLOOR / (1 - _PAIRS_FLOOR)))
    lo = max(floor, float(w.min()) if len(w) else floor)
    hi = float(w.max()) if len(w) else 0.0
    grid = np.arange(np.ceil(lo / step) * step, np.floor(hi / step) * step + step / 2, step)
    p = probability(grid)
    p = p[(p >= _PAIRS_FLOOR) & (p < 1)]
    return np.unique(np.r_[p, float(run_threshold)])[::-1]


def run_threshold_curve(
    run,
    truth: pd.DataFrame,
    thresholds: np.ndarray | None = None,
    step: float = CURVE_STEP,
) -> pd.DataFrame:
    """Precision, recall and F1 of the links a run's model makes at each threshold,
    after the run's resolution (see :class:`RunRelinker`): each row is what
    ``link --model RUN_DIR/model.json --threshold T`` would give.

    ``run`` is a run folder as :func:`~bansos_linkage.runs.link.read_run` reads it
    (:func:`~bansos_linkage.runs.evaluate.evaluate_run` evaluates a folder by its path).
    The thresholds (match probabilities; default :func:`curve_thresholds`)
    include the run's own, whose row (``run`` True) holds the run's link metrics.
    Columns: ``threshold``, ``match_weight`` (its log2 odds), ``links``,
    ``true_positives``, ``false_positives``, ``false_negatives``, ``precision``,
    ``recall``, ``f1``, ``run``; highest threshold first.
    """
    relinker = RunRelinker(_read(run))
    run_threshold = float(run.summary["threshold"])
    if thresholds is None:
        thresholds = curve_thresholds(relinker.weights, run_threshold, step)
    rows = []
    for t in sorted({float(x) for x in thresholds}, reverse=True):
        m = link_metrics(relinker.links(t), truth)
        rows.append(
            {
                "threshold": t,
                "match_weight": round(float(np.log2(t / (1 - t))), 9),
                "links": m["true_positives"] + m["false_positives"],
                **{k: m[k] for k in ("true_positives", "false_positives", "false_negatives")},
                **{k: m[k] for k in ("precision", "recall", "f1")},
                "run": t == run_threshold,
            }
        )
    return pd.DataFrame(rows)


def _read(run):
    """The run's tables: reading a folder is the runs layer's (this module knows no files)."""
    if isinstance(run, str | Path):
        raise TypeError(
            "run: the tables of a run folder, read_run(path) (bansos_linkage.runs.link); "
            "evaluate_run and evaluate_labels (bansos_linkage.runs.evaluate) take a path"
        )
    return run


def link_errors(
    predicted: pd.DataFrame,
    truth: pd.DataFrame,
    left: pd.DataFrame,
    right: pd.DataFrame,
    columns: list[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """False links and missed links as tables with both records side by side.

    ``left``/``right`` are the (standardised) records with ``record_id``; ``columns``
    picks the fields to show (default: name, NIK, birth date, sex, KK). Returns
    ``(false_positives, false_negatives)``; their columns are ``left_id``,
    ``right_id`` and each field as ``<field>_left`` / ``<field>_right``.
    """
    columns = columns or ["full_name", "nik", "birth_date", "sex", "kk_number"]
    key = ["left_id", "right_id"]
    pred = predicted[key].astype(str).drop_duplicates()
    true = truth[key].astype(str).drop_duplicates()
    both = pred.merge(true, on=key, how="outer", indicator=True)
    out = []
    for side in ("left_only", "right_only"):
        pairs = both.loc[both["_merge"] == side, key].reset_index(drop=True)
        for frame, id_col, suffix in ((left, "left_id", "_left"), (right, "right_id", "_right")):
            fields = [c for c in columns if c in frame]
            shown = frame[["record_id", *fields]].astype({"record_id": str})
            shown = shown.rename(columns={c: c + suffix for c in fields})
            pairs = pairs.merge(shown, left_on=id_col, right_on="record_id", how="left")
            pairs = pairs.drop(columns="record_id")
        out.append(pairs)
    return out[0], out[1]


def plot_threshold_curve(
    curve: pd.DataFrame,
    chosen: float | None = None,
    run_threshold: float | None = None,
    chosen_label: str = "chosen",
) -> tuple[Figure, pd.DataFrame]:
    """Precision-recall curve and precision / recall / F1 against the threshold.

    The threshold axis is the match weight (log2 odds: ``curve["match_weight"]``, or
    the log2 odds of a probability ``threshold``), with the probability on a second
    axis above it. ``run_threshold`` marks the run's own threshold (probability)
    where the run's links are: on the row of ``curve`` at that threshold (its
    ``run`` row from :func:`run_threshold_curve`), not the nearest candidate pair;
    ``chosen`` marks another (e.g. from :func:`choose_threshold`), named
    ``chosen_label`` in the legends. Returns the
    figure and ``curve`` (the data behind it).
    """
    fig = Figure(figsize=(11, 4.4), layout="constrained")
    pr, by_t = fig.subplots(1, 2)
    x = _weight_axis(curve)
    order = np.argsort(-x, kind="stable")
    pr.plot(
        curve["recall"].to_numpy()[order],
        curve["precision"].to_numpy()[order],
        drawstyle="steps-post",
        color="tab:blue",
    )
    pr.set(xlabel="recall", ylabel="precision", title="precision-recall")
    for name, colour in (("precision", "tab:blue"), ("recall", "tab:orange"), ("f1", "tab:green")):
        by_t.plot(x, curve[name], label=name, color=colour)
    is_prob = "match_weight" in curve or _probabilities(curve["threshold"])
    by_t.set(
        xlabel="threshold: match weight (log2 odds)" if is_prob else "threshold",
        ylabel="share",
        title="against the threshold",
    )
    if is_prob:
        top = by_t.secondary_xaxis(
            "top", functions=(lambda w: probability(w), lambda p: _log_odds(p))
        )
        top.set_xlabel("match probability")
        span = float(x.max() - x.min()) if len(x) else 0.0
        wanted = PROBABILITY_TICKS if span <= 16 else COARSE_PROBABILITY_TICKS
        ticks = [p for p in wanted if x.min() <= _log_odds(np.array([p]))[0] <= x.max()]
        top.set_xticks(ticks, [f"{p:g}" for p in ticks])
    marks = (
        (run_threshold, "this run", "black", "-", "*"),
        (chosen, chosen_label, "grey", "--", "o"),
    )
    for value, what, colour, style, marker in marks:
        if value is None:
            continue
        row = _row_at(curve, value, run=what == "this run")
        w = _weight_axis(curve.loc[[row.name]])[0]
        label = f"{what}: {threshold_label(value) if is_prob else f'{value:.3g}'}"
        by_t.axvline(w, color=colour, linestyle=style, label=label)
        pr.scatter(
            [row["recall"]],
            [row["precision"]],
            color=colour,
            marker=marker,
            s=90 if marker == "*" else 40,
            zorder=3,
            label=f"{label}: P {row['precision']:.4f}, R {row['recall']:.4f}",
        )
    by_t.legend(loc="lower left", fontsize="small")
    if run_threshold is not None or chosen is not None:
        pr.legend(loc="lower left", fontsize="small")
    return fig, curve


#: Probabilities labelled on the second axis of a weight axis (a short one; a long one).
PROBABILITY_TICKS = (1e-4, 0.001, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 0.99999)
COARSE_PROBABILITY_TICKS = (1e-4, 0.01, 0.5, 0.99, 0.9999, 0.999999)


def threshold_label(probability: float) -> str:
    """A probability threshold as people read it, with its match weight.

    Examples
    --------
    >>> threshold_label(0.5)
    'p=0.5 (weight 0.0)'
    >>> threshold_label(0.99)
    'p=0.99 (weight 6.6)'
    """
    weight = float(_log_odds(np.array([probability]))[0])
    return f"p={probability:.4g} (weight {round(weight, 1) + 0.0:.1f})"


def _probabilities(values: pd.Series) -> bool:
    v = values.to_numpy(dtype=float)
    return bool(len(v)) and bool(((v >= 0) & (v <= 1)).all())


def _weight_axis(curve: pd.DataFrame) -> np.ndarray:
    """The x values of a curve: its match weights, the log2 odds of probability
    thresholds, or the thresholds as they are (another score)."""
    if "match_weight" in curve:
        return curve["match_weight"].to_numpy(dtype=float)
    if _probabilities(curve["threshold"]):
        return _log_odds(curve["threshold"].to_numpy(dtype=float))
    return curve["threshold"].to_numpy(dtype=float)


def _row_at(curve: pd.DataFrame, threshold: float, run: bool = False) -> pd.Series:
    """The curve's row of the run (its ``run`` flag) or at ``threshold`` (nearest)."""
    if run and "run" in curve and curve["run"].astype(bool).any():
        return curve.loc[curve["run"].astype(bool).idxmax()]  # type: ignore[call-overload]
    return curve.loc[(curve["threshold"] - threshold).abs().idxmin()]  # type: ignore[call-overload]  # idxmax/idxmin labels: Hashable in the stubs


def _wilson_low(successes: np.ndarray, trials: np.ndarray, confidence: float) -> np.ndarray:
    """Lower end of the Wilson interval, element-wise (0 where there are no trials)."""
    z = float(norm.ppf(0.5 + confidence / 2))
    n = np.maximum(trials, 1)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return np.where(trials > 0, np.maximum(0.0, centre - half), 0.0)


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion (sound near 0 and 1, unlike the normal one).

    Examples
    --------
    >>> low, high = wilson_interval(199, 200)
    >>> round(low, 4), round(high, 4)
    (0.9722, 0.9991)
    """
    if trials <= 0:
        return 0.0, 1.0
    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * np.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    # at 0 or all successes the interval ends exactly there (not a rounding error off it)
    low = 0.0 if successes <= 0 else float(max(0.0, centre - half))
    high = 1.0 if successes >= trials else float(min(1.0, centre + half))
    return low, high


def estimate_from_sample(
    sample: pd.DataFrame, links: pd.DataFrame, confidence: float = 0.95
) -> dict[str, float]:
    """Precision of ``links`` estimated from a reviewed random sample of them, with a
    confidence interval.

    ``sample`` has ``left_id``, ``right_id`` and ``is_match`` (bool) for pairs drawn
    at random from ``links`` (e.g. field verification of 200 links); pairs of the
    sample that are not among the links are refused, since they would bias the
    estimate. Returns the estimate, its interval and the implied number of false
    links among all links.
    """
    key = ["left_id", "right_id"]
    reviewed = sample[[*key, "is_match"]].astype({"left_id": str, "right_id": str})
    known = reviewed.merge(links[key].astype(str).drop_duplicates(), on=key, how="inner")
    if len(known) != len(reviewed):
        raise ValueError(
            f"{len(reviewed) - len(known)} reviewed pairs are not among the links: "
            "a precision estimate needs a sample of the links themselves"
        )
    hits = int(known["is_match"].astype(bool).sum())
    low, high = wilson_interval(hits, len(known), confidence)
    precision = hits / len(known) if len(known) else float("nan")
    n_links = len(links[key].drop_duplicates())
    return {
        "sample_size": len(known),
        "precision": precision,
        "precision_low": low,
        "precision_high": high,
        "false_links": (1 - precision) * n_links,
        "false_links_low": (1 - high) * n_links,
        "false_links_high": (1 - low) * n_links,
    }


def household_metrics(
    predicted: pd.DataFrame,
    truth: pd.DataFrame,
    left_household: pd.Series,
    right_household: pd.Series,
) -> dict[str, float]:
    """Precision, recall and F1 of household pairs: a person link links the two
    households, and a household pair is true when a true person link joins them.

    ``left_household`` / ``right_household`` map record id -> household id.
    This is the level benefits are paid at: a wrong person link inside the right
    household pair costs nothing there, one into another household does.
    """

    def households(pairs: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame(
            {
                "left_id": pairs["left_id"].astype(str).map(left_household.rename(str)),
                "right_id": pairs["right_id"].astype(str).map(right_household.rename(str)),
            }
        )
        return out.dropna().drop_duplicates()

    left_household = left_household.set_axis(left_household.index.astype(str))
    right_household = right_household.set_axis(right_household.index.astype(str))
    return link_metrics(households(predicted), households(truth))


def label_free_curve(scored: pd.DataFrame, score: str = "match_probability") -> pd.DataFrame:
    """Expected false and missed links at every threshold, from the probabilities alone
    (the fastLink estimates): no labels needed.

    Keeping the pairs scoring at or above ``t``: expected false links = sum of
    ``1 - p`` over them; expected missed links = sum of ``p`` over the pairs below;
    FDR and FNR divide by the links kept and by the expected matches. They are as
    good as the probabilities are calibrated (the Linker's Fellegi-Sunter ones
    mostly overestimate the FDR, by up to 0.002 on the robustness benchmark).
    """
    p = np.sort(scored[score].to_numpy(dtype=float))[::-1]
    thresholds, first = np.unique(-p, return_index=True)
    last = np.r_[first[1:], len(p)]  # rows [0, last) score >= threshold
    kept = last.astype(float)
    false_kept = np.cumsum(1 - p)[last - 1]
    matches = p.sum()
    missed = matches - np.cumsum(p)[last - 1]
    return pd.DataFrame(
        {
            "threshold": -thresholds,
            "links": kept.astype(int),
            "expected_false_links": false_kept,
            "expected_missed_links": missed,
            "estimated_fdr": false_kept / kept,
            "estimated_fnr": missed / matches if matches else np.zeros_like(missed),
        }
    )


def estimate_from_random_pairs(
    sample: pd.DataFrame, links: pd.DataFrame, confidence: float = 0.95
) -> dict[str, float]:
    """Precision and recall estimated from a reviewed uniform random sample of candidate
    pairs (``left_id``, ``right_id``, ``is_match``), each with a Wilson interval.

    Precision: share of the sampled pairs that are links and true. Recall: share of
    the sampled true pairs that are links. Both are unbiased for a uniform sample of
    the candidate pairs; true pairs missed by blocking are not in the population,
    so recall is of the candidates.
    """
    key = ["left_id", "right_id"]
    s = sample[[*key, "is_match"]].astype({"left_id": str, "right_id": str})
    linked = pd.MultiIndex.from_frame(s[key]).isin(pd.MultiIndex.from_frame(links[key].astype(str)))
    match = s["is_match"].astype(bool).to_numpy()
    tp, n_linked, n_match = int((linked & match).sum()), int(linked.sum()), int(match.sum())
    p_low, p_high = wilson_interval(tp, n_linked, confidence)
    r_low, r_high = wilson_interval(tp, n_match, confidence)
    return {
        "sample_size": len(s),
        "sampled_links": n_linked,
        "sampled_matches": n_match,
        "precision": tp / n_linked if n_linked else float("nan"),
        "precision_low": p_low,
        "precision_high": p_high,
        "recall": tp / n_match if n_match else float("nan"),
        "recall_low": r_low,
        "recall_high": r_high,
    }


def _with_truth(scored: pd.DataFrame, truth: pd.DataFrame, score: str) -> pd.DataFrame:
    key = ["left_id", "right_id"]
    rows = scored[[*key, score]].astype({"left_id": str, "right_id": str})
    true = pd.MultiIndex.from_frame(truth[key].astype(str))
    return rows.assign(is_match=pd.MultiIndex.from_frame(rows[key]).isin(true))


def plot_score_histogram(
    scored: pd.DataFrame,
    truth: pd.DataFrame,
    score: str = "match_probability",
    threshold: float | None = None,
    bins: int = 50,
) -> tuple[Figure, pd.DataFrame]:
    """Histogram of the scores of true and false pairs (log-odds scale for probabilities),
    with the threshold marked. Returns the figure and the counts per bin and class.

    ``threshold`` is on the scale of ``score`` (a probability for ``*probability``, log2
    odds for ``*weight``); the legend gives both, e.g. ``threshold p=0.5 (weight 0.0)``.
    """
    rows = _with_truth(scored, truth, score)
    values = rows[score].to_numpy(dtype=float)
    is_prob = score.endswith("probability")
    x = _log_odds(values) if is_prob else values
    edges = np.histogram_bin_edges(x[np.isfinite(x)], bins=bins)
    match = rows["is_match"].to_numpy()
    true_counts, _ = np.histogram(x[match], bins=edges)
    false_counts, _ = np.histogram(x[~match], bins=edges)
    data = pd.DataFrame(
        {
            "bin_low": edges[:-1],
            "bin_high": edges[1:],
            "true_pairs": true_counts,
            "false_pairs": false_counts,
        }
    )
    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.subplots()
    width = np.diff(edges)
    for counts, label, colour in (
        (false_counts, "not a match", "tab:red"),
        (true_counts, "match", "tab:green"),
    ):
        ax.bar(edges[:-1], counts, width=width, align="edge", alpha=0.6, label=label, color=colour)
    ax.set_yscale("symlog")
    ax.set(
        xlabel=f"match weight (log2 odds of {score})" if is_prob else score,
        ylabel="pairs",
        title="scores by true class",
    )
    if threshold is not None:
        t = _log_odds(np.array([threshold]))[0] if is_prob else threshold
        if is_prob or score.endswith("weight"):  # a probability, or log2 odds
            p = threshold if is_prob else float(probability(threshold))
            text = threshold_label(p)
        else:
            text = f"{threshold:.3g}"
        ax.axvline(t, color="black", linestyle="--", label=f"threshold {text}")
    ax.legend()
    return fig, data


def plot_calibration(
    scored: pd.DataFrame,
    truth: pd.DataFrame,
    score: str = "match_probability",
    bins: int = 10,
    strategy: str = "uniform",
) -> tuple[Figure, pd.DataFrame]:
    """Calibration: the observed share of true pairs against the predicted probability.

    ``strategy="uniform"`` cuts 0..1 into ``bins`` equal widths (most pairs score near
    0 or 1, and the middle is where calibration matters); ``"quantile"`` makes bins of
    equal numbers of pairs. Empty bins are left out. Returns the figure and the table
    per bin (``predicted``, ``observed``, ``pairs``, and the Wilson interval of
    ``observed``)."""
    if strategy not in ("uniform", "quantile"):
        raise ValueError("strategy must be 'uniform' or 'quantile'")
    rows = _with_truth(scored, truth, score)
    p = rows[score].to_numpy(dtype=float)
    if strategy == "uniform":
        which = np.minimum((p * bins).astype(int), bins - 1)
        groups = [np.flatnonzero(which == b) for b in range(bins)]
    else:
        groups = np.array_split(np.argsort(p, kind="stable"), min(bins, max(len(p), 1)))
    is_match = rows["is_match"].to_numpy()
    table = []
    for idx in groups:
        if not len(idx):
            continue
        hits = int(is_match[idx].sum())
        low, high = wilson_interval(hits, len(idx))
        table.append(
            {
                "predicted": float(p[idx].mean()),
                "observed": hits / len(idx),
                "pairs": len(idx),
                "observed_low": low,
                "observed_high": high,
            }
        )
    data = pd.DataFrame(table)
    fig = Figure(figsize=(5, 5), layout="constrained")
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect")
    if not data.empty:
        err = np.vstack(
            [data["observed"] - data["observed_low"], data["observed_high"] - data["observed"]]
        ).clip(min=0)  # the interval's ends can miss the share by a rounding error
        ax.errorbar(
            data["predicted"], data["observed"], yerr=err, marker="o", capsize=3, label=score
        )
    ax.set(
        xlabel="predicted probability",
        ylabel="observed share of matches",
        title="calibration",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend(loc="upper left")
    return fig, data


def _log_odds(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log2(q / (1 - q))


def read_truth(path: str | Path, right: str | Path | None = None) -> pd.DataFrame:
    """True pairs from a file: either one table of ``left_id``, ``right_id``, or two
    tables (left and right records) with ``record_id`` and an entity id
    (``person_id`` or ``entity_id``), as the synthetic generator writes them."""
    from bansos_linkage.errors import InputError
    from bansos_linkage.io import read_table

    first = read_table(path)
    if right is None:
        if not {"left_id", "right_id"} <= set(first.columns):
            raise InputError("expected the columns left_id and right_id", file=path)
        return first[["left_id", "right_id"]].dropna().astype(str).drop_duplicates()
    sides = []
    for p, table in ((path, first), (right, read_table(right))):
        entity = next((c for c in ("person_id", "entity_id") if c in table), None)
        if "record_id" not in table or entity is None:
            raise InputError("expected record_id and person_id (or entity_id)", file=p)
        sides.append(table.set_index(table["record_id"].astype(str))[entity])
    return true_links(sides[0], sides[1])


def _family_metrics(run, truth: pd.DataFrame) -> dict[str, float]:
    """:func:`household_metrics` with the families the run's household links use."""
    from bansos_linkage.linkage.households import family_key

    def family(records: pd.DataFrame) -> pd.Series:
        return pd.Series(family_key(records).to_numpy(), index=records["record_id"].astype(str))

    return household_metrics(run.links, truth, family(run.left), family(run.right))


def truth_metrics(
    run, truth: pd.DataFrame, min_precision: float = 0.995, confidence: float | None = 0.95
) -> dict[str, Any]:
    """A run's links against true pairs, as :func:`~bansos_linkage.runs.evaluate.evaluate_run`
    reports them for a run folder (``run`` is the folder as
    :func:`~bansos_linkage.runs.link.read_run` reads it): ``table`` (the rows of
    ``metrics.csv``), ``curve``, ``false_links``, ``missed_links``, ``figures`` and
    ``score`` (the probability column judged)."""
    run = _read(run)
    score = "ml_probability" if "ml_probability" in run.pairs else "match_probability"
    # the links each threshold would make after the run's resolution, so that the
    # suggestions are what `link --threshold T` gives and the run's row is the run
    curve = run_threshold_curve(run, truth)
    best = choose_threshold(curve)
    if curve["run"].any() and curve.loc[curve["run"], "f1"].max() >= best["f1"]:
        best = curve.loc[curve["run"].idxmax()]  # type: ignore[call-overload]  # the run's own threshold is as good
    try:
        floor = choose_threshold(curve, min_precision=min_precision, confidence=confidence)
    except ValueError:
        floor = None
    metrics = link_metrics(run.links, truth)
    families = _family_metrics(run, truth)
    false_links, missed = link_errors(run.links, truth, run.left, run.right)
    run_threshold = float(run.summary["threshold"])
    figures = {
        "threshold_curve": plot_threshold_curve(
            curve,
            chosen=float(best["threshold"]),
            run_threshold=run_threshold,
            chosen_label="best F1",
        )[0],
        "score_histogram": plot_score_histogram(run.pairs, truth, score, run_threshold)[0],
        "calibration": plot_calibration(run.pairs, truth, score)[0],
    }
    sure = f" ({confidence:.0%} sure)" if confidence else ""
    at_run = {
        "threshold": run_threshold,
        "match_weight": float(np.log2(run_threshold / (1 - run_threshold))),
    }
    table = pd.DataFrame(
        [
            {"what": "links of the run", **at_run, **metrics},
            {"what": "family pairs of the run", **at_run, **families},
            {"what": "best F1", **best.drop("run").to_dict()},
            # not reached (too few pairs to be that sure, or too many errors): said so
            {
                "what": f"precision >= {min_precision}{sure}"
                + ("" if floor is not None else ": no threshold reaches it"),
                **(floor.drop("run").to_dict() if floor is not None else {}),
            },
        ]
    )
    result: dict[str, object] = {
        "table": table,
        "curve": curve,
        "false_links": false_links,
        "missed_links": missed,
        "figures": figures,
        "score": score,
    }
    return result


# --- evaluation from reviewed labels (no truth) -----------------------------------------

#: ``selected_by`` of the labels that are a uniform random sample of the run's links
#: (``review export`` draws its random share from the links).
RANDOM_LINKS = "random"
#: ``selected_by`` of labels that are a uniform random sample of the run's scored
#: candidate pairs (links or not, as ``pairs.parquet`` holds them): with them,
#: recall can be estimated too.
RANDOM_PAIRS = "random_pairs"
#: Below this many reviewed random links a precision estimate is only indicative.
SMALL_SAMPLE = 30


def _as_labels(labels: str | Path | pd.DataFrame) -> pd.DataFrame:
    from bansos_linkage.review import read_labels

    if not isinstance(labels, pd.DataFrame):
        return read_labels(labels)
    table = labels.copy()
    if "decision" not in table and "is_match" in table:
        table["decision"] = np.where(table["is_match"].astype(bool), "match", "non_match")
    if "selected_by" not in table:
        table["selected_by"] = ""
    return table.astype({"left_id": str, "right_id": str})


def labels_metrics(
    run, labels: str | Path | pd.DataFrame, confidence: float = 0.95
) -> dict[str, Any]:
    """Precision (and recall where the sample allows) of a run's links from reviewed labels.

    ``run`` is a run folder as :func:`~bansos_linkage.runs.link.read_run` reads it;
    ``labels`` a labels file (``review import`` writes ``RUN_DIR/labels.csv``)
    or its table. Only random samples give estimates: the labels with
    ``selected_by`` ``"random"`` that are links of the run estimate its precision
    (:func:`estimate_from_sample`, Wilson interval); those with ``"random_pairs"``
    (a uniform sample of the scored pairs) estimate precision and recall
    (:func:`estimate_from_random_pairs`). The other decided labels (chosen near the
    threshold or where matchers disagree) are counted as known errors, never as an
    estimate. ``unsure`` labels and pairs the run never scored are left out, and
    counted.

    Returns ``table`` (the rows of ``metrics.csv``), ``counts`` (labels read, used and
    left out, and why) and ``warnings`` (sentences).
    """
    run = _read(run)
    key = ["left_id", "right_id"]
    table = _as_labels(labels)
    ids = pd.MultiIndex.from_frame(table[key].astype(str))
    in_run = ids.isin(pd.MultiIndex.from_frame(run.pairs[key].astype(str)))
    links = run.links[key].astype(str).drop_duplicates()
    is_link = ids.isin(pd.MultiIndex.from_frame(links))
    unsure = (table["decision"] == "unsure").to_numpy()
    selected = table["selected_by"].fillna("").astype(str).str.strip().to_numpy()
    used = ~unsure & in_run
    random_links = used & (selected == RANDOM_LINKS) & is_link
    random_elsewhere = used & (selected == RANDOM_LINKS) & ~is_link
    random_pairs = used & (selected == RANDOM_PAIRS)
    chosen = used & ~random_links & ~random_elsewhere & ~random_pairs
    decided = table.assign(is_match=(table["decision"] == "match").to_numpy())
    threshold = float(run.summary["threshold"])
    n_links = len(links)
    rows: list[dict[str, object]] = []
    warnings: list[str] = []
    base = {"threshold": threshold, "links": n_links}
    sample = decided[random_links]
    what = "links of the run: precision (reviewed random sample of the links)"
    if len(sample):
        est = estimate_from_sample(sample, links, confidence)
        rows.append({"what": what, **base, **est})
        if len(sample) < SMALL_SAMPLE:
            warnings.append(
                f"only {len(sample)} reviewed random links: the precision interval is wide "
                f"({est['precision_low']:.3f} to {est['precision_high']:.3f})"
            )
    else:
        rows.append({"what": what + ": none reviewed", **base, "sample_size": 0})
        warnings.append(
            "no reviewed random sample of the links: precision cannot be estimated "
            "(review export draws one: its rows with selected_by 'random')"
        )
    what = "candidate pairs: precision and recall (reviewed random sample of the pairs)"
    if random_pairs.any():
        est = estimate_from_random_pairs(decided[random_pairs], links, confidence)
        rows.append({"what": what, **base, **est})
    else:
        rows.append({"what": "recall: not estimable (no random sample of candidate pairs)", **base})
        warnings.append(
            "recall cannot be estimated: no reviewed uniform sample of the candidate pairs "
            f"(labels with selected_by '{RANDOM_PAIRS}')"
        )
    known = decided[chosen]
    known_link = is_link[chosen]
    rows.append(
        {
            "what": "reviewed pairs chosen on purpose (known errors, not an estimate)",
            **base,
            "sample_size": int(chosen.sum()),
            "false_positives": int((known_link & ~known["is_match"].to_numpy()).sum()),
            "false_negatives": int((~known_link & known["is_match"].to_numpy()).sum()),
        }
    )
    counts = {
        "labels read": len(table),
        "labels used": int(used.sum()),
        "of which random links (precision)": int(random_links.sum()),
        "of which random candidate pairs (precision and recall)": int(random_pairs.sum()),
        "of which chosen on purpose (known errors only)": int(chosen.sum()),
        "of which random, but not a link of this run (left out)": int(random_elsewhere.sum()),
        "labels left out: unsure": int(unsure.sum()),
        "labels left out: pair not scored in this run": int((~unsure & ~in_run).sum()),
    }
    if random_elsewhere.any():
        warnings.append(
            f"{int(random_elsewhere.sum())} labels were drawn at random from the links of "
            "another run (they are not links of this one) and are left out"
        )
    rows += [{"what": name, "labels": n} for name, n in counts.items()]
    return {"table": pd.DataFrame(rows), "counts": counts, "warnings": warnings}


__all__ = [
    "COARSE_PROBABILITY_TICKS",
    "CURVE_STEP",
    "PROBABILITY_TICKS",
    "RANDOM_LINKS",
    "RANDOM_PAIRS",
    "RunRelinker",
    "SMALL_SAMPLE",
    "choose_threshold",
    "curve_thresholds",
    "estimate_from_random_pairs",
    "estimate_from_sample",
    "exact_nik_links",
    "household_metrics",
    "label_free_curve",
    "labels_metrics",
    "link_errors",
    "link_metrics",
    "plot_calibration",
    "plot_score_histogram",
    "plot_threshold_curve",
    "read_truth",
    "run_threshold_curve",
    "threshold_curve",
    "threshold_label",
    "true_links",
    "truth_metrics",
    "wilson_interval",
]
