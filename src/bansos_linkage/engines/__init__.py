"""Engines: a Linker's stages run over partitions of the registers.

The local in-process engine is the :class:`~bansos_linkage.linkage.linker.Linker`
itself (chunks of pairs compared in this process or in forked workers). The Dask
engine (:class:`~bansos_linkage.engines.dask.DaskEngine`, the optional extra
``bansos-linkage[dask]``) runs the same stage functions on the partitions of a Dask
cluster and gives the same links; see ``docs/scale.md``.

An engine is any object with the methods of :class:`Engine` (a
:class:`typing.Protocol`): :func:`~bansos_linkage.runs.link.link_files` takes one
(``engine=``) and calls it instead of the Linker's own ``fit_link`` / ``link``. An
engine that also has the methods of :class:`ReadsFiles` reads and standardises the
input files itself (on its workers), and links the registers it holds
(:class:`HeldRegister`). An engine with the method of :class:`ScoresRegisters` runs
eligibility scoring (:func:`~bansos_linkage.runs.score.score_files` takes it too). A
run gives an engine a model holding an ML matcher only when the engine says it applies
one (``runs_ml_matcher = True``), and reviewed pairs only when it says it trains one on
them (``trains_ml_matcher = True``: its ``fit_link`` and ``link`` then take
``labels=``); the Dask engine does both.

``DaskEngine`` is imported lazily: importing this package does not import Dask.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import datetime as dt

    import pandas as pd

    from bansos_linkage.eligibility.rules import Programme
    from bansos_linkage.eligibility.score import ScoredRegister
    from bansos_linkage.linkage.linker import Linker
    from bansos_linkage.linkage.outputs import LinkResult

__all__ = ["DaskEngine", "Engine", "HeldRegister", "ReadsFiles", "ScoresRegisters"]


@runtime_checkable
class Engine(Protocol):
    """What :func:`~bansos_linkage.runs.link.link_files` asks of an engine.

    ``name`` is recorded in the run's ``summary.json`` (``"engine"``). ``fit_link``
    fits ``linker`` on the two standardised registers and links them (as
    :meth:`Linker.fit_link <bansos_linkage.linkage.linker.Linker.fit_link>`);
    ``link`` links them with a fitted or loaded ``linker`` (as
    :meth:`Linker.link <bansos_linkage.linkage.linker.Linker.link>`). ``keep_pairs``
    as there: keep the scored pairs in ``LinkResult.pairs`` (all of them, or, a
    number, the links and the pairs at least that probable).
    """

    name: str

    def fit_link(
        self,
        linker: Linker,
        left: pd.DataFrame,
        right: pd.DataFrame,
        *,
        keep_pairs: bool | float = False,
    ) -> LinkResult: ...

    def link(
        self,
        linker: Linker,
        left: pd.DataFrame,
        right: pd.DataFrame,
        *,
        keep_pairs: bool | float = False,
    ) -> LinkResult: ...


class HeldRegister(Protocol):
    """A register read and standardised where the engine runs (never whole in this
    process): what a run needs of it. ``rejected``, ``n_input`` and ``n_rejected`` as
    the run's standardisation gives them for the whole register; ``len`` its records."""

    rejected: pd.DataFrame
    n_input: int
    n_rejected: int

    def __len__(self) -> int: ...

    def columns_of(self, columns: Sequence[str]) -> pd.DataFrame:
        """``record_id`` and the given columns (those it has) of every record, in order."""
        ...

    def records_of(self, ids: pd.Series, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The records of these record ids (``record_id`` and ``columns``, those the
        records have; None: every column)."""
        ...

    def write_records(self, path: str | Path) -> dict[Path, str]:
        """Every record to the folder ``path``, Parquet files that
        :func:`~bansos_linkage.runs.link.read_records` reads back as the records in
        their order; returns each file written with its SHA-256."""
        ...


@runtime_checkable
class ReadsFiles(Protocol):
    """An engine (:class:`Engine`) that also reads and standardises input files itself.

    ``standardise_files(side, path, standardise)`` reads the file or folder of Parquet
    files ``path`` and standardises it a table at a time with ``standardise`` (the
    run's own: records, rejected rows, counts); ``fit_link`` and ``link`` then take
    the :class:`HeldRegister` it returns as a register.
    """

    def standardise_files(
        self, side: str, path: str | Path, standardise: Callable[[pd.DataFrame], Any]
    ) -> HeldRegister: ...


@runtime_checkable
class ScoresRegisters(Protocol):
    """An engine that scores a register's eligibility: ``score_register`` takes the
    arguments of :func:`~bansos_linkage.eligibility.score.score_register` and gives
    its result (the same households, persons and summary)."""

    name: str

    def score_register(
        self,
        households: pd.DataFrame,
        members: pd.DataFrame,
        programmes: list[Programme],
        reference_date: dt.date,
        survey: pd.DataFrame | None = None,
        pmt: Any = None,
        region: str = "province_code",
        progress: Callable[[int, int, str], None] | None = None,
        desil_by: str | None = None,
        criteria_threshold: int = 9,
    ) -> ScoredRegister: ...


def __getattr__(name: str) -> Any:
    if name == "DaskEngine":
        return importlib.import_module("bansos_linkage.engines.dask").DaskEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
