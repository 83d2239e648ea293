"""Explanations of Fellegi-Sunter match scores: tables first, charts drawn from them.

A pair's match weight is a sum of log2 terms: the prior odds, one Bayes factor
log2(m/u) per comparison (0 when the level is missing) and any extra weights
such as a term-frequency adjustment. :func:`waterfall` lists those terms for one
pair; :func:`match_weight_histogram` shows the weights of a whole run and
:func:`plot_m_u` the fitted parameters behind them. Every chart function
returns the data it drew, so figures can be checked and reported as tables.

Labels only ever carry comparison and level names, never record values (names,
NIKs are personal data). Charts are drawn on :class:`matplotlib.figure.Figure`
objects, not pyplot's global state, so they work headless and in notebooks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from sklearn.utils.validation import check_is_fitted

from bansos_linkage.linkage.comparisons import Comparison
from bansos_linkage.linkage.fellegi_sunter import _EPS, FellegiSunter, probability

POSITIVE = "#2e7d32"  # green: evidence for a match
NEGATIVE = "#c62828"  # red: evidence against
NEUTRAL = "#9e9e9e"
FINAL = "#1565c0"
MATCH = "#2e7d32"
NON_MATCH = "#9e9e9e"

WATERFALL_COLUMNS = (
    "term",
    "kind",
    "level",
    "level_name",
    "m",
    "u",
    "weight",
    "cumulative",
    "probability",
)


def level_names(comparisons: Sequence[Comparison]) -> dict[str, tuple[str, ...]]:
    """Level labels of each comparison, indexed by level number (0 = else ... strongest).

    Comparisons list their levels strongest first; the model numbers them from
    ``0`` = "else" up, so the tuple is reversed here once.

    Parameters
    ----------
    comparisons
        Comparison objects (e.g. ``DEFAULT_COMPARISONS``).

    Returns
    -------
    dict
        Comparison label -> level labels, position = level number.

    Examples
    --------
    ``level_names([NameComparison()])["name"][6]`` is ``"exact"`` and ``[0]`` is
    ``"else"``.
    """
    out: dict[str, tuple[str, ...]] = {}
    for comp in comparisons:
        if comp.label in out:
            # compare() would silently keep only the last one; say so here instead
            raise ValueError(f"two comparisons share the label {comp.label!r}")
        out[comp.label] = tuple(reversed(comp.levels))
    return out


def waterfall(
    model: FellegiSunter,
    levels_row: pd.DataFrame | pd.Series,
    names: Mapping[str, Sequence[str]] | None = None,
    extra_weights: Mapping[str, float] | pd.Series | None = None,
) -> pd.DataFrame:
    """The terms that add up to one pair's match weight, in order.

    Parameters
    ----------
    model
        A fitted :class:`~bansos_linkage.linkage.fellegi_sunter.FellegiSunter`.
    levels_row
        The pair's comparison levels: a one-row DataFrame or a Series indexed by
        ``model.feature_names_in_`` (e.g. ``levels.iloc[[i]]`` or ``levels.iloc[i]``
        from :func:`~bansos_linkage.linkage.comparisons.compare`). ``-1`` = missing.
    names
        Comparison label -> level labels by level number, e.g. from
        :func:`level_names`; comparisons not in it are labelled by number.
    extra_weights
        Further log2 weights added after the comparisons, name -> weight (e.g.
        ``{"tf_adjustment:name": 2.3}`` from
        :func:`~bansos_linkage.linkage.fellegi_sunter.term_frequency_adjustment`).

    Returns
    -------
    pandas.DataFrame
        One row per term: ``term``, ``kind`` ("prior", "comparison", "extra",
        "final"), ``level`` (comparison rows only), ``level_name`` ("missing" for
        -1), ``m``, ``u``, ``weight`` (log2 Bayes factor; log2 prior odds for the
        prior; the total for the final row), ``cumulative`` (weight so far) and
        ``probability`` (match probability after the term). The final row's
        cumulative equals ``model.match_weight`` of the row plus the extra weights.

    Raises
    ------
    ValueError
        The row's columns are not the model's comparisons (the missing and
        unexpected ones are named), it has more than one row, or a level is
        outside the model's levels.
    sklearn.exceptions.NotFittedError
        The model is not fitted.

    Examples
    --------
    ``waterfall(model, levels.iloc[[0]], level_names(DEFAULT_COMPARISONS),
    {"tf_adjustment:name": 1.5})`` gives a prior row, seven comparison rows, one
    extra row and the final row.
    """
    check_is_fitted(model)
    row = _one_row(model, levels_row)
    labels = _labels(model, names)
    lam = float(model.lambda_)
    # the same expression as FellegiSunter.match_weight, so the totals agree exactly
    prior = float(np.log(lam / (1 - lam)) / np.log(2))
    rows = [_term("prior", "prior", pd.NA, f"lambda={lam:.3g}", np.nan, np.nan, prior)]
    for k, name in enumerate(model.feature_names_in_):
        level = int(row[k])
        if level == -1:
            # missing at random: drops out of the likelihood, contributes nothing
            rows.append(_term(name, "comparison", -1, "missing", np.nan, np.nan, 0.0))
            continue
        m, u = float(model.m_[k][level]), float(model.u_[k][level])
        weight = float(np.log2(max(m, _EPS) / max(u, _EPS)))  # the clipping the model uses
        rows.append(_term(name, "comparison", level, labels[k][level], m, u, weight))
    for term, weight in _extra(extra_weights).items():
        rows.append(_term(term, "extra", pd.NA, "", np.nan, np.nan, weight))
    total = float(sum(r["weight"] for r in rows))  # type: ignore[misc]
    # the final bar is the whole weight (from 0); its `weight` is the total, not one more term
    rows.append(_term("final", "final", pd.NA, "", np.nan, np.nan, total))
    table = pd.DataFrame(rows)
    table["level"] = table["level"].astype("Int64")
    cumulative = np.cumsum([r["weight"] for r in rows])
    cumulative[-1] = total
    table["cumulative"] = cumulative
    table["probability"] = probability(table["cumulative"].to_numpy(dtype=float))
    return table[list(WATERFALL_COLUMNS)]


def plot_waterfall(table: pd.DataFrame, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Draw a :func:`waterfall` table: one bar per term, the running total as a line.

    Bars start where the previous term left the running weight: green for
    evidence for a match, red against, grey for missing (zero) terms; the final
    bar runs from 0 to the total. The title gives the final match probability.

    Parameters
    ----------
    table
        The output of :func:`waterfall`.
    ax
        Axes to draw on; a new figure is made when ``None``.
    title
        Title text before the final probability.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    ``plot_waterfall(waterfall(model, levels.iloc[[0]])).savefig("pair.png")``
    """
    missing = [
        c for c in ("term", "level_name", "weight", "cumulative", "probability") if c not in table
    ]
    if missing:
        raise ValueError(f"not a waterfall table: missing columns {missing}")
    if table.empty:
        raise ValueError("the waterfall table is empty")
    fig, ax = _figure(ax, figsize=(max(6.0, 0.6 * len(table) + 2), 4.5))
    kind = table["kind"] if "kind" in table else np.where(table["term"] == "final", "final", "")
    is_final = np.asarray(kind) == "final"
    weight = table["weight"].to_numpy(dtype=float)
    cumulative = table["cumulative"].to_numpy(dtype=float)
    start = np.where(is_final, 0.0, cumulative - weight)
    colours = [
        FINAL if f else POSITIVE if w > 0 else NEGATIVE if w < 0 else NEUTRAL
        for f, w in zip(is_final, weight, strict=True)
    ]
    x = np.arange(len(table))
    ax.bar(x, weight, bottom=start, color=colours, edgecolor="white", width=0.7)
    ax.plot(x, cumulative, color="black", marker="o", markersize=3, linewidth=1, label="cumulative")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xticks(x, _bar_labels(table), rotation=45, ha="right")
    ax.set_ylabel("match weight (log2 Bayes factor)")
    ax.legend(loc="best", fontsize="small")
    final_p = float(table["probability"].iloc[-1])
    head = title or "Match weight waterfall"
    ax.set_title(f"{head}\nweight {cumulative[-1]:+.2f}, probability {_format_p(final_p)}")
    return fig


