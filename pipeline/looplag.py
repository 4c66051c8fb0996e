"""Event-loop lag: how late the loop wakes a task that asked to sleep a fixed time.

Every fetch, timer and database reply waits for the loop; a CPU-heavy step run on it (parsing,
extraction, a slow query held in a callback) shows up here as lag. The crawl logs a summary,
the daemon exports a Prometheus histogram.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

SAMPLE_SECONDS = 0.05
KEPT_SAMPLES = 100_000  # about 80 minutes at the default interval: memory stays bounded


@dataclass(frozen=True, slots=True)
class LagSummary:
    samples: int
    median: float
    p99: float
    maximum: float

    def line(self) -> str:
        return (
            f"event loop lag over {self.samples} samples: median {self.median * 1000:.1f} ms, "
            f"p99 {self.p99 * 1000:.1f} ms, max {self.maximum * 1000:.1f} ms"
        )


def percentile(ordered: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of sorted values (share in 0..1); 0 for no values."""
    if not ordered:
        return 0.0
    rank = max(math.ceil(share * len(ordered)), 1)
    return ordered[rank - 1]


def summarise(lags: Sequence[float]) -> LagSummary:
    ordered = sorted(lags)
    return LagSummary(
        samples=len(ordered),
        median=percentile(ordered, 0.5),
        p99=percentile(ordered, 0.99),
        maximum=ordered[-1] if ordered else 0.0,
    )


class LoopLagMonitor:
    """Use as `async with LoopLagMonitor() as lag:`; `lag.summary()` at any time."""

    def __init__(
        self,
        interval: float = SAMPLE_SECONDS,
        on_sample: Callable[[float], None] = lambda lag: None,
    ) -> None:
        self._interval = interval
        self._on_sample = on_sample
        self._lags: deque[float] = deque(maxlen=KEPT_SAMPLES)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LoopLagMonitor:
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def summary(self) -> LagSummary:
        return summarise(self._lags)

    async def _sample(self) -> None:
        while True:
            # Not loop.time(): uvloop's clock moves in whole milliseconds.
            asked = time.perf_counter()
            await asyncio.sleep(self._interval)
            lag = max(time.perf_counter() - asked - self._interval, 0.0)
            self._lags.append(lag)
            self._on_sample(lag)
