"""The cut-off that keeps the matches standing out for a query, and scores in words."""
from __future__ import annotations

import math

from app import relevance


def test_a_few_standouts_over_a_crowd_are_kept():
    crowd = [0.20 + 0.01 * math.sin(i) for i in range(500)]
    scores = sorted([0.34, 0.33, 0.31] + crowd, reverse=True)
    prof = relevance.profile(scores)
    assert relevance.split(scores, prof) == 3
    assert prof.strength(0.34) == 1.0 and prof.strength(0.0) == 0.0
    assert 0.5 <= prof.default_strength() < 1.0


def test_the_rule_works_for_any_scale():
    """A model whose scores live around 0.8 gets the same split as one around 0.2."""
    crowd = [0.20 + 0.01 * math.sin(i) for i in range(500)]
    low = sorted([0.34, 0.33, 0.31] + crowd, reverse=True)
    high = [0.6 + 2 * s for s in low]
    assert relevance.split(low, relevance.profile(low)) == relevance.split(high, relevance.profile(high)) == 3


def test_a_flat_or_tiny_distribution_shows_what_there_is():
    assert relevance.split([0.5, 0.5, 0.5], relevance.profile([0.5, 0.5, 0.5])) == 3
    assert relevance.split([0.9, 0.1], relevance.profile([0.9, 0.1])) == 2
    assert relevance.split([], relevance.profile([])) == 0


def test_the_user_can_move_the_cut_off():
    scores = [1.0, 0.8, 0.6, 0.4, 0.2, 0.0]
    prof = relevance.profile(scores)
    assert relevance.split(scores, prof, strength=0.0) == 6  # 0 %: everything
    assert relevance.split(scores, prof, strength=0.2) == 3  # above 0.5 + 0.2 * 0.5
    assert relevance.split(scores, prof, strength=1.0) == 1


def test_sigmoid_models_use_the_probability():
    prof = relevance.profile([-0.05, 0.02, 0.10], logit_scale=100.0, logit_bias=-10.0)
    assert prof.sigmoid and abs(prof.probability(0.1) - 0.5) < 1e-9
    assert relevance.split([0.10, 0.02, -0.05], prof) == 1  # p = 0.5, then 0.0003: below 10 %
    assert relevance.split([0.10, 0.08, -0.05], prof) == 2  # p(0.08) = 0.12
    assert abs(prof.score_at(0.5) - 0.1) < 1e-9


def test_words():
    assert relevance.words(0.92) == "strong · 92 %"
    assert relevance.words(0.6) == "good · 60 %"
    assert relevance.words(-0.3) == "weak · 0 %"


def test_when_nothing_stands_out_matches_close_to_the_best_are_kept():
    scores = [0.30, 0.29, 0.22, 0.21, 0.20, 0.19, 0.18, 0.10]  # the best is not 2 std above the mean
    prof = relevance.profile(scores)
    assert prof.default_strength() == 1 - relevance.DELTA
    assert relevance.split(scores, prof) == 2
