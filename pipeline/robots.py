"""robots.txt for article pages: parsed by protego, fetched once per host and cached."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from protego import Protego

from pipeline.fetch import Fetcher, FetchError

ROBOTS_ACCEPT = "text/plain, */*;q=0.5"
CACHE_SECONDS = 86_400.0
RETRY_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class RobotsPolicy:
    """What a host's robots.txt lets us fetch. parser None: `everything` says all or nothing."""

    parser: Protego | None
    everything: bool
    why_not: str = "disallowed by robots.txt"

    def verdict(self, url: str, user_agent: str) -> str | None:
        """None when the URL may be fetched, else the reason it may not."""
        if self.parser is not None:
            allowed = self.parser.can_fetch(url, user_agent)
        else:
            allowed = self.everything
        return None if allowed else self.why_not


def policy_from_response(status: int | None, body: bytes, error: str | None) -> RobotsPolicy:
    """RFC 9309: no robots.txt (4xx) allows all; an unreachable one (5xx, network) allows none."""
    if error is None and status is not None and status < 300:
        return RobotsPolicy(Protego.parse(body.decode("utf-8", errors="replace")), everything=True)
    if status is not None and 400 <= status < 500:
        return RobotsPolicy(None, everything=True)
    return RobotsPolicy(None, everything=False, why_not=f"robots.txt unreachable ({error})")


class RobotsCache:
    def __init__(self, fetcher: Fetcher, user_agent: str, now: Callable[[], float]) -> None:
        self._fetcher = fetcher
        self._user_agent = user_agent
        self._now = now
        self._policies: dict[str, tuple[float, asyncio.Task[RobotsPolicy]]] = {}

    async def why_not(self, url: str) -> str | None:
        """None when robots.txt allows fetching the URL, else the reason."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        cached = self._policies.get(origin)
        if cached is None or cached[0] < self._now():
            task = asyncio.ensure_future(self._load(origin))
            cached = (self._now() + CACHE_SECONDS, task)
            self._policies[origin] = cached
        policy = await asyncio.shield(cached[1])
        if not policy.everything:
            # unreachable: try again soon rather than in a day
            self._policies[origin] = (min(cached[0], self._now() + RETRY_SECONDS), cached[1])
        return policy.verdict(url, self._user_agent)

    async def _load(self, origin: str) -> RobotsPolicy:
        try:
            response = await self._fetcher.get(origin + "/robots.txt", accept=ROBOTS_ACCEPT)
        except FetchError as error:
            return policy_from_response(error.status, b"", error.reason)
        return policy_from_response(response.status, response.body, None)
