"""Page bytes -> ExtractedPage, with trafilatura. Pure and CPU-bound: runs in the process pool."""

from __future__ import annotations

import codecs
from datetime import UTC, datetime
from urllib.parse import urljoin

import py3langid
import trafilatura
from lxml.html import HtmlElement
from trafilatura.settings import Document
from trafilatura.utils import load_html

from pipeline.records import ExtractedPage, HttpResponse
from pipeline.rules import RuleSet
from pipeline.urls import host_of

HTML_TYPES = ("text/html", "application/xhtml+xml", "")
MIN_WORDS_TO_DETECT = 20
DETECT_CHARS = 3_000


class NotAnArticle(Exception):
    """The page cannot yield an article body (not HTML, binary, or no main text found)."""


def decode_page(page: HttpResponse) -> str | bytes:
    """Trust the HTTP charset when the bytes decode with it; otherwise let trafilatura detect it."""
    if page.charset:
        try:
            codecs.lookup(page.charset)
            return page.body.decode(page.charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return page.body


# Control bytes that text never holds (tab, newlines, form feed and escape it may).
BINARY_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27))
WIDE_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def looks_binary(body: bytes, charset: str | None) -> bool:
    """More than one byte in 20 of the start is a control byte, and it is not UTF-16 or -32.

    A stray NUL in a real page is not enough: such pages exist and their text is worth keeping.
    """
    head = body[:2048]
    if head.startswith(WIDE_BOMS) or (charset or "").lower().startswith(("utf-16", "utf-32")):
        return False
    controls = len(head) - len(head.translate(None, BINARY_BYTES))
    return controls * 20 > len(head)


def _check_is_html(page: HttpResponse) -> None:
    if page.content_type not in HTML_TYPES:
        raise NotAnArticle(f"not an HTML page ({page.content_type})")
    if looks_binary(page.body, page.charset):
        raise NotAnArticle("binary content, not an HTML page")
    if not page.body.strip():
        raise NotAnArticle("empty page")


def _page_language(tree: HtmlElement) -> str | None:
    declared = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    if not declared:
        for meta in tree.iterfind(".//meta[@http-equiv]"):
            if meta.get("http-equiv", "").lower() == "content-language":
                declared = meta.get("content")
                break
    if not declared:
        return None
    primary = declared.strip().split(",")[0].strip()
    return primary.lower().replace("_", "-") or None


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language, when there is enough text to tell."""
    if len(text.split()) < MIN_WORDS_TO_DETECT:
        return None
    code, _ = py3langid.classify(text[:DETECT_CHARS])
    return str(code)


def _as_datetime(day: str | None) -> datetime | None:
    if not day:
        return None
    try:
        parsed = datetime.fromisoformat(day)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def declared_url(tree: HtmlElement) -> str | None:
    """The URL a page declares for itself: <link rel=canonical>, else og:url."""
    for xpath in ('//link[@rel="canonical"]/@href', '//meta[@property="og:url"]/@content'):
        found = tree.xpath(xpath)
        if found:
            return str(found[0]).strip() or None
    return None


def extract_page(page: HttpResponse, rules: RuleSet | None = None) -> ExtractedPage:
    """trafilatura over the page, after removing the elements the rules' selectors name."""
    _check_is_html(page)
    tree = load_html(decode_page(page))
    if tree is None:
        raise NotAnArticle("unreadable HTML")
    language = _page_language(tree)
    hosts = [host_of(page.final_url)]
    if (declared := declared_url(tree)) is not None:
        hosts.append(host_of(urljoin(page.final_url, declared)))
    prune = list(rules.xpaths_for_hosts(*hosts)) if rules else []
    document = trafilatura.bare_extraction(
        tree,
        url=page.final_url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        prune_xpath=prune or None,
    )
    if not isinstance(document, Document) or not (document.text or "").strip():
        raise NotAnArticle("no article text found")
    return ExtractedPage(
        text=str(document.text),
        title=document.title,
        author=document.author,
        published_at=_as_datetime(document.date),
        language=language or detect_language(str(document.text)),
        canonical_url=document.url,
    )
