"""Prometheus metrics and a health endpoint for the daemon, served by aiohttp on a local port."""

from __future__ import annotations

import time

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from pipeline.reports import FeedReport


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.polls = Counter(
            "rss_ingest_polls",
            "Feed polls by outcome (ok, not_modified, error)",
            ["outcome"],
            registry=self.registry,
        )
        self.articles = Counter(
            "rss_ingest_articles",
            "Articles by outcome (new, duplicate, failed)",
            ["outcome"],
            registry=self.registry,
        )
        self.errors = Counter(
            "rss_ingest_feed_errors", "Failed polls by kind", ["kind"], registry=self.registry
        )
        self.deactivated = Counter(
            "rss_ingest_feeds_deactivated", "Feeds made inactive", registry=self.registry
        )
        self.queue_depth = Gauge(
            "rss_ingest_due_feeds", "Feeds due but not yet being polled", registry=self.registry
        )
        self.in_flight = Gauge(
            "rss_ingest_polls_in_flight", "Feeds being polled now", registry=self.registry
        )
        self.poll_lag = Gauge(
            "rss_ingest_poll_lag_seconds",
            "How late the most overdue due feed is",
            registry=self.registry,
        )
        self.loop_lag = Histogram(
            "rss_ingest_event_loop_lag_seconds",
            "How late the event loop woke a timer (CPU work blocking the loop shows here)",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.pool_restarts = Counter(
            "rss_ingest_pool_restarts",
            "Extraction pools started afresh because a worker died (a crash, the OOM killer)",
            registry=self.registry,
        )
        self.last_tick = Gauge(
            "rss_ingest_last_tick_timestamp_seconds",
            "When the scheduler last ran",
            registry=self.registry,
        )
        self.last_tick_at = time.time()

    def observe(self, report: FeedReport) -> None:
        if report.error is not None:
            self.polls.labels("error").inc()
            self.errors.labels(error_kind(report)).inc()
        else:
            self.polls.labels("not_modified" if report.unchanged else "ok").inc()
        self.articles.labels("new").inc(report.new)
        self.articles.labels("duplicate").inc(report.duplicate)
        self.articles.labels("failed").inc(report.failed)
        if report.deactivated:
            self.deactivated.inc()

    def tick(self, due: int, in_flight: int, lag_seconds: float) -> None:
        self.queue_depth.set(due)
        self.in_flight.set(in_flight)
        self.poll_lag.set(lag_seconds)
        self.last_tick_at = time.time()
        self.last_tick.set(self.last_tick_at)

    def app(self, healthy_within: float) -> web.Application:
        async def metrics(request: web.Request) -> web.Response:
            return web.Response(
                body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
            )

        async def health(request: web.Request) -> web.Response:
            age = time.time() - self.last_tick_at
            ok = age <= healthy_within
            return web.json_response(
                {"status": "ok" if ok else "stalled", "seconds_since_tick": round(age, 1)},
                status=200 if ok else 503,
            )

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        app.router.add_get("/healthz", health)
        return app


def error_kind(report: FeedReport) -> str:
    """A small, fixed set of labels: never the URL or free text."""
    if report.status is not None:
        return f"http_{report.status // 100}xx"
    reason = report.error or ""
    for prefix, kind in (
        ("timed out", "timeout"),
        ("cannot connect", "connect"),
        ("DNS", "dns"),
        ("not a feed", "not_a_feed"),
        ("not an RSS", "not_a_feed"),
        ("empty response", "empty"),
        ("response larger", "too_large"),
        ("internal error", "internal"),
    ):
        if reason.startswith(prefix):
            return kind
    return "other"
