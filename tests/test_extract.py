import gzip

import pytest

from pipeline.extract import NotAnArticle, decode_page, extract_page, looks_binary
from pipeline.records import HttpResponse
from tests.conftest import FIXTURES
from tests.stories import TRUTH


def page(
    body: bytes, content_type: str = "text/html", charset: str | None = "utf-8"
) -> HttpResponse:
    return HttpResponse("http://x/a", "http://x/a", 200, body, content_type, charset)


ARTICLE = (
    "<html lang='fr-FR'><head><title>T</title></head><body><article>"
    + "".join(
        f"<p>Paragraphe numéro {i} avec assez de mots pour être un vrai texte d'article.</p>"
        for i in range(8)
    )
    + "</article></body></html>"
)


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
            "application/pdf",
            r"not an HTML page \(application/pdf\)",
        ),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "", "binary content"),
        (b"   ", "text/html", "empty page"),
        (
            b"<html><head><title>Home</title></head><body></body></html>",
            "text/html",
            "no article text",
        ),
    ],
)
def test_pages_without_an_article_are_rejected_with_a_reason(
    body: bytes, content_type: str, message: str
) -> None:
    with pytest.raises(NotAnArticle, match=message):
        extract_page(page(body, content_type))


def test_binary_is_told_from_text_with_a_stray_control_byte_or_in_utf_16() -> None:
    assert looks_binary(bytes(range(256)) * 8, "utf-8")
    assert looks_binary(b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff", None)
    with_nul = ARTICLE.replace("numéro 3", "numéro\x00 3").encode()
    assert not looks_binary(with_nul, "utf-8")
    assert "Paragraphe numéro" in extract_page(page(with_nul)).text
    for encoding in ("utf-16", "utf-16-le"):
        wide = ARTICLE.encode(encoding)
        assert not looks_binary(wide, encoding if encoding.endswith("le") else None)
        assert "Paragraphe numéro 3" in extract_page(page(wide, charset=encoding)).text


def test_language_from_html_lang_and_charset_from_http_header() -> None:
    latin1 = ARTICLE.encode("latin-1")
    extracted = extract_page(page(latin1, charset="iso-8859-1"))
    assert extracted.language == "fr-fr"
    assert "Paragraphe numéro 3" in extracted.text


def test_wrong_http_charset_falls_back_to_detection() -> None:
    utf8 = ARTICLE.encode("utf-8")
    assert decode_page(page(utf8, charset="ascii")) == utf8
    assert "numéro" in extract_page(page(utf8, charset="ascii")).text


def _tokens(text: str) -> list[str]:
    return text.split()


@pytest.mark.parametrize("key", sorted(TRUTH))
def test_real_pages_extract_most_of_the_ground_truth(key: str) -> None:
    truth = TRUTH[key]
    body = gzip.decompress((FIXTURES / "sites" / (key + ".gz")).read_bytes())
    extracted = extract_page(page(body, charset=None))
    expected, got = set(_tokens(truth["articleBody"])), set(_tokens(extracted.text))
    assert len(expected & got) / len(expected) > 0.9
    assert extracted.canonical_url == truth["url"]


def test_language_is_detected_when_the_page_does_not_declare_it() -> None:
    body = ARTICLE.replace(" lang='fr-FR'", "").encode("utf-8")
    assert extract_page(page(body)).language == "fr"
    short = b"<html><body><article><p>Trop court.</p></article></body></html>"
    assert extract_page(page(short)).language is None
