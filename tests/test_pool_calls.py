import asyncio
import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest

from pipeline.pool_calls import PoolCalls, RemoteTraceback, run_calls


def square_after(seconds: float, number: int) -> int:
    time.sleep(seconds)
    return number * number


def refuse(number: int) -> int:
    raise ValueError(f"no {number}")


def touch(path: Path) -> None:
    path.touch()


def die() -> None:
    os._exit(1)


class CountingPool(ProcessPoolExecutor):
    """A real process pool that records how many calls each task it is given carries."""

    def __init__(self, workers: int) -> None:
        super().__init__(workers, mp_context=multiprocessing.get_context("spawn"))
        self.tasks: list[int] = []

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.tasks.append(len(args[0]))
        return super().submit(fn, *args, **kwargs)


@pytest.fixture
def pool() -> Iterator[CountingPool]:
    with CountingPool(1) as executor:
        executor.submit(run_calls, [(square_after, (0, 0))]).result()  # the worker is up
        executor.tasks.clear()
        yield executor


async def test_an_idle_pool_gets_each_call_at_once_and_alone(pool: CountingPool) -> None:
    calls = PoolCalls(pool, workers=1)
    assert await calls(square_after, 0, 3) == 9
    assert await calls(square_after, 0, 4) == 16
    assert pool.tasks == [1, 1]


async def test_calls_that_arrive_while_the_pool_is_busy_go_together(pool: CountingPool) -> None:
    calls = PoolCalls(pool, workers=1, max_batch=4)
    results = await asyncio.gather(*(calls(square_after, 0.05, n) for n in range(10)))
    assert results == [n * n for n in range(10)]
    # one running and one queued, alone; the eight that waited meanwhile, four to a task
    assert pool.tasks == [1, 1, 4, 4]


async def test_a_failing_call_fails_alone_with_the_workers_traceback(pool: CountingPool) -> None:
    calls = PoolCalls(pool, workers=1)
    outcomes = await asyncio.gather(
        *(
            calls(refuse if n == 3 else square_after, *((n,) if n == 3 else (0.01, n)))
            for n in range(6)
        ),
        return_exceptions=True,
    )
    assert [o for n, o in enumerate(outcomes) if n != 3] == [0, 1, 4, 16, 25]
    error = outcomes[3]
    assert isinstance(error, ValueError) and str(error) == "no 3"
    assert isinstance(error.__cause__, RemoteTraceback)
    assert "in refuse" in str(error.__cause__)
    assert max(pool.tasks) > 1  # the failure shared its task with others


async def test_a_call_whose_caller_gave_up_is_not_run(pool: CountingPool, tmp_path: Path) -> None:
    calls = PoolCalls(pool, workers=1)
    busy = [asyncio.ensure_future(calls(square_after, 0.2, n)) for n in range(2)]
    await asyncio.sleep(0.05)
    given_up = asyncio.ensure_future(calls(touch, tmp_path / "given-up"))
    kept = asyncio.ensure_future(calls(touch, tmp_path / "kept"))
    await asyncio.sleep(0)
    given_up.cancel()
    await asyncio.gather(*busy, kept)
    assert (tmp_path / "kept").exists()
    assert not (tmp_path / "given-up").exists()


async def test_a_dead_worker_fails_the_calls_it_held_and_none_hangs(pool: CountingPool) -> None:
    """Over a plain ProcessPoolExecutor, which refuses every call after; the crawl's own pool
    starts afresh instead (tests/test_pool.py)."""
    calls = PoolCalls(pool, workers=1)
    outcomes = await asyncio.wait_for(
        asyncio.gather(calls(die), calls(square_after, 0, 2), return_exceptions=True), 30
    )
    assert all(isinstance(outcome, BrokenProcessPool) for outcome in outcomes)
    with pytest.raises(BrokenProcessPool):
        await asyncio.wait_for(calls(square_after, 0, 3), 30)


async def test_calls_sent_first_go_before_those_waiting_in_tasks_of_their_own(
    pool: CountingPool,
) -> None:
    calls = PoolCalls(pool, workers=1, max_batch=4)
    finished: list[str] = []

    async def call(name: str, number: int, first: bool = False) -> None:
        send = calls.first if first else calls
        await send(square_after, 0.05, number)
        finished.append(name)

    waiting = [asyncio.create_task(call(f"page {n}", n)) for n in range(6)]
    await asyncio.sleep(0)  # two in the pool (one running, one queued), four waiting
    urgent = [asyncio.create_task(call(f"feed {n}", n, first=True)) for n in range(2)]
    await asyncio.gather(*waiting, *urgent)
    assert finished == ["page 0", "page 1", "feed 0", "feed 1", *(f"page {n}" for n in range(2, 6))]
    assert pool.tasks == [1, 1, 2, 4]


async def test_a_backlog_is_a_full_task_waiting_for_each_worker(pool: CountingPool) -> None:
    calls = PoolCalls(pool, workers=1, max_batch=4)
    assert not calls.has_backlog()
    running = [asyncio.create_task(calls(square_after, 0.05, n)) for n in range(5)]
    await asyncio.sleep(0)  # two in the pool, three waiting
    assert not calls.has_backlog()
    running.append(asyncio.create_task(calls(square_after, 0.05, 5)))
    await asyncio.sleep(0)
    assert calls.has_backlog()
    await asyncio.gather(*running)
    assert not calls.has_backlog()
