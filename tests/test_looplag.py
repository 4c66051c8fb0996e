import asyncio
import time

import pytest

from pipeline import eventloop
from pipeline.looplag import LoopLagMonitor, percentile, summarise


def test_percentile_is_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([], 0.5) == 0.0


def test_summary_of_lags() -> None:
    summary = summarise([0.003, 0.001, 0.002, 0.250])
    assert (summary.samples, summary.median, summary.maximum) == (4, 0.002, 0.250)
    assert "max 250.0 ms" in summary.line()


async def test_a_blocking_step_on_the_loop_shows_as_lag() -> None:
    observed: list[float] = []
    async with LoopLagMonitor(interval=0.01, on_sample=observed.append) as monitor:
        await asyncio.sleep(0.1)
        calm = monitor.summary()
        time.sleep(0.3)  # noqa: ASYNC251 - what a page extracted on the loop instead of in the pool would do
        await asyncio.sleep(0.05)
        blocked = monitor.summary()
    assert calm.samples >= 3
    assert calm.maximum < 0.1
    assert blocked.maximum >= 0.25
    assert max(observed) == blocked.maximum


def test_lag_is_measured_finer_than_a_millisecond_on_uvloop() -> None:
    """uvloop's own clock (loop.time) moves in whole milliseconds: a calm loop read 0.0 ms."""
    pytest.importorskip("uvloop", reason="uvloop is not installed here (Windows)")

    async def calm_lags() -> list[float]:
        observed: list[float] = []
        async with LoopLagMonitor(interval=0.005, on_sample=observed.append):
            await asyncio.sleep(0.2)
        return observed

    lags = eventloop.run(calm_lags())
    assert len(lags) >= 10
    assert any(abs(lag * 1000 - round(lag * 1000)) > 0.01 for lag in lags)
