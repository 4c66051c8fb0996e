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
