import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from lls_topics.datasets import make_discrete_lls, population_counts
from lls_topics.metrics import prior_l1
from lls_topics.solvers.nmf import NMFSolver, reference_nmf

from helpers import check_normalized, oracle_l1


@pytest.fixture(scope="module")
def planted():
    return make_discrete_lls(n_topics=4, n_words=80, n_domains=12, n_per_domain=4000,
                             alpha=1.0, max_condition=8, anchor_mass=0.1, random_state=3)


@pytest.fixture(scope="module")
def easy():
    # strong anchors: even starts that ignore them find the right rotation
    return make_discrete_lls(n_topics=3, n_words=40, n_domains=10, n_per_domain=20000,
                             alpha=0.5, max_condition=6, anchor_mass=0.4, random_state=1)


def test_kl_anchor_recovers_planted(planted):
    est = NMFSolver(4, random_state=0).fit(planted.corpus)
    check_normalized(est, 12, 4, 80)
    # bound: within 3x the oracle, which knows the true p(x|y)
    assert prior_l1(planted.domain_topic, est.domain_topic_) <= 3 * oracle_l1(planted)


def _uniform_error(prob):
    k = prob.domain_topic.shape[1]
    return prior_l1(prob.domain_topic, np.full_like(prob.domain_topic, 1 / k))


@pytest.mark.parametrize("loss, init", [("kl", "nndsvda"), ("kl", "random"),
                                        ("frobenius", "nndsvda")])
def test_other_inits_recover_easy_problem(easy, loss, init):
    est = NMFSolver(3, loss=loss, init=init, n_restarts=2, random_state=0).fit(easy.corpus)
    check_normalized(est, 10, 3, 40)
    # without the anchors' zeros the factorization's rotation is only loosely pinned
    # (measured 0.02-0.12 of the uniform guess's error), hence a bound against chance
    assert prior_l1(easy.domain_topic, est.domain_topic_) <= 0.2 * _uniform_error(easy)


def test_reference_preset(planted):
    est = NMFSolver(4, reference=True, random_state=0).fit(planted.corpus)
    check_normalized(est, 12, 4, 80)
    again = NMFSolver(4, reference=True, random_state=0).fit(planted.corpus)
    np.testing.assert_array_equal(est.domain_topic_, again.domain_topic_)
    # the function form gives the same factors for the same scikit-learn seed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        P, A = reference_nmf(planted.corpus.counts, 4, random_state=5)
    np.testing.assert_allclose(P.sum(1), 1.0)
    np.testing.assert_allclose(A.sum(1), 1.0)
    assert np.isfinite(prior_l1(planted.domain_topic, est.domain_topic_))


@pytest.mark.parametrize("prior", [0.0, -1.0])
def test_kl_from_truth_stays_near_truth(planted, prior):
    # both maximum likelihood and the sparse MAP keep a start at the truth near it
    est = NMFSolver(4, init=lambda c, k, r: (planted.domain_topic, planted.topic_word),
                    topic_word_prior=prior).fit(planted.corpus)
    assert prior_l1(planted.domain_topic, est.domain_topic_) <= 3 * oracle_l1(planted)
    assert est.converged_


def test_restarts_keep_best_likelihood(easy):
    est = NMFSolver(3, init="random", n_restarts=3, topic_word_prior=0.0,
                    random_state=2).fit(easy.corpus)
    assert est.restart_objectives_.shape == (3,)
    assert est.log_likelihood_ == pytest.approx(est.restart_objectives_.max(), abs=1e-9)


def test_same_seed_same_result_and_clone(easy):
    a = NMFSolver(3, init="random", random_state=7).fit(easy.corpus)
    b = clone(a).fit(easy.corpus)
    np.testing.assert_array_equal(a.domain_topic_, b.domain_topic_)
    assert b.get_params()["init"] == "random"


def test_convergence_warning_names_max_iter(easy):
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        est = NMFSolver(3, init="random", max_iter=3, tol=1e-12, random_state=0).fit(easy.corpus)
    assert est.n_iter_ == 3 and not est.converged_


def test_callable_init_and_population_fixed_point():
    prob = make_discrete_lls(n_topics=3, n_words=30, n_domains=8, n_per_domain=10,
                             alpha=1.0, anchor_mass=0.3, random_state=0)
    N = np.round(population_counts(prob.domain_topic, prob.topic_word, 1e6))

    def truth_init(counts, k, rng):
        return prob.domain_topic, prob.topic_word

    est = NMFSolver(3, init=truth_init, random_state=0).fit(N)
    # population counts: the truth is (up to rounding) a fixed point of EM
    assert prior_l1(prob.domain_topic, est.domain_topic_) < 1e-3


@pytest.mark.parametrize("kwargs, match", [
    (dict(loss="itakura"), "loss"),
    (dict(init="svd"), "init"),
    (dict(n_restarts=0), "n_restarts"),
    (dict(max_iter=0), "max_iter"),
    (dict(tol=-1.0), "tol"),
    (dict(topic_word_prior=-2.0), "topic_word_prior"),
    (dict(init=lambda c, k, rng: (np.ones((2, 2)), np.ones((2, 2)))), "init returned shapes"),
])
def test_bad_parameters(easy, kwargs, match):
    with pytest.raises(ValueError, match=match):
        NMFSolver(3, **kwargs).fit(easy.corpus)


def test_bad_counts():
    with pytest.raises(ValueError):
        NMFSolver(2, init="random").fit(np.array([[1.0, -1.0], [2.0, 3.0]]))
    with pytest.raises(ValueError, match="n_topics"):
        NMFSolver(5, init="random").fit(np.ones((3, 10)))
