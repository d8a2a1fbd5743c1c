"""Assertions shared by the solver tests."""
import numpy as np

from lls_topics.solvers.em import fit_domain_topic
from lls_topics.metrics import prior_l1


def oracle_l1(prob):
    """L1(P) of the oracle (true p(x|y), p_d(y) by maximum likelihood) on a planted problem."""
    return prior_l1(prob.domain_topic, fit_domain_topic(prob.corpus.counts, prob.topic_word))


def check_normalized(est, D, k, V):
    """Fitted factors have the right shapes, are non-negative and their rows sum to 1."""
    assert est.domain_topic_.shape == (D, k)
    assert est.topic_word_.shape == (k, V)
    np.testing.assert_allclose(est.domain_topic_.sum(1), 1.0)
    np.testing.assert_allclose(est.topic_word_.sum(1), 1.0)
    assert est.domain_topic_.min() >= 0 and est.topic_word_.min() >= 0
