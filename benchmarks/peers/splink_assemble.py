"""Peer assembler: Splink 5 (DuckDB) over several registers at once, or one register deduplicated.

Runs in ``.venv-splink`` (``make peers``)::

    .venv-splink/bin/python benchmarks/peers/splink_assemble.py \\
        --source dtks=D.parquet --source p3ke=P.parquet --source regsosek=R.parquet \\
        --out DIR/clusters.csv --dataset indonesia [--mode link_only] [--seed 0]
    .venv-splink/bin/python benchmarks/peers/splink_assemble.py \\
        --source febrl3=F.parquet --out DIR/clusters.csv --dataset febrl --mode dedupe_only

One ``Linker`` over all the inputs (``link_type`` ``link_only``: pairs across
sources only; ``dedupe_only``: pairs within the one source), with the model of
``splink_link.py`` (same blocking rules, comparisons, prior, u by random sampling
with ``--seed``, m by EM on the same blocking rules), scored at ``--threshold``
and clustered twice:

- ``DIR/clusters_cc.csv``: ``cluster_pairwise_predictions_at_threshold``
  (connected components of the links);
- ``DIR/clusters_best.csv`` (``link_only`` only): ``cluster_using_single_best_links``
  with every source declared duplicate-free (at most one record per source in a
  cluster, ties to the lowest id).

Both have the columns ``source,record_id,cluster_id`` (every input record once,
sorted by source and id). One JSON line of timings on stdout; Splink's log goes to
stderr; no record values are printed.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import time
from pathlib import Path

import duckdb
import peer_cli
import splink
from splink import DuckDBAPI, Linker
from splink.blocking_analysis import count_comparisons_from_blocking_rules
from splink_link import UID, _all_null, _febrl_model, _indonesia_model, _load, _scalar


def _source(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name.isidentifier() or not path:
        raise argparse.ArgumentTypeError("expected NAME=PATH.parquet (NAME a plain identifier)")
    return name, Path(path)


def _outputs(out: Path) -> dict[str, Path]:
    """``DIR/clusters.csv`` -> ``DIR/clusters_cc.csv`` and ``DIR/clusters_best.csv``."""
    return {
        kind: out.with_name(f"{out.stem}_{kind}{out.suffix or '.csv'}") for kind in ("cc", "best")
    }


def _write_clusters(con: duckdb.DuckDBPyConnection, table: str, single: str | None, path: Path):
    """``source,record_id,cluster_id`` of a Splink cluster table; returns the cluster count.

    With one input Splink adds no ``source_dataset`` column: ``single`` names the source."""
    source = f"'{single}'" if single else "source_dataset"
    con.sql(
        f"""
        create or replace table clusters_out as
        select {source} as source, {UID} as record_id, cluster_id
        from {table}
        order by source, record_id
        """
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    con.sql("select * from clusters_out").write_csv(str(path))
    return int(_scalar(con, "select count(distinct cluster_id) from clusters_out"))


class _Stages(dict):
    """Stage name -> seconds (``time.perf_counter``), filled by ``with stages("name"):``."""

    @contextlib.contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        yield
        self[name] = round(time.perf_counter() - start, 3)


def _check_sources(mode: str, names: list[str]) -> None:
    if len(set(names)) != len(names):
        raise SystemExit("--source names must differ")
    if mode == "dedupe_only" and len(names) != 1:
        raise SystemExit("--mode dedupe_only takes exactly one --source")
    if mode == "link_only" and len(names) < 2:
        raise SystemExit("--mode link_only takes two or more --source")


def run(args: argparse.Namespace) -> dict:
    names = [name for name, _ in args.source]
    _check_sources(args.mode, names)
    stages = _Stages()
    with stages("load"):
        api = DuckDBAPI()
        if args.threads:
            api.duckdb_con.sql(f"set threads to {args.threads}")
        con = api.duckdb_con
        n_records = {name: _load(con, path, f"input_{name}") for name, path in args.source}
        if args.dataset == "febrl":
            model = _febrl_model()
        else:
            model = _indonesia_model(
                not any(_all_null(con, f"input_{n}", "mother_name") for n in names)
            )
        settings, rules, deterministic_rules, em_rules = model
        settings = dataclasses.replace(settings, link_type=args.mode)
        tables = [api.register(f"input_{n}", dataset_display_name=n) for n in names]
        linker = Linker(
            tables, settings, log_level=logging.INFO if args.verbose else logging.WARNING
        )

    with stages("block"):  # exact count of the blocked pairs that predict() will score
        cumulative = count_comparisons_from_blocking_rules(
            tables,
            blocking_rules=rules,
            link_type=args.mode,
            unique_id_column_name=UID,
            record_sample_proportion=1.0,
        )[-1]["cumulative_comparison_count"]

    training = linker.training
    with stages("train"):  # prior, then u by random sampling, then m by EM per blocking rule
        training.estimate_probability_two_random_records_match(
            deterministic_rules, recall=args.prior_recall
        )
        training.estimate_u_using_random_sampling(max_pairs=args.u_max_pairs, seed=args.seed)
        for em_rule in em_rules:
            training.estimate_parameters_using_expectation_maximisation(
                em_rule, estimate_without_term_frequencies=True
            )

    with stages("predict"):
        scored = linker.inference.predict(threshold_match_probability=args.threshold)
        n_above = _scalar(con, f"select count(*) from {scored.physical_name}")

    single = names[0] if len(names) == 1 else None
    outputs = _outputs(args.out)
    n_clusters: dict[str, int] = {}
    with stages("cluster_cc"):
        cc = linker.clustering.cluster_pairwise_predictions_at_threshold(
            scored, threshold_match_probability=args.threshold
        )
        n_clusters["cc"] = _write_clusters(con, cc.physical_name, single, outputs["cc"])
    if args.mode == "link_only":
        with stages("cluster_best"):
            best = linker.clustering.cluster_using_single_best_links(
                scored,
                duplicate_free_datasets=names,
                threshold_match_probability=args.threshold,
                ties_method="lowest_id",
            )
            n_clusters["best"] = _write_clusters(con, best.physical_name, single, outputs["best"])

    return dict(
        tool="splink",
        version=splink.__version__,
        backend=f"duckdb {duckdb.__version__}",
        dataset=args.dataset,
        mode=args.mode,
        n_records=n_records,
        n_candidate_pairs=int(cumulative),
        n_scored_above_threshold=int(n_above),
        threshold=args.threshold,
        seed=args.seed,
        stages=dict(stages),
        n_clusters=n_clusters,
        outputs={kind: str(outputs[kind]) for kind in n_clusters},
    )


#: Options beyond the inputs: flag, type, default, help.
_OPTIONS = (
    ("--dataset", str, None, "indonesia or febrl: which model of splink_link.py"),
    ("--mode", str, "link_only", "link_only (two or more sources) or dedupe_only (one)"),
    ("--seed", int, 0, "seed of the u-sampling"),
    ("--threshold", float, 0.5, "match probability of a link"),
    ("--u-max-pairs", float, 5e6, "random pairs for the u-estimates"),
    ("--prior-recall", float, 0.8, "assumed recall of the prior's deterministic rules"),
    ("--threads", int, 0, "DuckDB threads (0 = default)"),
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, action="append", type=_source)
    parser.add_argument("--out", required=True, type=Path, help="DIR/clusters.csv (see above)")
    for flag, kind, default, text in _OPTIONS:
        choices = {"--dataset": ["indonesia", "febrl"], "--mode": ["link_only", "dedupe_only"]}
        parser.add_argument(
            flag,
            type=kind,
            default=default,
            required=default is None,
            choices=choices.get(flag),
            help=text,
        )
    parser.add_argument("--verbose", action="store_true", help="Splink's INFO log (stderr)")
    peer_cli.run_and_report(parser, argv, run)


if __name__ == "__main__":
    main()
