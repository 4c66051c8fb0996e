"""Near-duplicate signatures: MinHash over word shingles of the clean body, banded for lookup.

Pure and CPU-bound (about 1 ms an article): signatures are computed in the pool. The store keeps
each original's band keys in an indexed table; a new article's candidates are the originals that
share a band key with it, and the estimated Jaccard similarity of their shingles decides.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

NUM_PERM = 128
BANDS = 32
ROWS = NUM_PERM // BANDS
"""32 bands of 4: two texts of similarity 0.5 share a band with probability 0.87, of 0.3 with
0.23, of 0.1 with 0.003; the similarity estimate then decides, so bands only cost lookups."""
SHINGLE_WORDS = 5
SEED = 1
_WORD = re.compile(r"\w+")


def words(body: str) -> list[str]:
    return _WORD.findall(body.lower())


def signature(body: str, min_words: int) -> bytes | None:
    """The MinHash of the body's 5-word shingles; None for a body under min_words words.

    Short texts (captions, briefs) share too few shingles to be told apart: they are only ever
    matched exactly.
    """
    tokens = words(body)
    if len(tokens) < max(min_words, SHINGLE_WORDS):
        return None
    shingles = {
        " ".join(tokens[i : i + SHINGLE_WORDS]).encode("utf-8")
        for i in range(len(tokens) - SHINGLE_WORDS + 1)
    }
    # Imported here: datasketch brings scipy (~50 MB, 0.25 s), which only the pool's signing
    # needs; the crawl process and the daemon compare and band signatures with numpy alone.
    from datasketch import MinHash

    minhash = MinHash(num_perm=NUM_PERM, seed=SEED)
    minhash.update_batch(sorted(shingles))
    values: np.ndarray = minhash.hashvalues
    return values.astype("<u4").tobytes()


def _values(signature_bytes: bytes) -> np.ndarray:
    return np.frombuffer(signature_bytes, dtype="<u4")


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of the two texts' shingle sets (as MinHash.jaccard)."""
    return float(np.count_nonzero(_values(a) == _values(b))) / NUM_PERM


def band_keys(signature_bytes: bytes) -> list[int]:
    """One signed 64-bit key per band (a BIGINT in the database), band number included."""
    keys = []
    for band in range(BANDS):
        chunk = signature_bytes[band * ROWS * 4 : (band + 1) * ROWS * 4]
        digest = hashlib.blake2b(bytes([band]) + chunk, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big", signed=True))
    return keys
