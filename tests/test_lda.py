import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from lls_topics.datasets import make_discrete_lls, population_counts
from lls_topics.metrics import prior_l1
from lls_topics.solvers.lda import LDASolver
from lls_topics.solvers.nmf import NMFSolver

from helpers import check_normalized, oracle_l1


@pytest.fixture(scope="module")
def planted():
    return make_discrete_lls(n_topics=4, n_words=80, n_domains=12, n_per_domain=4000,
                             alpha=1.0, max_condition=8, anchor_mass=0.1, random_state=3)


def test_lda_anchor_seeded_recovers_planted(planted):
    est = LDASolver(4, random_state=0).fit(planted.corpus)
    check_normalized(est, 12, 4, 80)
    assert prior_l1(planted.domain_topic, est.domain_topic_) <= 3 * oracle_l1(planted)


def test_lda_seeded_from_callable_recovers_planted(planted):
    # a start that blurs the true topics but keeps their zeros, as the anchor start does
    rng = np.random.default_rng(0)
    A0 = planted.topic_word
    blurred = np.where(A0 > 0, 0.7 * A0 + 0.3 * rng.dirichlet(np.ones(80), size=4), 0.0)

    def init(counts, k, r):
        return np.full((counts.shape[0], k), 1 / k), blurred

    est = LDASolver(4, init=init, random_state=0).fit(planted.corpus)
    check_normalized(est, 12, 4, 80)
    assert prior_l1(planted.domain_topic, est.domain_topic_) <= 3 * oracle_l1(planted)
    again = LDASolver(4, init=init, random_state=0).fit(planted.corpus)
    np.testing.assert_allclose(est.domain_topic_, again.domain_topic_)


def test_gensim_own_start_runs(planted):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it may not converge nor identify: see module notes
        est = LDASolver(4, init="gensim", passes=5, random_state=0).fit(planted.corpus)
    check_normalized(est, 12, 4, 80)


def test_multicore_runs(planted):
    est = LDASolver(4, init="nndsvda", workers=2, passes=3, random_state=0).fit(planted.corpus)
    check_normalized(est, 12, 4, 80)
    assert est.n_iter_ == 3


def test_convergence_warning_names_passes(planted):
    with pytest.warns(ConvergenceWarning, match="passes"):
        est = LDASolver(4, init="nndsvda", passes=2, tol=1e-12, random_state=0).fit(
            planted.corpus)
    assert not est.converged_


def test_solvers_agree_on_population_data():
    from lls_topics.solvers.anchor import AnchorSolver

    prob = make_discrete_lls(n_topics=3, n_words=40, n_domains=8, n_per_domain=10,
                             alpha=1.0, anchor_mass=0.2, random_state=4)
    # LDA wants counts: a large population scale makes the rounding negligible
    N = np.round(population_counts(prob.domain_topic, prob.topic_word, 1e6))
    fits = [AnchorSolver(3, random_state=0).fit(N), NMFSolver(3, random_state=0).fit(N),
            LDASolver(3, random_state=0).fit(N)]
    for est in fits:
        assert prior_l1(prob.domain_topic, est.domain_topic_) < 0.05
    for a in fits:
        for b in fits:
            assert prior_l1(a.domain_topic_, b.domain_topic_) < 0.05


@pytest.mark.parametrize("kwargs, match", [
    (dict(backend="tomotopy"), "backend"),
    (dict(init="svd"), "init"),
    (dict(passes=0), "passes"),
    (dict(iterations=0), "iterations"),
    (dict(workers=0), "workers"),
    (dict(tol=-1.0), "tol"),
    (dict(alpha=-0.1), "alpha"),
    (dict(topic_word_prior=0.0), "topic_word_prior"),
])
def test_bad_parameters(planted, kwargs, match):
    with pytest.raises(ValueError, match=match):
        LDASolver(4, **kwargs).fit(planted.corpus)


def test_bad_counts():
    with pytest.raises(ValueError):
        LDASolver(2).fit(np.array([[1.0, np.nan], [2.0, 3.0]]))
