import numpy as np
import pytest
import scipy.sparse as sp

from lls_topics import AnchorSolver, make_discrete_lls, select_n_topics
from lls_topics.selection import anchor_residual_curve, split_counts


@pytest.fixture(scope="module")
def planted3():
    return make_discrete_lls(n_topics=3, n_words=100, n_domains=10, n_per_domain=3000,
                             random_state=0)


@pytest.fixture(scope="module")
def selected(planted3):
    return select_n_topics(planted3.corpus, range(2, 7), cv=3, random_state=0)


def test_selects_true_k_on_planted_problem(selected):
    assert selected.best_ == 3
    assert selected.best_by_likelihood_ == 3
    np.testing.assert_array_equal(selected.candidates_, np.arange(2, 7))
    assert selected.scores_.shape == selected.residuals_.shape == (5,)
    # the likelihood falls off on both sides of the truth, by more than its noise
    i = 1
    assert selected.scores_[i] - selected.scores_[0] > 2 * selected.score_se_[0]
    assert np.all(selected.scores_[i + 1:] < selected.scores_[i])
    assert selected.score_se_[i] == 0 and np.all(selected.score_se_ >= 0)
    assert 3 in selected.near_ties_


def test_residual_curve_drops_after_last_vertex(planted3):
    res = anchor_residual_curve(planted3.corpus.counts, 5)
    assert res.shape == (5,)
    assert res[2] / res[3] > 2 * max(res[1] / res[2], res[3] / res[4])


def test_same_seed_same_result(planted3, selected):
    again = select_n_topics(planted3.corpus, range(2, 7), cv=3, random_state=0)
    np.testing.assert_array_equal(again.scores_, selected.scores_)
    assert again.best_ == selected.best_


def test_solver_instance_and_capped_candidates(planted3):
    counts = planted3.corpus.counts[:4]
    res = select_n_topics(counts, [2, 3, 9, 40], solver=AnchorSolver(2, refine="none"), cv=2,
                          random_state=1)
    np.testing.assert_array_equal(res.candidates_, [2, 3])   # k above 4 domains dropped
    assert res.best_ in (2, 3)


def test_split_counts_partitions_every_domain(planted3):
    counts = planted3.corpus.counts
    folds = split_counts(counts, 4, random_state=0)
    assert len(folds) == 4
    total = sum(folds)
    assert (abs(total - counts)).sum() == 0
    sizes = np.asarray(counts.sum(axis=1)).ravel()
    share = np.asarray(folds[0].sum(axis=1)).ravel() / sizes
    assert np.all(np.abs(share - 0.25) < 0.05)


def test_bad_input_names_the_argument(planted3):
    with pytest.raises(ValueError, match="whole-number"):
        select_n_topics(sp.csr_matrix(planted3.corpus.counts * 0.5), range(2, 4))
    with pytest.raises(ValueError, match="candidates"):
        select_n_topics(planted3.corpus, [50, 60])
    with pytest.raises(ValueError, match="cv"):
        select_n_topics(planted3.corpus, range(2, 4), cv=1)
