"""DDFA's automatic choices (lls_topics.continuous.policy): pure numpy, no torch."""
import numpy as np
import pytest

from lls_topics.continuous import policy
from lls_topics.continuous.policy import (another_round, calibrated_loglik, choose_candidate,
                                          factored_loglik, first_pass_candidates,
                                          keep_round,
                                          paired_gain, prefer_candidate,
                                          REFINE_EPOCH_SHARE, refine_epoch_budget,
                                          split_heldout, vocabulary_sizes)


def test_policy_needs_no_torch():
    assert "import torch" not in open(policy.__file__).read()


def test_paired_gain_and_noise_margin():
    rng = np.random.default_rng(0)
    base = rng.normal(-2.0, 0.5, size=400)
    gain, se = paired_gain(base, base + 0.1)
    assert gain == pytest.approx(0.1) and se == pytest.approx(0.0, abs=1e-12)
    # a clear gain switches, pure noise around zero does not, ties keep the current
    assert prefer_candidate(base, base + 0.1)
    e = rng.normal(0.0, 1.0, size=400)
    assert not prefer_candidate(base, base + e - e.mean() + 0.01)
    assert not prefer_candidate(base, base)
    # the margin scales with the noise: the same mean gain fails with noisier rows
    small = base + 0.05 + rng.normal(0.0, 0.05, size=400)
    loud = base + 0.05 + rng.normal(0.0, 2.0, size=400)
    assert prefer_candidate(base, small) and not prefer_candidate(base, loud)


def test_keep_round_reverses_the_burden_of_proof():
    rng = np.random.default_rng(4)
    base = rng.normal(-2.0, 0.5, size=300)
    e = rng.normal(0.0, 1.0, size=300)
    # within the noise: a round is kept, a first-pass candidate is not
    tie = base + e - e.mean() - 0.01
    assert keep_round(base, tie) and not prefer_candidate(base, tie)
    # clearly worse on held-out domains: the round is dropped
    assert not keep_round(base, base - 0.2)
    assert keep_round(base, base + 0.2)


def test_another_round_only_while_the_rounds_climb_beyond_the_noise():
    rng = np.random.default_rng(5)
    before = rng.normal(-2.0, 0.5, size=300)
    climbing = before + 0.05 + rng.normal(0.0, 0.1, size=300)
    e = rng.normal(0.0, 1.0, size=300)
    flat = before + e - e.mean() + 0.01
    assert another_round(before, before, climbing, True, 8, 25)
    # a gain within the noise, a round that was not kept, or the label networks at the
    # discriminator's epochs: no further round
    assert not another_round(before, before, flat, True, 8, 25)
    assert not another_round(before, before, climbing, False, 8, 25)
    assert not another_round(before, before, climbing, True, 25, 25)
    assert not another_round(before, before, before - 0.1, True, 0, 25)
    # a round that only wins back what the rounds before it lost against the first
    # pass: refinement is not what predicts, no further round
    assert not another_round(climbing, before, climbing, True, 8, 25)
    assert not another_round(climbing + 0.02, before, climbing, True, 8, 25)
    for bad in ({"epochs_spent": -1}, {"discriminator_epochs": 0}):
        args = dict(epochs_spent=3, discriminator_epochs=10) | bad
        with pytest.raises(ValueError, match=next(iter(bad))):
            another_round(before, before, climbing, True, **args)
    with pytest.raises(ValueError, match="same rows"):
        another_round(before[:10], before, climbing, True, 3, 10)
    with pytest.raises(ValueError, match="last"):
        another_round(before, before, np.full(300, np.nan), True, 3, 10)


def test_choose_candidate_order_and_stopping():
    base = np.linspace(-3, -1, 50)
    better, best = base + 0.2, base + 0.4
    assert choose_candidate([base, better, best]) == 2
    assert choose_candidate([base, base, best]) == 2
    # refinement rounds: stop at the first one that does not improve
    assert choose_candidate([base, base, best], stop_at_first_loss=True) == 0
    # ties go to the earliest candidate
    assert choose_candidate([base, base.copy(), base.copy()]) == 0
    with pytest.raises(ValueError, match="logliks"):
        choose_candidate([])


def test_factored_loglik_prefers_the_truth():
    rng = np.random.default_rng(1)
    D, k, n = 6, 3, 3000
    P = rng.dirichlet(np.full(k, 0.5), size=D)
    sizes = np.full(D, 1.0 / D)
    M = P * sizes[:, None]
    M /= M.sum(axis=0, keepdims=True)
    y = rng.integers(0, k, size=n)
    rows = np.array([rng.choice(D, p=M[:, c]) for c in y])
    truth = np.eye(k)[y]
    ll_true = factored_loglik(truth, M, rows, sizes)
    ll_blur = factored_loglik(np.full((n, k), 1.0 / k), M, rows, sizes)
    wrong = np.eye(k)[(y + 1) % k]
    assert prefer_candidate(ll_blur, ll_true)
    assert prefer_candidate(factored_loglik(wrong, M, rows, sizes), ll_true)
    # every row's loss is bounded by the prior mix, even where the model gives no mass
    zero = np.zeros_like(M)
    assert np.all(np.isfinite(factored_loglik(truth, zero, rows, sizes)))
    with pytest.raises(ValueError, match="rows"):
        factored_loglik(truth, M, rows + D, sizes)
    with pytest.raises(ValueError, match="share"):
        factored_loglik(truth[:, :2], M, rows, sizes)


