import json
import re
from pathlib import Path

import pytest

from pipeline.clean import split_paragraphs
from pipeline.rules import RuleSet, load_rules, rules_from_mapping
from pipeline.settings import ConfigError
from tests.conftest import CORPUS, seed_paragraphs, seed_parts
from tests.stories import TRUTH


def _rule_names(rules: RuleSet, host: str, paragraph: str) -> list[str]:
    return [rule.name for rule in rules.for_hosts(host) if rule.matches(paragraph)]


def test_seed_boilerplate_is_matched_by_the_right_rules(rules: RuleSet) -> None:
    parts = seed_parts()
    assert _rule_names(rules, "www.presstv.ir", parts["breadcrumb"]) == ["breadcrumb"]
    assert _rule_names(rules, "www.presstv.ir", parts["caption"]) == ["photo-credit"]
    assert _rule_names(rules, "www.presstv.ir", parts["footer"]) == ["presstv-alternate-addresses"]


@pytest.mark.parametrize(
    "line",
    [
        "Home \u203a World \u203a Middle East",
        "News / Iraq",
        "Sport | Football | Premier League",
        "Troops patrol the border on Monday. (AFP Photo)",
        "A protester holds a flag. (File photo)",
        "Photo: Reuters",
        "Image credit: Getty Images",
        "Sign up for our daily newsletter",
        "Read more: Iraq's parliament votes on foreign troops",
        "Share this article",
        "Subscribe to our newsletter",
        # real ones, from pages of the extraction benchmark
        "Related: From Big Bang to Present: Snapshots of Our Universe Through Time",
        "SEE MORE: Hong Kong protests: 800 students under siege in university",
        "[Related: Salesforce Dreamforce Keynote: AI, Integration, Alicia Keys And Protestors]",
        "Sign Up: Stay on top of the latest breaking film and TV news! Sign up for our Email"
        " Newsletters here.",
        "Get the latest updates right in your inbox. Subscribe to NJ.com\u2019s newsletters.",
        "If you buy something through this post, IGN may get a share of the sale. For more,"
        " learn more.",
    ],
)
def test_generic_rules_catch_common_boilerplate(rules: RuleSet, line: str) -> None:
    assert _rule_names(rules, "example.com", line), line


def test_site_rules_apply_only_to_their_site(rules: RuleSet) -> None:
    footer = seed_parts()["footer"]
    assert _rule_names(rules, "presstv.ir", footer) == ["presstv-alternate-addresses"]
    assert _rule_names(rules, "example.com", footer) == []
    assert _rule_names(rules, "notpresstv.ir", footer) == []


def _ground_truth_paragraphs() -> list[str]:
    bodies = [item["articleBody"] for item in TRUTH.values()]
    corpus_truth = CORPUS / "aeb-dev" / "ground-truth.json"
    if corpus_truth.exists():
        bodies += [item["articleBody"] for item in json.loads(corpus_truth.read_text()).values()]
    return [p for body in bodies for p in split_paragraphs(body)]


def test_no_generic_rule_removes_real_article_text(rules: RuleSet) -> None:
    """Every paragraph of real article text we have (seed, ground truths) survives the rules."""
    real = seed_paragraphs() + _ground_truth_paragraphs()
    assert len(real) > 100
    hits = [(p, _rule_names(rules, "example.com", p)) for p in real]
    assert [hit for hit in hits if hit[1]] == []


def test_rules_file_errors_are_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="bad pattern"):
        rules_from_mapping({"generic": {"drop": [{"name": "x", "pattern": "("}]}}, "rules.toml")
    with pytest.raises(ConfigError, match="needs a domain"):
        rules_from_mapping({"sites": [{"drop": []}]}, "rules.toml")
    with pytest.raises(ConfigError, match="unknown keys"):
        rules_from_mapping({"generic": {"remove": []}}, "rules.toml")
    with pytest.raises(ConfigError, match="does not exist"):
        load_rules(tmp_path / "missing.toml")


def test_max_chars_keeps_short_line_rules_off_prose() -> None:
    rules = rules_from_mapping(
        {"generic": {"drop": [{"name": "short", "pattern": "^read more", "max_chars": 20}]}}, "t"
    )
    (rule,) = rules.generic
    assert rule.matches("Read more here")
    assert not rule.matches("Read more about the " + "long " * 10)
    assert isinstance(rule.pattern, re.Pattern)


def test_css_selectors_remove_elements_before_extraction() -> None:
    from pipeline.extract import extract_page
    from pipeline.records import HttpResponse

    story = "".join(
        f"<p>Real paragraph {n} of the story, long enough to count.</p>" for n in range(6)
    )
    html = (
        "<html><body><article><h1>T</h1>"
        + story
        + "<div class='promo-box'><p>Buy the premium edition today, save 40%.</p></div>"
        + "</article></body></html>"
    ).encode()
    page = HttpResponse("https://news.example/a", "https://news.example/a", 200, html, "text/html")
    rules = rules_from_mapping(
        {"sites": [{"domain": "news.example", "remove_selectors": [".promo-box"]}]}, "t"
    )
    assert "premium edition" in extract_page(page).text
    assert "premium edition" not in extract_page(page, rules).text
    other = HttpResponse(
        "https://other.example/a", "https://other.example/a", 200, html, "text/html"
    )
    assert "premium edition" in extract_page(other, rules).text  # only that site's pages
    with pytest.raises(ConfigError, match="bad CSS selector"):
        rules_from_mapping({"generic": {"remove_selectors": ["div[[["]}}, "t")
