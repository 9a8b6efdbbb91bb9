"""Keep the Lua VMs' large blocks in the C heap instead of handing them back to the OS.

Each run starts with LuaJIT's string scratch buffer grown to its reserved size (sandbox.lua's
reserve_scratch, up to 4 MiB), and every garbage-collection cycle halves it again. With glibc's
defaults a block that large is its own mmap: the halving returns the pages to the kernel and
the regrowth faults them back in, 150-200 us a cycle (about 4 us on every trivial run, see
docs/benchmarks.md). Raising the mmap and trim thresholds once per process keeps those blocks
in the heap, where the regrowth is a plain copy (about 50 us). Only glibc has `mallopt`;
elsewhere this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
# Above the sandbox's largest blocks (the 4 MiB scratch and its reserved copy); trimming waits
# for twice that much free memory at the heap's top.
MMAP_THRESHOLD = 16 << 20
TRIM_THRESHOLD = 32 << 20

_done = False


def keep_large_blocks() -> bool:
    """Set glibc's thresholds once per process; False where there is no glibc."""
    global _done
    if _done:
        return True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _done
