import warnings

import numpy as np
import pytest

from lls_topics import AnchorSolver, IdentifiabilityWarning, make_discrete_lls
from lls_topics.datasets import draw_domain_priors
from lls_topics.diagnostics import identifiability_diagnostics


def _shared_column_counts(seed, k=5, n=5000, D=20, V=200):
    """Labels 1 and 3 share one p_d(y) column (half of it each)."""
    rng = np.random.default_rng(seed)
    A = make_discrete_lls(n_topics=k, n_words=V, n_domains=D, random_state=seed).topic_word
    P = draw_domain_priors(D, k - 1, 3.0, 8.0, rng)
    full = np.insert(P, 3, 0.0, axis=1)
    full[:, 1] /= 2
    full[:, 3] = full[:, 1]
    return rng.multinomial(n, full @ A), full


def test_shared_column_warns_naming_a_pair():
    counts, full = _shared_column_counts(0)
    with pytest.warns(IdentifiabilityWarning, match=r"labels \d and \d shift together") as rec:
        solver = AnchorSolver(5, random_state=0).fit(counts)
    diag = solver.diagnostics()
    (a, b), r = diag["collinear_pairs"][0]["labels"], diag["collinear_pairs"][0]["correlation"]
    assert r > 0.65
    assert any(f"labels {a} and {b}" in str(w.message) and "lower n_topics" in str(w.message)
               for w in rec)
    # the named pair follows the shared column of the truth
    corr = [np.corrcoef(solver.domain_topic_[:, j], full[:, 1])[0, 1] for j in (a, b)]
    assert max(corr) > 0.8


def test_planted_problem_has_no_warning_and_strong_anchors():
    prob = make_discrete_lls(random_state=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", IdentifiabilityWarning)
        solver = AnchorSolver(5, random_state=0).fit(prob.corpus)
    diag = solver.diagnostics()
    assert diag["warnings"] == [] and diag["collinear_pairs"] == []
    assert diag["anchor_strength"].shape == (5,) and np.all(diag["anchor_strength"] > 0.9)
    assert np.all(diag["n_near_anchors"] >= 1)
    assert 1 <= diag["condition_number"] < 50
    assert len(set(diag["anchor_input"].tolist())) == 5


def test_no_anchor_and_ill_conditioning_are_reported():
    P = np.array([[0.4, 0.3, 0.3], [0.4, 0.3 + 1e-7, 0.3 - 1e-7], [0.2, 0.4, 0.4]])
    A = np.array([[0.5, 0.5, 0.0]] * 3)           # every label emits the same inputs
    diag = identifiability_diagnostics(P, A, [1000, 1000, 1000])
    text = " ".join(diag["warnings"])
    assert all(f"label {y} has no anchor" in text for y in range(3))
    np.testing.assert_allclose(diag["anchor_strength"], [1 / 3] * 3, rtol=0.2)
    assert "labels 1 and 2 shift together" in text
    assert "condition number" in text and diag["condition_number"] > 1e4


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="share"):
        identifiability_diagnostics(np.ones((3, 2)) / 2, np.ones((3, 4)) / 4, 10)
