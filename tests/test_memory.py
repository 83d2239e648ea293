"""The process allocator settings the command line applies (bansos_linkage.memory)."""

from __future__ import annotations

import ctypes
import subprocess
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
    # in a process of its own: the setting is the process's (a test process holding on
    # to freed memory would look full to the in-process Dask workers of other tests)
    code = "from bansos_linkage.memory import keep_freed_memory as k; print(k(), k())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"]  # set, and setting it again is harmless


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux run's setting")
def test_arrow_keeps_freed_memory_in_its_jemalloc_pool():
    import pyarrow as pa

    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        pytest.skip("this Arrow build has no jemalloc")
    code = (
        "import pyarrow as pa; before = pa.default_memory_pool().backend_name\n"
        "from bansos_linkage.memory import keep_freed_memory as k; k()\n"
        "print(before, pa.default_memory_pool().backend_name)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after = out.stdout.split()
    assert (before, after) == (pa.default_memory_pool().backend_name, "jemalloc")


def test_nothing_to_set_elsewhere(monkeypatch):
    monkeypatch.setattr(memory.sys, "platform", "darwin")
    assert memory.keep_freed_memory() is False


def test_the_program_keeps_freed_memory_and_main_does_not(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(app, "keep_freed_memory", lambda: calls.append("kept") or True)
    # main, as other code calls it (tests, a notebook), leaves the process alone
    assert app.main(["schema"]) == 0
    assert calls == []
    assert "dtks" in capsys.readouterr().out
    # the program (the console script, python -m bansos_linkage) sets it first
    monkeypatch.setattr(app, "main", lambda argv=None: calls.append("main") or 0)
    assert app.run() == 0
    assert calls == ["kept", "main"]
