"""Linkers made from settings: the defaults, a settings file, a model file's settings.

The top of the linkage package: it builds a :class:`~bansos_linkage.linkage.linker.Linker`
from the plain settings of :mod:`.settings` and reads model files
(:mod:`.model_file`), both of which the Linker itself uses, so neither of them needs
the Linker.

Examples
--------
>>> settings = default_settings()
>>> linker_from_settings(settings).threshold == settings["threshold"]
True
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bansos_linkage.linkage import model_file
from bansos_linkage.linkage.linker import Linker
from bansos_linkage.linkage.settings import (
    linker_options,
    linker_settings,
    read_settings_file,
)

__all__ = ["default_settings", "linker_from_settings", "model_settings", "read_settings"]


def default_settings() -> dict[str, Any]:
    """The settings of ``Linker()``: the defaults for DTKS <-> Regsosek."""
    return linker_settings(Linker())


def linker_from_settings(
    settings: Mapping[str, Any] | str | Path, *, source: str | Path | None = None
) -> Linker:
    """A new (unfitted) Linker from a settings dict or file (YAML or JSON, or a model
    file: its settings). ``source`` names the dict in error messages."""
    if isinstance(settings, str | Path):
        source = source or Path(settings)
        settings = read_settings(settings)
    source = source or "settings"
    # checked here, so that the Linker's own checks at fit time never see bad settings
    return Linker(**linker_options(settings, source=source))


def read_settings(path: str | Path) -> dict[str, Any]:
    """The settings in a YAML or JSON file (by its suffix; ``.json`` is JSON, anything
    else YAML), checked; a model file gives its settings (:func:`model_settings`)."""
    content = read_settings_file(path)
    if isinstance(content, dict) and content.get("format") == model_file.FORMAT:
        return model_settings(path)
    linker_options(content, source=path)
    return content


def model_settings(path: str | Path) -> dict[str, Any]:
    """The settings of a model file, checked (also of one written before settings
    files: version 1 files are loaded whole to read them)."""
    content = model_file.read(path)
    if content["version"] == 1:
        return linker_settings(Linker.load(path))
    settings = content.get("settings")
    linker_options(settings, source=path, complete=True, prefix="settings.")
    return settings  # type: ignore[return-value]
