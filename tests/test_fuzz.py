"""Generated feeds, pages, texts and batches through parse, extract, clean and dedup.

The property: nothing raises but the documented errors (NotAFeed, NotAnArticle), and what
comes out keeps the promises later steps rely on. Runs are derandomised so that CI is
repeatable; HYPOTHESIS_PROFILE=long searches much further.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.article import build_article, finish_article
from pipeline.clean import clean_text, split_paragraphs
from pipeline.dedup import Candidate, StoredKeys, plan_batch
from pipeline.extract import NotAnArticle
from pipeline.parse import NotAFeed, parse_feed
from pipeline.records import FeedEntry, HttpResponse
from pipeline.rules import RuleSet, TextRule
from pipeline.urls import canonical_url, is_http_url, url_key

settings.register_profile(
    "ci",
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("long", parent=settings.get_profile("ci"), max_examples=5_000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

FEED_URL = "http://127.0.0.1/feed.xml"
NOW = datetime(2026, 11, 25, tzinfo=UTC)

# Text with the characters that break naive code: markup, entities, controls, other scripts.
awkward_text = st.text(
    st.one_of(
        st.sampled_from("<>&;\"'/\\=#%?[]]]>\x00\x0b\x1b\u200b\u202e\ufeff\r\n\t "),
        st.characters(codec="utf-8"),
    ),
    max_size=60,
)
links = st.one_of(
    st.sampled_from(
        [
            "http://127.0.0.1/a",
            "/relative/b",
            "relative-c",
            "//127.0.0.1/d",
            "javascript:alert(1)",
            "mailto:x@y",
            "http://[::1",
            "http://",
            "https://example.com/%zz?\x00",
            "",
        ]
    ),
    awkward_text,
)
dates = st.one_of(
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.strftime("%a, %d %b %Y %H:%M:%S +0000")),
    st.datetimes().map(lambda d: d.isoformat()),
    st.sampled_from(["", "yesterday", "9999-99-99", "Mon, 31 Feb 2026 25:61:61 +9999", "0"]),
    awkward_text,
)
entities = st.sampled_from(["&amp;", "&lt;", "&#0;", "&#x110000;", "&nbsp;", "&undefined;", "&"])
fragments = st.one_of(awkward_text, entities, st.builds("<![CDATA[{}]]>".format, awkward_text))


@st.composite
def rss_items(draw: st.DrawFn) -> str:
    fields = {
        "title": draw(fragments),
        "link": draw(links),
        "guid": draw(st.one_of(links, awkward_text)),
        "pubDate": draw(dates),
        "description": draw(fragments),
        "author": draw(fragments),
    }
    chosen = draw(st.lists(st.sampled_from(sorted(fields)), unique=True))
    return "<item>" + "".join(f"<{name}>{fields[name]}</{name}>" for name in chosen) + "</item>"


@st.composite
def atom_entries(draw: st.DrawFn) -> str:
    return (
        f'<entry><title type="{draw(st.sampled_from(["html", "text", "xhtml", "bogus"]))}">'
        f"{draw(fragments)}</title>"
        f'<link href="{draw(links)}" rel="{draw(st.sampled_from(["alternate", "self", ""]))}"/>'
        f"<id>{draw(links)}</id><updated>{draw(dates)}</updated>"
        f"<content>{draw(fragments)}</content></entry>"
    )


@st.composite
def feed_documents(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["rss", "atom", "rdf", "html", "junk"]))
    if kind == "rss":
        body = f'<rss version="2.0"><channel><title>{draw(fragments)}</title>'
        body += "".join(draw(st.lists(rss_items(), max_size=6))) + "</channel></rss>"
    elif kind == "atom":
        body = f'<feed xmlns="http://www.w3.org/2005/Atom"><title>{draw(fragments)}</title>'
        body += "".join(draw(st.lists(atom_entries(), max_size=6))) + "</feed>"
    elif kind == "rdf":
        body = (
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns="http://purl.org/rss/1.0/">'
            + "".join(draw(st.lists(rss_items(), max_size=4)))
            + "</rdf:RDF>"
        )
    elif kind == "html":
        body = f"<html><body><p>{draw(awkward_text)}</p></body></html>"
    else:
        body = draw(awkward_text)
    declared = draw(st.sampled_from(["utf-8", "iso-8859-1", "utf-16", "koi8-r", "bogus", None]))
    prolog = f'<?xml version="1.0" encoding="{declared}"?>' if declared else ""
    encoded = (prolog + body).encode(
        draw(st.sampled_from(["utf-8", "latin-1", "utf-16"])), "replace"
    )
    # a truncated or bit-flipped download
    cut = draw(st.integers(min_value=0, max_value=len(encoded)))
    if draw(st.booleans()):
        encoded = encoded[:cut]
    elif encoded and draw(st.booleans()):
        encoded = encoded[:cut] + bytes([draw(st.integers(0, 255))]) + encoded[cut + 1 :]
    return encoded


@given(
    feed_documents(),
    st.sampled_from(["application/rss+xml", "text/html", "text/plain", ""]),
    st.sampled_from(["utf-8", "latin-1", "x-bogus", None]),
)
def test_generated_feeds_parse_or_are_rejected_with_a_reason(
    body: bytes, content_type: str, charset: str | None
) -> None:
    try:
        parsed = parse_feed(body, FEED_URL, content_type, charset)
    except NotAFeed as error:
        assert str(error)
        return
    for entry in parsed.entries:
        assert is_http_url(entry.link)
        url_key(canonical_url(entry.link))  # what dedup and storage do next with each link
        for text in (entry.title, entry.author, entry.summary, parsed.title):
            assert text is None or (text == text.strip() and "<script" not in text)


@st.composite
def html_documents(draw: st.DrawFn) -> str:
    """Tag soup: nested, unclosed and stray tags, attributes, comments and text."""
    tags = [
        "p",
        "div",
        "article",
        "span",
        "a",
        "h1",
        "br",
        "table",
        "td",
        "script",
        "style",
        "nav",
        "footer",
        "li",
        "img",
        "meta",
        "title",
        "html",
        "body",
        "!--",
        "![CDATA[",
    ]
    parts = draw(
        st.lists(
            st.one_of(
                awkward_text,
                st.builds(
                    "<{}{}>".format,
                    st.sampled_from(tags),
                    st.sampled_from(["", ' class="x"', ' lang="zz"', " href=javascript:x", ' a="']),
                ),
                st.builds("</{}>".format, st.sampled_from(tags)),
                st.just("<p>" + "A sentence long enough to be kept as article text. " * 8 + "</p>"),
            ),
            max_size=40,
        )
    )
    return "".join(parts)


@given(
    st.one_of(
        html_documents().map(str.encode),
        html_documents().map(lambda html: html.encode("utf-16")),
        st.binary(max_size=2_000),
        st.just(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"),
    ),
    st.sampled_from(["text/html", "application/xhtml+xml", "application/pdf", ""]),
    st.sampled_from(["utf-8", "shift_jis", "x-bogus", None]),
    awkward_text,
)
def test_generated_pages_become_articles_or_are_rejected_with_a_reason(
    rules: RuleSet, body: bytes, content_type: str, charset: str | None, title: str
) -> None:
    page = HttpResponse(
        "http://127.0.0.1/a", "http://127.0.0.1/a", 200, body, content_type, charset
    )
    entry = FeedEntry(link=page.url, title=title or None)
    try:
        article = build_article(entry, page, rules, NOW)
    except NotAnArticle as error:
        assert str(error)
        return
    assert article.body.strip()
    finished = finish_article(article, set(article.fingerprints[:1]), min_words=5)
    assert set(split_paragraphs(finished.body)) <= set(split_paragraphs(article.body))


@given(
    st.lists(
        st.one_of(awkward_text, st.just("(Photo by AFP)"), st.just("News / Iraq")), max_size=12
    ),
    st.lists(st.one_of(st.none(), awkward_text), max_size=2),
)
def test_cleaning_keeps_or_drops_each_paragraph_and_invents_none(
    paragraphs: list[str], titles: list[str | None]
) -> None:
    rules = (
        TextRule("credit", re.compile(r"^\(Photo by [^)]*\)$")),
        TextRule("breadcrumb", re.compile("News / "), max_chars=40),
        TextRule("footer", re.compile("\u200b"), action="truncate"),
    )
    text = "\n".join(paragraphs)
    cleaned = clean_text(text, titles, rules)
    kept = split_paragraphs(cleaned.body)
    assert sorted(kept + [d.text for d in cleaned.dropped]) == sorted(split_paragraphs(text))


keys = st.sampled_from(["a", "b", "c", "d"])
candidates = st.builds(
    Candidate,
    url=keys,
    source_url=keys,
    guid_key=st.one_of(st.none(), keys),
    content_hash=st.one_of(st.none(), keys),
    url_key=keys,
    source_key=keys,
    bands=st.lists(st.integers(0, 3), max_size=3).map(tuple),
    feed_id=st.sampled_from([1, 2]),
)


@given(
    st.lists(candidates, max_size=12),
    st.dictionaries(keys, st.integers(1, 9), max_size=3),
    st.dictionaries(keys, st.integers(1, 9), max_size=3),
)
def test_dedup_stores_each_key_once_and_points_copies_backwards(
    batch: list[Candidate], by_url: dict[str, int], by_hash: dict[str, int]
) -> None:
    decisions = plan_batch(batch, StoredKeys(by_url=by_url, by_hash=by_hash))
    assert len(decisions) == len(batch)
    originals = [c for c, d in zip(batch, decisions, strict=True) if d.stored and d.kind is None]
    for key in ("url_key", "content_hash"):
        values = [getattr(c, key) for c in originals if getattr(c, key) is not None]
        assert len(values) == len(set(values)), f"two originals share {key}"
    for index, decision in enumerate(decisions):
        if decision.original_index is not None:
            assert decision.original_index < index
        if decision.stored and decision.kind is not None:
            assert (decision.original_id is None) != (decision.original_index is None)
