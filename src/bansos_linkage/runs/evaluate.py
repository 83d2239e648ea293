"""The ``evaluate`` command's folders: a ``link`` run folder against true pairs or labels.

The metrics are :mod:`bansos_linkage.evaluation` (:func:`~bansos_linkage.evaluation.truth_metrics`,
:func:`~bansos_linkage.evaluation.labels_metrics`: tables in, tables out); this module
reads the run folder, writes the evaluation folder atomically with its manifest, and
holds the run folder's lock meanwhile when the evaluation is written inside it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from bansos_linkage.errors import UsageError
from bansos_linkage.evaluation import labels_metrics, truth_metrics
from bansos_linkage.io import write_table
from bansos_linkage.runs.folders import atomic_folder, folder_lock
from bansos_linkage.runs.link import read_run


def evaluate_run(
    run_dir: str | Path,
    truth: pd.DataFrame,
    out: str | Path | None = None,
    min_precision: float = 0.995,
    confidence: float | None = 0.95,
) -> dict[str, Any]:
    """Evaluate a ``link`` run folder against true pairs.

    Returns (and with ``out`` writes there) what
    :func:`~bansos_linkage.evaluation.truth_metrics` gives: the metrics of the run's
    links and of the family pairs they join, the threshold curve of the links the
    run's model makes at each threshold (its row at the run's threshold is the run)
    with the best-F1 threshold (the run's own when no other does better) and the
    lowest threshold reaching ``min_precision`` (with ``confidence``: the lower end
    of its Wilson interval reaches it), each what ``link --model RUN_DIR/model.json
    --threshold T`` would make; the false and missed links side by side, and the
    figures (``threshold_curve.png``, ``score_histogram.png``, ``calibration.png``).

    ``out`` appears whole, with its ``manifest.json``, or not at all
    (:func:`~bansos_linkage.runs.folders.atomic_folder`): an evaluation that fails or is
    killed midway leaves the previous one as it was. When ``out`` is inside the run
    folder (``RUN_DIR/evaluation``, as the CLI writes it), the run folder's lock is
    held from reading to writing, so a ``link`` into the same folder cannot replace
    the run meanwhile (and is refused while the evaluation runs).
    """
    return _with_run_lock(
        run_dir, out, lambda: _evaluate_run(run_dir, truth, out, min_precision, confidence)
    )


#: What ``evaluate_run`` writes (an older evaluation folder holding them is replaced).
EVALUATION_FILES = (
    *("metrics.csv", "threshold_curve.csv", "false_links.csv", "missed_links.csv"),
    *("threshold_curve.png", "score_histogram.png", "calibration.png"),
)


def _inside(path: str | Path, folder: str | Path) -> bool:
    return Path(path).resolve().is_relative_to(Path(folder).resolve())


def _evaluate_run(
    run_dir: str | Path,
    truth: pd.DataFrame,
    out: str | Path | None,
    min_precision: float,
    confidence: float | None,
) -> dict[str, Any]:
    result = truth_metrics(read_run(run_dir), truth, min_precision, confidence)
    if out is not None:
        settings = {
            "run_dir": str(run_dir),
            "true_pairs": len(truth),
            "min_precision": min_precision,
            "confidence": confidence,
            "score": result["score"],
        }
        with atomic_folder(out, outputs=EVALUATION_FILES, settings=settings) as folder:
            write_table(result["table"], folder / "metrics.csv", for_people=True)
            write_table(result["curve"], folder / "threshold_curve.csv")
            write_table(result["false_links"], folder / "false_links.csv", for_people=True)
            write_table(result["missed_links"], folder / "missed_links.csv", for_people=True)
            for name, fig in result["figures"].items():
                fig.savefig(folder / f"{name}.png", dpi=110)
    return result


#: What ``evaluate_labels`` writes.
LABEL_EVALUATION_FILES = ("metrics.csv",)


def evaluate_labels(
    run_dir: str | Path,
    labels: str | Path | pd.DataFrame,
    out: str | Path | None = None,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """:func:`~bansos_linkage.evaluation.labels_metrics` of a run folder; with ``out``,
    written as ``metrics.csv`` there, atomically and under the run folder's lock as
    :func:`evaluate_run` does (the CLI's default is ``RUN_DIR/evaluation_labels``)."""

    def job() -> dict[str, Any]:
        result = labels_metrics(read_run(run_dir), labels, confidence)
        if out is not None:
            settings = {
                "run_dir": str(run_dir),
                "labels": str(labels) if not isinstance(labels, pd.DataFrame) else "table",
                "confidence": confidence,
            }
            with atomic_folder(out, outputs=LABEL_EVALUATION_FILES, settings=settings) as folder:
                write_table(result["table"], folder / "metrics.csv", for_people=True)
        return result

    return _with_run_lock(run_dir, out, job)


def _with_run_lock(
    run_dir: str | Path, out: str | Path | None, job: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """Run ``job``, holding the run folder's lock when ``out`` is inside it."""
    if out is not None and _inside(run_dir, out):  # it would replace the run's manifest
        raise UsageError(
            "the evaluation needs a folder of its own, not the run folder or one holding it "
            "(default: RUN_DIR/evaluation)",
            file=out,
        )
    if out is None or not _inside(out, run_dir) or not Path(run_dir).is_dir():
        # (not a folder: read_run says so, and no lock file is left beside a typo)
        return job()
    with folder_lock(run_dir):
        return job()


__all__ = [
    "EVALUATION_FILES",
    "LABEL_EVALUATION_FILES",
    "evaluate_labels",
    "evaluate_run",
]
