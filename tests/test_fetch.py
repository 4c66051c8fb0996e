"""The fetcher against real aiohttp servers on 127.0.0.1."""

import asyncio
import gzip

import brotli
import pytest
from aiohttp import web

from pipeline.fetch import PAGE_ACCEPT, Fetcher, FetchError
from pipeline.settings import Settings
from tests.conftest import Sites
from tests.helpers import free_port


async def get(settings: Settings, url: str, **headers: str) -> object:
    async with Fetcher(settings) as fetcher:
        return await fetcher.get(url, accept=PAGE_ACCEPT, **headers)


@pytest.fixture
def app(app: web.Application) -> web.Application:
    async def big(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        for _ in range(100):
            await response.write(b"x" * 10_000)
        return response

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="late")

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def gzipped(request: web.Request) -> web.Response:
        return web.Response(
            body=gzip.compress(b"<html><body>zipped</body></html>"),
            headers={"Content-Encoding": "gzip", "Content-Type": "text/html; charset=utf-8"},
        )

    async def brotli_page(request: web.Request) -> web.Response:
        return web.Response(
            body=brotli.compress(b"<html><body>squeezed</body></html>"),
            headers={"Content-Encoding": "br", "Content-Type": "text/html"},
        )

    async def gone(request: web.Request) -> web.Response:
        raise web.HTTPGone()

    app.router.add_get("/big", big)
    app.router.add_get("/slow", slow)
    app.router.add_get("/loop", loop)
    app.router.add_get("/gzipped", gzipped)
    app.router.add_get("/gone", gone)
    app.router.add_get("/brotli", brotli_page)
    return app


async def test_ok_response_with_type_charset_and_validators(
    sites: Sites, settings: Settings
) -> None:
    response = await get(settings, sites.url("presstv/rss.xml"))
    assert response.status == 200  # type: ignore[attr-defined]
    assert response.content_type == "application/rss+xml"  # type: ignore[attr-defined]
    assert response.charset == "utf-8"  # type: ignore[attr-defined]
    assert response.etag  # type: ignore[attr-defined]


async def test_conditional_get_returns_304_with_no_body(sites: Sites, settings: Settings) -> None:
    first = await get(settings, sites.url("presstv/rss.xml"))
    second = await get(settings, sites.url("presstv/rss.xml"), etag=first.etag)  # type: ignore[attr-defined]
    assert (second.status, second.body) == (304, b"")  # type: ignore[attr-defined]


async def test_gzip_and_brotli_are_decoded(sites: Sites, settings: Settings) -> None:
    response = await get(settings, sites.url("gzipped"))
    assert response.body == b"<html><body>zipped</body></html>"  # type: ignore[attr-defined]
    response = await get(settings, sites.url("brotli"))
    assert response.body == b"<html><body>squeezed</body></html>"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("path", "overrides", "reason", "status"),
    [
        ("nowhere", {}, "HTTP 404 Not Found", 404),
        ("gone", {}, "HTTP 410 Gone", 410),
        ("big", {"max_body_bytes": 50_000}, "response larger than 50000 bytes", 200),
        ("slow", {"total_timeout": 0.5}, "timed out after 0.5 s", None),
        ("loop", {"max_redirects": 3}, "more than 3 redirects", None),
        ("loop", {"max_redirects": 0}, "HTTP 302 Found", 302),
    ],
)
async def test_failures_have_clear_reasons(
    sites: Sites,
    settings: Settings,
    path: str,
    overrides: dict[str, object],
    reason: str,
    status: int | None,
) -> None:
    import dataclasses

    with pytest.raises(FetchError) as caught:
        await get(dataclasses.replace(settings, **overrides), sites.url(path))
    assert caught.value.reason == reason
    assert caught.value.status == status


async def test_dead_host_is_a_connection_failure(settings: Settings) -> None:
    with pytest.raises(FetchError, match="cannot connect"):
        await get(settings, f"http://127.0.0.1:{free_port()}/feed")
