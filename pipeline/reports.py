"""What polling reports: one FeedReport per poll, and a crawl's summary of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class FeedReport:
    url: str
    status: int | None = None
    error: str | None = None
    unchanged: bool = False
    new: int = 0
    duplicate: int = 0
    already_stored: int = 0
    failed: int = 0
    deactivated: str | None = None
    next_poll_at: datetime | None = None
    database_failed: bool = False
    """The database, not the feed, failed the poll: nothing of it was stored."""


@dataclass(slots=True)
class CrawlSummary:
    reports: list[FeedReport] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, name: str) -> int:
        return sum(int(getattr(report, name)) for report in self.reports)

    @property
    def failed_feeds(self) -> list[FeedReport]:
        return [report for report in self.reports if report.error is not None]

    def line(self) -> str:
        feeds = len(self.reports)
        return (
            f"feeds: {feeds - len(self.failed_feeds)} polled, {len(self.failed_feeds)} failed, "
            f"{self.count('unchanged')} unchanged | articles: {self.count('new')} new, "
            f"{self.count('duplicate')} duplicate, {self.count('failed')} failed, "
            f"{self.count('already_stored')} already stored | {self.seconds:.1f} s"
        )
