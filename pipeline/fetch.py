"""HTTP with aiohttp: one session, bounded concurrency, timeouts, a size cap, clear reasons."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Self
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.compression_utils import ZLibBackend
from aiohttp.http_exceptions import HttpProcessingError

from pipeline.addresses import (
    CheckingResolver,
    Policy,
    RefusedAddress,
    literal_refusal,
    public_only,
)
from pipeline.politeness import HostGate, HostPaused
from pipeline.records import HttpResponse
from pipeline.settings import Settings

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
CHUNK_BYTES = 64 * 1024
REDIRECTS = (301, 302, 303, 307, 308)
PERMANENT_REDIRECTS = (301, 308)
MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)", re.IGNORECASE)


def use_fastest_zlib() -> str:
    """Decode gzip and deflate responses with python-isal where it is installed; the backend's name.

    News sites gzip their pages, and aiohttp inflates them in the crawl process: with the
    standard zlib that cost ~0.4 ms per page here, with isal ~0.16 ms, CPU the extraction
    pool then has. aiohttp's choice is process-wide (aiohttp.set_zlib_backend).
    """
    try:
        from isal import isal_zlib
    except ImportError:  # a platform without isal's wheels: the standard zlib
        return ZLibBackend.name
    aiohttp.set_zlib_backend(isal_zlib)
    return ZLibBackend.name


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from now: either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


def payload_reason(error: aiohttp.ClientPayloadError) -> str:
    """Why a body could not be read, without the "400, message:" aiohttp's parser puts first."""
    cause = error.__cause__
    if isinstance(cause, HttpProcessingError) and cause.message:
        return str(cause.message)
    return str(error)


def parse_max_age(cache_control: str | None) -> float | None:
    match = MAX_AGE.search(cache_control or "")
    return float(match.group(1)) if match else None


def permanent_target(redirects: list[int], final_url: str) -> str | None:
    """The final URL when every redirect on the way (their statuses) was permanent; else None."""
    if redirects and all(status in PERMANENT_REDIRECTS for status in redirects):
        return final_url
    return None


def tls_reason(error: OSError) -> str:
    """OpenSSL's reason ("wrong version number") without its source location."""
    reason = getattr(error, "reason", None)
    return str(reason).replace("_", " ").lower() if reason else str(error)


@dataclass(frozen=True, slots=True)
class _Redirect:
    status: int
    to: str


