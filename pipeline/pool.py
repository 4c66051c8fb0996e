"""The process pool for the CPU-bound steps (feed parsing, extraction, cleaning)."""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib
import logging
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: the kernel kills this worker if the daemon dies (kill -9), leaving no orphans."""
    if sys.platform != "linux":
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        log.debug("prctl unavailable: pool workers may outlive a killed daemon")


def _worker_setup() -> None:
    # Signals are the parent's business: it shuts the pool down when it stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _die_with_parent()
    # trafilatura and htmldate warn about every odd page; the crawl reports failures itself.
    for name in ("trafilatura", "htmldate", "courlan"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # Half a second of imports (trafilatura, lxml, datasketch and scipy), done while the parent
    # sets up.
    importlib.import_module("pipeline.article")
    importlib.import_module("pipeline.parse")
    importlib.import_module("datasketch")  # pipeline.neardup imports it on first use


def _started() -> None:
    """A first task for each worker: the pool starts its processes on demand."""


def worker_count(workers: int) -> int:
    """The pool's size for the extract_workers setting: 0 means one per CPU core."""
    return workers or os.cpu_count() or 1


def extraction_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool for parsing and extraction; 0 workers means one per CPU core.

    'spawn' because forking a process that runs an event loop and database threads is unsafe.
    """
    count = worker_count(workers)
    pool = ProcessPoolExecutor(
        max_workers=count,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_setup,
    )
    for _ in range(count):
        pool.submit(_started)
    return pool
