"""The process pool for the CPU-bound steps (feed parsing, extraction, cleaning)."""

from __future__ import annotations

import functools
import importlib
import logging
import multiprocessing
import os
import select
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.context import BaseContext
from typing import ParamSpec, TypeVar

from pipeline import collector

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")
PRELOAD_MODULE = "pipeline.pool_preload"


@functools.cache
def warm_up() -> int:
    """Import what workers use and load the data extraction loads on its first pages; the pid
    of the process that did (a forked worker's fork server: cached, it is done once).

    About a second: 0.5 s of imports (trafilatura, lxml, datasketch and scipy), then
    py3langid's model (0.4 s), justext's stoplists (0.15 s) and the public-suffix list. All
    that then lies out of the cycle collector's reach (collector.collect_less).
    """
    # trafilatura and htmldate warn about every odd page; the crawl reports failures itself.
    for name in ("trafilatura", "htmldate", "courlan"):
        logging.getLogger(name).setLevel(logging.ERROR)
    importlib.import_module("pipeline.article")
    importlib.import_module("pipeline.parse")
    importlib.import_module("datasketch")  # pipeline.neardup imports it on first use
    try:
        import courlan
        import py3langid
        import trafilatura.external

        py3langid.classify("a few words to load the model")
        trafilatura.external.jt_stoplist_init()
        courlan.extract_domain("https://www.example.co.uk/")
    except Exception as error:  # workers would then load these on first use, as they can
        print(f"rss-ingest: pool warm-up incomplete: {error!r}", file=sys.stderr)
    collector.collect_less()
    return os.getpid()


def pool_context() -> BaseContext:
    """'forkserver' where the platform has it, else 'spawn'.

    Not 'fork': forking a process that runs an event loop and database threads is unsafe. The
    fork server is a fresh single-threaded process that imports and warms up once
    (PRELOAD_MODULE), then forks each worker ready to work: a pool that restarts after a worker
    died is ready at once, and the workers share the loaded modules' memory.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([PRELOAD_MODULE])
    return context


def start_fork_server() -> None:
    """Start the pool's fork server now, so that it warms up while this process still imports
    and sets up (about a second each). Returns at once."""
    if pool_context().get_start_method() == "forkserver":
        import multiprocessing.forkserver  # not importable on every platform

        multiprocessing.forkserver.ensure_running()


def _exit_with(pid: int) -> None:
    """Linux: exit this worker when process `pid` ends, even by kill -9, leaving no orphans.

    A forked worker's parent is the fork server, which stays up as long as any worker does,
    so the kernel's parent-death signal would not do: a thread waits on the process's pidfd.
    """
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # not Linux, or a kernel before 5.3
        log.debug("no pidfd: pool workers may outlive a killed daemon")
        return

    def wait_then_exit() -> None:
        select.select([pidfd], [], [])
        os._exit(1)

    threading.Thread(target=wait_then_exit, name="exit-with-parent", daemon=True).start()


def _worker_setup(parent_pid: int) -> None:
    # Signals are the parent's business: it shuts the pool down when it stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _exit_with(parent_pid)
    warm_up()  # done already in a worker forked from the fork server


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
            mp_context=pool_context(),
            initializer=_worker_setup,
            initargs=(os.getpid(),),
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
