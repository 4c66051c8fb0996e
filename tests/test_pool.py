"""The extraction pool: real workers forked from a warmed-up server, one of them killed as the
OOM killer would, and the command that started them killed with SIGKILL."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool

import pytest

from bench.processes import proc_stat
from pipeline.collector import YOUNG_THRESHOLD
from pipeline.pool import ExtractionPool, warm_up
from pipeline.pool_calls import PoolCalls
from tests.helpers import fresh_python


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


def test_workers_fork_from_a_server_that_warmed_up_once() -> None:
    with ExtractionPool(2) as pool:
        workers = {pool.submit(own_pid).result(timeout=60) for _ in range(20)}
        warmed_in = {pool.submit(warm_up).result(timeout=60) for _ in range(20)}
        parents = {pool.submit(os.getppid).result(timeout=60) for _ in range(20)}
    assert warmed_in == parents  # the fork server, before it forked them
    assert not warmed_in & (workers | {os.getpid()})


def test_workers_start_with_the_warmed_up_modules_out_of_the_collectors_reach() -> None:
    with ExtractionPool(1) as pool:
        frozen = pool.submit(gc.get_freeze_count).result(timeout=60)
        young_threshold = pool.submit(gc.get_threshold).result(timeout=60)[0]
    assert frozen > 50_000  # trafilatura, lxml, feedparser and their data: ~77k objects
    assert young_threshold == YOUNG_THRESHOLD


def test_without_a_fork_server_workers_are_spawned_and_warm_up_themselves() -> None:
    printed = fresh_python(
        "import multiprocessing, os\n"
        "multiprocessing.get_all_start_methods = lambda: ['spawn']\n"
        "from pipeline.pool import ExtractionPool, warm_up\n"
        "with ExtractionPool(1) as pool:\n"
        "    print(pool.submit(os.getppid).result() == os.getpid())\n"
        "    print(pool.submit(warm_up).result() == pool.submit(os.getpid).result())\n"
    )
    assert printed.split() == ["True", "True"]


def test_a_command_killed_with_sigkill_leaves_no_pool_process() -> None:
    command = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import multiprocessing, time\n"
            "from pipeline.pool import ExtractionPool\n"
            "pool = ExtractionPool(2)\n"
            "pool.submit(int).result()\n"  # the workers are up
            # Asked of the pool, not of its calls: one idle worker may take every call.
            "print(*[worker.pid for worker in multiprocessing.active_children()], flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert command.stdout is not None
    workers = [int(pid) for pid in command.stdout.readline().split()]
    fork_servers = {parent_of(pid) for pid in workers} - {command.pid}
    command.kill()
    command.wait()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in [*workers, *fork_servers]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(workers) == 2
    assert not [pid for pid in [*workers, *fork_servers] if alive(pid)]


def parent_of(pid: int) -> int:
    return int(proc_stat(pid)[1])


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for its parent to read its exit status."""
    return proc_stat(pid)[:1] not in ([], ["Z"])
