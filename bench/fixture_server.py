"""A local stand-in for news sites: serves tests/fixtures/sites on 127.0.0.1.

/<site>/<path> serves tests/fixtures/sites/<site>/<path>. In .xml and .html files, {{BASE}} becomes
http://HOST:PORT/<site>, so feeds link to pages on this server. A stored <name>.gz is served as
<name> with Content-Encoding: gzip. Responses carry an ETag and answer If-None-Match with 304,
as real feed servers do. Every request path is recorded in app[REQUESTS] for tests.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler

SITES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "sites"
ROOT = web.AppKey("root", Path)
REQUESTS = web.AppKey("requests", list[str])
CONTENT_TYPES = {
    ".xml": "application/rss+xml",
    ".html": "text/html",
    ".opml": "text/x-opml",
}


def _locate(root: Path, relative: str) -> tuple[Path, bool] | None:
    """The file for a request path, and whether it is stored gzipped."""
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        return None
    if path.is_file():
        return path, False
    gzipped = path.with_name(path.name + ".gz")
    return (gzipped, True) if gzipped.is_file() else None


async def _serve(request: web.Request) -> web.StreamResponse:
    root: Path = request.app[ROOT]
    relative = request.match_info["path"]
    found = _locate(root, relative)
    if found is None:
        raise web.HTTPNotFound()
    path, gzipped = found
    suffix = Path(relative).suffix
    body = path.read_bytes()
    headers = {}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    elif suffix in (".xml", ".html"):
        site = relative.split("/", 1)[0]
        base = f"{request.scheme}://{request.host}/{site}"
        body = body.replace(b"{{BASE}}", base.encode())
    etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag})
    headers["ETag"] = etag
    content_type = CONTENT_TYPES.get(suffix, "application/octet-stream")
    return web.Response(body=body, headers=headers, content_type=content_type, charset="utf-8")


@web.middleware
async def _record(request: web.Request, handler: Handler) -> web.StreamResponse:
    request.app[REQUESTS].append(request.path_qs)
    return await handler(request)


def build_app(root: Path = SITES) -> web.Application:
    app = web.Application(middlewares=[_record])
    app[ROOT] = root.resolve()
    app[REQUESTS] = []
    app.router.add_get("/{path:.+}", _serve)
    return app


def site_feeds(base_url: str, root: Path = SITES) -> list[str]:
    """The feed URL of every fixture site (feed.xml or rss.xml at the site's top)."""
    return [f"{base_url}/{feed.parent.name}/{feed.name}" for feed in sorted(root.glob("*/*.xml"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    for url in site_feeds(f"http://{args.host}:{args.port}"):
        print(url, flush=True)
    web.run_app(build_app(), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
