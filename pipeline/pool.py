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
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import ParamSpec, TypeVar

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1
P = ParamSpec("P")
T = TypeVar("T")


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


class ExtractionPool(Executor):
    """A process pool for parsing and extraction that starts afresh when a worker dies.

    A worker can die mid-page: a crash in lxml's C code on a pathological page, or the kernel's
    OOM killer. ProcessPoolExecutor then fails every call in flight with BrokenProcessPool and
    refuses all later ones, which would fail every article a daemon fetches after it. Here the
    calls in flight still fail (the crawl records them, retries them at the next poll, and gives
    up on a page after max_article_attempts), and the next call gets a new pool.

    'spawn' because forking a process that runs an event loop and database threads is unsafe.
    """

    def __init__(self, workers: int, on_restart: Callable[[], None] = lambda: None) -> None:
        """workers: the extract_workers setting (0: one per CPU core)."""
        self.workers = worker_count(workers)
        self.restarts = 0
        self._on_restart = on_restart
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_setup,
        )
        for _ in range(self.workers):
            pool.submit(_started)
        return pool

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        try:
            return self._pool.submit(fn, *args, **kwargs)
        except BrokenProcessPool:
            self.restarts += 1
            log.error(
                "a pool worker died (the calls it held failed): starting a new pool "
                "(%d restart%s so far)",
                self.restarts,
                "" if self.restarts == 1 else "s",
            )
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._start()
            self._on_restart()
            return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)
