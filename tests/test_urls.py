import pytest

from pipeline.urls import canonical_url, host_of, page_canonical_url, url_key


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "https://WWW.Example.com/a/b?utm_source=rss&id=3&fbclid=zz#top",
            "https://www.example.com/a/b?id=3",
        ),
        (
            "https://example.com/story.html?utm_medium=feed&utm_campaign=x",
            "https://example.com/story.html",
        ),
        ("  https://example.com/story  ", "https://example.com/story"),
        ("https://example.com:443/story", "https://example.com/story"),
    ],
)
def test_canonical_url_drops_tracking_and_fragment(given: str, expected: str) -> None:
    assert canonical_url(given) == expected


def test_page_canonical_url_resolves_relative_and_rejects_non_http() -> None:
    page = "https://example.com/amp/story?utm_source=x"
    assert page_canonical_url("/story", page) == "https://example.com/story"
    assert page_canonical_url("javascript:void(0)", page) == "https://example.com/amp/story"
    assert page_canonical_url(None, page) == "https://example.com/amp/story"


def test_host_of_drops_www() -> None:
    assert host_of("https://www.presstv.ir/Detail/1") == "presstv.ir"


@pytest.mark.parametrize(
    "spelling",
    [
        "https://www.example.com/news/story",
        "http://example.com/news/story/",
        "https://m.example.com/news/story?utm_source=twitter",
        "https://mobile.example.com/news/story",
        "https://amp.example.com/news/story",
        "https://www.example.com/news/story/amp",
        "https://example.com/news/story/amp/",
        "https://example.com/news/story?amp",
        "https://example.com/news/story?amp=1",
        "https://example.com/news/story?outputType=amp",
        "https://example-com.cdn.ampproject.org/c/s/example.com/news/story",
    ],
)
def test_url_key_folds_mobile_amp_and_tracking_spellings(spelling: str) -> None:
    assert url_key(spelling) == "example.com/news/story"


def test_url_key_keeps_what_identifies_an_article() -> None:
    assert url_key("https://example.com/story?id=3") != url_key("https://example.com/story?id=4")
    assert url_key("https://example.com/a/story.amp.html") == "example.com/a/story.html"
    assert url_key("https://news.example.co.uk/x") == "news.example.co.uk/x"
    assert url_key("https://m.co/x") == "m.co/x"  # a two-label domain is not a mobile host
    assert url_key("http://127.0.0.1:8080/x/") == "127.0.0.1:8080/x"
