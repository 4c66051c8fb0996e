"""Near-duplicate signatures on real article texts (tests/fixtures/sites/ground-truth.json)."""

import pytest

from pipeline import neardup
from pipeline.dedup import Candidate, Decision, StoredKeys, content_hash, plan_batch
from tests.conftest import FIXTURES
from tests.helpers import fresh_python
from tests.stories import CRASH, EUROPA, MOON, NOEM, OMAR, TITAN

MIN_WORDS = 50
THRESHOLD = 0.5
# A real footer of the kind sites repeat under every article (Press TV's, from the seed page).
SEED_FOOTER = (FIXTURES / "seed" / "presstv-iraq-rally.txt").read_text(encoding="utf-8")
LONG_FOOTER = "\n\n".join(
    [
        "Sign up for our daily newsletter to get the day's top stories, analysis and opinion "
        "delivered to your inbox every morning, and follow us on Facebook, Twitter and Instagram.",
        "Our journalism depends on readers like you. Support independent reporting today: "
        "become a member, give a gift subscription or make a one-off contribution.",
        " ".join(SEED_FOOTER.split("\n\n")[-2:]),
        "Copyright 2019. All rights reserved. This material may not be published, broadcast, "
        "rewritten or redistributed without permission. Terms of use and privacy policy apply.",
    ]
)


def signature(text: str) -> bytes:
    signed = neardup.signature(text, MIN_WORDS)
    assert signed is not None
    return signed


def candidate(url: str, text: str) -> Candidate:
    return Candidate(url, url, None, content_hash(text), neardup.signature(text, MIN_WORDS))


def test_identical_texts_are_identical_and_unrelated_ones_far_apart() -> None:
    assert neardup.similarity(signature(TITAN), signature(TITAN)) == 1.0
    assert neardup.band_keys(signature(TITAN)) == neardup.band_keys(signature(TITAN))
    assert neardup.similarity(signature(TITAN), signature(CRASH)) < 0.1


def test_short_texts_have_no_signature() -> None:
    brief = " ".join(TITAN.split()[:40])
    assert neardup.signature(brief, MIN_WORDS) is None
    assert neardup.signature(TITAN, MIN_WORDS) is not None


def test_same_story_with_other_boilerplate_and_headline_is_near() -> None:
    agency = "Reuters - " + TITAN + "\n\nReporting by Will Dunham; editing by Sandra Maler."
    republished = (
        "Titan's first global map shows dunes, lakes and craters\n\n"
        + TITAN
        + "\n\nPlanet Wire republishes stories from news agencies under licence."
    )
    score = neardup.similarity(signature(agency), signature(republished))
    assert score >= THRESHOLD


def test_an_update_that_adds_a_paragraph_is_near() -> None:
    updated = (
        EUROPA + "\n\nUpdate: NASA said on Wednesday that the Europa Clipper mission had passed "
        "its final design review, clearing the way for the spacecraft to be assembled."
    )
    assert neardup.similarity(signature(EUROPA), signature(updated)) >= THRESHOLD


@pytest.mark.parametrize(("first", "second"), [(NOEM, OMAR), (CRASH, MOON), (EUROPA, TITAN)])
def test_different_articles_sharing_a_long_footer_are_not_near(first: str, second: str) -> None:
    a, b = first + "\n\n" + LONG_FOOTER, second + "\n\n" + LONG_FOOTER
    assert neardup.similarity(signature(a), signature(b)) < THRESHOLD
    decisions = plan_batch([candidate("a", a), candidate("b", b)], StoredKeys(), THRESHOLD)
    assert [d.kind for d in decisions] == [None, None]


def test_a_near_copy_links_to_the_similar_stored_original() -> None:
    edited = TITAN.replace("Scientists", "Researchers").replace("Monday", "Tuesday")
    stored_signatures = {7: signature(CRASH), 9: signature(TITAN)}
    stored = StoredKeys(
        by_band={
            band: (article_id,)
            for article_id, signed in stored_signatures.items()
            for band in neardup.band_keys(signed)
        },
        signatures=stored_signatures,
    )
    (decision,) = plan_batch([candidate("copy", edited)], stored, THRESHOLD)
    assert decision.kind == "near"
    assert decision.original_id == 9
    assert decision.similarity is not None and THRESHOLD <= decision.similarity < 1.0


def test_near_copies_within_one_batch_point_at_the_batch_original() -> None:
    updated = EUROPA + "\n\nUpdate: the mission passed its final design review on Wednesday."
    decisions = plan_batch(
        [candidate("first", EUROPA), candidate("other", NOEM), candidate("second", updated)],
        StoredKeys(),
        THRESHOLD,
    )
    assert decisions[:2] == [Decision(url="first"), Decision(url="other")]
    assert decisions[2].kind == "near"
    assert decisions[2].original_index == 0


def test_short_texts_are_matched_only_exactly() -> None:
    brief = " ".join(TITAN.split()[:40])
    edited_brief = brief.replace("Scientists", "Researchers")
    decisions = plan_batch(
        [candidate("a", brief), candidate("b", edited_brief), candidate("c", brief)],
        StoredKeys(),
        THRESHOLD,
    )
    assert [d.kind for d in decisions] == [None, None, "exact"]


def test_the_crawl_process_does_not_load_datasketch() -> None:
    """Only pool workers sign; datasketch and the scipy it brings cost the crawl ~50 MB."""
    loaded = fresh_python("import sys, pipeline.commands.polling; print(sorted(sys.modules))")
    assert "'pipeline.crawl'" in loaded and "'pipeline.daemon'" in loaded
    assert "'datasketch'" not in loaded and "'scipy'" not in loaded