class FetchError(Exception):
    """A request that produced no usable response; the message says why, for people."""

    def __init__(
        self, reason: str, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


class Fetcher:
    """An aiohttp session with the project's limits; use as `async with Fetcher(settings) as f`.

    Unless settings.allow_private_addresses, only public addresses are connected to (policy:
    which; tests narrow it to tell loopback addresses apart).
    """

    def __init__(self, settings: Settings, policy: Policy = public_only) -> None:
        use_fastest_zlib()
        self._settings = settings
        self._policy = None if settings.allow_private_addresses else policy
        self._session: aiohttp.ClientSession | None = None
        self._gate = HostGate(
            settings.per_host_delay, settings.total_timeout, settings.per_host_concurrency
        )

    async def __aenter__(self) -> Self:
        connector = aiohttp.TCPConnector(
            limit=self._settings.concurrency,  # per host: the HostGate's slots
            ttl_dns_cache=300,
            resolver=CheckingResolver(self._policy) if self._policy else None,
        )
        timeout = aiohttp.ClientTimeout(
            total=self._settings.total_timeout,
            connect=self._settings.connect_timeout,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            headers={"User-Agent": self._settings.user_agent},
            raise_for_status=False,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def get(
        self,
        url: str,
        *,
        accept: str,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> HttpResponse:
        """GET a URL. Returns 2xx and 304 responses; raises FetchError for everything else."""
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            return await self._get(url, headers)
        except TimeoutError:
            raise FetchError(f"timed out after {self._settings.total_timeout:g} s") from None
        except RefusedAddress as error:
            raise FetchError(str(error)) from None
        except HostPaused as paused:
            raise FetchError(str(paused), retry_after=paused.seconds) from None
        except aiohttp.ClientConnectorDNSError:
            raise FetchError("DNS lookup failed") from None
        except aiohttp.ClientConnectorCertificateError as error:
            why = getattr(error.certificate_error, "verify_message", error.certificate_error)
            raise FetchError(f"TLS error: certificate not accepted: {why}") from None
        except aiohttp.ClientSSLError as error:
            raise FetchError(f"TLS error: {tls_reason(error.os_error)}") from None
        except aiohttp.ClientConnectorError as error:
            raise FetchError(f"cannot connect: {error.os_error.strerror or error}") from None
        except aiohttp.InvalidURL:
            raise FetchError("invalid URL") from None
        except aiohttp.ClientPayloadError as error:
            raise FetchError(f"broken response body: {payload_reason(error)}") from None
        except aiohttp.ClientError as error:
            raise FetchError(f"{type(error).__name__}: {error}") from None

    async def _get(self, url: str, headers: dict[str, str]) -> HttpResponse:
        """Redirects are followed here, not by aiohttp, so that every hop's host is checked."""
        redirects: list[int] = []
        hop = url
        while True:
            response = await self._get_one(hop, headers, redirects)
            if isinstance(response, HttpResponse):
                return replace(response, url=url)
            redirects.append(response.status)
            hop = response.to

    async def _get_one(
        self, url: str, headers: dict[str, str], redirects: list[int]
    ) -> HttpResponse | _Redirect:
        """The response, or a redirect to follow; every hop waits its own host's turn."""
        parts = urlsplit(url)
        if self._policy and (why := literal_refusal(parts.hostname or "", self._policy)):
            raise FetchError(f"refused: {why}")
        host = parts.netloc.lower()
        async with self._gate.turn(host):
            try:
                return await self._request(url, headers, redirects)
            except FetchError as error:
                if error.retry_after:
                    pause = min(error.retry_after, self._settings.max_retry_after)
                    self._gate.back_off(host, pause)
                raise

    async def _request(
        self, url: str, headers: dict[str, str], redirects: list[int]
    ) -> HttpResponse | _Redirect:
        assert self._session is not None, "use Fetcher as an async context manager"
        async with self._session.get(url, headers=headers, allow_redirects=False) as response:
            location = response.headers.get("Location")
            if response.status in REDIRECTS and location and self._settings.max_redirects:
                if len(redirects) == self._settings.max_redirects:
                    raise FetchError(f"more than {self._settings.max_redirects} redirects")
                target = urljoin(str(response.url), location)
                if urlsplit(target).scheme not in ("http", "https"):
                    raise FetchError(f"redirect to a URL that is not http(s): {location[:200]}")
                return _Redirect(response.status, target)
            if response.status >= 300 and response.status != 304:
                reason = f"HTTP {response.status} {response.reason or ''}".strip()
                retry_after = parse_retry_after(
                    response.headers.get("Retry-After"), datetime.now(UTC)
                )
                raise FetchError(reason, status=response.status, retry_after=retry_after)
            body = b"" if response.status == 304 else await self._read_capped(response)
            return HttpResponse(
                url=url,
                final_url=str(response.url),
                status=response.status,
                body=body,
                # aiohttp reports a missing Content-Type as application/octet-stream.
                content_type=(
                    response.content_type.lower() if "Content-Type" in response.headers else ""
                ),
                charset=response.charset,
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
                max_age=parse_max_age(response.headers.get("Cache-Control")),
                permanent_url=permanent_target(redirects, str(response.url)),
            )

    async def _read_capped(self, response: aiohttp.ClientResponse) -> bytes:
        cap = self._settings.max_body_bytes
        too_large = FetchError(f"response larger than {cap} bytes", status=response.status)
        if response.content_length is not None and response.content_length > cap:
            raise too_large
        body = bytearray()
        async for chunk in response.content.iter_chunked(CHUNK_BYTES):
            body += chunk
            if len(body) > cap:
                raise too_large
        return bytes(body)