def match_weight_histogram(
    weights: Sequence[float] | np.ndarray | pd.Series,
    threshold: float | None = None,
    true_match: Sequence[bool] | np.ndarray | pd.Series | None = None,
    bins: int | Sequence[float] = 50,
    ax: Axes | None = None,
) -> tuple[Figure, pd.DataFrame]:
    """Histogram of the match weights of a run, stacked by true class when known.

    Parameters
    ----------
    weights
        Match weights (``model.match_weight(levels)``), log2 odds.
    threshold
        A cut-off in match-weight units, drawn as a vertical line; a probability
        threshold ``p`` is ``log2(p / (1 - p))``.
    true_match
        Per pair, whether it is a true match (synthetic data, clerical review);
        the bars are then stacked non-matches below matches.
    bins
        Number of bins or the bin edges, as in :func:`numpy.histogram`.
    ax
        Axes to draw on; a new figure is made when ``None``.

    Returns
    -------
    (matplotlib.figure.Figure, pandas.DataFrame)
        The figure and one row per bin: ``bin_left``, ``bin_right``, ``count``
        and, with ``true_match``, ``count_match`` and ``count_nonmatch``.

    Examples
    --------
    ``fig, data = match_weight_histogram(model.match_weight(levels), threshold=0.0)``
    """
    w = np.asarray(weights, dtype=float).ravel()
    if not np.isfinite(w).all():
        raise ValueError(f"{int((~np.isfinite(w)).sum())} match weights are not finite")
    truth = None
    if true_match is not None:
        truth = np.asarray(true_match).ravel()
        if len(truth) != len(w):
            raise ValueError(f"true_match has {len(truth)} values for {len(w)} weights")
        truth = truth.astype(bool)
    # shared edges, so the class counts stack bin by bin and add up to the total
    edges = np.histogram_bin_edges(w, bins=bins)
    data = pd.DataFrame({"bin_left": edges[:-1], "bin_right": edges[1:]})
    data["count"] = np.histogram(w, bins=edges)[0]
    fig, ax = _figure(ax, figsize=(8.0, 4.0))
    width = np.diff(edges)
    if truth is None:
        ax.bar(edges[:-1], data["count"], width=width, align="edge", color=FINAL, label="pairs")
    else:
        data["count_match"] = np.histogram(w[truth], bins=edges)[0]
        data["count_nonmatch"] = np.histogram(w[~truth], bins=edges)[0]
        ax.bar(
            edges[:-1],
            data["count_nonmatch"],
            width=width,
            align="edge",
            color=NON_MATCH,
            label="non-match",
        )
        ax.bar(
            edges[:-1],
            data["count_match"],
            bottom=data["count_nonmatch"],
            width=width,
            align="edge",
            color=MATCH,
            label="match",
        )
    if threshold is not None:
        ax.axvline(
            float(threshold), color="black", linestyle="--", label=f"threshold {threshold:g}"
        )
    ax.set_xlabel("match weight (log2 posterior odds)")
    ax.set_ylabel("pairs")
    ax.set_title(f"Match weights of {len(w):,} pairs")
    ax.legend(loc="best", fontsize="small")
    return fig, data


