"""The process allocator settings the command line applies (bansos_linkage.memory)."""

from __future__ import annotations

import ctypes
import sys

import pytest

from bansos_linkage import memory
from bansos_linkage.cli import app


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_memory_is_kept_on_linux_with_glibc():
    try:
        ctypes.CDLL("libc.so.6").mallopt  # noqa: B018
    except (OSError, AttributeError):
        pytest.skip("not glibc")
    assert memory.keep_freed_memory() is True
    assert memory.keep_freed_memory() is True  # idempotent


def test_nothing_to_set_elsewhere(monkeypatch):
    monkeypatch.setattr(memory.sys, "platform", "darwin")
    assert memory.keep_freed_memory() is False


def test_the_command_line_keeps_freed_memory_before_a_command(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(app, "keep_freed_memory", lambda: calls.append("kept") or True)
    assert app.main(["schema"]) == 0
    assert calls == ["kept"]
    assert "dtks" in capsys.readouterr().out
