"""Collapsed variational Bayes (CVB0): the refinement behind ``refine="collapsed"``."""
import numpy as np
import pytest
import scipy.sparse as sp

from lls_topics import AnchorSolver
from lls_topics.datasets import DISCRETE_SETTINGS, make_discrete_lls
from lls_topics.metrics import prior_l1
from lls_topics.solvers.cvb import cvb0_fit


@pytest.fixture(scope="module")
def problem():
    # well-separated domains: where the collapsed posterior and the planted labels agree
    # (with alpha 3 or 10 CVB0 drifts along the flat directions of the likelihood, as EM
    # does; docs/benchmarks.md)
    return make_discrete_lls(**DISCRETE_SETTINGS["small-a0.5"], random_state=0)


def _uniform_start(D, k, V, seed):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(k), size=D)
    A = rng.dirichlet(np.ones(V), size=k)
    return P, A


def _halfway_start(problem, seed):
    """Counts and a start halfway between the planted truth and noise."""
    N = sp.csr_matrix(problem.corpus.counts)
    D, V = N.shape
    P0, A0 = _uniform_start(D, problem.domain_topic.shape[1], V, seed)
    return (N, 0.5 * P0 + 0.5 * problem.domain_topic,
            0.5 * A0 + 0.5 * problem.topic_word)


def test_cvb0_from_the_truth_stays_near_it_and_returns_distributions(problem):
    N = sp.csr_matrix(problem.corpus.counts)
    P, A, n_iter = cvb0_fit(N, problem.domain_topic, problem.topic_word,
                            topic_word_prior=0.01, domain_topic_prior=1.0, tol=1e-6)
    assert P.shape == problem.domain_topic.shape and A.shape == problem.topic_word.shape
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    np.testing.assert_allclose(A.sum(axis=1), 1.0)
    assert np.all(P > 0) and np.all(A > 0)
    assert n_iter < 500                     # the tolerance, not the budget, stopped it
    # sampling noise alone: the planted p_d(y) is within a few per cent per entry
    err = prior_l1(problem.domain_topic, P) / P.size
    assert err < 0.03


def test_cvb0_improves_a_rough_start_and_is_deterministic(problem):
    # a start halfway between the truth and noise: CVB0 must pull it back
    N, P0, A0 = _halfway_start(problem, 0)
    P1, A1, _ = cvb0_fit(N, P0, A0, topic_word_prior=0.01, domain_topic_prior=1.0)
    P2, A2, _ = cvb0_fit(N, P0, A0, topic_word_prior=0.01, domain_topic_prior=1.0)
    np.testing.assert_array_equal(P1, P2)
    np.testing.assert_array_equal(A1, A2)
    assert prior_l1(problem.domain_topic, P1) < 0.5 * prior_l1(problem.domain_topic, P0)
    # dense and sparse counts are the same problem
    P3, _, _ = cvb0_fit(N.toarray(), P0, A0, topic_word_prior=0.01, domain_topic_prior=1.0)
    np.testing.assert_allclose(P3, P1, atol=1e-12)


def test_collapsed_refinement_recovers_the_planted_problem(problem):
    default = AnchorSolver(5).fit(problem.corpus)
    collapsed = AnchorSolver(5, refine="collapsed").fit(problem.corpus)
    np.testing.assert_allclose(collapsed.domain_topic_.sum(axis=1), 1.0)
    np.testing.assert_allclose(collapsed.topic_word_.sum(axis=1), 1.0)
    err_c = prior_l1(problem.domain_topic, collapsed.domain_topic_)
    err_d = prior_l1(problem.domain_topic, default.domain_topic_)
    assert err_c <= 1.25 * err_d
    assert 0 < collapsed.n_iter_ <= 500 + collapsed.polish_iter
    # held-out priors score their pairs with the collapsed pass too
    chosen = AnchorSolver(5, refine="collapsed", priors="heldout",
                          random_state=0).fit(problem.corpus)
    assert np.all(np.isfinite(chosen.prior_scores_))
    assert prior_l1(problem.domain_topic, chosen.domain_topic_) <= 1.25 * err_d


def test_cvb0_rejects_bad_input_naming_the_argument(problem):
    N = sp.csr_matrix(problem.corpus.counts)
    P, A = problem.domain_topic, problem.topic_word
    ok = dict(topic_word_prior=0.01, domain_topic_prior=1.0)
    bad_counts = N.toarray()
    bad_counts[0, 0] = -1
    with pytest.raises(ValueError, match="counts"):
        cvb0_fit(bad_counts, P, A, **ok)
    with pytest.raises(ValueError, match="P must have shape"):
        cvb0_fit(N, P[1:], A, **ok)
    with pytest.raises(ValueError, match="A must have one column per input"):
        cvb0_fit(N, P, A[:, 1:], **ok)
    with pytest.raises(ValueError, match="A contains NaN"):
        cvb0_fit(N, P, np.full_like(A, np.nan), **ok)
    with pytest.raises(ValueError, match="topic_word_prior"):
        cvb0_fit(N, P, A, topic_word_prior=0.0, domain_topic_prior=1.0)
    with pytest.raises(ValueError, match="domain_topic_prior"):
        cvb0_fit(N, P, A, topic_word_prior=0.01, domain_topic_prior=np.nan)
    with pytest.raises(ValueError, match="max_iter"):
        cvb0_fit(N, P, A, max_iter=-1, **ok)


def test_cvb0_an_empty_domain_changes_no_other_domain(problem):
    # the per-domain sums run over CSR segments: a domain without samples is a segment
    # of length zero, and must neither shift the others nor leave NaN behind
    N, P0, A0 = _halfway_start(problem, 1)
    D, V = N.shape
    k = P0.shape[1]
    P1, A1, n1 = cvb0_fit(N, P0, A0, topic_word_prior=0.01, domain_topic_prior=1.0,
                          max_iter=30, tol=0.0)
    gap = sp.vstack([N[:3], sp.csr_matrix((1, V)), N[3:]], format="csr")
    P0g = np.vstack([P0[:3], np.full((1, k), 1.0 / k), P0[3:]])
    P2, A2, n2 = cvb0_fit(gap, P0g, A0, topic_word_prior=0.01, domain_topic_prior=1.0,
                          max_iter=30, tol=0.0)
    assert n1 == n2 == 30
    np.testing.assert_allclose(np.delete(P2, 3, axis=0), P1, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(A2, A1, rtol=1e-12, atol=1e-15)
    # the empty domain's posterior mean is its prior's: uniform
    np.testing.assert_allclose(P2[3], 1.0 / k)
