"""Keep freed arrays in the heap instead of returning them to the operating system (glibc only).

A classification SGD step allocates and frees about twenty arrays of 0.15–1.1 MB. With glibc's default
settings each array above 128 KiB is a fresh ``mmap`` that the kernel zero-fills page by page on first
touch, and freed heap above a few MB is trimmed and faulted in again by the next step. At the paper's size
that page-fault traffic costs as much as the arithmetic (docs/classification.md, "Speed"). Raising
``M_MMAP_THRESHOLD`` to 32 MiB and ``M_TRIM_THRESHOLD`` to 256 MiB makes the second step reuse the
first step's memory. The process keeps up to 256 MiB of freed heap; nothing is computed differently.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc <malloc.h>


@functools.cache
def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds once per process; return whether it applied (False off glibc)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    ok = mallopt(_M_MMAP_THRESHOLD, 32 << 20) == 1
    return bool(ok and mallopt(_M_TRIM_THRESHOLD, 256 << 20) == 1)