def observed_levels(
    model: FellegiSunter,
    max_level_seen: Sequence[int] | None,
    random_pairs: int | None = None,
) -> dict[str, tuple[bool, ...]]:
    """Which levels of each comparison have parameters from data: comparison -> one
    flag per level (False: "no data").

    ``max_level_seen`` is the highest level of each comparison among the candidate
    pairs (``Linker.max_level_seen_``; -1 when the comparison was missing for every
    pair, a column absent on one side). Levels above it had no pair, so their m and
    u come from smoothing alone. With ``random_pairs`` (the number of random pairs u
    was counted on) a level below it is "no data" too when u saw no random pair at
    it (``u * random_pairs < 1``: only the pseudo-count) and m is no more than its
    smoothing share (``m_smoothing / levels``): both from no data. Empty or ``None``
    ``max_level_seen`` (older model files): every level counts as seen.

    Examples
    --------
    >>> model = FellegiSunter.from_parameters([[0.2, 0.3, 0.5]], [[0.9, 0.09, 0.01]], 0.1, ["a"])
    >>> observed_levels(model, [1])
    {'a': (True, True, False)}
    """
    check_is_fitted(model)
    floor = float(getattr(model, "m_smoothing", 0.0) or 0.0)
    out = {}
    for k, (name, n) in enumerate(zip(model.feature_names_in_, model.n_levels_, strict=True)):
        top = int(max_level_seen[k]) if max_level_seen else int(n) - 1
        flags = []
        for level in range(int(n)):
            m, u = float(model.m_[k][level]), float(model.u_[k][level])
            empty = random_pairs is not None and u * random_pairs < 1 and m <= floor / n * 1.001
            flags.append(level <= top and not empty)
        out[str(name)] = tuple(flags)
    return out


#: How a level without data is drawn in :func:`plot_m_u`.
NO_DATA = "#9e9e9e"
NO_DATA_HATCH = "///"


