"""Real article bodies, from the fixtures' ground truth (tests/fixtures/sites/ground-truth.json),
named by story: for the tests of near duplicates, their index and search."""

import json

from tests.conftest import FIXTURES

TRUTH = json.loads((FIXTURES / "sites" / "ground-truth.json").read_text(encoding="utf-8"))


def body(key: str) -> str:
    """The page's true body, paragraphs separated by a blank line, as the pipeline stores it."""
    return "\n\n".join(
        p.strip() for p in TRUTH[key + ".html"]["articleBody"].split("\n") if p.strip()
    )


EUROPA = body("sciencealert/articles/14cc2a0ca59c")
TITAN = body("sciencealert/articles/359fee228518")
CRASH = body("aljazeera/articles/7916ecca969f")
MOON = body("aljazeera/articles/42aad16bde92")
NOEM = body("thehill/articles/156770d676ce")
OMAR = body("thehill/articles/6ebac05f637e")
