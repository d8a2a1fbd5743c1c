import numpy as np
import pytest
import scipy.sparse as sp

from lls_topics import AnchorSolver, bootstrap, make_discrete_lls
from lls_topics.uncertainty import resample_counts


@pytest.fixture(scope="module")
def planted():
    return make_discrete_lls(n_topics=3, n_words=80, n_domains=8, n_per_domain=2000,
                             random_state=0)


@pytest.fixture(scope="module")
def result(planted):
    return bootstrap(AnchorSolver(3, random_state=0), planted.corpus, 30, random_state=0)


def test_interval_shapes_and_order(result):
    est = result.estimator_
    D, k, V = 8, 3, 80
    for name in ("domain_topic_low_", "domain_topic_high_", "domain_topic_se_"):
        assert getattr(result, name).shape == (D, k)
    assert result.topic_word_low_.shape == result.topic_word_high_.shape == (k, V)
    assert result.domain_topic_replicates_.shape == (30, D, k)
    np.testing.assert_allclose(result.domain_topic_replicates_.sum(axis=2), 1.0)
    assert np.all(result.domain_topic_low_ <= est.domain_topic_)
    assert np.all(est.domain_topic_ <= result.domain_topic_high_)
    assert np.all(result.topic_word_low_ <= est.topic_word_)
    assert np.all(est.topic_word_ <= result.topic_word_high_)
    assert result.domain_topic_low_.min() >= 0 and result.domain_topic_high_.max() <= 1
    assert np.all(result.domain_topic_se_ > 0)


def test_replicates_follow_the_fit_label_order(result, planted):
    # aligned replicates scatter around the estimate, not around a permutation of it
    gap = np.abs(result.domain_topic_replicates_.mean(0) - result.estimator_.domain_topic_)
    assert gap.max() < 0.05
    # and the intervals are narrow for 2,000 samples per domain
    assert np.median(result.domain_topic_high_ - result.domain_topic_low_) < 0.1


def test_same_seed_same_intervals_any_jobs(planted, result):
    again = bootstrap(AnchorSolver(3, random_state=0), planted.corpus, 30, random_state=0,
                      n_jobs=2)
    np.testing.assert_array_equal(again.domain_topic_low_, result.domain_topic_low_)
    np.testing.assert_array_equal(again.topic_word_high_, result.topic_word_high_)
    other = bootstrap(AnchorSolver(3, random_state=0), planted.corpus, 30, random_state=1)
    assert not np.array_equal(other.domain_topic_low_, result.domain_topic_low_)


@pytest.mark.parametrize("method", ["parametric", "nonparametric"])
def test_resampling_keeps_domain_sizes(planted, method):
    counts = sp.csr_matrix(planted.corpus.counts, dtype=float)
    sizes = np.asarray(counts.sum(axis=1)).ravel().astype(np.int64)
    model = np.full(counts.shape, 1.0 / counts.shape[1])
    boot = resample_counts(counts, sizes, np.random.default_rng(0), method, model)
    np.testing.assert_array_equal(np.asarray(boot.sum(axis=1)).ravel(), sizes)
    assert not np.array_equal(boot.toarray(), counts.toarray())
    if method == "nonparametric":   # stays on the observed support
        assert np.all(counts.toarray()[boot.toarray() > 0] > 0)


def test_nonparametric_runs(planted):
    res = bootstrap(AnchorSolver(3, random_state=0), planted.corpus, 5,
                    method="nonparametric", random_state=0)
    assert np.all(res.domain_topic_low_ <= res.domain_topic_high_)


def test_bad_arguments(planted):
    with pytest.raises(ValueError, match="confidence"):
        bootstrap(AnchorSolver(3), planted.corpus, 10, confidence=1.5)
    with pytest.raises(ValueError, match="method"):
        bootstrap(AnchorSolver(3), planted.corpus, 10, method="jackknife")
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap(AnchorSolver(3), planted.corpus, 1)
    with pytest.raises(ValueError, match="solver"):
        bootstrap(object(), planted.corpus, 10)


def test_replicates_start_from_the_fit_and_survive_saving(planted, tmp_path):
    from lls_topics.persistence import load_estimator, save_estimator

    est = AnchorSolver(3, random_state=0).fit(planted.corpus)
    counts = sp.csr_matrix(planted.corpus.counts, dtype=float)
    sizes = np.asarray(counts.sum(axis=1)).ravel().astype(np.int64)
    boot = resample_counts(counts, sizes, np.random.default_rng(0), "parametric",
                           est.domain_topic_ @ est.topic_word_)
    P, A = est.fit_replicate(boot, np.random.default_rng(1))
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    # a saved model resumes from the same recovery, so gives the same replicate
    save_estimator(est, tmp_path / "m")
    P2, A2 = load_estimator(tmp_path / "m").fit_replicate(boot, np.random.default_rng(1))
    np.testing.assert_array_equal(P, P2)
    np.testing.assert_array_equal(A, A2)
    # the replicate sits near the full refit of the resampled counts
    full = AnchorSolver(3, random_state=0).fit(boot)
    assert np.abs(np.sort(P, axis=1) - np.sort(full.domain_topic_, axis=1)).max() < 0.05