def plot_m_u(
    model,
    names: Mapping[str, Sequence[str]] | None = None,
    observed: Mapping[str, Sequence[bool]] | None = None,
) -> tuple[Figure, pd.DataFrame]:
    """The fitted m and u probabilities and the match weight of every comparison level.

    One row of panels per comparison, levels strongest at the top. Left: m
    (share of matches at the level) and u (share of non-matches) side by side,
    as in Splink's m-u parameters chart. Right: the level's match weight
    log2(m/u), green when agreement at that level is evidence for a match,
    red when against. A level without data (``observed`` False: no candidate pair
    was at it, or the comparison was missing on one side) is drawn as a grey
    hatched band marked "no data" instead of bars: its m, u and weight come from
    smoothing alone and mean nothing.

    Parameters
    ----------
    model
        A fitted :class:`~bansos_linkage.linkage.fellegi_sunter.FellegiSunter`, or a fitted
        ``Linker`` (its level names and observed levels are then the defaults).
    names
        Comparison label -> level labels by level number (from :func:`level_names`).
    observed
        Comparison label -> one flag per level number: False where linking saw no
        pair (from :func:`observed_levels`). Default: every level observed.

    Returns
    -------
    (matplotlib.figure.Figure, pandas.DataFrame)
        The figure (two axes per comparison) and ``model.parameters()`` with a
        ``level_name`` column; when ``observed`` is known (given, or from a Linker)
        also ``observed`` and ``drawn_as`` ("bars" or "no data").

    Examples
    --------
    ``fig, params = plot_m_u(model, level_names(DEFAULT_COMPARISONS))``, or
    ``plot_m_u(linker)``.
    """
    if hasattr(model, "comparisons_") and hasattr(model, "max_level_seen_"):  # a Linker
        linker = model
        model = linker.fitted_model
        names = level_names(linker.comparisons_) if names is None else names
        if observed is None:
            observed = observed_levels(model, linker.max_level_seen_, linker.u_pairs)
    check_is_fitted(model)
    labels = _labels(model, names)
    params = model.parameters()
    params.insert(
        2,
        "level_name",
        [labels[k][level] for k, n in enumerate(model.n_levels_) for level in range(int(n))],
    )
    seen = [
        bool(observed[str(c)][int(level)]) if observed is not None and str(c) in observed else True
        for c, level in zip(params["comparison"], params["level"], strict=True)
    ]
    if observed is not None:
        params["observed"] = seen
        params["drawn_as"] = np.where(seen, "bars", "no data")
    n_levels = [int(n) for n in model.n_levels_]
    fig = Figure(
        figsize=(10.0, 1.0 + 0.45 * sum(n_levels) + 0.4 * len(n_levels)), layout="constrained"
    )
    axes = fig.subplots(
        len(n_levels), 2, squeeze=False, sharex="col", gridspec_kw={"height_ratios": n_levels}
    )
    w_all = params.loc[seen, "match_weight"].to_numpy(dtype=float)
    w_lo = min(float(w_all.min()) if len(w_all) else -1.0, 0.0)
    w_hi = max(float(w_all.max()) if len(w_all) else 1.0, 0.0)
    for k, name in enumerate(model.feature_names_in_):
        part = params[params["comparison"] == name]
        ok = np.asarray(seen)[part.index.to_numpy()]
        y = part["level"].to_numpy()
        ax_mu, ax_w = axes[k]
        ax_mu.barh(y[ok] + 0.2, part["m"][ok], height=0.4, color=MATCH, label="m: share of matches")
        ax_mu.barh(
            y[ok] - 0.2, part["u"][ok], height=0.4, color=NON_MATCH, label="u: share of non-matches"
        )
        w = part["match_weight"].to_numpy(dtype=float)
        ax_w.barh(y[ok], w[ok], height=0.7, color=np.where(w[ok] >= 0, POSITIVE, NEGATIVE))
        for level in y[~ok]:  # no pair was at this level: nothing to draw but that
            for ax, (lo, hi) in ((ax_mu, (0.0, 1.0)), (ax_w, (w_lo, w_hi))):
                ax.barh(
                    level,
                    hi - lo,
                    left=lo,
                    height=0.7,
                    facecolor="none",
                    edgecolor=NO_DATA,
                    hatch=NO_DATA_HATCH,
                    label="no data (no pair at this level)",
                )
                ax.text(
                    (lo + hi) / 2,
                    level,
                    "no data",
                    ha="center",
                    va="center",
                    color="#616161",
                    fontsize="small",
                )
        ax_mu.set_yticks(y, part["level_name"])
        ax_mu.set_ylabel(str(name))
        ax_mu.set_xlim(0, 1)
        ax_w.axvline(0, color="black", linewidth=0.6)
        ax_w.set_yticks(y, part["level_name"])
    axes[0, 0].set_title("m and u probability")
    handles: dict[str, Artist] = {}
    for ax in axes[:, 0]:
        for handle, text in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(text, handle)
    fig.legend(
        list(handles.values()), list(handles), loc="outside upper center", ncols=3, fontsize="small"
    )
    axes[0, 1].set_title("match weight log2(m/u)")
    axes[-1, 0].set_xlabel("probability")
    axes[-1, 1].set_xlabel("log2 Bayes factor")
    return fig, params


