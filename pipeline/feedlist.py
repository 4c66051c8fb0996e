"""Lists of feeds: config/feeds.toml, and OPML in and out (listparser reads, ElementTree writes)."""

from __future__ import annotations

import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import listparser

from pipeline.settings import ConfigError
from pipeline.urls import is_http_url


@dataclass(frozen=True, slots=True)
class FeedSource:
    url: str
    title: str | None = None
    site_url: str | None = None


def check_feed_url(url: str, origin: str = "feed") -> str:
    url = url.strip()
    if not is_http_url(url):
        raise ConfigError(f"{origin}: {url!r} is not an http(s) URL")
    return url


def feeds_from_toml(text: str, origin: str) -> list[FeedSource]:
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{origin}: not valid TOML: {error}") from None
    unknown = set(table) - {"feeds"}
    if unknown:
        raise ConfigError(f"{origin}: unknown keys {sorted(unknown)}; feeds go in [[feeds]] tables")
    sources = []
    for number, item in enumerate(table.get("feeds", []), start=1):
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            raise ConfigError(f"{origin}: feed #{number} needs a url")
        title = item.get("title")
        sources.append(
            FeedSource(
                url=check_feed_url(item["url"], f"{origin}: feed #{number}"),
                title=title if isinstance(title, str) else None,
            )
        )
    return sources


def load_feed_list(path: Path) -> list[FeedSource]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"feeds file {path} does not exist") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text: {error}") from None
    return feeds_from_toml(text, str(path))


def read_opml(content: bytes, origin: str) -> list[FeedSource]:
    result = listparser.parse(content)
    if not result.feeds:
        problem = f": {result.bozo_exception}" if result.bozo else ""
        raise ConfigError(f"{origin}: no feeds found in the OPML{problem}")
    # OPML requires a text attribute; writers without a title put the URL there.
    return [
        FeedSource(url=feed.url, title=feed.title if feed.title not in ("", feed.url) else None)
        for feed in result.feeds
        if is_http_url(feed.url)
    ]


def write_opml(feeds: Iterable[FeedSource], title: str = "rss-ingest feeds") -> str:
    opml = ET.Element("opml", version="2.0")
    ET.SubElement(ET.SubElement(opml, "head"), "title").text = title
    body = ET.SubElement(opml, "body")
    for feed in feeds:
        outline = ET.SubElement(body, "outline", type="rss", text=feed.title or feed.url)
        if feed.title:
            outline.set("title", feed.title)
        outline.set("xmlUrl", feed.url)
        if feed.site_url:
            outline.set("htmlUrl", feed.site_url)
    ET.indent(opml)
    return ET.tostring(opml, encoding="unicode", xml_declaration=True) + "\n"
