"""Command-line interface: ``bansos-linkage COMMAND``.

Thin by design: each command parses its arguments and calls the public API.
Exit codes: 0 ok, 2 bad input or usage, 1 internal error.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from bansos_linkage import __version__
from bansos_linkage.errors import BansosLinkageError, UsageError

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2
N_CRITERIA = 14  # BPS's criteria of a poor household (eligibility.criteria)
log = logging.getLogger("bansos_linkage")
#: Set from ``--quiet`` by :func:`main`: no progress and no summaries on the console.
_CONSOLE = {"quiet": False}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _CONSOLE["quiet"] = bool(getattr(args, "quiet", False))
    logging.basicConfig(
        level=logging.WARNING - 10 * args.verbose, format="%(levelname)s %(message)s"
    )
    if not hasattr(args, "func"):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        _check_options(args)
        _check_paths(args)
        with _quiet_stdout(args):
            return int(args.func(args) or EXIT_OK)
    except BansosLinkageError as exc:
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        if exc.filename is None:  # not about a path the user gave: a bug
            return _internal_error(exc, args.verbose)
        # e.g. "error: out/x.csv: Permission denied (PermissionError)"
        what = exc.strerror or "cannot be used"
        print(f"error: {exc.filename}: {what} ({type(exc).__name__})", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # KeyError, IndexError, ...: a bug, never the user's input
        return _internal_error(exc, args.verbose)


@contextlib.contextmanager
def _quiet_stdout(args: argparse.Namespace):
    """With ``--quiet``, a command's informational output (counts, "written to")
    goes nowhere; errors and warnings (stderr) still print. A command whose standard
    output is its product (``schema`` prints a preset) sets ``stdout_is_output``."""
    if not _CONSOLE["quiet"] or getattr(args, "stdout_is_output", False):
        yield
        return
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        yield


def _internal_error(exc: Exception, verbose: int) -> int:
    """Say what kind of error, never its message (it may quote the data); the
    traceback only with -v."""
    print(
        f"internal error ({type(exc).__name__}) — please report it with the command you ran"
        + ("" if verbose else "; rerun with -v for the traceback"),
        file=sys.stderr,
    )
    if verbose:
        traceback.print_exception(exc, file=sys.stderr)
    return EXIT_INTERNAL


def _one_line(text: str) -> str:
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def _check_options(args: argparse.Namespace) -> None:
    """Rules between options that argparse cannot say; a UsageError naming the option."""
    if getattr(args, "pmt_by", None) and not getattr(args, "train", None):
        raise UsageError("needs --train (a saved PMT keeps its own regions)", option="--pmt-by")
    truth = getattr(args, "truth", None)
    if truth is not None and len(truth) > 2:
        raise UsageError("takes one file of pairs or two truth files", option="--truth")
    left, right = getattr(args, "left", None), getattr(args, "right", None)
    if left is not None and right is not None and _same_file(left, right):
        raise UsageError(
            "LEFT and RIGHT are the same file; link two different registers", file=left
        )


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def _check_paths(args: argparse.Namespace) -> None:
    """Before any work: every input file exists, is a file and can be read; --out can
    be written (an output file is not a folder, an output folder is not a file, and
    neither sits under a file or in a folder that cannot be written)."""
    for dest, (label, kind) in getattr(args, "inputs", {}).items():
        value = getattr(args, dest, None)
        for path in value if isinstance(value, list) else [value]:
            if path is not None:
                _check_input(Path(path), label, kind)
    for dest, (label, kind) in getattr(args, "outputs", {}).items():
        if getattr(args, dest, None) is not None:
            _check_output(Path(getattr(args, dest)), label, kind)


def _check_input(path: Path, label: str, kind: str) -> None:
    from bansos_linkage.errors import InputError

    if not path.exists():
        raise InputError(f"not found (given as {label})", file=path)
    if kind == "file" and path.is_dir():
        raise InputError(f"is a folder; {label} must be a file", file=path)
    if kind == "folder" and not path.is_dir():
        raise InputError(f"is not a folder; {label} must be a folder written by 'link'", file=path)
    if not os.access(path, os.R_OK | (os.X_OK if kind == "folder" else 0)):
        raise InputError(f"cannot be read (permission denied; given as {label})", file=path)


def _check_output(path: Path, label: str, kind: str) -> None:
    if kind == "file" and path.is_dir():
        raise UsageError("is a folder; expected an output file", option=label, file=path)
    if kind == "folder" and path.exists() and not path.is_dir():
        raise UsageError("is a file; expected an output folder", option=label, file=path)
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError("cannot be written (permission denied)", option=label, file=path)
    if path.exists() and kind == "file":
        return
    parent = path.parent if kind == "file" else path
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"cannot be created: {parent} is a file", option=label, file=path)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(
            f"cannot be written: folder {parent} is read-only", option=label, file=path
        )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="bansos-linkage",
        description="Link Indonesian social-protection registers and score eligibility.",
        epilog="exit codes: 0 ok; 2 bad input or usage (one line naming the file or option); "
        "1 internal error (please report; -v shows the traceback)",
    )
    parser.add_argument("--version", action="version", version=f"bansos-linkage {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_standardise(sub)
    _add_schema(sub)
    _add_settings(sub)
    _add_synth(sub)
    _add_link(sub)
    _add_link_new(sub)
    _add_review(sub)
    _add_evaluate(sub)
    _add_score(sub)
    _add_assemble(sub)
    _add_verval(sub)
    _add_demo(sub)
    _add_quiet(parser)
    return parser


def _add_quiet(parser: argparse.ArgumentParser, top: bool = True) -> None:
    """``-q/--quiet`` on ``parser`` and on every command and action under it, so it may
    be given before or after the command (``bansos-linkage -q link ...`` or
    ``bansos-linkage link ... -q``)."""
    help_text = "no progress bars and no summaries; errors and warnings still print"
    if "--quiet" not in parser._option_string_actions:
        # under a command the default is left unset, so it cannot undo a -q given before it
        default = False if top else argparse.SUPPRESS
        parser.add_argument("-q", "--quiet", action="store_true", default=default, help=help_text)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                _add_quiet(command, top=False)


def _add_standardise(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "standardise",
        help="standardise a register export into canonical records",
        description="Read a CSV/Parquet/Excel export, map it through a schema, and write the "
        "canonical records plus OUTPUT-stem.report and .rejected tables beside OUTPUT.",
    )
    p.add_argument("input", type=Path, help="CSV, Parquet or Excel export")
    p.add_argument(
        "--schema", required=True, help="preset name (dtks, regsosek, p3ke) or YAML file"
    )
    p.add_argument(
        "--out",
        required=True,
        type=Path,
        help="output file (.parquet or .csv; without a suffix, .parquet); a folder is refused",
    )
    p.add_argument("--sheet", help="Excel sheet name (default: the first sheet)")
    p.add_argument("--encoding", help="CSV encoding (default: utf-8, then cp1252, then latin-1)")
    p.add_argument("--delimiter", help="CSV delimiter (default: sniffed)")
    p.add_argument("--crosswalk", type=Path, help="BPS -> Kemendagri region-code crosswalk CSV")
    p.set_defaults(
        func=_cmd_standardise,
        inputs={"input": ("INPUT", "file"), "crosswalk": ("--crosswalk", "file")},
        outputs={"out": ("--out", "file")},
    )


def _cmd_standardise(args: argparse.Namespace) -> int:
    from bansos_linkage.io import read_table, write_table
    from bansos_linkage.runs import atomic_files
    from bansos_linkage.standardisation import standardise

    data = read_table(
        args.input, sheet=args.sheet, encoding=args.encoding, delimiter=args.delimiter
    )
    if data.empty:  # as link and score say: the wrong export (or sheet), not an empty register
        from bansos_linkage.errors import InputError

        raise InputError("no rows below the header; expected one row per record", file=args.input)
    result = standardise(data, args.schema, crosswalk=args.crosswalk, progress=progress_bar())
    out: Path = args.out
    suffix = out.suffix.lower() if out.suffix.lower() in (".parquet", ".csv") else ".parquet"
    records = out if out.suffix else out.with_suffix(suffix)
    report = out.with_name(f"{out.stem}.report{suffix}")
    rejected = out.with_name(f"{out.stem}.rejected{suffix}")
    with atomic_files(records, report, rejected) as temp:  # no half-written file, ever
        write_table(result.records, temp[0])
        write_table(result.report, temp[1], for_people=True)
        write_table(result.rejected, temp[2], for_people=True)
    print(result.summary_text())
    return EXIT_OK


def progress_bar(label: str = "standardise", width: int = 30) -> Callable[[int, int, str], None]:
    """A progress callback on stderr: on a terminal, a bar redrawn in place
    (``label [#####-----] 3/7 stage``); otherwise (a log file, a pipe) one plain line
    per stage (``label [3/7] stage``), never a carriage return; nothing with ``--quiet``."""
    if _CONSOLE["quiet"]:
        return _no_progress
    if not _is_terminal(sys.stderr):

        def line(done: int, total: int, stage: str) -> None:
            print(f"{label} [{done}/{total}] {stage}", file=sys.stderr, flush=True)

        return line

    def draw(done: int, total: int, stage: str) -> None:
        filled = width * done // max(total, 1)
        end = "\n" if done >= total else ""
        bar = "#" * filled + "-" * (width - filled)
        print(
            f"\r{label} [{bar}] {done}/{total} {stage:<44.44}", end=end, file=sys.stderr, flush=True
        )

    return draw


def _no_progress(done: int, total: int, stage: str) -> None:
    """The progress callback of ``--quiet``."""


def _is_terminal(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _add_schema(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "schema",
        help="list or show source-schema presets",
        description="List the built-in presets, or print one as YAML to copy and edit.",
    )
    p.add_argument("name", nargs="?", help="preset name or YAML file to show")
    p.set_defaults(func=_cmd_schema, stdout_is_output=True)


def _cmd_schema(args: argparse.Namespace) -> int:
    from bansos_linkage.schema import list_presets, load_schema, preset_path

    if args.name is None:
        print("\n".join(list_presets()))
    elif args.name in list_presets():
        print(preset_path(args.name).read_text(encoding="utf-8"), end="")
    else:
        print(load_schema(args.name).to_yaml(), end="")
    return EXIT_OK


def _add_settings(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "settings",
        help="print or write linkage settings (YAML) to edit and use with 'link --settings'",
        description="Print the default linkage settings (blocking rules, comparisons and "
        "their levels, thresholds, EM options) as YAML, or those of a model file with "
        "--model; --out writes them to a file instead (JSON if it ends in .json, else YAML).",
    )
    p.add_argument("--model", type=Path, help="model.json of an earlier run: its settings")
    p.add_argument("--out", type=Path, help="write to this file (.yaml, .yml or .json)")
    p.set_defaults(
        func=_cmd_settings,
        stdout_is_output=True,
        inputs={"model": ("--model", "file")},
        outputs={"out": ("--out", "file")},
    )


def _cmd_settings(args: argparse.Namespace) -> int:
    from bansos_linkage.linkage.configure import default_settings, model_settings
    from bansos_linkage.linkage.settings import settings_text, write_settings

    settings = default_settings() if args.model is None else model_settings(args.model)
    if args.out is None:
        print(settings_text(settings), end="")
        return EXIT_OK
    write_settings(settings, args.out)
    if not _CONSOLE["quiet"]:
        print(f"settings written to {args.out}")
    return EXIT_OK


def _add_synth(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "synth",
        help="generate a synthetic population and its registers with ground truth",
        description="Write Regsosek-, DTKS- and P3KE-like registers (matching the built-in "
        "presets), their truth files, the true persons and households, a survey sample and "
        "the config used. The same seed and settings give byte-identical files.",
    )
    p.add_argument(
        "--households", type=_int_range(1, None), default=2_000, help="number of households"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed")
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--scenario",
        default="default",
        help="clean, default, hard, or mix01 .. mix24 (rates drawn at random from wide ranges; "
        "tune on mix01-mix06, report on mix07-mix24)",
    )
    source.add_argument(
        "--config",
        type=Path,
        help="a config.json from an earlier run (instead of --scenario; --households and "
        "--seed still apply when given)",
    )
    p.add_argument(
        "--format",
        default="csv",
        choices=["csv", "parquet", "xlsx"],
        help="file format of the tables (default csv)",
    )
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.set_defaults(
        func=_cmd_synth,
        inputs={"config": ("--config", "file")},
        outputs={"out": ("--out", "folder")},
    )


def _cmd_synth(args: argparse.Namespace) -> int:
    import json

    from bansos_linkage.errors import InputError
    from bansos_linkage.synthetic import config_from_dict, generate, scenario

    overrides = {"households": args.households, "seed": args.seed}
    if args.config:
        try:
            data = json.loads(args.config.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise InputError(
                "not a JSON config file as 'synth' writes it", file=args.config
            ) from None
        if not isinstance(data, dict):
            raise InputError("expected a JSON object as 'synth' writes it", file=args.config)
        config = config_from_dict({**data, **overrides})
    else:
        config = scenario(args.scenario, **overrides)
    data = generate(config, progress=progress_bar("synth"))
    paths = data.write(args.out, args.format)
    for name, table in data.registers.items():
        print(f"{name:<9} {len(table):>9,} records")
    print(f"{len(paths)} files written to {args.out}/")
    return EXIT_OK


def _add_link(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "link",
        help="link two register exports at person level",
        description="Standardise LEFT and RIGHT with their schemas, link them (Fellegi-Sunter "
        "EM, one person one link, duplicates of one register sharing their counterpart) and "
        "write links.csv, unlinked_left.csv, unlinked_right.csv, rejected.csv, "
        "household_links.csv (each left family's household on the right), model.json and "
        "summary.json into --out.",
    )
    p.add_argument("left", type=Path, help="left export (e.g. DTKS): CSV, Parquet or Excel")
    p.add_argument("right", type=Path, help="right export (e.g. Regsosek)")
    p.add_argument("--left-schema", required=True, help="preset name or mapping YAML")
    p.add_argument("--right-schema", required=True, help="preset name or mapping YAML")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument(
        "--threshold",
        type=_probability,
        help="match probability needed for a link (default: the model's, or 0.5)",
    )
    source = p.add_mutually_exclusive_group()
    source.add_argument("--model", type=Path, help="model.json of an earlier run: reuse, no EM")
    source.add_argument(
        "--settings",
        type=Path,
        help="linkage settings (YAML or JSON from 'bansos-linkage settings'): fit with them",
    )
    p.add_argument(
        "--labels",
        type=Path,
        help="reviewed pairs (labels.csv from 'review import', or left_id,right_id,is_match): "
        "train the ML matcher on them and let it decide the links",
    )
    _add_run_dates_and_keys(p, "today; fix it for repeatable runs", "left")
    p.set_defaults(
        func=_cmd_link,
        inputs={
            "left": ("LEFT", "file"),
            "right": ("RIGHT", "file"),
            "model": ("--model", "file"),
            "settings": ("--settings", "file"),
            "labels": ("--labels", "file"),
        },
        outputs={"out": ("--out", "folder")},
    )


def _add_run_dates_and_keys(p: argparse.ArgumentParser, date_default: str, side: str) -> None:
    """--reference-date and --kk-column, shared by 'link' and 'link-new'."""
    p.add_argument(
        "--reference-date",
        type=dt.date.fromisoformat,
        help=f"'today' for date checks, YYYY-MM-DD (default: {date_default})",
    )
    p.add_argument(
        "--kk-column",
        action="store_true",
        help=f"add each {side} family's KK number to household_links.csv as kk_number (it is "
        "personal data: by default families are keyed F:<sequence number>, not by their KK)",
    )


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number strictly between 0 and 1") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError("a match probability strictly between 0 and 1")
    return value


def _share(text: str) -> float:
    """A share or probability from 0 to 1 (argparse names the option in its error)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number from 0 to 1") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, not {value:g}")
    return value


def _int_range(low: int, high: int | None) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high`` (no bound if None)."""
    allowed = f"from {low} to {high}" if high is not None else f"of at least {low}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number {allowed}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected a whole number {allowed}, not {value}")
        return value

    return parse


def _cmd_link(args: argparse.Namespace) -> int:
    from bansos_linkage.runs import command_record
    from bansos_linkage.runs.link import link_files

    if args.labels is not None:
        _check_labels(args.labels)
    run = link_files(
        args.left,
        args.right,
        args.left_schema,
        args.right_schema,
        args.out,
        threshold=args.threshold,
        model=args.model,
        settings=args.settings,
        reference_date=args.reference_date,
        progress=progress_bar("link"),
        labels=args.labels,
        command=command_record("link", args),
        include_kk=args.kk_column,
    )
    s = run.result.summary
    print(
        f"left  {s['input_left']:>9,} rows: {s['linked_left']:,} linked, "
        f"{s['unlinked_left']:,} unlinked, {s['rejected_left']:,} rejected"
    )
    print(
        f"right {s['input_right']:>9,} rows: {s['linked_right']:,} linked, "
        f"{s['unlinked_right']:,} unlinked, {s['rejected_right']:,} rejected"
    )
    print(
        f"{s['links']:,} links from {s['candidate_pairs']:,} candidate pairs; "
        f"{s['duplicates_left']:,} left and {s['duplicates_right']:,} right records linked as "
        f"duplicates; estimated false links {s['expected_false_links']:,.0f} "
        f"(FDR {s['estimated_fdr']:.2%}, label-free)"
    )
    left_out = s.get("left_out") or {}
    for what in ("comparisons", "blocking_rules"):
        if left_out.get(what):
            print(
                f"left out {what.replace('_', ' ')} {', '.join(left_out[what])}: "
                "neither register has their columns"
            )
    if s.get("ml_training"):
        t = s["ml_training"]
        decides = "the ML matcher" if s.get("matcher") == "ml" else "the Fellegi-Sunter model"
        print(
            f"{t['labelled_pairs']:,} reviewed pairs ({t['matches']:,} matches; "
            f"{t['unknown_ids']:,} with ids not in these registers); {decides} decides: "
            f"{t.get('why', '')}"
        )
    print(f"outputs written to {args.out}/")
    return EXIT_OK


def _check_labels(path: Path) -> None:
    """A labels file the ML matcher can learn from: both match and non_match decisions."""
    from bansos_linkage.errors import InputError
    from bansos_linkage.review import read_labels, training_pairs

    decided = training_pairs(read_labels(path))["is_match"]
    if decided.nunique() < 2:
        only = (
            "no decided pairs"
            if decided.empty
            else f"only {'match' if decided.iloc[0] else 'non_match'} decisions"
        )
        raise InputError(
            f"{only}; the ML matcher needs both match and non_match decisions", file=path
        )


def _add_link_new(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "link-new",
        help="link a new export against an earlier link run, without refitting",
        description="Standardise NEW with --schema and link it to EXISTING_RUN's right "
        "register (records_right.parquet) with EXISTING_RUN's model.json (no EM): this "
        "month's additions against last month's run. Writes a run folder like 'link' into "
        "--out; links.csv says in right_linked_before which links are to a right record "
        "the earlier run had linked already (and to whom).",
    )
    p.add_argument("new", type=Path, help="new export (e.g. DTKS additions): CSV, Parquet, Excel")
    p.add_argument("existing_run", type=Path, help="folder written by 'link'")
    p.add_argument("--schema", required=True, help="NEW's preset name or mapping YAML")
    p.add_argument("--out", required=True, type=Path, help="output folder (not EXISTING_RUN)")
    p.add_argument(
        "--threshold",
        type=_probability,
        help="match probability needed for a link (default: the model's)",
    )
    _add_run_dates_and_keys(p, "the earlier run's", "new")
    p.set_defaults(
        func=_cmd_link_new,
        inputs={"new": ("NEW", "file"), "existing_run": ("EXISTING_RUN", "folder")},
        outputs={"out": ("--out", "folder")},
    )


def _cmd_link_new(args: argparse.Namespace) -> int:
    from bansos_linkage.runs import command_record
    from bansos_linkage.runs.link import link_new_files

    run = link_new_files(
        args.new,
        args.existing_run,
        args.schema,
        args.out,
        threshold=args.threshold,
        reference_date=args.reference_date,
        progress=progress_bar("link-new"),
        command=command_record("link-new", args),
        include_kk=args.kk_column,
    )
    s = run.result.summary
    print(
        f"new   {s['input_left']:>9,} rows: {s['linked_left']:,} linked, "
        f"{s['unlinked_left']:,} unlinked, {s['rejected_left']:,} rejected"
    )
    print(
        f"{s['links']:,} links to {s['input_right']:,} right records of {args.existing_run}; "
        f"{s['linked_to_already_linked']:,} to a right record the earlier run had linked "
        "already (right_linked_before in links.csv)"
    )
    print(f"outputs written to {args.out}/")
    return EXIT_OK


def _add_review(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "review",
        help="clerical review of a link run: export a sheet, import the decisions",
        description="'export' picks the pairs worth reviewing (uncertain ones, ML and "
        "Fellegi-Sunter disagreements, a random share of the links) and writes a sheet with "
        "both records side by side; 'import' checks a filled-in sheet and adds its decisions "
        "to RUN_DIR/labels.csv (use it with 'link --labels').",
    )
    actions = p.add_subparsers(title="actions", metavar="ACTION")
    export = actions.add_parser("export", help="write a review sheet (.xlsx or .csv)")
    export.add_argument("run_dir", type=Path, help="folder written by 'link'")
    export.add_argument(
        "--n",
        type=_int_range(1, None),
        default=100,
        help="pairs in the sheet, at least 1 (default 100)",
    )
    export.add_argument("--out", required=True, type=Path, help="sheet.xlsx or sheet.csv")
    export.add_argument(
        "--random-share",
        type=_share,
        default=0.1,
        help="share of random links, 0 to 1, for unbiased precision estimates (default 0.1)",
    )
    export.add_argument("--seed", type=int, default=0, help="seed of the random share")
    export.add_argument("--labels", type=Path, help="labels file (default RUN_DIR/labels.csv)")
    export.add_argument(
        "--blind",
        action="store_true",
        help="hide the scores, explanations and why each pair was chosen, so reviewers judge "
        "the records alone (the run folder keeps them for 'review import')",
    )
    export.set_defaults(
        func=_cmd_review_export,
        inputs={"run_dir": ("RUN_DIR", "folder")},
        outputs={"out": ("--out", "file")},
    )
    imp = actions.add_parser("import", help="add a filled-in sheet's decisions to the labels")
    imp.add_argument("run_dir", type=Path, help="folder written by 'link'")
    imp.add_argument("sheet", type=Path, help="the filled-in sheet")
    imp.add_argument("--labels", type=Path, help="labels file (default RUN_DIR/labels.csv)")
    imp.set_defaults(
        func=_cmd_review_import,
        inputs={"run_dir": ("RUN_DIR", "folder"), "sheet": ("SHEET", "file")},
        outputs={"labels": ("--labels", "file")},
    )


def _cmd_review_export(args: argparse.Namespace) -> int:
    from bansos_linkage.runs import folder_lock
    from bansos_linkage.runs.review import export_review

    with folder_lock(args.run_dir):  # a rerun of link must not replace the folder meanwhile
        sheet = export_review(
            args.run_dir,
            args.out,
            args.n,
            labels=args.labels,
            random_share=args.random_share,
            seed=args.seed,
            blind=args.blind,
        )
    if "selected_by" in sheet:
        counts = sheet["selected_by"].value_counts().to_dict()
        chosen = ", ".join(f"{v} {k}" for k, v in counts.items())
    else:
        chosen = "blind: no scores or explanations shown"
    print(f"{len(sheet)} pairs ({chosen}) written to {args.out}")
    print("fill in the 'decision' column (match / non_match / unsure), then 'review import'")
    return EXIT_OK


def _cmd_review_import(args: argparse.Namespace) -> int:
    from bansos_linkage.runs import folder_lock, verify_run
    from bansos_linkage.runs.review import import_review

    with folder_lock(args.run_dir):  # a rerun of link must not replace the folder meanwhile
        verify_run(args.run_dir)  # a broken or interrupted run folder takes no labels
        decisions, labels = import_review(args.run_dir, args.sheet, labels=args.labels)
    counts = decisions["decision"].value_counts().to_dict()
    print(
        f"{len(decisions)} decisions read ({', '.join(f'{v} {k}' for k, v in counts.items())}); "
        f"the labels file now holds {len(labels):,} pairs"
    )
    return EXIT_OK


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="measure a link run against the truth or reviewed labels",
        description="With --truth: score RUN_DIR's links against true pairs: precision, "
        "recall and F1 of the run, the threshold curve of the links each threshold would "
        "make, the best-F1 threshold and the lowest threshold reaching --min-precision; "
        "writes metrics.csv, threshold_curve.csv, false_links.csv, missed_links.csv and "
        "three plots into --out (default RUN_DIR/evaluation). With --labels (default "
        "RUN_DIR/labels.csv when neither is given): estimate the precision of the links "
        "with a 95% interval from the reviewed random sample of the links, and recall "
        "from a reviewed random sample of candidate pairs if there is one; writes "
        "metrics.csv into --out (default RUN_DIR/evaluation_labels).",
    )
    p.add_argument("run_dir", type=Path, help="folder written by 'link'")
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--truth",
        type=Path,
        nargs="+",
        metavar="FILE",
        help="true pairs (left_id,right_id), or two truth files of the left and right "
        "records (record_id,person_id) as 'synth' writes them",
    )
    source.add_argument(
        "--labels",
        type=Path,
        metavar="FILE",
        help="reviewed pairs (left_id,right_id,decision,selected_by), as 'review import' "
        "writes RUN_DIR/labels.csv",
    )
    p.add_argument(
        "--out",
        type=Path,
        help="folder for the tables and plots (default RUN_DIR/evaluation, "
        "RUN_DIR/evaluation_labels with labels)",
    )
    p.add_argument(
        "--min-precision",
        type=_share,
        default=0.995,
        help="precision floor, 0 to 1 (default 0.995)",
    )
    p.set_defaults(
        func=_cmd_evaluate,
        inputs={
            "run_dir": ("RUN_DIR", "folder"),
            "truth": ("--truth", "file"),
            "labels": ("--labels", "file"),
        },
        outputs={"out": ("--out", "folder")},
    )


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from bansos_linkage.evaluation import read_truth
    from bansos_linkage.runs.evaluate import evaluate_run

    if args.truth is None:
        return _evaluate_labels(args)
    for path in args.truth:  # reviewed decisions are not true pairs
        if "decision" in _header(path):
            raise UsageError(
                "is a labels file (it has a decision column), not true pairs: its "
                "non-matches would count as true links. Evaluate from reviewed labels "
                f"with --labels {path}",
                option="--truth",
                file=path,
            )
    truth = read_truth(*args.truth)
    if truth.empty:  # precision and recall against nothing mean nothing
        from bansos_linkage.errors import InputError

        raise InputError(
            "no true pairs (no rows below the header, or no person in both truth files)",
            file=" and ".join(str(p) for p in args.truth),
        )
    out = args.out or args.run_dir / "evaluation"
    result = evaluate_run(args.run_dir, truth, out, args.min_precision)
    columns = ["what", "threshold", "match_weight", "precision", "recall", "f1"]
    counts = ["true_positives", "false_positives"]
    table = result["table"][[*columns, *counts]].astype({c: "Int64" for c in counts})
    with_fmt = table.to_string(index=False, float_format=lambda v: f"{v:.4f}")
    print(f"{len(truth):,} true pairs; scores: {result['score']}")
    print(with_fmt)
    print(f"tables and plots written to {out}/")
    return EXIT_OK


def _header(path: Path) -> list[str]:
    """The column names of a table file (lower case), or none if it cannot be read."""
    from bansos_linkage.io import read_table

    try:
        return [str(c).strip().lower() for c in read_table(path).columns]
    except Exception:  # read_truth reports what is wrong with the file
        return []


def _evaluate_labels(args: argparse.Namespace) -> int:
    """``evaluate --labels``: precision (and recall) estimates from reviewed pairs."""
    import pandas as pd

    from bansos_linkage.runs.evaluate import evaluate_labels

    labels = args.labels
    if labels is None:
        labels = args.run_dir / "labels.csv"
        if not labels.is_file():
            raise UsageError(
                "give --truth (true pairs) or --labels (reviewed pairs); the run folder "
                "has no labels.csv (review export / review import make one)",
                option="RUN_DIR",
                file=args.run_dir,
            )
    out = args.out or args.run_dir / "evaluation_labels"
    result = evaluate_labels(args.run_dir, labels, out)
    counts = result["counts"]
    print(
        f"{counts['labels read']:,} labels read from {labels}: {counts['labels used']:,} used, "
        f"{counts['labels left out: unsure']:,} unsure and "
        f"{counts['labels left out: pair not scored in this run']:,} not in this run left out"
    )
    table = result["table"]
    for _, row in table[table["labels"].isna()].iterrows():
        line = str(row["what"])
        if pd.notna(row.get("precision")):
            line += (
                f": precision {row['precision']:.4f} "
                f"(95% interval {row['precision_low']:.4f} to {row['precision_high']:.4f}, "
                f"{int(row['sample_size'])} reviewed)"
            )
        if pd.notna(row.get("recall")):
            line += (
                f", recall {row['recall']:.4f} "
                f"(95% interval {row['recall_low']:.4f} to {row['recall_high']:.4f})"
            )
        if pd.notna(row.get("false_positives")):
            line += (
                f": {int(row['sample_size'])} pairs, {int(row['false_positives'])} links "
                f"found wrong, {int(row['false_negatives'])} matches found unlinked"
            )
        print(line)
    for text in result["warnings"]:
        print(f"warning: {text}", file=sys.stderr)
    print(f"metrics written to {out}/")
    return EXIT_OK


def _add_score(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "score",
        help="rank households (PMT, desil) and apply programme rules",
        description="Rank HOUSEHOLDS into desil by equal numbers of people (a PMT fitted on "
        "--train or loaded from --pmt-model; without either, a desil column of HOUSEHOLDS), "
        "score BPS's 14 criteria and apply the programmes of --rules. Writes "
        "households.csv (desil, criteria, eligible/amount/reasons per programme), persons.csv "
        "(person-level programmes), summary.csv (per programme and province), problems.csv "
        "(cells that could not be read and rows rejected, by row and id), pmt.json and "
        "pmt_accuracy.csv (5-fold cross-validation) with --train, what_if.csv/.png with "
        "--what-if, and transitions.csv and transitions_per_village.csv with --current.",
    )
    p.add_argument("households", type=Path, help="one row per household (household_id, ...)")
    p.add_argument(
        "members",
        type=Path,
        nargs="?",
        help="one row per person (household_id, birth_date, relationship, ...); without it "
        "rules on members find nobody",
    )
    p.add_argument("--rules", default="all", help="built-in (all, pkh, sembako, ...) or YAML file")
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--train", type=Path, help="survey households with per_capita_expenditure (fits the PMT)"
    )
    source.add_argument("--pmt-model", type=Path, help="pmt.json written by an earlier score run")
    p.add_argument(
        "--pmt-by",
        metavar="COLUMN",
        help="with --train: one PMT per value of COLUMN (e.g. province_code, regency_code) "
        "with enough survey households, the national one for the rest",
    )
    p.add_argument(
        "--desil-by",
        metavar="COLUMN",
        help="rank into desil within each value of COLUMN instead of nationally",
    )
    p.add_argument(
        "--criteria-threshold",
        type=_int_range(1, N_CRITERIA),
        default=9,
        help=f"criteria of the {N_CRITERIA} a poor household meets, 1 to {N_CRITERIA} (default 9)",
    )
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument(
        "--reference-date",
        type=dt.date.fromisoformat,
        help="date ages are computed at, YYYY-MM-DD (default: today)",
    )
    p.add_argument(
        "--current",
        type=Path,
        metavar="FILE",
        help="who receives each programme today: household_id and a column per programme "
        "(PKH, Sembako, ...: 1/0, ya/tidak); writes transitions.csv and "
        "transitions_per_village.csv (stays, drops, new, not found) for verification",
    )
    p.add_argument(
        "--what-if",
        type=_cutoff_list,
        metavar="K,K,...",
        help="desil cut-offs to compare (e.g. 3,4,5 for every programme, or per programme: "
        "'PKH=3,4;PBI-JK=5,6'; each programme is also scored at its own cut-off): "
        "recipients, budget and, when HOUSEHOLDS has per_capita_expenditure, the "
        "targeting errors",
    )
    p.set_defaults(
        func=_cmd_score,
        inputs={
            "households": ("HOUSEHOLDS", "file"),
            "members": ("MEMBERS", "file"),
            "train": ("--train", "file"),
            "pmt_model": ("--pmt-model", "file"),
            "current": ("--current", "file"),
        },
        outputs={"out": ("--out", "folder")},
    )


def _cutoff_list(text: str) -> dict:
    from bansos_linkage.eligibility.analysis import parse_cutoffs

    try:
        return parse_cutoffs(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _cmd_score(args: argparse.Namespace) -> int:
    from bansos_linkage.runs import command_record
    from bansos_linkage.runs.score import score_files

    run = score_files(
        args.households,
        args.members,
        args.out,
        rules=args.rules,
        train=args.train,
        pmt_model=args.pmt_model,
        pmt_by=args.pmt_by,
        desil_by=args.desil_by,
        criteria_threshold=args.criteria_threshold,
        reference_date=args.reference_date,
        current=args.current,
        what_if=args.what_if,
        progress=progress_bar("score"),
        command=command_record("score", args),
    )
    if run.pmt_accuracy is not None:
        mean = run.pmt_accuracy.iloc[-1]
        print(
            f"PMT on {run.pmt_households:,} survey households, 5-fold cross-validated: "
            f"R2 {mean['r2']:.2f}, rank correlation {mean['spearman']:.2f}, exclusion error "
            f"(poorest 40%) {mean['exclusion_error']:.2f}"
        )
    if run.transitions is not None:
        _print_transitions(run.transitions)
    print(f"ages at {run.reference_date.isoformat()} (--reference-date); yearly amounts:")
    _print_score_summary(run.scored.summary, run.problems)
    print(f"outputs written to {args.out}/")
    return EXIT_OK


def _print_transitions(per_village) -> None:
    totals = per_village.groupby("programme", sort=False)[
        ["stays", "drops", "new", "not_found"]
    ].sum()
    for name, row in totals.iterrows():
        print(
            f"{name:<14} today's recipients: {row['stays']:,} stay, {row['drops']:,} drop out, "
            f"{row['not_found']:,} not found in the register; {row['new']:,} newly eligible"
        )


def _print_score_summary(summary, problems) -> None:
    from bansos_linkage.eligibility.score import summary_lines

    print("\n".join(summary_lines(summary, problems)))


def _add_assemble(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "assemble",
        help="assemble DTSEN from several registers (or deduplicate one) with verval worklists",
        description="Standardise every --source, link them at person level (duplicates within "
        "each source grouped, every two sources linked, persons clustered strongest link "
        "first), link their families as groups and write persons.csv, families.csv, "
        "sources.csv, family_links.csv, conflicts.csv, transitions.csv (DTKS families that "
        "stay, drop out, join), worklists/ (one verval workbook per village) and summary.json "
        "into --out. One source alone is deduplicated.",
    )
    p.add_argument(
        "--source",
        action="append",
        required=True,
        metavar="NAME=FILE[:SCHEMA]",
        help="a register export and its schema (a preset or mapping YAML; default: the "
        "preset NAME); repeat for each source, e.g. --source dtks=dtks.csv "
        "--source regsosek=regsosek.parquet",
    )
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument(
        "--backbone",
        help="the source families are built on (default: regsosek if given, else the first)",
    )
    # an update keeps the run's own PMT and scores: one of the three at most
    scoring = p.add_mutually_exclusive_group()
    scoring.add_argument(
        "--update",
        type=Path,
        metavar="RUN_DIR",
        help="apply the --source exports (e.g. this month's DTKS) to the register assembled "
        "in RUN_DIR: DTSEN ids kept, only new or changed records linked (saved models, no "
        "EM), changes.csv says what changed; RUN_DIR itself is not modified",
    )
    scoring.add_argument(
        "--survey",
        type=Path,
        help="households with per_capita_expenditure: fit the PMT and rank the families",
    )
    scoring.add_argument("--pmt", type=Path, help="a saved PMT (from 'score --save-pmt')")
    p.add_argument(
        "--cutoff-desil",
        type=_int_range(1, 10),
        default=4,
        help="desil at or below which a family stays eligible (default 4)",
    )
    p.add_argument(
        "--worklists-by",
        choices=("village", "district"),
        default="village",
        help="one workbook per village, or per district with a sheet per village",
    )
    p.add_argument(
        "--uncertain-below",
        type=_probability,
        default=0.9,
        help="persons built on a link less probable than this go on the worklists (0.9)",
    )
    p.add_argument(
        "--reference-date",
        type=dt.date.fromisoformat,
        help="'today' for date checks and ages, YYYY-MM-DD (default: today)",
    )
    p.set_defaults(
        func=_cmd_assemble,
        inputs={
            "survey": ("--survey", "file"),
            "pmt": ("--pmt", "file"),
            "update": ("--update", "folder"),
        },
        outputs={"out": ("--out", "folder")},
    )


def _cmd_assemble(args: argparse.Namespace) -> int:
    # imported here, not when the parser is built: the assembly package loads the
    # linker and openpyxl, which every other command would wait for
    from bansos_linkage.assembly.files import assemble_files, parse_source
    from bansos_linkage.assembly.update import update_files
    from bansos_linkage.runs import command_record

    args.source = [parse_source(text) for text in args.source]
    for source in args.source:
        _check_input(Path(source.data), f"--source {source.name}", "file")
    if args.update is not None:
        if args.backbone is not None:  # (--survey and --pmt: argparse refuses them)
            raise UsageError("not with --update (the run's own is kept)", option="--backbone")
        result = update_files(
            args.update,
            args.source,
            args.out,
            reference_date=args.reference_date,
            progress=progress_bar("update"),
            command=command_record("assemble", args),
        )
        print(assembly_lines(result.summary))
        print(f"outputs written to {args.out}/ (what changed: changes.csv)")
        return EXIT_OK
    result = assemble_files(
        args.source,
        args.out,
        backbone=args.backbone,
        survey=args.survey,
        pmt=args.pmt,
        cutoff_desil=args.cutoff_desil,
        worklists_by=args.worklists_by,
        uncertain_below=args.uncertain_below,
        reference_date=args.reference_date,
        progress=progress_bar("assemble"),
        command=command_record("assemble", args),
    )
    print(assembly_lines(result.summary))
    print(f"outputs written to {args.out}/")
    return EXIT_OK


def assembly_lines(summary: dict) -> str:
    """The console summary of an assembly."""
    lines = []
    for name, n in summary["sources"].items():
        counts = summary.get("input", {}).get(name, {})
        dup = summary["duplicates"].get(name, 0)
        lines.append(
            f"{name:<9} {counts.get('input', n):>9,} rows: {counts.get('rejected', 0):,} "
            f"rejected, {dup:,} duplicates within the source"
        )
    lines.append(
        f"{summary['persons']:,} persons in {summary['families']:,} families; conflicts: "
        + (", ".join(f"{v:,} {k}" for k, v in summary["conflicts"].items()) or "none")
    )
    if "transitions" in summary:
        lines.append(
            "DTKS families: " + ", ".join(f"{v:,} {k}" for k, v in summary["transitions"].items())
        )
    if "worklist_items" in summary:
        lines.append(
            "worklist items: "
            + (", ".join(f"{v:,} {k}" for k, v in summary["worklist_items"].items()) or "none")
        )
    return "\n".join(lines)


def _add_verval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verval",
        help="import filled verval worklists into an assembled register",
        description="Read filled worklists (from 'assemble'), check every decision and apply "
        "the valid ones to RUN_DIR's register without re-linking: records taken apart, "
        "values corrected, families confirmed. Invalid rows are listed with their file, "
        "sheet, row and what was expected, and nothing of them is applied.",
    )
    actions = p.add_subparsers(title="actions", metavar="ACTION")
    imp = actions.add_parser("import", help="apply filled worklists to the register")
    imp.add_argument("run_dir", type=Path, help="folder written by 'assemble'")
    imp.add_argument("worklists", type=Path, nargs="+", help="filled workbooks (.xlsx)")
    imp.set_defaults(
        func=_cmd_verval_import,
        inputs={"run_dir": ("RUN_DIR", "folder"), "worklists": ("WORKLIST", "file")},
    )


def _cmd_verval_import(args: argparse.Namespace) -> int:
    from bansos_linkage.assembly.files import import_worklists

    report = import_worklists(args.run_dir, args.worklists)
    print(
        f"{report['decisions']:,} decisions applied ({report['changes']:,} changes), "
        f"{report['rejected']:,} rows rejected, {report['not_visited']:,} rows not yet decided"
    )
    if report["rejected"]:
        print(f"rejected rows and why: {args.run_dir}/verval_rejected.csv")
    return EXIT_OK


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run the end-to-end demo on built-in synthetic data",
        description="Generate a small synthetic population with DTKS-, Regsosek- and "
        "P3KE-like exports, read each back, standardise it and print the validation summaries.",
    )
    p.add_argument(
        "--households", type=_int_range(1, None), default=500, help="households (default 500)"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("out/demo"),
        help="folder for the demo outputs (default: out/demo)",
    )
    p.set_defaults(func=_cmd_demo, outputs={"out": ("--out", "folder")})


def _cmd_demo(args: argparse.Namespace) -> int:
    from bansos_linkage.demo import run_demo

    print(run_demo(args.out, args.households, args.seed, progress=progress_bar("demo")))
    print(f"\noutputs written to {args.out}/")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


__all__ = [
    "N_CRITERIA",
    "assembly_lines",
    "build_parser",
    "main",
    "progress_bar",
]
