import pytest

from pipeline.urls import canonical_url, host_of, page_canonical_url


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
