"""When to poll a feed next: pure decisions from its item dates, its hints and its failures."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

RECENT_ITEMS = 10
JITTER = 0.1
GONE = 410


@dataclass(frozen=True, slots=True)
class Bounds:
    min_interval: float = 300.0
    max_interval: float = 86_400.0
    default_interval: float = 3_600.0
    """For a feed whose items carry no usable dates."""
    max_failures: int = 10
    """Failed polls in a row after which a feed is made inactive."""


@dataclass(frozen=True, slots=True)
class Hints:
    """What the feed and its server say about how often to come back, in seconds."""

    ttl: float | None = None
    """RSS <ttl>."""
    update_period: float | None = None
    """sy:updatePeriod / sy:updateFrequency."""
    max_age: float | None = None
    """Cache-Control: max-age."""
    retry_after: float | None = None
    """Retry-After, on 429 and 503."""


def publishing_gap(item_dates: Sequence[datetime]) -> float | None:
    """Half the mean gap between the feed's most recent items, in seconds."""
    recent = sorted(item_dates, reverse=True)[:RECENT_ITEMS]
    if len(recent) < 2:
        return None
    span = (recent[0] - recent[-1]).total_seconds()
    if span <= 0:
        return None
    return span / (len(recent) - 1) / 2


def _clamp(seconds: float, bounds: Bounds) -> float:
    return min(max(seconds, bounds.min_interval), bounds.max_interval)


def _jittered(seconds: float, rng: random.Random) -> float:
    """Spread polls so that feeds added together do not stay in lockstep."""
    return seconds * rng.uniform(1 - JITTER, 1 + JITTER)


def success_interval(
    item_dates: Sequence[datetime], hints: Hints, previous: float | None, bounds: Bounds
) -> float:
    """The interval after a successful poll (before jitter).

    Publishing rhythm first; a feed's own caching hints are a floor (it asks not to be polled
    more often); all within the configured bounds. Unchanged feeds keep their interval.
    """
    interval = publishing_gap(item_dates) or previous or bounds.default_interval
    floors = [h for h in (hints.ttl, hints.update_period, hints.max_age) if h]
    return _clamp(max([interval, *floors]), bounds)


def failure_interval(error_count: int, hints: Hints, bounds: Bounds) -> float:
    """Exponential backoff from the minimum interval; Retry-After wins if it asks for longer."""
    backoff = bounds.min_interval * 2 ** max(error_count - 1, 0)
    return _clamp(max(backoff, hints.retry_after or 0.0), bounds)


def next_poll(now: datetime, interval: float, rng: random.Random) -> datetime:
    return now + timedelta(seconds=_jittered(interval, rng))


def deactivation_reason(
    error_count: int, status: int | None, last_error: str, bounds: Bounds
) -> str | None:
    """Why a failing feed should stop being polled, or None to keep trying."""
    if status == GONE:
        return f"the feed is gone ({last_error})"
    if error_count >= bounds.max_failures:
        return f"{error_count} failed polls in a row; last: {last_error}"
    return None
