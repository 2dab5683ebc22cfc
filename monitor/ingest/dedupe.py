"""Duplicates and syndicated copies.

Three levels, cheapest first:
1. same canonical URL → one article row (the key is `url_key`, whichever feeds carried it);
2. identical text under another URL → `same_text_as` points at the first article with that content hash;
3. near-duplicate text (wire copy picked up and lightly edited) → same `cluster_id`, found with MinHash LSH
   over word 3-shingles (Jaccard ≥ threshold, default 0.5);
4. a headline-only row (a Google News item whose publisher URL could not be had, a page that could not be read)
   → the cluster of the article with the same headline, in either order of arrival (issue 14, kind 3). Headlines
   are compared as `headline_keys`: lower-cased words, with and without a trailing " - Outlet" segment, and only
   when they have at least MIN_HEADLINE_WORDS words, so that "Berita Terkini" never merges two stories.
A story's `cluster_id` is the id of the first article seen in it, so "unique stories" = distinct cluster_id.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash, MinHashLSH

NUM_PERM = 64
MIN_HEADLINE_WORDS = 5
# " - Kabar Contoh", " | Nasional", " — Tempo.co": the outlet or section segment that titles and Google News append
_TRAILING_SEGMENT = re.compile(r"\s+[-|–—:]\s+[^-|–—:]{1,60}$")
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


def headline_keys(title: str | None, *, strip_outlet: bool = False) -> set[str]:
    """Comparable forms of a headline: its words (lower case), and with `strip_outlet` again without a trailing
    " - Outlet" / " | Section" segment (page titles carry one; a feed's own headline is compared whole, because its
    last segment may be the news: "Harga Emas Hari Ini - Naik Rp 5.000")."""
    if not title:
        return set()
    forms = (title, _TRAILING_SEGMENT.sub("", title.strip())) if strip_outlet else (title,)
    keys = set()
    for form in forms:
        words = re.findall(r"\w+", form.lower())
        if len(words) >= MIN_HEADLINE_WORDS:
            keys.add(" ".join(words))
    return keys


@dataclass(frozen=True)
class Headline:
    """A row's headline keys and its day (UTC date of publication, else of fetching)."""

    keys: frozenset[str]
    day: dt.date | None


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
        self._by_headline: dict[str, tuple[str, dt.date | None]] = {}  # key → (first article with it, its day)
        self._headline_only: set[str] = set()
        self._clusters_with_text: set[str] = set()

    def hash_of(self, article_id: str) -> str | None:
        """The content hash the index knows for an article, if any."""
        return self._hash_of.get(article_id)

    def add(self, article_id: str, content_hash: str | None, values: list[int] | None, cluster_id: str,
            headline: Headline | None = None) -> None:
        self._cluster_of[article_id] = cluster_id
        for key in headline.keys if headline else ():
            self._by_headline.setdefault(key, (article_id, headline.day if headline else None))
        if not content_hash and values is None:
            self._headline_only.add(article_id)
        else:
            self._headline_only.discard(article_id)
            self._clusters_with_text.add(cluster_id)
        if content_hash:
            self._hash_of[article_id] = content_hash
        if content_hash and content_hash not in self._by_hash:
            self._by_hash[content_hash] = article_id
        if values is not None and article_id not in self._signatures:
            minhash = _to_minhash(values)
            self._signatures[article_id] = minhash
            self._lsh.insert(article_id, minhash)

    def decide(self, article_id: str, content_hash: str | None, values: list[int] | None,
               headline: Headline | None = None) -> DedupeDecision:
        """Where a new article belongs; also records it so later articles of the batch see it.

        A headline decides only when the text cannot: a headline-only row joins the story of the first article
        with the same headline key within a day; a text row joins a headline-only row's story only while that
        story has no text yet (so one headline-only row never bridges two different texts). A known article keeps
        its story, unless it had no text before and has now (a wall that is gone): then its text decides again."""
        has_text = content_hash is not None or values is not None
        if article_id in self._cluster_of:
            if not (has_text and article_id in self._headline_only):
                return DedupeDecision(None, self._cluster_of[article_id], known=True)
            decision = self._by_text(article_id, content_hash, values)
            self.add(article_id, content_hash, values, decision.cluster_id, headline)
            return DedupeDecision(decision.same_text_as, decision.cluster_id, known=True)
        decision = self._by_text(article_id, content_hash, values)
        if decision.cluster_id == article_id and headline is not None:
            decision.cluster_id = self._cluster_by_headline(headline, has_text) or article_id
        self.add(article_id, content_hash, values, decision.cluster_id, headline)
        return decision

    def _by_text(self, article_id: str, content_hash: str | None, values: list[int] | None) -> DedupeDecision:
        same = self._by_hash.get(content_hash) if content_hash else None
        same = same if same != article_id else None
        cluster = self._cluster_of.get(same) if same else None
        if cluster is None and values is not None:
            minhash = _to_minhash(values)
            best, best_score = None, 0.0
            for candidate in self._lsh.query(minhash):
                if candidate == article_id:
                    continue
                score = minhash.jaccard(self._signatures[candidate])
                if score >= self.threshold and (score > best_score or (score == best_score and candidate < best)):
                    best, best_score = candidate, score
            if best is not None:
                cluster = self._cluster_of[best]
        return DedupeDecision(same, cluster or article_id)

    def _cluster_by_headline(self, headline: Headline, has_text: bool) -> str | None:
        for key in sorted(headline.keys):
            other, day = self._by_headline.get(key, (None, None))
            if other is None or headline.day is None or day is None or abs((headline.day - day).days) > 1:
                continue
            cluster = self._cluster_of[other]
            if not has_text or (other in self._headline_only and cluster not in self._clusters_with_text):
                return cluster
        return None
