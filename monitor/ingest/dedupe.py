"""Duplicates and syndicated copies.

Three levels, cheapest first:
1. same canonical URL → one article row (the key is `url_key`, whichever feeds carried it);
2. identical text under another URL → `same_text_as` points at the first article with that content hash;
3. near-duplicate text (wire copy picked up and lightly edited) → same `cluster_id`, found with MinHash LSH
   over word 3-shingles (Jaccard ≥ threshold, default 0.5).
A story's `cluster_id` is the id of the first article seen in it, so "unique stories" = distinct cluster_id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash, MinHashLSH

NUM_PERM = 64
SHINGLE_WORDS = 3
SCHEME = "affine32"  # pinned: signatures are stored, so the hashing scheme must not drift


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[bytes]:
    words = re.findall(r"\w+", text.lower())
    if len(words) < size:
        return {" ".join(words).encode("utf-8")} if words else set()
    return {" ".join(words[i : i + size]).encode("utf-8") for i in range(len(words) - size + 1)}


def signature(text: str) -> list[int]:
    """MinHash signature (64 unsigned ints) of the text's word 3-shingles."""
    minhash = MinHash(num_perm=NUM_PERM, seed=7, scheme=SCHEME)
    minhash.update_batch(list(shingles(text)))
    return [int(v) for v in minhash.hashvalues]


def _to_minhash(values: list[int]) -> MinHash:
    return MinHash(num_perm=NUM_PERM, seed=7, scheme=SCHEME, hashvalues=np.array(values, dtype=np.uint64))


@dataclass
class DedupeDecision:
    same_text_as: str | None
    cluster_id: str
    known: bool = False  # the article id was already stored (reached again through another entry)


class StoryIndex:
    """Known articles of the recent window: content hashes and MinHash signatures, updated as a run goes."""

    def __init__(self, threshold: float = 0.5):
        self.threshold = threshold
        # Candidates come from a looser LSH band so that pairs just above the threshold are not missed;
        # every candidate is then checked against the real threshold.
        self._lsh = MinHashLSH(threshold=max(0.2, threshold - 0.2), num_perm=NUM_PERM)
        self._cluster_of: dict[str, str] = {}
        self._by_hash: dict[str, str] = {}
        self._signatures: dict[str, MinHash] = {}
        self._hash_of: dict[str, str] = {}

    def hash_of(self, article_id: str) -> str | None:
        """The content hash the index knows for an article, if any."""
        return self._hash_of.get(article_id)

    def add(self, article_id: str, content_hash: str | None, values: list[int] | None, cluster_id: str) -> None:
        self._cluster_of[article_id] = cluster_id
        if content_hash:
            self._hash_of.setdefault(article_id, content_hash)
        if content_hash and content_hash not in self._by_hash:
            self._by_hash[content_hash] = article_id
        if values is not None and article_id not in self._signatures:
            minhash = _to_minhash(values)
            self._signatures[article_id] = minhash
            self._lsh.insert(article_id, minhash)

    def decide(self, article_id: str, content_hash: str | None, values: list[int] | None) -> DedupeDecision:
        """Where a new article belongs; also records it so later articles of the batch see it."""
        if article_id in self._cluster_of:  # re-processing a known article keeps its cluster
            return DedupeDecision(None, self._cluster_of[article_id], known=True)
        same = self._by_hash.get(content_hash) if content_hash else None
        cluster = self._cluster_of.get(same) if same else None
        if cluster is None and values is not None:
            minhash = _to_minhash(values)
            best, best_score = None, 0.0
            for candidate in self._lsh.query(minhash):
                score = minhash.jaccard(self._signatures[candidate])
                if score >= self.threshold and (score > best_score or (score == best_score and candidate < best)):
                    best, best_score = candidate, score
            if best is not None:
                cluster = self._cluster_of[best]
        decision = DedupeDecision(same, cluster or article_id)
        self.add(article_id, content_hash, values, decision.cluster_id)
        return decision
