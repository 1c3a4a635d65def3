"""Honest results: which matches stand out for this query, and how to say how good a match is.

A CLIP score means little on its own: one model's good match is 0.30, another's 0.85, and every
file in the library gets some score. So the window does not show "everything ranked"; it keeps the
matches that stand out from the query's own score distribution over what is searched:

    background = mean of the scores, spread = their standard deviation
    cut-off    = max(top - DELTA * (top - background), background + K * spread)

i.e. a match must be both close to the best one and well above the crowd (when not even the best
match clears the crowd by K spreads, "close to the best one" alone decides). For sigmoid models
(SigLIP: the manifest carries ``logit_scale`` and ``logit_bias``) the score is a probability and
the cut-off is simply ``p >= MIN_PROBABILITY``.

A score is shown to a person as a strength from 0 to 100 %: for sigmoid models the probability,
otherwise where it lies between the background (0 %) and the best match (100 %).

The distribution is measured over the top ``SAMPLE`` (1,000) results the engine returns (the whole scope
when it is smaller); over a larger scope the background is that of the best ``SAMPLE``, which
makes the cut-off stricter, never looser. Everything here is pure and testable.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

DELTA = 0.5  # a match keeps at least half of the best match's lead over the background
K = 2.0  # ... and lies this many standard deviations above it
MIN_PROBABILITY = 0.1  # sigmoid models
SAMPLE = 1000  # results read per query to measure the distribution (and shown at most, before "more")


@dataclass(frozen=True)
class ScoreProfile:
    top: float
    background: float
    spread: float
    count: int
    logit_scale: float | None = None
    logit_bias: float | None = None

    @property
    def sigmoid(self) -> bool:
        return self.logit_scale is not None and self.logit_bias is not None

    def probability(self, score: float) -> float:
        z = float(self.logit_scale) * score + float(self.logit_bias)  # type: ignore[arg-type]
        return 1.0 / (1.0 + math.exp(-z)) if z > -60 else 0.0

    def strength(self, score: float) -> float:
        """0..1: how good this match is for a person (see the module docstring)."""
        if self.sigmoid:
            return self.probability(score)
        lead = self.top - self.background
        if lead <= 1e-9:
            return 1.0 if score >= self.top - 1e-9 else 0.0
        return max(0.0, min(1.0, (score - self.background) / lead))

    def default_strength(self) -> float:
        """The cut-off as a strength: the rule of the module docstring."""
        if self.sigmoid:
            return MIN_PROBABILITY
        lead = self.top - self.background
        if lead <= 1e-9 or self.count < 3:
            return 0.0  # nothing stands out from a flat or tiny distribution: show what there is
        above = K * self.spread / lead
        if above >= 1.0:  # nothing clears the crowd by K spreads: keep what is close to the best match
            return 1.0 - DELTA
        return max(1.0 - DELTA, above)

    def cutoff(self) -> float:
        """The default cut-off as a raw score."""
        return self.score_at(self.default_strength())

    def score_at(self, strength: float) -> float:
        """The raw score whose strength is ``strength`` (0: everything)."""
        if strength <= 0:
            return -math.inf
        if self.sigmoid:
            p = min(max(strength, 1e-9), 1 - 1e-9)
            return (math.log(p / (1 - p)) - float(self.logit_bias)) / float(self.logit_scale)  # type: ignore[arg-type]
        return self.background + strength * (self.top - self.background)


def profile(scores: Sequence[float], logit_scale: float | None = None,
            logit_bias: float | None = None) -> ScoreProfile:
    """The distribution of one query's scores (any order)."""
    values = [float(s) for s in scores]
    if not values:
        return ScoreProfile(0.0, 0.0, 0.0, 0, logit_scale, logit_bias)
    n = len(values)
    mean = sum(values) / n
    spread = math.sqrt(sum((v - mean) ** 2 for v in values) / n)
    return ScoreProfile(max(values), mean, spread, n, logit_scale, logit_bias)


def split(scores: Sequence[float], prof: ScoreProfile, strength: float | None = None) -> int:
    """How many of ``scores`` (best first) are at or above the cut-off (the default, or ``strength``)."""
    cut = prof.score_at(prof.default_strength() if strength is None else strength)
    n = 0
    for score in scores:
        if score < cut - 1e-9:
            break
        n += 1
    return max(n, 1) if scores else 0


def words(strength: float) -> str:
    """A strength in words and a percentage: 'strong · 92 %'."""
    pct = round(max(0.0, min(1.0, strength)) * 100)
    word = "strong" if strength >= 0.75 else "good" if strength >= 0.5 else "weak"
    return f"{word} · {pct} %"