def test_calibration_removes_overconfidence_before_scoring():
    rng = np.random.default_rng(2)
    D, k, n = 5, 3, 4000
    P = rng.dirichlet(np.full(k, 0.5), size=D)
    prior = np.full(D, 1.0 / D)
    M = P / P.sum(axis=0, keepdims=True)
    y = rng.integers(0, k, size=n)
    rows = np.array([rng.choice(D, p=M[:, c]) for c in y])
    # right 70% of the time, but claims 99.9%: raw scores punish it, tempered do not
    hit = rng.random(n) < 0.7
    guess = np.where(hit, y, (y + 1) % k)
    sharp = np.full((n, k), 0.001 / (k - 1))
    sharp[np.arange(n), guess] = 0.999
    half = n // 2
    raw = factored_loglik(sharp[half:], M, rows[half:], prior)
    tempered, T = calibrated_loglik(sharp[:half], rows[:half], sharp[half:], rows[half:],
                                    M, prior)
    assert T > 1 and tempered.mean() > raw.mean()
    # tempering keeps the ranking of labels in every row
    blur = np.full((n, k), 1.0 / k)
    assert prefer_candidate(factored_loglik(blur[half:], M, rows[half:], prior), tempered)


def test_budget_split_and_vocabularies():
    assert refine_epoch_budget(40, share=0.5) == 20 and refine_epoch_budget(1) == 1
    assert refine_epoch_budget(40) == round(40 * REFINE_EPOCH_SHARE)
    with pytest.raises(ValueError, match="discriminator_epochs"):
        refine_epoch_budget(0)
    a, b = split_heldout(np.arange(10, 31), seed=3)
    assert len(a) == 10 and len(b) == 11
    np.testing.assert_array_equal(np.sort(np.concatenate([a, b])), np.arange(10, 31))
    a2, b2 = split_heldout(np.arange(10, 31), seed=3)
    np.testing.assert_array_equal(a, a2)
    np.testing.assert_array_equal(b, b2)
    with pytest.raises(ValueError, match="heldout"):
        split_heldout([1], seed=0)
    assert vocabulary_sizes("discriminator", n_topics=10, n_samples=10000) == [30]
    assert vocabulary_sizes("both", n_topics=10, n_samples=10000) == [15]
    # one cluster per 20 samples at most, never fewer than k
    assert vocabulary_sizes("both", n_topics=10, n_samples=300) == [15]
    assert vocabulary_sizes("both", n_topics=10, n_samples=100) == [10]


def test_first_pass_candidates_deterministic_and_ordered():
    c = first_pass_candidates(n_topics=4, n_samples=5000)
    assert c == first_pass_candidates(n_topics=4, n_samples=5000)
    # solver="auto": the reference NMF step competes on the p(d|x) clusters only
    assert c == [("both", 6, "combined", "anchor"), ("discriminator", 12, "adjust", "anchor"),
                 ("discriminator", 12, "adjust", "nmf-reference")]
    assert first_pass_candidates(n_topics=4, n_samples=5000, space="discriminator",
                                 solver="lda") == [("discriminator", 12, "adjust", "lda")]
    # without a feature matrix only p(d|x) can be clustered
    assert first_pass_candidates(n_topics=4, n_samples=5000, has_features=False,
                                 solver=None) == [("discriminator", 12, "adjust", None)]
    assert first_pass_candidates(n_topics=4, n_samples=5000, space="features",
                                 posterior="clusters", n_clusters=9) == \
        [("features", 9, "clusters", "anchor")]


def test_choose_first_pass_picks_the_clustering_then_its_solver():
    rng = np.random.default_rng(1)
    base = rng.normal(-1.5, 0.3, size=300)
    # clustering 0 (one solve) beats clustering 1's primary solve: the NMF solve of
    # clustering 1 is never offered, however well it scores
    assert policy.choose_first_pass([base, base - 0.1, base + 0.5], [0, 1, 1]) == 0
    # clustering 1 wins through its primary solve; then its second solve competes
    assert policy.choose_first_pass([base, base + 0.1, base + 0.2], [0, 1, 1]) == 2
    assert policy.choose_first_pass([base, base + 0.1, base + 0.05], [0, 1, 1]) == 1
    # with a margin the second solve must beat the primary one beyond the noise
    noisy = base + 0.1 + rng.normal(0, 0.3, size=300) * 0.01
    assert policy.choose_first_pass([base, base + 0.1, noisy], [0, 1, 1], z=1e6) == 1
    # one clustering, several solves: a plain choice among them
    assert policy.choose_first_pass([base, base + 0.2], [0, 0]) == 1
    with pytest.raises(ValueError, match="clusterings must name one clustering"):
        policy.choose_first_pass([base, base], [0])


def test_round_weight_averages_what_the_data_cannot_tell_apart():
    rng = np.random.default_rng(0)
    first = rng.normal(-1.5, 0.5, size=400)
    better = first + 0.3 + rng.normal(0, 0.1, size=400)   # many standard errors
    noisy = first + rng.normal(0, 0.5, size=400)          # mean gain within the noise
    assert policy.round_weight(first, better) == 1.0
    assert policy.round_weight(first, noisy) == 0.5
    assert policy.round_weight(first, first - 0.2) == 0.5  # kept rounds: not worse here
    # z=0: any positive mean gain is enough
    assert policy.round_weight(first, first + 1e-3 + rng.normal(0, 1e-4, 400), z=0) == 1.0
    with pytest.raises(ValueError, match="first and refined must score the same rows"):
        policy.round_weight(first, first[:10])
    with pytest.raises(ValueError, match="refined must not hold NaN"):
        policy.round_weight(first, np.full(400, np.nan))
