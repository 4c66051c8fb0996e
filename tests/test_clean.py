from pipeline.clean import clean_text, normalise_paragraph
from pipeline.rules import RuleSet
from tests.conftest import SEED, seed_paragraphs, seed_parts


def test_seed_text_cleans_to_exactly_the_article(rules: RuleSet) -> None:
    text = SEED.read_text(encoding="utf-8")
    cleaned = clean_text(text, [seed_parts()["title"]], rules.for_hosts("www.presstv.ir"))
    assert cleaned.body.split("\n\n") == seed_paragraphs()
    dropped = {d.rule for d in cleaned.dropped}
    assert dropped == {"breadcrumb", "title", "photo-credit", "presstv-alternate-addresses"}
    # the footer's link line goes with the footer
    assert ("Press TV News Roku", "presstv-alternate-addresses") in {
        (d.text, d.rule) for d in cleaned.dropped
    }


def test_title_is_dropped_only_as_the_first_paragraph() -> None:
    text = "Big news today\nFirst real paragraph.\nBig news today"
    cleaned = clean_text(text, ["Big  News Today"], [])
    assert cleaned.body == "First real paragraph.\n\nBig news today"


def test_whitespace_is_normalised_and_paragraphs_separated_by_blank_lines() -> None:
    cleaned = clean_text("  one   two \n\n\n three\tfour ", [], [])
    assert cleaned.body == "one two\n\nthree four"


def test_normalise_paragraph_folds_case_width_and_space() -> None:
    assert normalise_paragraph("\uff21\uff22\uff23  Déjà\u00a0vu") == normalise_paragraph(
        "abc déjà vu"
    )
