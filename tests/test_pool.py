"""The extraction pool: real spawned workers, one of them killed as the OOM killer would."""

from __future__ import annotations

import asyncio
import os
import signal
from concurrent.futures.process import BrokenProcessPool

import pytest

from pipeline.pool import ExtractionPool
from pipeline.pool_calls import PoolCalls


def own_pid() -> int:
    return os.getpid()


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_dead_worker_fails_its_call_and_the_next_call_gets_a_new_pool(
    caplog: pytest.LogCaptureFixture,
) -> None:
    restarts: list[int] = []
    with ExtractionPool(1, on_restart=lambda: restarts.append(1)) as pool:
        first_worker = pool.submit(own_pid).result(timeout=60)
        with pytest.raises(BrokenProcessPool):
            pool.submit(die).result(timeout=60)
        assert pool.submit(own_pid).result(timeout=60) != first_worker
        assert pool.restarts == len(restarts) == 1
    assert "a pool worker died" in caplog.text


async def test_pool_calls_go_on_after_a_worker_dies() -> None:
    with ExtractionPool(1) as pool:
        calls = PoolCalls(pool, pool.workers)
        held = await asyncio.gather(calls(die), calls(own_pid), return_exceptions=True)
        assert all(isinstance(outcome, BrokenProcessPool) for outcome in held)
        assert await asyncio.wait_for(calls(own_pid), 60) > 0
        assert pool.restarts == 1


def test_one_worker_per_core_by_default() -> None:
    with ExtractionPool(0) as pool:
        assert pool.workers == (os.cpu_count() or 1)
