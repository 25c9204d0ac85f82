"""Keep freed arrays in the heap instead of returning them to the operating system (glibc only).

A classification SGD step allocates and frees about twenty arrays of 0.15–1.1 MB. With glibc's default
settings an array above 128 KiB may be a fresh ``mmap`` that the kernel zero-fills page by page on first
touch, and freed heap is trimmed and faulted in again by the next step. How often that happens depends on
the process's allocation history: at the paper's size it was 28–52 page faults a step in the trainer's
loop, but 450–500 in a loop over one fixed batch, where the step took 8.8 ms instead of 5.2 ms
(docs/induction_head.md §2, "Speed"). Raising ``M_MMAP_THRESHOLD`` to 32 MiB and ``M_TRIM_THRESHOLD`` to
256 MiB makes every step reuse the previous step's memory (0 faults a step, whatever ran before). The
process keeps up to 256 MiB of freed heap; nothing is computed differently.
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
