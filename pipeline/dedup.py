"""Duplicate decisions, cheapest layer first: URL key, feed GUID, exact body hash, near-duplicate.

Pure: the store looks up what is already stored (StoredKeys) and executes the plan.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from pipeline import neardup
from pipeline.clean import normalise_paragraph, split_paragraphs
from pipeline.records import Article
from pipeline.urls import is_http_url, url_key

DuplicateKind = Literal["url", "guid", "exact", "near"]


def content_hash(body: str) -> str | None:
    """SHA-256 of the normalised body; None for an empty body, which must never match."""
    normalised = "\n".join(normalise_paragraph(p) for p in split_paragraphs(body))
    if not normalised:
        return None
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def guid_key(guid: str | None, feed_id: int) -> str | None:
    """GUIDs are unique per feed by the RSS spec; URL-shaped ones are unique everywhere."""
    if not guid:
        return None
    if is_http_url(guid) or guid.startswith(("tag:", "urn:")):
        return guid
    return f"{feed_id}:{guid}"


@dataclass(frozen=True, slots=True)
class Candidate:
    url: str
    """The canonical URL the page declares for itself."""
    source_url: str
    """The canonical form of the link that led to the page."""
    guid_key: str | None
    content_hash: str | None
    signature: bytes | None = None
    url_key: str = ""
    source_key: str = ""
    bands: tuple[int, ...] = ()
    """The signature's LSH band keys (derived here once; every lookup uses them)."""
    feed_id: int | None = None
    """The feed that listed it: a batch may hold several feeds' articles."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "url_key", self.url_key or url_key(self.url))
        object.__setattr__(self, "source_key", self.source_key or url_key(self.source_url))
        if self.signature is not None and not self.bands:
            object.__setattr__(self, "bands", tuple(neardup.band_keys(self.signature)))


def candidate_of(article: Article, feed_id: int) -> Candidate:
    return Candidate(
        article.url,
        article.source_url,
        guid_key(article.guid, feed_id),
        article.content_hash,
        article.signature,
        feed_id=feed_id,
    )


@dataclass(frozen=True, slots=True)
class StoredKeys:
    """Ids of stored originals by key; a key of a stored copy maps to that copy's original."""

    in_feed: frozenset[tuple[int | None, str]] = frozenset()
    """(feed id, URL key of url or source_url) of the articles each feed has stored already."""
    by_url: dict[str, int] = field(default_factory=dict)
    """URL keys of the url and the source_url of stored articles of any feed."""
    by_guid: dict[str, int] = field(default_factory=dict)
    by_hash: dict[str, int] = field(default_factory=dict)
    by_band: dict[int, tuple[int, ...]] = field(default_factory=dict)
    """Near-duplicate band keys -> originals indexed inside the window."""
    signatures: dict[int, bytes] = field(default_factory=dict)
    """Signatures of the originals named above."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with one candidate.

    stored False: this feed has the link already; nothing to do.
    kind None: a new original, stored under url. kind 'url': the link or the page's canonical URL
    is a spelling of a stored article's, so the copy is stored under its own link. 'guid',
    'exact', 'near': a copy under its url. A copy points at original_id (stored) or
    original_index (earlier in the batch), with the estimated similarity of the bodies when
    both are long enough to have a signature (1.0 for an exact copy).
    """

    stored: bool = True
    url: str | None = None
    kind: DuplicateKind | None = None
    original_id: int | None = None
    original_index: int | None = None
    similarity: float | None = None


@dataclass(slots=True)
class _Seen:
    """Keys of this batch so far, each pointing at an original (stored or in the batch)."""

    url: dict[str, Decision] = field(default_factory=dict)
    guid: dict[str, Decision] = field(default_factory=dict)
    hash: dict[str, Decision] = field(default_factory=dict)
    bands: dict[int, list[int]] = field(default_factory=dict)
    """Band keys -> indexes of the batch's new originals."""
    links: set[tuple[int | None, str]] = field(default_factory=set)
    """(feed id, URL key) of this batch's stored candidates: a feed's second listing is known."""


