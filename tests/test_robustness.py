"""Bad input, degenerate data, determinism and numerical safety of every entry point."""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

from lls_topics import AnchorSolver, DomainCorpus, IdentifiabilityWarning, LDASolver, NMFSolver
from lls_topics.datasets import make_discrete_lls

SOLVERS = [
    pytest.param(lambda k: AnchorSolver(k, random_state=0), id="anchor"),
    pytest.param(lambda k: AnchorSolver(k, refine="collapsed", random_state=0),
                 id="anchor-collapsed"),
    pytest.param(lambda k: NMFSolver(k, random_state=0), id="nmf"),
    pytest.param(lambda k: NMFSolver(k, loss="frobenius", init="nndsvda", random_state=0),
                 id="nmf-frobenius"),
    pytest.param(lambda k: LDASolver(k, passes=5, random_state=0), id="lda",
                 marks=pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")),
]


@pytest.fixture(scope="module")
def planted():
    return make_discrete_lls(n_per_domain=300, random_state=0)


def _assert_valid_fit(s, D, V, k):
    assert s.domain_topic_.shape == (D, k) and s.topic_word_.shape == (k, V)
    for M in (s.domain_topic_, s.topic_word_):
        assert np.all(np.isfinite(M)) and M.min() >= 0
        np.testing.assert_allclose(M.sum(1), 1, atol=1e-9)


# ------------------------------------------------------------------ property-based
count_matrices = st.tuples(st.integers(2, 8), st.integers(3, 30), st.integers(0, 10**6)).map(
    lambda t: np.random.default_rng(t[2]).poisson(
        np.random.default_rng(t[2]).gamma(0.5, 4, size=(t[0], t[1]))))


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(count_matrices)
def test_corpus_properties(M):
    if M.sum() == 0:
        with pytest.raises(ValueError, match="counts"):
            DomainCorpus(M)
        return
    C = DomainCorpus(M)
    assert C.counts.shape == M.shape
    np.testing.assert_array_equal(C.counts.toarray(), M)
    np.testing.assert_array_equal(C.domain_sizes, M.sum(1))
    back = DomainCorpus.from_gensim(C.to_gensim(), C.n_words)
    np.testing.assert_array_equal(back.counts.toarray(), M)


@pytest.mark.parametrize("make", SOLVERS)
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(M=count_matrices, k=st.integers(1, 4))
# an exact rank-2 fit: scikit-learn's sparse Frobenius error rounded below zero (found by
# hypothesis on a fresh install; it raised a RuntimeWarning from a square root)
@example(M=np.array([[0, 3, 1, 0, 0, 2, 0, 1], [16, 0, 0, 8, 0, 3, 0, 0]]), k=2)
def test_solver_outputs_finite_and_normalized(make, M, k):
    D_nonempty = int((M.sum(1) > 0).sum())
    V_used = int((M.sum(0) > 0).sum())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # empty-domain and identifiability notes
        if M.sum() == 0:
            with pytest.raises(ValueError):
                make(k).fit(M)
            return
        if k > D_nonempty or k > V_used:
            with pytest.raises(ValueError, match="n_topics"):
                make(k).fit(M)
            return
        s = make(k).fit(M)
    _assert_valid_fit(s, D_nonempty, M.shape[1], k)


# ------------------------------------------------------------------ degenerate data
@pytest.mark.parametrize("make", SOLVERS)
@pytest.mark.parametrize("case", ["k1", "D_equals_k", "int64_big", "float32", "one_sample",
                                  "unseen_inputs", "sparse_input"])
def test_degenerate_but_legal(make, case, planted):
    N = planted.corpus.counts.toarray()
    k = 5
    if case == "k1":
        k = 1
    elif case == "D_equals_k":
        N = N[:5]
    elif case == "int64_big":
        N = N.astype(np.int64) * 2**31  # counts near 2^40
    elif case == "float32":
        N = N.astype(np.float32)
    elif case == "one_sample":
        N, k = np.eye(6, 40, dtype=np.int64), 3
    elif case == "unseen_inputs":
        N = np.hstack([N, np.zeros((N.shape[0], 7), dtype=N.dtype)])
    elif case == "sparse_input":
        N = sp.csc_matrix(N)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        s = make(k).fit(N)
    _assert_valid_fit(s, N.shape[0], N.shape[1], k)
    if case == "unseen_inputs":
        # at most a prior's worth of mass (LDA's topic_word_prior) on inputs never seen
        assert np.all(s.topic_word_[:, -7:].sum(1) < 0.01)
        proba = s.predict_proba([N.shape[1] - 1], [0])
        np.testing.assert_allclose(proba.sum(1), 1)
        if np.all(s.topic_word_[:, -7:] == 0):  # no evidence: the domain's prior
            np.testing.assert_allclose(proba[0], s.domain_topic_[0])


@pytest.mark.parametrize("make", SOLVERS)
def test_collinear_domains_warn_with_condition_number(make, planted):
    N = planted.corpus.counts.toarray()
    dup = np.vstack([N[:3], N[:3]])
    with pytest.warns(IdentifiabilityWarning, match="condition number"):
        make(5).fit(dup)


@pytest.mark.parametrize("make", SOLVERS)
def test_empty_domain_dropped_and_named(make, planted):
    N = planted.corpus.counts.toarray()
    N[4] = 0
    ids = [f"dom{i}" for i in range(20)]
    with pytest.warns(UserWarning, match="dom4"):
        s = make(5).fit(DomainCorpus(sp.csr_matrix(N), domain_ids=ids))
    assert "dom4" not in s.domain_ids_.tolist() and len(s.domain_ids_) == 19
    with pytest.raises(ValueError, match="domains.*dom4"):
        s.predict_proba([0], ["dom4"])
    # dropping the empty row must leave the same problem as never having it: same
    # factors, and each kept domain's row still holds that domain's estimate
    keep = [i for i in range(20) if i != 4]
    ref = make(5).fit(DomainCorpus(sp.csr_matrix(N[keep]), domain_ids=[ids[i] for i in keep]))
    assert s.domain_ids_.tolist() == ref.domain_ids_.tolist()
    np.testing.assert_allclose(s.domain_sizes_, N[keep].sum(1))
    np.testing.assert_allclose(s.domain_topic_, ref.domain_topic_, atol=1e-8)
    np.testing.assert_allclose(s.topic_word_, ref.topic_word_, atol=1e-8)


# ------------------------------------------------------------------ determinism
@pytest.mark.parametrize("make", SOLVERS)
def test_bit_identical_refits(make, planted):
    a, b = make(5).fit(planted.corpus), make(5).fit(planted.corpus)
    assert np.array_equal(a.domain_topic_, b.domain_topic_)
    assert np.array_equal(a.topic_word_, b.topic_word_)


def test_no_global_state_changed(planted):
    before_err = np.geterr()
    before_rng = np.random.get_state()[1].copy()
    AnchorSolver(5, random_state=3).fit(planted.corpus)
    assert np.geterr() == before_err
    assert np.array_equal(np.random.get_state()[1], before_rng)


# ------------------------------------------------------------------ bad input table
def _fitted(planted):
    return AnchorSolver(5).fit(planted.corpus)


BAD_INPUTS = [
    # (call, exception, words the message must contain)
    (lambda p: DomainCorpus.from_tokens([0, 1, 2], [0, 1]), ValueError, ["tokens", "domains"]),
    (lambda p: DomainCorpus.from_tokens([0, -3], [0, 1]), ValueError, ["tokens", "negative"]),
    (lambda p: DomainCorpus.from_tokens([0, 1.5], [0, 1]), ValueError, ["tokens", "integer"]),
    (lambda p: DomainCorpus.from_tokens([0, np.nan], [0, 1]), ValueError, ["tokens", "NaN"]),
    (lambda p: DomainCorpus.from_tokens([], []), ValueError, ["tokens", "empty"]),
    (lambda p: DomainCorpus.from_tokens([0, 9], [0, 1], n_words=4), ValueError, ["n_words"]),
    (lambda p: DomainCorpus([[1, -2]]), ValueError, ["counts", "negative"]),
    (lambda p: DomainCorpus([[1, 0.5]]), ValueError, ["counts", "fractional"]),
    (lambda p: DomainCorpus([[1, np.inf]]), ValueError, ["counts", "infinite"]),
    (lambda p: DomainCorpus(np.zeros((0, 0))), ValueError, ["counts", "empty"]),
    (lambda p: DomainCorpus([[1, 2]], domain_ids=["a", "b"]), ValueError, ["domain_ids"]),
    (lambda p: DomainCorpus([[1, 2]], vocabulary=["a"]), ValueError, ["vocabulary"]),
    (lambda p: AnchorSolver(0).fit(p.corpus), ValueError, ["n_topics", ">= 1"]),
    (lambda p: AnchorSolver(21).fit(p.corpus), ValueError, ["n_topics", "identifiable"]),
    (lambda p: AnchorSolver("3").fit(p.corpus), TypeError, ["n_topics"]),
    (lambda p: AnchorSolver(5).fit([[1, -1]] * 6), ValueError, ["X", "negative"]),
    (lambda p: AnchorSolver(5).fit([[1, np.nan]] * 6), ValueError, ["X", "NaN"]),
    (lambda p: AnchorSolver(5).fit(np.ones((6, 3, 2))), ValueError, ["X", "2-D"]),
    (lambda p: AnchorSolver(5, method="xyz").fit(p.corpus), ValueError, ["method"]),
    (lambda p: AnchorSolver(5, refine="xyz").fit(p.corpus), ValueError, ["refine"]),
    (lambda p: AnchorSolver(5, topic_word_prior=-1).fit(p.corpus), ValueError, ["topic_word_prior"]),
    (lambda p: AnchorSolver(5).predict([0], [0]), NotFittedError, ["AnchorSolver"]),
    (lambda p: _fitted(p).predict_proba([0, 10**6], [0, 0]), ValueError, ["tokens",
                                                                         "vocabulary"]),
    (lambda p: _fitted(p).predict_proba([0, -1], [0, 0]), ValueError, ["tokens", "negative"]),
    (lambda p: _fitted(p).predict_proba([0, 1], [0, 99]), ValueError, ["domains", "99"]),
    (lambda p: _fitted(p).predict_proba([0, 1], [0, 1, 2]), ValueError, ["tokens", "domains"]),
    (lambda p: _fitted(p).transform(np.ones((2, 3))), ValueError, ["X", "inputs"]),
    (lambda p: NMFSolver(21).fit(p.corpus), ValueError, ["n_topics", "identifiable"]),
    (lambda p: NMFSolver(5, loss="xyz").fit(p.corpus), ValueError, ["loss"]),
    (lambda p: NMFSolver(5, init="xyz").fit(p.corpus), ValueError, ["init"]),
    (lambda p: NMFSolver(5, max_iter=0).fit(p.corpus), ValueError, ["max_iter"]),
    (lambda p: NMFSolver(5).predict_proba([0], [0]), NotFittedError, ["NMFSolver"]),
    (lambda p: NMFSolver(5).fit([[1, -1]] * 6), ValueError, ["X", "negative"]),
    (lambda p: LDASolver(21).fit(p.corpus), ValueError, ["n_topics", "identifiable"]),
    (lambda p: LDASolver(5, backend="xyz").fit(p.corpus), ValueError, ["backend"]),
    (lambda p: LDASolver(5, passes=0).fit(p.corpus), ValueError, ["passes"]),
    (lambda p: LDASolver(5).predict([0], [0]), NotFittedError, ["LDASolver"]),
    (lambda p: LDASolver(5).fit([[np.nan, 1]] * 6), ValueError, ["X", "NaN"]),
]


@pytest.mark.parametrize("call, exc, words", BAD_INPUTS)
def test_bad_input_table(call, exc, words, planted):
    with pytest.raises(exc) as info:
        call(planted)
    msg = str(info.value)
    for w in words:
        assert w in msg, f"{w!r} not in {msg!r}"
