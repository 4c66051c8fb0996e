"""The fetcher against real aiohttp servers on 127.0.0.1."""

import asyncio
import dataclasses
import gzip
from collections.abc import AsyncIterator
from typing import Any

import brotli
import pytest
from aiohttp import web
from aiohttp.compression_utils import ZLibBackend
from aiohttp.test_utils import TestServer

from pipeline.addresses import Policy
from pipeline.fetch import PAGE_ACCEPT, Fetcher, FetchError
from pipeline.settings import Settings
from tests.conftest import Sites
from tests.helpers import free_port, fresh_python
from tests.hostile import gzip_bomb, reset_mid_body, streamed


async def get(settings: Settings, url: str, **headers: str) -> object:
    async with Fetcher(settings) as fetcher:
        return await fetcher.get(url, accept=PAGE_ACCEPT, **headers)


@pytest.fixture
def app(app: web.Application) -> web.Application:
    async def big(request: web.Request) -> web.StreamResponse:
        return await streamed(request, b"x" * 10_000, 100)

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

    async def bad_gzip(request: web.Request) -> web.Response:
        zipped = gzip.compress(b"<html><body>" + b"words " * 2_000 + b"</body></html>")
        return web.Response(
            body=zipped[:20] + b"\xff" * 40 + zipped[60:],  # the deflate stream broken early
            headers={"Content-Encoding": "gzip", "Content-Type": "text/html"},
        )

    async def bomb(request: web.Request) -> web.Response:
        return web.Response(
            body=gzip_bomb(), headers={"Content-Encoding": "gzip", "Content-Type": "text/html"}
        )

    async def endless(request: web.Request) -> web.StreamResponse:
        # bounded: about 6 GB, far past any cap
        return await streamed(request, b"<p>more</p>" * 5_000, 100_000)

    async def trickle(request: web.Request) -> web.StreamResponse:
        # a byte every 0.1 s, for at most 10 s
        return await streamed(request, b"<", 100, pause=0.1)

    app.router.add_get("/bomb", bomb)
    app.router.add_get("/endless", endless)
    app.router.add_get("/trickle", trickle)
    app.router.add_get("/reset", reset_mid_body)
    app.router.add_get("/big", big)
    app.router.add_get("/slow", slow)
    app.router.add_get("/loop", loop)
    app.router.add_get("/gzipped", gzipped)
    app.router.add_get("/gone", gone)
    app.router.add_get("/bad-gzip", bad_gzip)
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


def test_gzip_is_decoded_by_isal_where_it_is_installed(settings: Settings) -> None:
    pytest.importorskip("isal", reason="isal has no wheel for this platform")
    Fetcher(settings)
    assert ZLibBackend.name == "isal.isal_zlib"


def test_without_isal_gzip_is_decoded_by_zlib() -> None:
    code = (
        "import sys; sys.modules['isal'] = None\n"  # as if it were not installed
        "from pipeline.fetch import use_fastest_zlib\nprint(use_fastest_zlib())"
    )
    assert fresh_python(code).strip() == "zlib"


async def test_a_broken_gzip_body_is_a_clear_failure(sites: Sites, settings: Settings) -> None:
    with pytest.raises(FetchError) as caught:
        await get(settings, sites.url("bad-gzip"))
    assert caught.value.reason == "broken response body: Can not decode content-encoding: gzip"


@pytest.mark.parametrize(
    ("path", "overrides", "reason", "status"),
    [
        ("nowhere", {}, "HTTP 404 Not Found", 404),
        ("gone", {}, "HTTP 410 Gone", 410),
        ("big", {"max_body_bytes": 50_000}, "response larger than 50000 bytes", 200),
        ("slow", {"total_timeout": 0.5}, "timed out after 0.5 s", None),
        ("loop", {"max_redirects": 3}, "more than 3 redirects", None),
        ("loop", {"max_redirects": 0}, "HTTP 302 Found", 302),
        ("bomb", {"max_body_bytes": 1_000_000}, "response larger than 1000000 bytes", 200),
        ("endless", {"max_body_bytes": 1_000_000}, "response larger than 1000000 bytes", 200),
        ("trickle", {"total_timeout": 1.0}, "timed out after 1 s", None),
    ],
)
async def test_failures_have_clear_reasons(
    sites: Sites,
    settings: Settings,
    path: str,
    overrides: dict[str, Any],
    reason: str,
    status: int | None,
) -> None:
    with pytest.raises(FetchError) as caught:
        await get(dataclasses.replace(settings, **overrides), sites.url(path))
    assert caught.value.reason == reason
    assert caught.value.status == status


async def test_a_connection_cut_mid_body_is_a_broken_response(
    sites: Sites, settings: Settings
) -> None:
    with pytest.raises(FetchError, match=r"^broken response body"):
        await get(settings, sites.url("reset"))


async def test_dead_host_is_a_connection_failure(settings: Settings) -> None:
    with pytest.raises(FetchError, match="cannot connect"):
        await get(settings, f"http://127.0.0.1:{free_port()}/feed")


