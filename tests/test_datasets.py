import numpy as np
import pytest

from lls_topics.datasets import (DISCRETE_SETTINGS, load_digits_lls, make_discrete_lls,
                                 population_counts)


def test_discrete_generator_follows_protocol():
    prob = make_discrete_lls(**DISCRETE_SETTINGS["small-a3"], random_state=0)
    tokens, domains, labels, P, A = prob
    assert P.shape == (20, 5) and A.shape == (5, 200)
    np.testing.assert_allclose(P.sum(1), 1)
    np.testing.assert_allclose(A.sum(1), 1)
    assert np.linalg.cond(P) <= 8
    assert tokens.shape == domains.shape == labels.shape == (100000,)
    anchors = prob.anchors
    assert all(len(a) == 2 for a in anchors)
    for y, a in enumerate(anchors):
        np.testing.assert_allclose(A[y, a], 0.025)
    # anchors are shuffled, not the first columns
    assert sorted(np.concatenate(anchors).tolist()) != list(range(10))


def test_generator_is_deterministic():
    a = make_discrete_lls(n_per_domain=100, random_state=5)
    b = make_discrete_lls(n_per_domain=100, random_state=5)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_empirical_priors_converge():
    errs = []
    for n in (200, 2000, 20000):
        prob = make_discrete_lls(n_per_domain=n, random_state=1)
        emp = np.stack([np.bincount(prob.labels[prob.domains == d], minlength=5) / n
                        for d in range(20)])
        errs.append(np.abs(emp - prob.domain_topic).mean())
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 0.005


def test_population_counts():
    prob = make_discrete_lls(n_per_domain=10, random_state=2)
    N = population_counts(prob.domain_topic, prob.topic_word, 1000.0)
    np.testing.assert_allclose(N.sum(1), 1000.0)


@pytest.mark.parametrize("unequal", [False, True])
def test_digits_semisynthetic(unequal):
    b = load_digits_lls(n_domains=20, alpha=3, max_condition=4, unequal_sizes=unequal,
                        random_state=0)
    assert b.domain_topic.shape == (20, 10)
    n = len(b.y_train) + len(b.y_val) + len(b.y_test)
    assert abs(len(b.y_train) / n - 0.6) < 0.01
    d = np.concatenate([b.d_train, b.d_val, b.d_test])
    y = np.concatenate([b.y_train, b.y_val, b.y_test])
    counts = np.zeros((20, 10))
    np.add.at(counts, (d, y), 1)
    np.testing.assert_array_equal(counts.sum(1), b.domain_sizes)
    emp = counts / counts.sum(1, keepdims=True)
    # flooring each cell moves a domain's mix by less than k / n_d
    assert np.all(np.abs(emp - b.domain_topic).max(1) < 10 / counts.sum(1))
    if unequal:
        assert b.domain_sizes.max() / b.domain_sizes.min() > 1.5


def test_generator_bad_input():
    with pytest.raises(ValueError, match="n_words"):
        make_discrete_lls(n_topics=5, n_words=10, n_anchors=2)
    with pytest.raises(ValueError, match="alpha"):
        make_discrete_lls(alpha=0)
