"""Reliability counter: the hostile-input corpus and fault injections of the test suite.

Runs exactly what ``tests/test_reliability.py`` runs (the case table and the checks
live in ``tests/reliability_cases.py``) and counts what was handled: a bad input
exits 2 with one line naming the file; a readable-but-dirty one succeeds with every
row in exactly one output; nothing printed holds a NIK-like number or a name from
the input; a run killed or failing at any point leaves no folder a reader accepts
and the finished run in that folder intact. Writes the "Reliability" section of
benchmarks/RESULTS.md.

    python benchmarks/bench_reliability.py [--no-write: print the section]
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from reliability_cases import (  # noqa: E402
    CASES,
    KNOWN_BUGS,
    build_inputs,
    fault_scenarios,
    run_case,
)
from results import update_section  # noqa: E402

from bansos_linkage import __version__  # noqa: E402


def run_corpus(root: Path) -> tuple[list, list, float]:
    inputs = build_inputs(root / "inputs")
    start = time.perf_counter()
    outcomes = []
    for case in CASES:
        for role in case.roles:
            work = root / "cases" / f"{len(outcomes):03d}"
            outcomes.append(run_case(case, role, work, inputs))
    faults = []
    for i, (_, fault) in enumerate(fault_scenarios()):
        work = root / "faults" / f"{i:02d}"
        work.mkdir(parents=True)
        faults.append(fault(inputs, work))
    return outcomes, faults, time.perf_counter() - start


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(outcomes: list, faults: list, seconds: float) -> str:
    bad = [o for o in outcomes if not o.dirty]
    dirty = [o for o in outcomes if o.dirty]
    handled = sum(o.handled for o in outcomes)
    lines = [
        "## Reliability",
        "",
        f"`python benchmarks/bench_reliability.py` on {platform.machine()}, Python "
        f"{platform.python_version()}, bansos-linkage {__version__}; {dt.date.today()}; "
        f"{seconds:.0f} s. The corpus of `tests/test_reliability.py` "
        "(`tests/reliability_cases.py`): hostile files generated from 60 synthetic "
        "households, each given to every command that reads that kind of file, in-process "
        "through `cli.main`. Handled: a bad input exits 2 with one `error:` line naming the "
        "file (never 1, never a traceback); a readable-but-dirty one exits 0 with every "
        "input row linked, unlinked or rejected (summary.json, the outputs) and odd ids "
        "kept as text; nothing printed holds a NIK-like number or a name from the input.",
        "",
        f"- bad inputs tried / handled (exit 2, file named, no personal data): "
        f"**{len(bad)} / {sum(o.handled for o in bad)}**",
        f"- dirty inputs tried / handled (exit 0, no row lost, no personal data): "
        f"**{len(dirty)} / {sum(o.handled for o in dirty)}**",
        f"- all inputs tried / handled: **{len(outcomes)} / {handled}**",
        f"- faults injected / survived (no half folder read, a finished run intact, "
        f"one of two concurrent runs refused): **{len(faults)} / "
        f"{sum(f.survived for f in faults)}**",
        "",
        "| case | kind | commands: handled / tried | exit codes | not handled |",
        "|---|---|---|---|---|",
    ]
    for case in CASES:
        mine = [o for o in outcomes if o.case == case.name]
        codes = ", ".join(str(c) for c in sorted({o.code for o in mine}))
        kinds = sorted({"dirty" if o.dirty else "bad" for o in mine})
        failed = "; ".join(
            f"{o.role}: {o.problems[0][:100]}"
            + (" (known bug)" if (o.case, o.role) in KNOWN_BUGS else "")
            for o in mine
            if not o.handled
        )
        lines.append(
            f"| {case.name} | {' / '.join(kinds)} | {sum(o.handled for o in mine)} / "
            f"{len(mine)} | {codes} | {_cell(failed)[:300]} |"
        )
    lines += ["", "| fault injected | survived | problem |", "|---|---|---|"]
    for fault in faults:
        problem = _cell("; ".join(fault.problems))[:300]
        lines.append(f"| {fault.name} | {'yes' if fault.survived else 'no'} | {problem} |")
    if KNOWN_BUGS:
        lines += ["", "Known bugs (xfail in the tests, to fix outside this suite):"]
        lines += sorted({f"- {why}" for why in KNOWN_BUGS.values()})
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print the section only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-reliability-") as tmp:
        outcomes, faults, seconds = run_corpus(Path(tmp))
    section = render(outcomes, faults, seconds)
    print(section)
    if not args.no_write:
        update_section("Reliability", section)


if __name__ == "__main__":
    main()