def refuse_only(*refused: str) -> Policy:
    """A policy that tells loopback addresses apart, as public_only tells public from private."""
    return lambda address: f"{address} is refused here" if str(address) in refused else None


@pytest.fixture
async def hosts() -> AsyncIterator[tuple[str, str, list[str]]]:
    """Two hosts, 127.0.0.2 redirecting to 127.0.0.3; and the paths each was asked for."""
    asked: list[str] = []

    async def inside(request: web.Request) -> web.Response:
        asked.append(f"{request.host}{request.path}")
        return web.Response(text="an internal service")

    async def busy(request: web.Request) -> web.Response:
        asked.append(f"{request.host}{request.path}")
        raise web.HTTPServiceUnavailable(headers={"Retry-After": "3600"})

    target = TestServer(web.Application(), host="127.0.0.3")
    target.app.router.add_get("/admin", inside)
    target.app.router.add_get("/busy", busy)
    await target.start_server()

    async def hop(request: web.Request) -> web.Response:
        asked.append(f"{request.host}{request.path}")
        raise web.HTTPFound(request.query["to"])

    origin = TestServer(web.Application(), host="127.0.0.2")
    origin.app.router.add_get("/hop", hop)
    origin.app.router.add_get("/page", inside)
    await origin.start_server()
    yield str(origin.make_url("/")), str(target.make_url("/admin")), asked
    await origin.close()
    await target.close()


async def test_private_addresses_are_refused_by_default(sites: Sites, settings: Settings) -> None:
    strict = dataclasses.replace(settings, allow_private_addresses=False)
    with pytest.raises(FetchError, match=r"^refused: 127\.0\.0\.1 is a loopback address$"):
        await get(strict, sites.url("presstv/rss.xml"))
    port = sites.server.port
    with pytest.raises(FetchError, match=r"^refused: localhost resolves only to refused"):
        await get(strict, f"http://localhost:{port}/presstv/rss.xml")
    assert sites.requests == []
    allowed = await get(settings, sites.url("presstv/rss.xml"))
    assert allowed.status == 200  # type: ignore[attr-defined]


async def test_every_redirect_hop_is_checked(
    settings: Settings, hosts: tuple[str, str, list[str]]
) -> None:
    origin, inside, asked = hosts
    strict = dataclasses.replace(settings, allow_private_addresses=False)
    async with Fetcher(strict, refuse_only("127.0.0.3")) as fetcher:
        page = await fetcher.get(origin + "page", accept=PAGE_ACCEPT)
        assert page.body == b"an internal service"
        with pytest.raises(FetchError, match=r"^refused: 127\.0\.0\.3 is refused here$"):
            await fetcher.get(f"{origin}hop?to={inside}", accept=PAGE_ACCEPT)
        port = inside.split(":")[2].split("/")[0]
        named = f"http://localhost:{port}/admin"
    async with Fetcher(strict, refuse_only("127.0.0.1", "::1")) as fetcher:
        with pytest.raises(FetchError, match=r"^refused: localhost resolves only to refused"):
            await fetcher.get(f"{origin}hop?to={named}", accept=PAGE_ACCEPT)
    assert all(not path.startswith("127.0.0.3") for path in asked), asked
    assert asked.count(f"{origin[7:-1]}/hop") == 2


async def test_redirects_are_followed_and_a_permanent_one_is_reported(
    settings: Settings, hosts: tuple[str, str, list[str]]
) -> None:
    origin, inside, _ = hosts
    response = await get(settings, f"{origin}hop?to={inside}")
    assert response.body == b"an internal service"  # type: ignore[attr-defined]
    assert response.url == f"{origin}hop?to={inside}"  # type: ignore[attr-defined]
    assert response.final_url == inside  # type: ignore[attr-defined]
    assert response.permanent_url is None  # type: ignore[attr-defined]


async def test_a_redirect_to_another_scheme_is_refused(
    settings: Settings, hosts: tuple[str, str, list[str]]
) -> None:
    origin, _, _ = hosts
    with pytest.raises(FetchError, match="redirect to a URL that is not http"):
        await get(settings, f"{origin}hop?to=file:///etc/passwd")


async def test_a_host_that_asks_for_a_long_pause_fails_fast_on_every_hop(
    settings: Settings, hosts: tuple[str, str, list[str]]
) -> None:
    origin, inside, asked = hosts
    busy = inside.replace("/admin", "/busy")
    async with Fetcher(settings) as fetcher:
        with pytest.raises(FetchError, match=r"^HTTP 503 Service Unavailable$"):
            await fetcher.get(busy, accept=PAGE_ACCEPT)
        started = asyncio.get_running_loop().time()
        for url in (inside, f"{origin}hop?to={inside}"):  # directly, then as a redirect's hop
            with pytest.raises(FetchError, match=r"^127\.0\.0\.3:\d+ asked for a pause \("):
                await fetcher.get(url, accept=PAGE_ACCEPT)
        assert asyncio.get_running_loop().time() - started < 1
        assert (await fetcher.get(origin + "page", accept=PAGE_ACCEPT)).status == 200
    assert [path for path in asked if path.startswith("127.0.0.3")] == [busy[7:]]
