
import numpy as np
import pytest

from lls_topics.comparison import align_to_truth, compare
from lls_topics.datasets import make_discrete_lls
from lls_topics.solvers.lda import LDASolver
from lls_topics.solvers.nmf import NMFSolver


@pytest.fixture(scope="module")
def tiny():
    return make_discrete_lls(n_topics=3, n_words=40, n_domains=8, n_per_domain=2000,
                             alpha=1.0, anchor_mass=0.2, random_state=0)


def _rows(table):
    return table.to_dict("records") if hasattr(table, "to_dict") else table


def _solvers():
    return ("anchor", "nmf", ("lda-nndsvda", LDASolver(3, init="nndsvda", random_state=0)),
            "nmf-reference")


def test_compare_end_to_end_with_truth(tiny):
    table, fitted = compare(tiny, solvers=_solvers(), return_fitted=True)
    rows = _rows(table)
    assert rows[0]["solver"] == "oracle" and rows[0]["oracle_ratio"] == 1.0
    assert [r["solver"] for r in rows[1:]] == list(fitted)
    oracle = rows[0]["l1_P"]
    for r in rows:
        assert r["fit_seconds"] >= 0
        assert np.isfinite(r["log_likelihood"]) and r["log_likelihood"] < 0
        assert r["l1_P"] == pytest.approx(r["oracle_ratio"] * oracle)
        assert r["l1_P_per_entry"] == pytest.approx(r["l1_P"] / tiny.domain_topic.size)
        assert 1 / 3 <= r["matched_accuracy"] <= 1
        assert r["topic_l1"] >= 0
    # the oracle's accuracy is the Bayes limit: nobody beats it by more than noise
    assert max(r["matched_accuracy"] for r in rows) <= rows[0]["matched_accuracy"] + 0.01
    anchor_row = rows[1]
    assert anchor_row["solver"] == "anchor"
    assert anchor_row["anchor_residual_first"] >= anchor_row["anchor_residual_last"] > 0
    assert np.isnan(rows[2]["anchor_residual_first"])
    est = fitted[rows[1]["solver"]]
    aligned = align_to_truth(est.domain_topic_, tiny.domain_topic)
    assert np.abs(aligned - tiny.domain_topic).sum() == pytest.approx(rows[1]["l1_P"])


def test_compare_on_counts_without_truth(tiny):
    rows = _rows(compare(tiny.corpus.counts, solvers=[NMFSolver(3, init="random")],
                         n_topics=3))
    assert len(rows) == 1 and rows[0]["solver"] == "NMFSolver"
    assert np.isnan(rows[0]["l1_P"]) and np.isfinite(rows[0]["log_likelihood"])


def test_compare_with_dict_truth(tiny):
    truth = {"domain_topic": tiny.domain_topic}
    rows = _rows(compare(tiny.corpus, solvers=["nmf-reference"], truth=truth))
    assert len(rows) == 1 and np.isfinite(rows[0]["l1_P"]) and np.isnan(rows[0]["oracle_ratio"])


def test_compare_bad_input(tiny):
    with pytest.raises(ValueError, match="unknown solver"):
        compare(tiny, solvers=["svd"])
    with pytest.raises(ValueError, match="n_topics"):
        compare(tiny.corpus, solvers=["nmf"])
    with pytest.raises(ValueError, match="domain_topic"):
        compare(tiny.corpus, solvers=["nmf"], truth={"domain_topic": np.ones((2, 3)) / 3})
    with pytest.raises(ValueError, match="unique"):
        compare(tiny, solvers=["nmf", "nmf"])
    with pytest.raises(ValueError, match="truth"):
        compare(tiny.corpus, solvers=["nmf"], truth=[1, 2])
