import numpy as np
import pytest

from lls_topics.metrics import (align_labels, matched_accuracy, prior_l1, prior_l1_per_entry,
                                topic_l1)


def test_metrics_invariant_to_label_permutation():
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(4), size=12)
    Q = np.clip(P + rng.normal(0, 0.02, P.shape), 0, None)
    Q /= Q.sum(1, keepdims=True)
    perm = rng.permutation(4)
    assert prior_l1(P, Q[:, perm]) == pytest.approx(prior_l1(P, Q))
    assert prior_l1(P, P[:, perm]) == pytest.approx(0.0)
    np.testing.assert_array_equal(P[:, perm][:, align_labels(P, P[:, perm])], P)
    assert prior_l1_per_entry(P, Q) == pytest.approx(prior_l1(P, Q) / P.size)
    A = rng.dirichlet(np.ones(30), size=4)
    assert topic_l1(A, A[perm]) == pytest.approx(0.0)


def test_prior_l1_value():
    P = np.array([[1.0, 0.0], [0.0, 1.0]])
    Q = np.array([[0.1, 0.9], [0.8, 0.2]])  # swapped labels
    assert prior_l1(P, Q) == pytest.approx(0.1 + 0.1 + 0.2 + 0.2)


def test_matched_accuracy_invariant_to_relabeling():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 5, 1000)
    pred = np.where(rng.random(1000) < 0.8, y, rng.integers(0, 5, 1000))
    relabel = np.array([3, 0, 4, 1, 2])
    assert matched_accuracy(y, relabel[pred]) == pytest.approx(matched_accuracy(y, pred))
    assert matched_accuracy(y, relabel[y]) == 1.0


@pytest.mark.parametrize("call", [
    lambda: prior_l1(np.ones((2, 2)) / 2, np.ones((3, 2)) / 2),
    lambda: prior_l1([[np.nan, 1]], [[0.5, 0.5]]),
    lambda: matched_accuracy([0, 1], [0]),
    lambda: topic_l1(np.ones((2, 3)) / 3, np.ones((2, 4)) / 4),
])
def test_metrics_bad_input(call):
    with pytest.raises(ValueError):
        call()
