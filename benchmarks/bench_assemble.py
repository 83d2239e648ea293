"""Benchmark: DTSEN assembly, one register of persons from DTKS, P3KE and Regsosek.

For each synthetic scenario (``default``, ``hard``, mixes such as ``mix07``; the
words ``tuning``/``report``/``all`` as in ``bench_robust.py``) at one size and seed
it writes the three registers once (cached in benchmarks/_data/assemble_*), then
runs each method in a fresh process, with wall time and peak memory (summed PSS of
the process tree) measured from outside as ``bench_link.py`` does:

- ``ours``: ``bansos_linkage.assembly.assemble`` on the three standardised
  registers (reading and standardising the raw CSV exports included);
- ``ours_pairwise_cc``: "pairwise then join", ``bansos_linkage.Linker().fit_link``
  on each pair of registers, then connected components of all the links;
- ``splink_cc`` / ``splink_best``: Splink 5 over the three registers at once
  (``benchmarks/peers/splink_assemble.py``, ``link_only``, the model of
  ``splink_link.py``), clustered by connected components and by single best links
  with every register duplicate-free. One Splink run gives both clusterings, so
  both rows carry that run's time and memory.

With ``--febrl3`` it also deduplicates FEBRL3 (5,000 records, one register):
ours (``assemble({"febrl3": records})``, records prepared as ``febrl_ours.py``
prepares FEBRL4), Splink ``dedupe_only`` with the FEBRL model and recordlinkage
(``benchmarks/peers/recordlinkage_dedupe.py``; its pairs joined by connected
components).

Every method is scored the same way (``cluster_pair_metrics``): pairwise
precision, recall and F1 over all record pairs within a cluster, across and within
registers, against the pairs of records of one true person; plus the true
within-DTKS duplicate pairs found. Raw results go to
benchmarks/_data/assemble_results.json; the section "DTSEN assembly (three
sources)" of RESULTS.md is rewritten at the end (not with ``--no-write``).

    python benchmarks/bench_assemble.py [--households 20000] [--seed 1]
        [--scenarios default hard mix07] [--methods ours ours_pairwise_cc splink_cc
        splink_best] [--febrl3] [--repeats 1] [--timeout 2400] [--fresh-data] [--no-write]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import json
import platform
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
from bench_link import PEER_COLUMNS, PEERS, REFERENCE_DATE, measured, median_run
from bench_robust import expand, kind_of, save
from results import update_section
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from bansos_linkage import standardise
from bansos_linkage.assembly.accuracy import cluster_pair_metrics as pair_metrics
from bansos_linkage.synthetic import generate, scenario

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "_data"
RESULTS_JSON = DATA / "assemble_results.json"
HEADING = "DTSEN assembly (three sources)"
SOURCES = ("dtks", "p3ke", "regsosek")  # priority order
METHODS = ("ours", "ours_pairwise_cc", "splink_cc", "splink_best")
SPLINK = (ROOT / ".venv-splink/bin/python", HERE / "peers/splink_assemble.py")
RL_DEDUPE = (PEERS["recordlinkage"][0], HERE / "peers/recordlinkage_dedupe.py")
KEY = ["source", "record_id"]


# ------------------------------------------------------------------------------ data
def scenario_data(name: str, households: int, seed: int, fresh: bool = False) -> Path:
    """The three registers of a scenario as CSV exports plus ``truth.csv`` (cached).

    ``truth.csv`` has ``source, record_id, person_id, household_id`` for every record.
    The folder is rebuilt when the scenario's config changed, or with ``fresh``."""
    config = scenario(name, households=households, seed=seed)
    folder = DATA / f"assemble_{name}_{households}_{seed}"
    config_file = folder / "config.json"
    wanted = json.loads(json.dumps(config.to_dict()))
    cached = (folder / "truth.csv").exists() and json.loads(config_file.read_text()) == wanted
    if cached and not fresh:
        return folder
    shutil.rmtree(folder, ignore_errors=True)  # runs and peer inputs of old data go too
    folder.mkdir(parents=True)
    data = generate(config)
    truth = []
    for source in SOURCES:
        data.registers[source].to_csv(folder / f"{source}.csv", index=False)
        truth.append(data.truth[source].assign(source=source))
    pd.concat(truth)[["source", "record_id", "person_id", "household_id"]].to_csv(
        folder / "truth.csv", index=False
    )
    config_file.write_text(json.dumps(wanted, indent=1))
    return folder


