"""Politeness per host: how many requests at once, how far apart, and pauses a host asks for."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class HostPaused(Exception):
    """The host asked for a pause longer than a request may wait."""

    def __init__(self, host: str, seconds: float) -> None:
        super().__init__(f"{host} asked for a pause (Retry-After): {seconds:.0f} s left")
        self.seconds = seconds


class HostGate:
    """Politeness per host: requests in flight, a minimum delay between starts, Retry-After.

    A request takes its turn before its pause is checked, so that once a host asks for a pause
    (429/503 with Retry-After) the requests queued behind it see it. One that would have to wait
    longer than max_wait fails at once instead: the crawl goes on, and it is retried later.
    """

    def __init__(self, min_delay: float, max_wait: float, per_host: int) -> None:
        self._min_delay = min_delay
        self._max_wait = max_wait
        self._per_host = per_host
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._starts: dict[str, asyncio.Lock] = {}
        self._not_before: dict[str, float] = {}

    @contextlib.asynccontextmanager
    async def turn(self, host: str) -> AsyncIterator[None]:
        async with self._slots.setdefault(host, asyncio.Semaphore(self._per_host)):
            await self._wait(host)
            yield

    async def _wait(self, host: str) -> None:
        loop = asyncio.get_running_loop()
        async with self._starts.setdefault(host, asyncio.Lock()):
            delay = self._not_before.get(host, 0.0) - loop.time()
            if delay > self._max_wait:
                raise HostPaused(host, delay)
            if delay > 0:
                await asyncio.sleep(delay)
            self._not_before[host] = max(
                self._not_before.get(host, 0.0), loop.time() + self._min_delay
            )

    def back_off(self, host: str, seconds: float) -> None:
        """The host asked us to wait (429/503 with Retry-After)."""
        until = asyncio.get_running_loop().time() + seconds
        self._not_before[host] = max(self._not_before.get(host, 0.0), until)
