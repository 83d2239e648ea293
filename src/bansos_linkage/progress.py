"""Progress reporting: the callback every long-running stage takes.

``progress(done, total, stage)`` is called as work advances: ``done`` of ``total``
steps of the named stage. It is optional in the API (None: silent); the CLI passes one
that draws a progress bar.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int, str], None]

__all__ = ["Progress"]
