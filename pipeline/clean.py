"""Extracted text -> clean body: drop boilerplate paragraphs, remember why each was dropped."""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Sequence

from pipeline.records import CleanText, DroppedParagraph
from pipeline.rules import TextRule


def normalise_paragraph(paragraph: str) -> str:
    """Comparable form of a paragraph: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", paragraph).casefold().split())


def split_paragraphs(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def clean_text(text: str, titles: Collection[str | None], rules: Sequence[TextRule]) -> CleanText:
    paragraphs = split_paragraphs(text)
    kept: list[str] = []
    dropped: list[DroppedParagraph] = []
    # trafilatura often repeats the headline before the first line of the text.
    headlines = {normalise_paragraph(title) for title in titles if title}
    for index, paragraph in enumerate(paragraphs):
        rule = next((rule for rule in rules if rule.matches(paragraph)), None)
        if rule is None and not kept and normalise_paragraph(paragraph) in headlines:
            dropped.append(DroppedParagraph(paragraph, "title"))
        elif rule is None:
            kept.append(paragraph)
        elif rule.action == "truncate":
            dropped.extend(DroppedParagraph(rest, rule.name) for rest in paragraphs[index:])
            break
        else:
            dropped.append(DroppedParagraph(paragraph, rule.name))
    return CleanText(body="\n\n".join(kept), dropped=tuple(dropped))
