import pytest

from pipeline.feedlist import FeedSource, feeds_from_toml, read_opml, write_opml
from pipeline.settings import ConfigError

OPML_FROM_A_READER = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Subscriptions</title></head>
  <body>
    <outline text="News" title="News">
      <outline type="rss" text="Press TV" title="Press TV"
               xmlUrl="https://www.presstv.ir/rss.xml" htmlUrl="https://www.presstv.ir/"/>
      <outline type="rss" text="BBC &amp; World" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"/>
    </outline>
  </body>
</opml>
"""


def test_reads_nested_opml_from_another_reader() -> None:
    feeds = read_opml(OPML_FROM_A_READER, "subs.opml")
    assert feeds == [
        FeedSource("https://www.presstv.ir/rss.xml", "Press TV"),
        FeedSource("https://feeds.bbci.co.uk/news/world/rss.xml", "BBC & World"),
    ]


def test_opml_round_trip_keeps_urls_and_titles_with_markup_characters() -> None:
    feeds = [
        FeedSource("https://a.example/feed?x=1&y=2", 'A <b> & "quoted"', "https://a.example/"),
        FeedSource("https://b.example/rss", None),
    ]
    again = read_opml(write_opml(feeds).encode(), "round trip")
    assert [(f.url, f.title) for f in again] == [(f.url, f.title) for f in feeds]


def test_opml_without_feeds_is_an_error() -> None:
    with pytest.raises(ConfigError, match="no feeds found"):
        read_opml(b"<html><body>not opml</body></html>", "x.opml")


def test_feeds_toml() -> None:
    text = '[[feeds]]\nurl = "https://a.example/rss"\ntitle = "A"\n\n[[feeds]]\nurl = "https://b.example/rss"\n'
    assert feeds_from_toml(text, "feeds.toml") == [
        FeedSource("https://a.example/rss", "A"),
        FeedSource("https://b.example/rss"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[feeds]]\nurl = "ftp://x/feed"\n', "is not an http"),
        ("[[feeds]]\ntitle = 'no url'\n", "feed #1 needs a url"),
        ("feeds = [", "not valid TOML"),
        ('[[feed]]\nurl = "https://x/"\n', "unknown keys"),
    ],
)
def test_bad_feeds_toml_is_explained(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        feeds_from_toml(text, "feeds.toml")
