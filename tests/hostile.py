"""What hostile servers send, as aiohttp handlers' bodies: shared by the fetch tests and the
fault table."""

import asyncio
import functools
import gzip

from aiohttp import web


@functools.cache
def gzip_bomb() -> bytes:
    """100 MB of zeros in ~100 kB: a cap must apply to what a body decodes to."""
    return gzip.compress(bytes(100_000_000), compresslevel=1)


async def streamed(
    request: web.Request, chunk: bytes, times: int, pause: float = 0.0
) -> web.StreamResponse:
    """`chunk` written `times` times, `pause` seconds apart: a big, endless or trickling body."""
    response = web.StreamResponse(headers={"Content-Type": "text/html"})
    await response.prepare(request)
    for _ in range(times):
        await response.write(chunk)
        if pause:
            await asyncio.sleep(pause)
    return response


async def reset_mid_body(request: web.Request) -> web.StreamResponse:
    """A promised megabyte, then the connection closed after a few bytes."""
    response = web.StreamResponse(
        headers={"Content-Type": "text/html", "Content-Length": "1000000"}
    )
    await response.prepare(request)
    await response.write(b"<html><body>cut short")
    assert request.transport is not None
    request.transport.close()
    return response
