"""Calls into the process pool, sent in batches while the pool is busy.

Each task sent to a ProcessPoolExecutor costs the sending process about 0.4 ms of CPU when
the workers are busy (its manager and feeder threads wake for every task and every result,
and take the GIL from the event loop), next to ~30 ms of extraction: more than a tenth of what
the crawl process spends per article. So at most `slots` tasks are in the pool at once (a
task running in each worker and one queued, so no worker waits for the next), and the calls
that arrive meanwhile go together, as one task, when a slot frees. An idle pool gets each call
at once, alone: batching adds no delay when there is nothing to wait for.

Calls wait in the order they came, except those sent with `first`: work that other work waits
on, sent in tasks of their own. A feed's parse takes a millisecond and gives its pages; behind a
queue of pages (seconds of extraction) it would reach the pool only as the pool ran dry, and
the pool would then wait for the pages it gives to be fetched.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")
MAX_BATCH = 8
"""Calls per task at most: eight pages are a quarter of a second of one worker's time."""


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a pool worker, as its __cause__."""

    def __str__(self) -> str:
        return f'\n"""\n{self.args[0]}"""'


@dataclass(frozen=True, slots=True)
class _Failed:
    error: BaseException
    trace: str


def run_calls(calls: Sequence[tuple[Callable[..., Any], tuple[Any, ...]]]) -> list[Any]:
    """In the worker: each call's result, or its exception; one call's failure is its own."""
    results: list[Any] = []
    for function, args in calls:
        try:
            results.append(function(*args))
        except Exception as error:
            results.append(_Failed(error, traceback.format_exc()))
    return results


_Call = tuple[Callable[..., Any], tuple[Any, ...], "asyncio.Future[Any]"]


class PoolCalls:
    """`await calls(function, *args)`: function(*args) run in the executor."""

    def __init__(self, executor: Executor, workers: int, max_batch: int = MAX_BATCH) -> None:
        self._executor = executor
        self._slots = workers + 1
        self._max_batch = max_batch
        self._waiting: list[_Call] = []
        self._first: list[_Call] = []
        self._in_pool = 0

    def has_backlog(self) -> bool:
        """Whether a full task for each worker waits to be sent: work for a quarter of a second
        or more, so the pool is not about to run dry."""
        return len(self._waiting) >= (self._slots - 1) * self._max_batch

    async def __call__(self, function: Callable[..., T], *args: Any) -> T:
        return await self._call(self._waiting, function, args)

    async def first(self, function: Callable[..., T], *args: Any) -> T:
        """function(*args), sent before the calls waiting (after those sent with `first`)."""
        return await self._call(self._first, function, args)

    async def _call(
        self, queue: list[_Call], function: Callable[..., T], args: tuple[Any, ...]
    ) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        queue.append((function, args, future))
        self._send()
        return await future

    def _send(self) -> None:
        while (self._first or self._waiting) and self._in_pool < self._slots:
            # Calls whose caller gave up (a shutdown) are left out.
            batch = [call for call in self._take() if not call[2].done()]
            if not batch:
                continue
            try:
                task = self._executor.submit(run_calls, [(f, a) for f, a, _ in batch])
            except RuntimeError as error:  # the pool is shut down or broken
                _fail(batch, error)
                continue
            self._in_pool += 1
            asyncio.wrap_future(task).add_done_callback(partial(self._settle, batch))

    def _take(self) -> list[_Call]:
        """Up to max_batch calls: those sent with `first` if any, alone (their results are
        awaited soonest), else the others in order."""
        queue = self._first or self._waiting
        taken = queue[: self._max_batch]
        del queue[: self._max_batch]
        return taken

    def _settle(self, batch: list[_Call], done: asyncio.Future[list[Any]]) -> None:
        self._in_pool -= 1
        if done.cancelled():
            for _, _, future in batch:
                future.cancel()
        elif (error := done.exception()) is not None:  # a worker died, or a result unpicklable
            _fail(batch, error)
        else:
            for (_, _, future), result in zip(batch, done.result(), strict=True):
                if future.done():
                    continue
                if isinstance(result, _Failed):
                    result.error.__cause__ = RemoteTraceback(result.trace)
                    future.set_exception(result.error)
                else:
                    future.set_result(result)
        self._send()


def _fail(batch: Sequence[_Call], error: BaseException) -> None:
    for _, _, future in batch:
        if not future.done():
            future.set_exception(error)