def standardised(folder: Path) -> dict[str, pd.DataFrame]:
    """Each register's raw CSV export standardised (``StandardisedRecords.records``)."""
    out = {}
    for source in SOURCES:
        raw = pd.read_csv(folder / f"{source}.csv", dtype=str, keep_default_na=False)
        out[source] = standardise(raw, source, reference_date=REFERENCE_DATE).records
    return out


def peer_frame(records: pd.DataFrame) -> pd.DataFrame:
    """Standardised records in the peers' input columns (``bench_link.PEER_COLUMNS``)."""
    born = pd.to_datetime(records["birth_date"])
    words = records["full_name"].astype("string").str.split(" ")
    extra = {
        "first_name": words.str[0],
        "last_name": words.str[-1],
        "birth_date": born.dt.strftime("%Y-%m-%d"),
        "birth_year": born.dt.year.astype("string"),
    }
    frame = records.drop(columns=[c for c in extra if c in records]).assign(**extra)
    return frame.reindex(columns=PEER_COLUMNS).astype("string")


def peer_paths(folder: Path) -> dict[str, Path]:
    """``peer_<source>.parquet`` per register, written from our standardisation."""
    paths = {s: folder / f"peer_{s}.parquet" for s in SOURCES}
    if not all(p.exists() for p in paths.values()):
        for source, records in standardised(folder).items():
            peer_frame(records).to_parquet(paths[source], index=False)
    return paths


def truth_of(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "truth.csv", dtype=str)[[*KEY, "person_id"]]


