"""Exact duplicate decisions: canonical URL, feed GUID, hash of the normalised clean body.

Pure: the store looks up what is already stored (StoredKeys) and executes the plan.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from pipeline.clean import normalise_paragraph, split_paragraphs
from pipeline.urls import is_http_url

DuplicateKind = Literal["url", "guid", "exact"]


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


@dataclass(frozen=True, slots=True)
class StoredKeys:
    """Ids of stored originals by key; a key of a stored copy maps to that copy's original."""

    by_url: dict[str, int] = field(default_factory=dict)
    """Both the url and the source_url of every stored article."""
    by_guid: dict[str, int] = field(default_factory=dict)
    by_hash: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with one candidate.

    stored False: the link is stored already; nothing to do.
    kind None: a new original, stored under url. kind 'url': the page names a stored article as
    its canonical URL, so the copy is stored under its own link. 'guid', 'exact': a copy under
    its url. A copy points at original_id (stored) or original_index (earlier in the batch).
    """

    stored: bool = True
    url: str | None = None
    kind: DuplicateKind | None = None
    original_id: int | None = None
    original_index: int | None = None


@dataclass(slots=True)
class _Seen:
    """Keys of this batch so far, each pointing at an original (stored or in the batch)."""

    url: dict[str, Decision] = field(default_factory=dict)
    guid: dict[str, Decision] = field(default_factory=dict)
    hash: dict[str, Decision] = field(default_factory=dict)


def plan_batch(candidates: Sequence[Candidate], stored: StoredKeys) -> list[Decision]:
    """Decide each candidate in order; earlier candidates of the batch count as stored."""
    seen = _Seen()
    decisions: list[Decision] = []
    for index, candidate in enumerate(candidates):
        decision = _decide(candidate, stored, seen)
        decisions.append(decision)
        if not decision.stored:
            continue
        # Later copies of this one point at its original, never at it.
        original = (
            Decision(original_index=index)
            if decision.kind is None
            else Decision(original_id=decision.original_id, original_index=decision.original_index)
        )
        for url in (candidate.url, candidate.source_url):
            seen.url.setdefault(url, original)
        if candidate.guid_key:
            seen.guid.setdefault(candidate.guid_key, original)
        if candidate.content_hash:
            seen.hash.setdefault(candidate.content_hash, original)
    return decisions


def _decide(candidate: Candidate, stored: StoredKeys, seen: _Seen) -> Decision:
    if candidate.source_url in stored.by_url or candidate.source_url in seen.url:
        return Decision(stored=False)
    layers: list[tuple[DuplicateKind, str | None, str, dict[str, int], dict[str, Decision]]] = [
        ("url", candidate.url, candidate.source_url, stored.by_url, seen.url),
        ("guid", candidate.guid_key, candidate.url, stored.by_guid, seen.guid),
        ("exact", candidate.content_hash, candidate.url, stored.by_hash, seen.hash),
    ]
    for kind, key, row_url, stored_map, seen_map in layers:
        if key is None:
            continue
        if key in stored_map:
            return Decision(url=row_url, kind=kind, original_id=stored_map[key])
        if key in seen_map:
            original = seen_map[key]
            return Decision(
                url=row_url,
                kind=kind,
                original_id=original.original_id,
                original_index=original.original_index,
            )
    return Decision(url=candidate.url)
