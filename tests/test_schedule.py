import random
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.schedule import (
    Bounds,
    Hints,
    deactivation_reason,
    failure_interval,
    next_poll,
    publishing_gap,
    success_interval,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)
BOUNDS = Bounds(min_interval=300, max_interval=86_400, default_interval=3_600, max_failures=5)


def every(hours: float, count: int = 6) -> list[datetime]:
    return [T0 - timedelta(hours=hours * n) for n in range(count)]


def test_publishing_gap_is_half_the_mean_gap_of_recent_items() -> None:
    assert publishing_gap(every(2)) == 3_600
    assert publishing_gap(list(reversed(every(2)))) == 3_600  # order does not matter
    assert publishing_gap(every(1, count=30)) == 1_800  # only the 10 most recent count
    assert publishing_gap([T0]) is None
    assert publishing_gap([T0, T0]) is None


@pytest.mark.parametrize(
    ("dates", "hints", "previous", "expected"),
    [
        (every(2), Hints(), None, 3_600),  # items every 2 h: poll hourly
        (every(0.01), Hints(), None, 300),  # never below the minimum
        (every(24 * 30), Hints(), None, 86_400),  # never above the maximum
        ([], Hints(), None, 3_600),  # no dates: the default
        ([], Hints(), 7_200, 7_200),  # unchanged feed: keep its interval
        (every(2), Hints(ttl=3 * 3600), None, 10_800),  # <ttl> asks for longer
        (every(2), Hints(update_period=86_400), None, 86_400),  # sy:updatePeriod daily
        (every(2), Hints(max_age=600), None, 3_600),  # max-age shorter: rhythm wins
    ],
)
def test_success_interval(
    dates: list[datetime], hints: Hints, previous: float | None, expected: float
) -> None:
    assert success_interval(dates, hints, previous, BOUNDS) == expected


def test_failures_back_off_exponentially_up_to_the_maximum() -> None:
    intervals = [failure_interval(n, Hints(), BOUNDS) for n in range(1, 12)]
    assert intervals[:4] == [300, 600, 1_200, 2_400]
    assert intervals[-1] == 86_400
    assert failure_interval(1, Hints(retry_after=7_200), BOUNDS) == 7_200
    assert failure_interval(1, Hints(retry_after=10**9), BOUNDS) == 86_400


def test_next_poll_is_jittered_within_ten_percent() -> None:
    rng = random.Random(1)
    delays = [(next_poll(T0, 1_000, rng) - T0).total_seconds() for _ in range(200)]
    assert all(900 <= d <= 1_100 for d in delays)
    assert len(set(delays)) > 100


def test_deactivation() -> None:
    assert (
        deactivation_reason(1, 410, "HTTP 410 Gone", BOUNDS) == "the feed is gone (HTTP 410 Gone)"
    )
    assert deactivation_reason(4, 500, "HTTP 500", BOUNDS) is None
    reason = deactivation_reason(5, None, "timed out after 30 s", BOUNDS)
    assert reason == "5 failed polls in a row; last: timed out after 30 s"
