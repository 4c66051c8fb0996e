"""glibc's malloc: two arenas for the process's threads, not eight per core.

glibc gives each new thread its own malloc arena, up to eight per core. The crawl process
runs the event loop, SQLite's connection threads, the pool's manager and feeder and the
resolver's threads, and pages of ~170 KB pass through them. Each arena keeps its own freed
memory, so peak RSS grows: a 1k-feed crawl peaked at 217-229 MB with the default and at
188-196 MB with two arenas, at the same speed. MALLOC_ARENA_MAX, when set, is left to decide.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

log = logging.getLogger(__name__)
M_ARENA_MAX = -8  # glibc's malloc.h
ARENAS = 2


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's arenas (Linux with glibc; elsewhere nothing); whether it was done.

    Call it first thing: threads started before keep the arenas they have.
    """
    if sys.platform != "linux" or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        log.debug("mallopt unavailable: malloc arenas left as they are")
        return False