def _one_row(model: FellegiSunter, levels_row: pd.DataFrame | pd.Series) -> np.ndarray:
    """The row's levels in the model's feature order, after checking its columns."""
    if isinstance(levels_row, pd.DataFrame):
        if len(levels_row) != 1:
            raise ValueError(
                f"waterfall explains one pair; got {len(levels_row)} rows (use .iloc[[i]])"
            )
        series = levels_row.iloc[0]
    elif isinstance(levels_row, pd.Series):
        series = levels_row
    else:
        raise TypeError("levels_row must be a one-row DataFrame or a Series of levels")
    series = series.copy()
    series.index = [str(c) for c in series.index]  # the model stores names as str
    features = [str(f) for f in model.feature_names_in_]
    missing = [f for f in features if f not in series.index]
    extra = [c for c in series.index if c not in features]
    if missing or extra:
        raise ValueError(
            "levels_row columns do not match the model's comparisons: "
            f"missing {missing}, unexpected {extra}"
        )
    values = pd.to_numeric(series[features], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(values).all() or (values != np.round(values)).any():
        raise ValueError("comparison levels must be integers (-1 = missing)")
    levels = values.astype(np.int64)
    for k, (name, level) in enumerate(zip(features, levels, strict=True)):
        if level < -1 or level >= model.n_levels_[k]:
            # match_weight would silently ignore it; an explanation should not
            raise ValueError(
                f"level {level} of {name!r} is outside the model's levels "
                f"-1..{model.n_levels_[k] - 1}"
            )
    return levels


def _labels(
    model: FellegiSunter, names: Mapping[str, Sequence[str]] | None
) -> list[tuple[str, ...]]:
    """Level labels per model feature, numbered labels where no names are given."""
    out = []
    for name, n in zip(model.feature_names_in_, model.n_levels_, strict=True):
        given = None if names is None else names.get(str(name))
        if given is None:
            out.append(tuple(str(level) for level in range(int(n))))
            continue
        if len(given) < n:
            # fewer labels than fitted levels: the names belong to another comparison setup
            raise ValueError(
                f"names[{str(name)!r}] has {len(given)} level labels "
                f"but the model has {int(n)} levels"
            )
        out.append(tuple(str(g) for g in given))
    return out


def _extra(extra_weights: Mapping[str, float] | pd.Series | None) -> dict[str, float]:
    if extra_weights is None:
        return {}
    items = dict(extra_weights.items())
    out = {str(k): float(v) for k, v in items.items()}
    bad = [k for k, v in out.items() if not np.isfinite(v)]
    if bad:
        raise ValueError(f"extra weights must be finite: {bad}")
    return out


def _term(
    term: str, kind: str, level, level_name: str, m: float, u: float, weight: float
) -> dict[str, object]:
    return {
        "term": str(term),
        "kind": kind,
        "level": level,
        "level_name": level_name,
        "m": m,
        "u": u,
        "weight": weight,
    }


def _format_p(p: float) -> str:
    if p >= 1.0:
        return "1 (to float precision)"
    if p > 0.999:
        return f"1 - {1 - p:.1e}"
    if p < 0.001:
        return f"{p:.1e}"
    return f"{p:.3f}"


def _bar_labels(table: pd.DataFrame) -> list[str]:
    labels = []
    for term, name in zip(table["term"], table["level_name"], strict=True):
        name = "" if pd.isna(name) else str(name)
        labels.append(f"{term}: {name}" if name else str(term))
    return labels


def _figure(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        try:
            return ax.get_figure(root=True), ax  # type: ignore[return-value]  # the top figure, even for a subfigure's axes
        except TypeError:  # matplotlib < 3.10 has no root= and returns the top figure
            return ax.get_figure(), ax  # type: ignore[return-value]
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


__all__ = [
    "FINAL",
    "MATCH",
    "NEGATIVE",
    "NEUTRAL",
    "NON_MATCH",
    "NO_DATA",
    "NO_DATA_HATCH",
    "POSITIVE",
    "WATERFALL_COLUMNS",
    "level_names",
    "match_weight_histogram",
    "observed_levels",
    "plot_m_u",
    "plot_waterfall",
    "waterfall",
]
