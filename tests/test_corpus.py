from collections import Counter

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from lls_topics import DomainCorpus


def naive_counts(tokens, rows, D, V):
    M = np.zeros((D, V), dtype=np.int64)
    for t, r in zip(tokens, rows):
        M[r, t] += 1
    return M


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_counts_match_naive_loop(seed):
    rng = np.random.default_rng(seed)
    n, V = 3000, 57
    tokens = rng.integers(0, V, n)
    names = np.array(["north", "south", "east", "west", "x9"])
    domains = names[rng.integers(0, len(names), n)]
    C = DomainCorpus.from_tokens(tokens, domains, n_words=V + 3)
    assert C.counts.shape == (5, V + 3)
    rows = C.domain_index(domains)
    np.testing.assert_array_equal(C.counts.toarray(), naive_counts(tokens, rows, 5, V + 3))
    assert list(C.domain_ids) == sorted(names.tolist())
    assert C.domain_sizes.sum() == n
    np.testing.assert_array_equal(C.word_counts[:V], np.bincount(tokens, minlength=V))


def test_sparse_path_matches_naive():
    rng = np.random.default_rng(3)
    n, V = 500, 100000  # D*V large: takes the coo path
    tokens = rng.integers(0, V, n)
    domains = rng.integers(0, 90, n) * 7  # non-contiguous ids
    C = DomainCorpus.from_tokens(tokens, domains)
    rows = C.domain_index(domains)
    dense = naive_counts(tokens, rows, C.n_domains, C.n_words)
    np.testing.assert_array_equal(C.counts.toarray(), dense)
    assert C.domain_ids[0] == domains.min()


def test_mixed_unorderable_ids_keep_first_appearance():
    C = DomainCorpus.from_tokens([0, 1, 1, 2], ["a", 3, "a", (1, 2)])
    assert C.domain_ids.tolist() == ["a", 3, (1, 2)]
    np.testing.assert_array_equal(C.counts.toarray(), [[1, 1, 0], [0, 1, 0], [0, 0, 1]])


def test_gensim_round_trip():
    from gensim.corpora import Dictionary
    from gensim.test.utils import common_texts

    dct = Dictionary(common_texts)
    bow = [dct.doc2bow(t) for t in common_texts]
    C = DomainCorpus.from_gensim(bow, len(dct), vocabulary=dct)
    assert C.n_domains == len(common_texts) and C.n_words == len(dct)
    assert C.vocabulary[0] == dct[0]
    back = C.to_gensim()
    assert [sorted(d) for d in back] == [sorted(d) for d in bow]
    again = DomainCorpus.from_gensim(back, C.n_words)
    assert (again.counts != C.counts).nnz == 0


def test_sklearn_round_trip():
    from sklearn.feature_extraction.text import CountVectorizer

    docs = ["the cat sat", "the dog sat down", "a cat and a dog"]
    vec = CountVectorizer()
    X = vec.fit_transform(docs)
    C = DomainCorpus.from_sklearn(X, vectorizer=vec, domain_ids=["x", "y", "z"])
    assert C.vocabulary == list(vec.get_feature_names_out())
    assert (C.to_sklearn() != X).nnz == 0
    assert C.domain_index(["z", "x"]).tolist() == [2, 0]


def test_dense_and_sparse_constructor_agree():
    M = np.array([[1, 0, 2], [0, 3, 0]])
    a, b = DomainCorpus(M), DomainCorpus(sp.csc_matrix(M))
    np.testing.assert_array_equal(a.counts.toarray(), b.counts.toarray())
    np.testing.assert_array_equal(a.domain_sizes, [3, 3])


@settings(max_examples=30, deadline=None, derandomize=True)
@given(n=st.integers(1, 2000), n_domains=st.integers(1, 12),
       n_words=st.sampled_from([1, 7, 300, 2_000_000]), seed=st.integers(0, 2**32 - 1))
def test_from_tokens_tallies_every_pair(n, n_domains, n_words, seed):
    # n_words up to 2e6 with few tokens takes the sparse branch of from_tokens, small
    # vocabularies the dense one: both must give the tally of (domain, token) pairs
    rng = np.random.default_rng(seed)
    tokens = rng.choice(rng.integers(0, n_words, 40), n)  # repeats even in a huge vocabulary
    domains = rng.choice(np.array(["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k",
                                   "l"])[:n_domains], n)
    C = DomainCorpus.from_tokens(tokens, domains, n_words=n_words)
    row = {d: i for i, d in enumerate(C.domain_ids.tolist())}
    tally = Counter(zip((row[d] for d in domains.tolist()), tokens.tolist()))
    M = C.counts.tocoo()
    assert dict(zip(zip(M.row.tolist(), M.col.tolist()), M.data.tolist())) == tally
    assert C.counts.shape == (len(set(domains.tolist())), n_words)
    perm = rng.permutation(n)  # the order of the samples does not matter
    again = DomainCorpus.from_tokens(tokens[perm], domains[perm], n_words=n_words)
    assert (again.counts != C.counts).nnz == 0


@pytest.mark.parametrize("kwargs, word", [
    (dict(tokens=[0, -1], domains=[0, 0]), "tokens"),
    (dict(tokens=[0.5, 1], domains=[0, 0]), "tokens"),
    (dict(tokens=[0, np.nan], domains=[0, 0]), "tokens"),
    (dict(tokens=[0, 1, 2], domains=[0, 0]), "same length"),
    (dict(tokens=[], domains=[]), "empty"),
    (dict(tokens=[0, 5], domains=[0, 1], n_words=3), "n_words"),
    (dict(tokens=[[0, 1]], domains=[0]), "tokens"),
])
def test_from_tokens_bad_input(kwargs, word):
    with pytest.raises(ValueError, match=word):
        DomainCorpus.from_tokens(**kwargs)


@pytest.mark.parametrize("counts, word", [
    ([[1, -1]], "negative"),
    ([[1, np.nan]], "NaN"),
    ([[1, np.inf]], "NaN or infinite"),
    ([[0.5, 1]], "fractional"),
    (np.zeros((0, 3)), "empty"),
    ([[0, 0]], "no non-zero"),
    ([1, 2, 3], "2-D"),
])
def test_counts_bad_input(counts, word):
    with pytest.raises(ValueError, match=word) as info:
        DomainCorpus(counts)
    assert "counts" in str(info.value)


def test_fractional_allowed_when_asked():
    C = DomainCorpus([[0.5, 1.5]], allow_fractional=True)
    assert C.n_samples == 2.0


def test_unknown_domain_id_raises():
    C = DomainCorpus.from_tokens([0, 1], ["a", "b"])
    with pytest.raises(ValueError, match="domains.*'c'"):
        C.domain_index(["a", "c"])
