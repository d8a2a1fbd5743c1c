import numpy as np
import pytest

from lls_topics.datasets import (DISCRETE_SETTINGS, load_digits_lls, make_continuous_lls,
                                 make_discrete_lls, make_semisynthetic_lls,
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


def test_continuous_family_shapes_and_determinism():
    X, y, params = make_continuous_lls(600, random_state=3, return_params=True)
    k, p = params["n_classes"], params["n_features"]
    assert k in (5, 10, 20) and 8 <= p <= 128
    assert X.shape == (600, p) and X.dtype == np.float32 and y.shape == (600,)
    np.testing.assert_array_equal(np.bincount(y), np.full(k, 600 // k))
    np.testing.assert_allclose(X.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(X.std(0), 1, atol=1e-3)
    X2, y2 = make_continuous_lls(600, random_state=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = make_continuous_lls(600, random_state=4)
    assert X3.shape != X.shape or not np.allclose(X3, X)
    # fixing k or the dimension leaves the seed's other draws alone
    _, _, fixed = make_continuous_lls(600, n_classes=5, n_features=16, random_state=3,
                                      return_params=True)
    assert fixed["n_classes"] == 5 and fixed["n_features"] == 16
    assert fixed["separation"] == params["separation"]
    assert fixed["widths"] == params["widths"]


def test_continuous_family_difficulty_varies_and_is_learnable():
    from sklearn.linear_model import LogisticRegression

    ks, acc = [], []
    for seed in range(8):
        X, y, params = make_continuous_lls(1500, random_state=seed, return_params=True)
        ks.append(params["n_classes"])
        clf = LogisticRegression(max_iter=200).fit(X[:1000], y[:1000])
        acc.append(clf.score(X[1000:], y[1000:]))
    assert len(set(ks)) >= 2
    acc = np.array(acc)
    assert np.all(acc * np.array(ks) > 2)  # every draw is learnable: > twice chance
    assert np.median(acc) < 0.95  # a typical draw is not solved by a classifier
    assert acc.max() - acc.min() > 0.2  # and the difficulty varies with the seed


def test_continuous_family_through_semisynthetic():
    X, y = make_continuous_lls(2000, n_classes=5, random_state=0)
    b = make_semisynthetic_lls(X, y, 10, 3.0, 12.0, unequal_sizes=True, size_ratio=10,
                               random_state=0)
    assert b.domain_topic.shape == (10, 5) and b.X_train.shape[1] == X.shape[1]
    assert b.domain_sizes.max() / b.domain_sizes.min() > 4


def test_continuous_family_bad_input():
    with pytest.raises(ValueError, match="n_samples"):
        make_continuous_lls(0)
    with pytest.raises(ValueError, match="n_samples"):
        make_continuous_lls(30, n_classes=20)
    with pytest.raises(ValueError, match="n_classes"):
        make_continuous_lls(100, n_classes=1)
    with pytest.raises(ValueError, match="n_features"):
        make_continuous_lls(100, n_features=0)
    with pytest.raises(ValueError, match="size_ratio"):
        make_semisynthetic_lls(np.zeros((20, 2)), np.arange(20) % 2, 2, 3.0, None,
                               unequal_sizes=True, size_ratio=0.5)
