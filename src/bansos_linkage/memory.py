"""The process's memory allocator, set for a batch run: freed memory kept for reuse.

A linkage run allocates and frees arrays of millions of elements (pair positions,
levels, weights, masks) hundreds of times. glibc's ``malloc`` hands a freed block
above its trim threshold back to the system, and the next array of that size faults
its pages in again: system time that grows with the pairs. Keeping freed memory for
reuse (a high trim threshold, a fixed threshold for ``mmap``) removes most of it;
the peak memory does not grow, what is kept is what the run uses again.

Arrow (reading files, pandas' string columns) allocates through its own pool, by
default mimalloc, which returns freed pages to the system within milliseconds: at
100,000 households that was 2 of the linking process's 4 seconds of system time.
The run switches Arrow to its jemalloc pool, which keeps them for a while.

These settings are the process's, not the library's: importing ``bansos_linkage``
changes nothing. The command line calls :func:`keep_freed_memory` once as it starts; a
batch job of one's own may call it too. Elsewhere than Linux with glibc it does
nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys

# glibc's mallopt options (malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3

#: Freed memory at the top of the heap kept up to this size (instead of 128 KiB).
TRIM_THRESHOLD = 1 << 30
#: Extra memory taken whenever the heap grows, so that it grows less often.
TOP_PAD = 64 << 20
#: Blocks from this size on come from ``mmap`` (glibc's largest: 32 MiB); fixed, so
#: that glibc's own adjustment does not move it.
MMAP_THRESHOLD = 32 << 20


def keep_freed_memory() -> bool:
    """Set this process's ``malloc`` and Arrow's memory pool to keep freed memory for
    reuse; True if ``malloc`` was set (Linux with glibc), False where there is no such
    setting."""
    if not sys.platform.startswith("linux"):
        return False
    _arrow_pool()
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # another C library (musl): nothing to set
        return False
    settings = (
        (_M_TRIM_THRESHOLD, TRIM_THRESHOLD),
        (_M_TOP_PAD, TOP_PAD),
        (_M_MMAP_THRESHOLD, MMAP_THRESHOLD),
    )
    return all(mallopt(option, value) == 1 for option, value in settings)


def _arrow_pool() -> None:
    """Arrow's default pool set to jemalloc, where this Arrow build has it."""
    import pyarrow as pa

    with contextlib.suppress(NotImplementedError):  # built without jemalloc: leave it
        pa.set_memory_pool(pa.jemalloc_memory_pool())


__all__ = ["MMAP_THRESHOLD", "TOP_PAD", "TRIM_THRESHOLD", "keep_freed_memory"]