def plan_batch(
    candidates: Sequence[Candidate],
    stored: StoredKeys,
    near_threshold: float = 0.5,
    skip_known_links: bool = True,
) -> list[Decision]:
    """Decide each candidate in order; earlier candidates of the batch count as stored.

    skip_known_links False (relinking stored rows): a link seen before is a URL copy, not skipped.
    """
    seen = _Seen()
    decisions: list[Decision] = []
    for index, candidate in enumerate(candidates):
        decision = _decide(candidate, candidates, stored, seen, near_threshold, skip_known_links)
        decisions.append(decision)
        if not decision.stored:
            continue
        # Later copies of this one point at its original, never at it.
        original = (
            Decision(original_index=index)
            if decision.kind is None
            else Decision(original_id=decision.original_id, original_index=decision.original_index)
        )
        for key in (candidate.url_key, candidate.source_key):
            seen.url.setdefault(key, original)
            seen.links.add((candidate.feed_id, key))
        if candidate.guid_key:
            seen.guid.setdefault(candidate.guid_key, original)
        if candidate.content_hash:
            seen.hash.setdefault(candidate.content_hash, original)
        if decision.kind is None:
            for band in candidate.bands:
                seen.bands.setdefault(band, []).append(index)
    return decisions


def _decide(
    candidate: Candidate,
    batch: Sequence[Candidate],
    stored: StoredKeys,
    seen: _Seen,
    near_threshold: float,
    skip_known_links: bool,
) -> Decision:
    link = (candidate.feed_id, candidate.source_key)
    known = link in stored.in_feed or link in seen.links
    if known and skip_known_links:
        return Decision(stored=False)
    layers: list[tuple[DuplicateKind, str | None, str, dict[str, int], dict[str, Decision]]] = [
        ("url", candidate.url_key, candidate.source_url, stored.by_url, seen.url),
        ("url", candidate.source_key, candidate.source_url, stored.by_url, seen.url),
        ("guid", candidate.guid_key, candidate.url, stored.by_guid, seen.guid),
        ("exact", candidate.content_hash, candidate.url, stored.by_hash, seen.hash),
    ]
    for kind, key, row_url, stored_map, seen_map in layers:
        if key is None:
            continue
        original = None
        if key in stored_map:
            original = Decision(original_id=stored_map[key])
        elif key in seen_map:
            original = seen_map[key]
        if original is not None:
            return Decision(
                url=row_url,
                kind=kind,
                original_id=original.original_id,
                original_index=original.original_index,
                similarity=1.0
                if kind == "exact"
                else _similarity(candidate, original, batch, stored),
            )
    return _near(candidate, batch, stored, seen, near_threshold) or Decision(url=candidate.url)


def _similarity(
    candidate: Candidate, original: Decision, batch: Sequence[Candidate], stored: StoredKeys
) -> float | None:
    if candidate.signature is None:
        return None
    if original.original_index is not None:
        theirs = batch[original.original_index].signature
    else:
        theirs = stored.signatures.get(original.original_id or 0)
    return None if theirs is None else neardup.similarity(candidate.signature, theirs)


def _near(
    candidate: Candidate,
    batch: Sequence[Candidate],
    stored: StoredKeys,
    seen: _Seen,
    threshold: float,
) -> Decision | None:
    """The first-seen original that shares a band with the candidate and is similar enough."""
    if candidate.signature is None:
        return None
    stored_ids = sorted({i for band in candidate.bands for i in stored.by_band.get(band, ())})
    batch_indexes = sorted({i for band in candidate.bands for i in seen.bands.get(band, ())})
    originals = [(Decision(original_id=i), stored.signatures.get(i)) for i in stored_ids]
    originals += [(Decision(original_index=i), batch[i].signature) for i in batch_indexes]
    for original, theirs in originals:  # stored first, each in the order it was seen
        if theirs is None:
            continue
        score = neardup.similarity(candidate.signature, theirs)
        if score >= threshold:
            return Decision(
                url=candidate.url,
                kind="near",
                original_id=original.original_id,
                original_index=original.original_index,
                similarity=score,
            )
    return None
