"""Calls into the process pool, sent in batches while the pool is busy.

Each task sent to a ProcessPoolExecutor costs the sending process about 0.4 ms of CPU when
the workers are busy (its manager and feeder threads wake for every task and every result,
and take the GIL from the event loop), next to ~30 ms of extraction: more than a tenth of what
the crawl process spends per article. So at most `slots` tasks are in the pool at once (a
task running in each worker and one queued, so no worker waits for the next), and the calls
that arrive meanwhile go together, as one task, when a slot frees. An idle pool gets each call
at once, alone: batching adds no delay when there is nothing to wait for.
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
        self._in_pool = 0

    async def __call__(self, function: Callable[..., T], *args: Any) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting.append((function, args, future))
        self._send()
        return await future

    def _send(self) -> None:
        while self._waiting and self._in_pool < self._slots:
            # Calls whose caller gave up (a shutdown) are left out.
            batch = [call for call in self._waiting[: self._max_batch] if not call[2].done()]
            del self._waiting[: self._max_batch]
            if not batch:
                continue
            try:
                task = self._executor.submit(run_calls, [(f, a) for f, a, _ in batch])
            except RuntimeError as error:  # the pool is shut down or broken
                _fail(batch, error)
                continue
            self._in_pool += 1
            asyncio.wrap_future(task).add_done_callback(partial(self._settle, batch))

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
