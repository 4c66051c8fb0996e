"""Group commit: calls that arrive while a batch runs are run together, as the next batch.

Every database statement costs the event loop about a millisecond (SQLAlchemy, the driver's
thread hop) whatever its size, and writes queue behind one lock anyway. So the caller that gets
the lock runs one batch for every caller waiting; nobody waits longer than one batch ahead.
Lookups are quick, so few callers would be waiting: the one that gets the lock lingers up to a
fraction of a second for the others it knows to be under way (a poll takes seconds anyway), and
not at all when everyone who could come is waiting already.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """`await batcher(item)` returns run_batch's result for that item.

    run_batch gets the items in the order they arrived and returns one result per item. If it
    raises, each item of that batch is run again alone: a caller gets an exception only if its
    own item fails.
    """

    def __init__(
        self,
        run_batch: Callable[[Sequence[T]], Awaitable[Sequence[R]]],
        linger: float = 0.0,
        callers: Callable[[], int] = lambda: 1,
        linger_per_caller: float = float("inf"),
        worth_waiting: Callable[[], bool] = lambda: True,
    ) -> None:
        """linger: at most how long a batch waits for more callers; callers: how many there
        could be at most just now (lingering ends once they all wait); linger_per_caller: the
        wait is at most this much for each caller there could be (few can add little);
        worth_waiting: whether a batch may wait just now (when waiting would hold up other
        work, a batch runs at once)."""
        self._run_batch = run_batch
        self._linger = linger
        self._callers = callers
        self._linger_per_caller = linger_per_caller
        self._worth_waiting = worth_waiting
        self._lock = asyncio.Lock()
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._arrived = asyncio.Event()

    async def __call__(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        self._arrived.set()
        try:
            async with self._lock:
                if not future.done():
                    await self._gather()
                    await self._run(future)
        except asyncio.CancelledError:
            future.cancel()  # so that no later batch runs it
            raise
        return await future

    async def _gather(self) -> None:
        """Wait for more callers while more could come, until linger is up."""
        if not self._worth_waiting():
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(self._linger, self._linger_per_caller * self._callers())
        while len(self._waiting) < self._callers() and loop.time() < deadline:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), deadline - loop.time())
            except TimeoutError:
                return

    async def _run(self, mine: asyncio.Future[R]) -> None:
        # Callers cancelled while they waited (a shutdown) are left out.
        batch = [(item, future) for item, future in self._waiting if not future.done()]
        self._waiting = []
        try:
            await self._settle(batch)
        except asyncio.CancelledError:
            # Only this caller was cancelled: the others wait on, and the next one runs them.
            self._waiting[:0] = [(i, f) for i, f in batch if f is not mine and not f.done()]
            raise

    async def _settle(self, batch: Sequence[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._run_batch([item for item, _ in batch])
        except Exception as error:
            if len(batch) == 1:
                batch[0][1].set_exception(error)
                return
            # One bad item must fail only its own caller.
            # (the first line only: a database error goes on with the statement and its rows)
            why = (str(error).splitlines() or [type(error).__name__])[0][:300]
            log.warning("a batch of %d failed (%s); running them one at a time", len(batch), why)
            for one in batch:
                await self._settle([one])
            return
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)
