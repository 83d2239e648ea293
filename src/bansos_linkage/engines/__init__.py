"""Engines: a Linker's stages run over partitions of the registers.

The local in-process engine is the :class:`~bansos_linkage.linkage.linker.Linker`
itself (chunks of pairs compared in this process or in forked workers). The Dask
engine (:class:`~bansos_linkage.engines.dask.DaskEngine`, the optional extra
``bansos-linkage[dask]``) runs the same stage functions on the partitions of a Dask
cluster and gives the same links; see ``docs/scale.md``.

``DaskEngine`` is imported lazily: importing this package does not import Dask.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["DaskEngine"]


def __getattr__(name: str) -> Any:
    if name == "DaskEngine":
        return importlib.import_module("bansos_linkage.engines.dask").DaskEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
