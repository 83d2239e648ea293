"""Engines: a Linker's stages run over partitions of the registers.

The local in-process engine is the :class:`~bansos_linkage.linkage.linker.Linker`
itself (chunks of pairs compared in this process or in forked workers). The Dask
engine (:class:`~bansos_linkage.engines.dask.DaskEngine`, the optional extra
``bansos-linkage[dask]``) runs the same stage functions on the partitions of a Dask
cluster and gives the same links; see ``docs/scale.md``.

An engine is any object with the methods of :class:`Engine` (a
:class:`typing.Protocol`): :func:`~bansos_linkage.runs.link.link_files` takes one
(``engine=``) and calls it instead of the Linker's own ``fit_link`` / ``link``.

``DaskEngine`` is imported lazily: importing this package does not import Dask.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pandas as pd

    from bansos_linkage.linkage.linker import Linker
    from bansos_linkage.linkage.outputs import LinkResult

__all__ = ["DaskEngine", "Engine"]


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


def __getattr__(name: str) -> Any:
    if name == "DaskEngine":
        return importlib.import_module("bansos_linkage.engines.dask").DaskEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