def febrl3_data() -> Path:
    """FEBRL3 exported by ``peers/export_febrl3.py`` (in ``.venv-interop``), cached."""
    folder = DATA / "febrl3"
    if not (folder / "febrl3_truth.csv").exists():
        cmd = [str(RL_DEDUPE[0]), str(HERE / "peers/export_febrl3.py"), "--out-dir", str(folder)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return folder


def febrl3_truth(folder: Path) -> pd.DataFrame:
    """``source, record_id, person_id``: the true duplicate pairs joined into entities."""
    ids = pd.read_parquet(folder / "febrl3.parquet", columns=["record_id"])["record_id"]
    pairs = pd.read_csv(folder / "febrl3_truth.csv", dtype=str)
    nodes = pd.DataFrame({"source": "febrl3", "record_id": ids.astype(str)})
    edges = pairs.rename(columns={"record_id_a": "record_id_l", "record_id_b": "record_id_r"})
    edges["source_l"] = edges["source_r"] = "febrl3"
    return join_links(nodes, edges).rename(columns={"cluster_id": "person_id"})


# --------------------------------------------------------------------------- metrics
def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else float("nan")


def _f1(precision: float, recall: float) -> float:
    if precision == 0 or recall == 0:
        return 0.0
    total = precision + recall  # nan when either is (no pairs of that kind at all)
    if total != total:
        return float("nan")
    return 2 * precision * recall / total if total > 0 else 0.0


def cluster_pair_metrics(clusters: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Pairwise precision, recall and F1 of a clustering against true entities.

    ``clusters``: ``source, record_id, cluster_id``; ``truth``: ``source, record_id,
    person_id``. A predicted pair is two records in one cluster, a true pair two
    records of one person, across or within sources. Counted per cluster, per person
    and per (cluster, person) intersection (sums of n (n - 1) / 2), never listing the
    pairs. A truth record missing from ``clusters`` counts as a cluster of its own;
    cluster records not in ``truth`` are left out (``records_not_in_truth``).
    ``within[source]`` counts the pairs inside one source (duplicates of a register);
    ``cross_*`` the pairs across sources."""
    truth = truth[[*KEY, "person_id"]].astype(str)
    found = clusters[[*KEY, "cluster_id"]].astype(str).drop_duplicates(KEY)
    rows = truth.merge(found, on=KEY, how="left", validate="one_to_one")
    missing = rows["cluster_id"].isna()
    rows.loc[missing, "cluster_id"] = "\x00" + rows["source"] + "\x00" + rows["record_id"]

    def count(part: pd.DataFrame) -> dict[str, int]:
        # the library's pair counts (bansos_linkage.assembly.accuracy), on one table
        m = pair_metrics(part, part, cluster="cluster_id", entity="person_id")
        return {k: m[f"{k}_pairs"] for k in ("predicted", "true", "correct")}

    total = count(rows)
    predicted, true, correct = total["predicted"], total["true"], total["correct"]
    within = {source: count(part) for source, part in rows.groupby("source", sort=True)}
    cross = {
        k: v - sum(w[k] for w in within.values())
        for k, v in {"predicted": predicted, "true": true, "correct": correct}.items()
    }
    precision, recall = _ratio(correct, predicted), _ratio(correct, true)
    cross_p, cross_r = (
        _ratio(cross["correct"], cross["predicted"]),
        _ratio(cross["correct"], cross["true"]),
    )
    return {
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "predicted_pairs": predicted,
        "true_pairs": true,
        "correct_pairs": correct,
        "cross_precision": cross_p,
        "cross_recall": cross_r,
        "cross_f1": _f1(cross_p, cross_r),
        "within": within,
        "n_records": len(rows),
        "n_clusters": int(rows["cluster_id"].nunique()),
        "records_missing": int(missing.sum()),
        "records_not_in_truth": int(len(found) - (~missing).sum()),
    }


def join_links(nodes: pd.DataFrame, edges: pd.DataFrame) -> pd.DataFrame:
    """Connected components: ``nodes`` (``source, record_id``) and ``edges``
    (``source_l, record_id_l, source_r, record_id_r``) -> ``source, record_id,
    cluster_id``, sorted, cluster ids numbered in that order (deterministic)."""
    nodes = nodes[KEY].astype(str).drop_duplicates().sort_values(KEY, ignore_index=True)
    index = pd.MultiIndex.from_frame(nodes)
    ends = [
        index.get_indexer(
            pd.MultiIndex.from_arrays([edges[f"source_{s}"], edges[f"record_id_{s}"]])
        )
        for s in "lr"
    ]
    if any((e < 0).any() for e in ends):
        raise ValueError("a link names a record that is not among the nodes")
    n = len(nodes)
    graph = coo_matrix((np.ones(len(ends[0]), dtype=np.int8), (ends[0], ends[1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    # number clusters by their first record in sorted order
    first = pd.Series(labels).drop_duplicates()
    renumber = pd.Series(np.arange(len(first)), index=first.to_numpy())
    return nodes.assign(cluster_id=[f"C{i:08d}" for i in renumber.loc[labels].to_numpy()])


# --------------------------------------------------------------------------- workers
@contextlib.contextmanager
def _timed(stages: dict, name: str):
    start = time.perf_counter()
    yield
    stages[name] = round(time.perf_counter() - start, 3)


def _ours_sources(folder: Path, febrl3: bool) -> dict[str, pd.DataFrame]:
    if febrl3:
        from febrl_ours import load

        return {"febrl3": load(str(folder / "febrl3.parquet"))}
    return standardised(folder)


def worker_ours(folder: Path, out: Path, febrl3: bool) -> dict:
    """``assemble`` on the standardised registers; ``out``: source, record_id, cluster_id."""
    from bansos_linkage.assembly import assemble

    stages: dict[str, float] = {}
    with _timed(stages, "standardise"):
        sources = _ours_sources(folder, febrl3)
    linker = None
    if febrl3:  # FEBRL is Australian: the generic comparators of febrl_ours.py
        from febrl_ours import COMPARISONS, RULES

        from bansos_linkage import Linker

        linker = Linker(rules=RULES, comparisons=COMPARISONS, term_frequency=())
    with _timed(stages, "assemble"):
        result = assemble(sources, linker=linker, progress=None)
    records = result.records[["source", "record_id", "person_id"]]
    clusters = records.rename(columns={"person_id": "cluster_id"}).sort_values(KEY)
    clusters.to_csv(out, index=False)
    summary = json.loads(json.dumps(result.summary, default=str))
    return {"stages": stages, "candidate_pairs": summary.get("candidate_pairs"), "summary": summary}


def worker_pairwise_cc(folder: Path, out: Path, febrl3: bool) -> dict:
    """``Linker().fit_link`` on each pair of registers, then connected components."""
    from bansos_linkage import Linker

    if febrl3:
        raise SystemExit("ours_pairwise_cc needs two or more sources")
    stages: dict[str, float] = {}
    with _timed(stages, "standardise"):
        sources = standardised(folder)
    edges, candidate_pairs = [], 0
    for left, right in itertools.combinations(SOURCES, 2):
        with _timed(stages, f"{left}-{right}"):
            result = Linker().fit_link(sources[left], sources[right])
        candidate_pairs += int(result.summary.get("candidate_pairs", 0))
        links = result.links[["left_id", "right_id"]].astype(str)
        edges.append(
            pd.DataFrame(
                {
                    "source_l": left,
                    "record_id_l": links["left_id"],
                    "source_r": right,
                    "record_id_r": links["right_id"],
                }
            )
        )
    with _timed(stages, "components"):
        nodes = pd.concat(
            pd.DataFrame({"source": s, "record_id": sources[s]["record_id"].astype(str)})
            for s in SOURCES
        )
        clusters = join_links(nodes, pd.concat(edges, ignore_index=True))
    clusters.to_csv(out, index=False)
    n_links = sum(len(e) for e in edges)
    return {"stages": stages, "candidate_pairs": candidate_pairs, "n_links": n_links}


WORKERS = {"ours": worker_ours, "ours_pairwise_cc": worker_pairwise_cc}


def run_worker(method: str, folder: Path, out: Path, timeout: float, febrl3: bool) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", method]
    cmd += ["--folder", str(folder), "--out", str(out)] + (["--febrl3"] if febrl3 else [])
    run = measured(cmd, timeout)
    if run["status"] == "ok":
        info = json.loads(run.pop("stdout").strip().splitlines()[-1])
        run.update(stages=info["stages"], candidate_pairs=info.get("candidate_pairs"))
        if "summary" in info:
            run["summary"] = info["summary"]
        run["clusters"] = {method: pd.read_csv(out, dtype=str)}
    return run


# ----------------------------------------------------------------------------- peers
def run_splink(
    sources: dict[str, Path], out_dir: Path, mode: str, dataset: str, timeout: float
) -> dict:
    python, script = SPLINK
    if not python.exists():
        return {"status": "not installed (make peers)"}
    cmd = [str(python), str(script), "--out", str(out_dir / "clusters.csv")]
    cmd += [f"--source={name}={path}" for name, path in sources.items()]
    cmd += ["--mode", mode, "--dataset", dataset, "--seed", "0"]
    run = measured(cmd, timeout)
    if run["status"] == "ok":
        info = json.loads(run.pop("stdout").strip().splitlines()[-1])
        run.update(
            stages=info["stages"],
            candidate_pairs=info["n_candidate_pairs"],
            version=info["version"],
        )
        run["clusters"] = {
            f"splink_{kind}": pd.read_csv(path, dtype=str) for kind, path in info["outputs"].items()
        }
    return run


def run_recordlinkage_dedupe(records: Path, out_dir: Path, timeout: float) -> dict:
    python, script = RL_DEDUPE
    if not python.exists():
        return {"status": "not installed (make peers)"}
    out = out_dir / "pairs.csv"
    cmd = [str(python), str(script), "--input", str(records), "--out", str(out)]
    run = measured(cmd + ["--dataset", "febrl", "--seed", "0"], timeout)
    if run["status"] == "ok":
        info = json.loads(run.pop("stdout").strip().splitlines()[-1])
        run.update(
            stages=info["stages"],
            candidate_pairs=info["n_candidate_pairs"],
            version=info["version"],
        )
        pairs = pd.read_csv(out, dtype=str)
        ids = pd.read_parquet(records, columns=["record_id"])["record_id"].astype(str)
        edges = pairs.rename(columns={"record_id_a": "record_id_l", "record_id_b": "record_id_r"})
        edges["source_l"] = edges["source_r"] = "febrl3"
        nodes = pd.DataFrame({"source": "febrl3", "record_id": ids})
        run["clusters"] = {"recordlinkage": join_links(nodes, edges)}
    return run


# ------------------------------------------------------------------------- benchmark
def _has_assemble() -> bool:
    try:
        from bansos_linkage.assembly import assemble  # noqa: F401
    except ImportError:
        return False
    return True


def _repeated(fn, repeats: int) -> dict:
    return median_run([fn() for _ in range(repeats)])


def _score(
    runs: list[tuple[list[str], dict]], methods, truth: pd.DataFrame, folder: Path | None = None
) -> list[dict]:
    """One row per method: its run's status, time and memory, its pair metrics, and
    (for the three registers) the family F1 of its clusters."""
    rows = []
    sources = standardised(folder) if folder is not None else None
    for names, run in runs:
        for method in names:
            if method not in methods:
                continue
            row = {k: v for k, v in run.items() if k != "clusters"}
            row["method"] = method
            if run["status"] == "ok":
                row.update(cluster_pair_metrics(run["clusters"][method], truth))
                if sources is not None:
                    row["family_f1"] = family_f1(run["clusters"][method], sources, folder)
            rows.append(row)
    return rows


def family_f1(clusters: pd.DataFrame, sources: dict[str, pd.DataFrame], folder: Path) -> float:
    """Family-link F1 of any person clustering: the library's family stage
    (:func:`bansos_linkage.assembly.link_families`) run on the method's clusters, scored
    by :func:`bansos_linkage.assembly.accuracy.family_link_metrics`, so every method's
    families are built the same way and only its persons differ."""
    from bansos_linkage.assembly import link_families, source_order
    from bansos_linkage.assembly.accuracy import family_link_metrics

    order = source_order(list(sources))
    records = clusters.rename(columns={"cluster_id": "person_id"}).assign(duplicate_of=None)
    records, _, _ = link_families(records, {n: sources[n] for n in order})
    truth = pd.read_csv(folder / "truth.csv", dtype=str)
    return family_link_metrics(records, truth, order[0])["f1"]


def bench_scenario(name: str, args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    folder = scenario_data(name, args.households, args.seed, fresh=args.fresh_data)
    truth = truth_of(folder)
    runs: list[tuple[list[str], dict]] = []
    for method in ("ours", "ours_pairwise_cc"):
        if method not in args.methods:
            continue
        if method == "ours" and not _has_assemble():
            runs.append(
                ([method], {"status": "not available (no bansos_linkage.assembly.assemble)"})
            )
            continue
        out = folder / f"run_{method}.csv"
        runs.append(
            (
                [method],
                _repeated(
                    lambda m=method, o=out: run_worker(m, folder, o, args.timeout, False),
                    args.repeats,
                ),
            )
        )
    splink_methods = [m for m in ("splink_cc", "splink_best") if m in args.methods]
    if splink_methods:
        paths = peer_paths(folder)
        run = _repeated(
            lambda: run_splink(
                paths, folder / "run_splink", "link_only", "indonesia", args.timeout
            ),
            args.repeats,
        )
        runs.append((splink_methods, run))
    rows = _score(runs, args.methods, truth, folder)
    counts = truth.groupby("source").size()
    result = {
        "scenario": name,
        "kind": kind_of(name),
        "n_records": {s: int(counts.get(s, 0)) for s in SOURCES},
        "n_persons": int(truth["person_id"].nunique()),
        "households": args.households,
        "seed": args.seed,
        "rows": rows,
        "seconds": round(time.perf_counter() - started, 1),
    }
    for row in rows:
        print(_line(name, row), flush=True)
    return result


def bench_febrl3(args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    folder = febrl3_data()
    truth = febrl3_truth(folder)
    records = folder / "febrl3.parquet"
    runs: list[tuple[list[str], dict]] = []
    if _has_assemble():
        run = _repeated(
            lambda: run_worker("ours", folder, folder / "run_ours.csv", args.timeout, True),
            args.repeats,
        )
    else:
        run = {"status": "not available (no bansos_linkage.assembly.assemble)"}
    runs.append((["ours"], run))
    run = _repeated(
        lambda: run_splink(
            {"febrl3": records}, folder / "run_splink", "dedupe_only", "febrl", args.timeout
        ),
        args.repeats,
    )
    runs.append((["splink_cc"], run))
    run = _repeated(
        lambda: run_recordlinkage_dedupe(records, folder / "run_recordlinkage", args.timeout),
        args.repeats,
    )
    runs.append((["recordlinkage"], run))
    rows = _score(runs, ("ours", "splink_cc", "recordlinkage"), truth)
    for row in rows:
        print(_line("FEBRL3", row), flush=True)
    return {
        "scenario": "FEBRL3",
        "n_records": {"febrl3": len(truth)},
        "n_persons": int(truth["person_id"].nunique()),
        "rows": rows,
        "seconds": round(time.perf_counter() - started, 1),
    }


# --------------------------------------------------------------------------- results
def _num(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    return f"{value:.{digits}f}"


def _dups(row: dict, source: str = "dtks") -> str:
    within = row.get("within", {}).get(source)
    if not within:
        return "-"
    false = within["predicted"] - within["correct"]
    return f"{within['correct']:,} / {within['true']:,} ({false:,} false)"


def _line(name: str, row: dict) -> str:
    if row["status"] != "ok":
        return f"{name} {row['method']}: {row['status']}"
    return (
        f"{name} {row['method']}: P {row['precision']:.4f} R {row['recall']:.4f} "
        f"F1 {row['f1']:.4f} cross F1 {_num(row['cross_f1'])} DTKS dups {_dups(row)} "
        f"family F1 {_num(row.get('family_f1'))} "
        f"clusters {row['n_clusters']:,} wall {row['wall_s']:.1f} s "
        f"RSS {row['peak_rss_mb']:.0f} MB"
    )


def table(results: list[dict]) -> str:
    lines = [
        "| scenario | records | method | precision | recall | F1 | cross-source F1 "
        "| DTKS duplicate pairs found / true (false) | family F1 | clusters (persons) "
        "| candidate pairs | wall s | peak memory MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for res in results:
        records = " + ".join(f"{n:,}" for n in res["n_records"].values())
        for row in res["rows"]:
            head = f"| {res['scenario']} | {records} | {row['method']} "
            if row["status"] != "ok":
                lines.append(head + f"| {row['status']} |||||||||||")
                continue
            pairs = row.get("candidate_pairs")
            lines.append(
                head
                + f"| {_num(row['precision'])} | {_num(row['recall'])} | **{_num(row['f1'])}** "
                f"| {_num(row['cross_f1'])} | {_dups(row)} | {_num(row.get('family_f1'))} "
                f"| {row['n_clusters']:,} ({res['n_persons']:,}) "
                f"| {f'{pairs:,}' if pairs else '-'} | {row['wall_s']:.1f} "
                f"| {row['peak_rss_mb']:,.0f} |"
            )
    return "\n".join(lines)


def stage_lines(results: list[dict]) -> str:
    lines = []
    for res in results:
        for row in res["rows"]:
            if row["status"] == "ok" and row.get("stages"):
                parts = ", ".join(f"{k} {v:.1f}" for k, v in row["stages"].items())
                lines.append(f"- {res['scenario']} {row['method']}: {parts}")
    return "\n".join(dict.fromkeys(lines))


def render(payload: dict, heading: str = HEADING) -> str:
    results = payload["scenarios"] + ([payload["febrl3"]] if payload.get("febrl3") else [])
    return (
        f"## {heading}\n\n"
        f"`python benchmarks/bench_assemble.py {payload['command']}` on {payload['machine']}; "
        f"{payload['date']}. Synthetic registers DTKS + P3KE + Regsosek "
        f"({payload['households']:,} households, seed {payload['seed']}; records in that "
        "order). Every run is a fresh process; wall time and peak memory (summed PSS of its "
        "process tree) measured from outside, medians when repeated "
        f"({payload['repeats']}). Ours reads and standardises the raw CSV exports; Splink "
        "starts from our standardised records. `ours`: `bansos_linkage.assembly.assemble`; "
        "`ours_pairwise_cc`: `Linker().fit_link` per pair of registers, then connected "
        "components; `splink_cc` / `splink_best`: one Splink 5 `link_only` model over the "
        "three registers (the blocking and comparisons of `peers/splink_link.py`), "
        "clustered by connected components / by single best links with every register "
        "duplicate-free (one run, so both rows share its time). Pairwise metrics over "
        "all record pairs inside a cluster (across and within registers) against the "
        "pairs of one true person; cross-source F1 counts only pairs from different "
        "registers. FEBRL3: 5,000 records deduplicated (ours `assemble` on one source, "
        "Splink `dedupe_only` with its FEBRL model, recordlinkage blocking + ECM, its "
        "pairs joined by connected components).\n\n"
        + table(results)
        + "\n\nWall time per stage (seconds):\n\n"
        + stage_lines(results)
        + "\n"
    )


def _clean(value):
    """Results as JSON: NaN -> None."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    return value


# ------------------------------------------------------------------------------ main
def _worker_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", required=True, choices=sorted(WORKERS))
    parser.add_argument("--folder", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--febrl3", action="store_true")
    args = parser.parse_args(argv)
    with contextlib.redirect_stdout(sys.stderr):
        info = WORKERS[args.worker](args.folder, args.out, args.febrl3)
    print(json.dumps(info, default=str), flush=True)


def main() -> None:
    if "--worker" in sys.argv[1:]:
        _worker_main(sys.argv[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument(
        "--scenarios",
        nargs="+",
        default=["default", "hard", "mix07"],
        help="scenario names, or tuning / report / mixes / all (as bench_robust.py)",
    )
    parser.add_argument("--seed", type=int, default=1, help="population seed")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--febrl3", action="store_true", help="also deduplicate FEBRL3")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=2400)
    parser.add_argument("--fresh-data", action="store_true", help="regenerate the cached data")
    parser.add_argument("--json", type=Path, default=RESULTS_JSON, help="raw results file")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch RESULTS.md")
    parser.add_argument(
        "--heading",
        default=HEADING,
        help="the RESULTS.md section to write (e.g. a separate one for a size run)",
    )
    args = parser.parse_args()
    names = expand(args.scenarios)
    for name in names:  # an unknown name stops before any work
        scenario(name, households=args.households, seed=args.seed)
    payload = {
        "command": shlex.join(sys.argv[1:]),
        "machine": f"{platform.machine()}, {psutil.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "date": dt.date.today().isoformat(),
        "households": args.households,
        "seed": args.seed,
        "repeats": args.repeats,
        "methods": args.methods,
        "scenarios": [],
        "febrl3": None,
    }
    for name in names:
        payload["scenarios"].append(_clean(bench_scenario(name, args)))
        save(payload, args.json)
    if args.febrl3:
        payload["febrl3"] = _clean(bench_febrl3(args))
        save(payload, args.json)
    print(f"raw results: {args.json}", flush=True)
    if not args.no_write:
        update_section(args.heading, render(payload, args.heading))
        return
    print(render(payload))


if __name__ == "__main__":
    main()
