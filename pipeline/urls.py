"""Canonical article URLs: one spelling per article, whatever link led to it."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from courlan import normalize_url


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, drop tracking parameters (utm_*, fbclid...) and the fragment.

    courlan's strict mode knows the tracking parameters; a URL it cannot parse is kept as given,
    stripped, so that it still identifies the article.
    """
    url = url.strip()
    try:
        return str(normalize_url(url, strict=True))
    except ValueError:
        return url


def is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def page_canonical_url(declared: str | None, page_url: str) -> str:
    """The URL a page declares for itself (<link rel=canonical>, og:url), if it is usable."""
    if declared:
        absolute = urljoin(page_url, declared.strip())
        if is_http_url(absolute):
            return canonical_url(absolute)
    return canonical_url(page_url)


def host_of(url: str) -> str:
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.")


# Hosts that serve the same articles as the bare domain, for phones or as AMP pages.
_ALIAS_HOST_PREFIXES = ("www.", "m.", "mobile.", "amp.")
_AMP_CACHE_SUFFIX = ".cdn.ampproject.org"


def url_key(url: str) -> str:
    """One key for every spelling of an article's URL: the key URL duplicates are found by.

    The canonical URL without its scheme, with www./m./mobile./amp. hosts folded into the bare
    domain, AMP markers (/amp path segment, .amp.html, ?amp, ?outputType=amp) and the trailing
    slash removed, and Google AMP cache addresses resolved to the publisher's page.
    """
    parts = urlsplit(canonical_url(url))
    if not parts.netloc:
        return url.strip()
    host = (parts.hostname or "").lower()
    path = parts.path
    if host.endswith(_AMP_CACHE_SUFFIX):
        # https://site-com.cdn.ampproject.org/c/s/site.com/story -> site.com/story
        segments = path.split("/", 4)
        if len(segments) == 5 and segments[1] in ("c", "v") and segments[2] == "s":
            return url_key("https://" + segments[3] + "/" + segments[4])
    for prefix in _ALIAS_HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host.removeprefix(prefix)
            break
    if parts.port:
        host = f"{host}:{parts.port}"
    path = path.removesuffix("/")
    path = path.removesuffix("/amp").removesuffix(".amp")
    path = path.replace(".amp.html", ".html").removesuffix("/")
    query = "&".join(
        param
        for param in parts.query.split("&")
        if param and param.lower() not in ("amp", "amp=1", "amp=true", "outputtype=amp")
    )
    return host + path + ("?" + query if query else "")
