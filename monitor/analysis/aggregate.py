"""From the tone of each sentence that mentions an agency to the article's tone toward that agency.

Input: an (n_sentences, 3) array of class probabilities in (negative, neutral, positive) order. Output: one
probability row (stored in `mention_tone`; its argmax is the label). Rules, as measured against articles labelled
by hand at article level (models/data/real_tone/article_labels.csv; benchmarks/tone_real_news.py):

- `weighted` (the rule before real-news labels existed): confidence-weighted mean, each sentence weighted by its
  own max probability, halved when its label is neutral (most sentences around a criticism are neutral reporting).
- `mean`: the plain mean.
- `polar`: "any confident polar sentence": if some sentence's negative (or positive) probability reaches
  `threshold`, the article takes the most confident such sentence's probabilities; otherwise the weighted mean.
  PR practice reads an article as critical when one sentence clearly criticises the body.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

NEGATIVE, NEUTRAL, POSITIVE = 0, 1, 2
NEUTRAL_WEIGHT = 0.5
RULES = ("weighted", "mean", "polar")


def weighted(probs: np.ndarray) -> np.ndarray:
    confidence = probs.max(axis=1)
    confidence = np.where(probs.argmax(axis=1) == NEUTRAL, NEUTRAL_WEIGHT * confidence, confidence)
    return (probs * confidence[:, None]).sum(0) / confidence.sum()


def mean(probs: np.ndarray) -> np.ndarray:
    return probs.mean(axis=0)


def polar(probs: np.ndarray, threshold: float) -> np.ndarray:
    polar_scores = probs[:, [NEGATIVE, POSITIVE]]
    best = np.unravel_index(int(polar_scores.argmax()), polar_scores.shape)
    if polar_scores[best] >= threshold:
        return probs[best[0]]
    return weighted(probs)


def aggregator(rule: str, threshold: float = 0.5) -> Callable[[np.ndarray], np.ndarray]:
    """The rule by name (ValueError for an unknown one); `threshold` is used by `polar`."""
    if rule == "weighted":
        return weighted
    if rule == "mean":
        return mean
    if rule == "polar":
        return lambda probs: polar(probs, threshold)
    raise ValueError(f"unknown aggregation rule {rule!r}: one of {', '.join(RULES)}")
