"""DomainCorpus.from_chunks: streamed counting equals from_tokens."""
import numpy as np
import pytest

import lls_topics.counting as counting
from lls_topics import DomainCorpus


def _split(n, rng):
    """Random chunk boundaries, empty chunks included."""
    cuts = np.sort(rng.integers(0, n + 1, 12))
    return np.concatenate([[0], cuts, [n]])


def _same(a, b):
    assert a.counts.shape == b.counts.shape
    assert (a.counts != b.counts).nnz == 0
    assert a.domain_ids.tolist() == b.domain_ids.tolist()
    assert a.vocabulary == b.vocabulary


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("merge_every,dense_cells", [(1, 0), (1 << 20, 0), (1, 1 << 22),
                                                     (1, 2000)])
def test_int_tokens_match_from_tokens(seed, merge_every, dense_cells, monkeypatch):
    # sparse throughout, dense throughout, and dense switching to sparse mid-stream
    monkeypatch.setattr(counting, "_MIN_MERGE", merge_every)
    monkeypatch.setattr(counting, "_DENSE_CELLS", dense_cells)
    rng = np.random.default_rng(seed)
    n, V = 5000, 300
    tokens = rng.integers(0, V, n)
    domains = rng.integers(0, 40, n) * 7 - 50  # unsorted, negative, sparse ids
    ref = DomainCorpus.from_tokens(tokens, domains)
    b = _split(n, rng)
    got = DomainCorpus.from_chunks((tokens[i:j], domains[i:j]) for i, j in zip(b[:-1], b[1:]))
    _same(got, ref)
    assert got.counts.dtype == np.int64


@pytest.mark.parametrize("seed", [0, 1])
def test_string_tokens_and_domains_match(seed, monkeypatch):
    monkeypatch.setattr(counting, "_MIN_MERGE", 64)
    monkeypatch.setattr(counting, "_DENSE_CELLS", 0)
    rng = np.random.default_rng(seed)
    n = 4000
    words = np.array([f"w{i}" for i in range(120)])
    names = np.array(["south", "north", "east", "west"])
    tok_s = words[rng.integers(0, len(words), n)]
    dom_s = names[rng.integers(0, len(names), n)]
    vocab, tok = np.unique(tok_s, return_inverse=True)
    ref = DomainCorpus.from_tokens(tok, dom_s, vocabulary=vocab.tolist())
    b = _split(n, rng)
    got = DomainCorpus.from_chunks([(tok_s[i:j], dom_s[i:j]) for i, j in zip(b[:-1], b[1:])])
    _same(got, ref)
    # a fixed vocabulary fixes the columns, unseen words included
    full = sorted(words.tolist()) + ["never"]
    fixed = DomainCorpus.from_chunks([(tok_s, dom_s)], vocabulary=full)
    assert fixed.n_words == len(full) and fixed.word_counts[-1] == 0
    np.testing.assert_array_equal(fixed.counts[:, :len(vocab)].toarray(), ref.counts.toarray())


def test_pandas_categorical_chunks():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(5)
    tok = rng.integers(0, 30, 2000).astype(str)
    dom = rng.integers(0, 5, 2000).astype(str)
    plain = DomainCorpus.from_chunks([(tok[:900], dom[:900]), (tok[900:], dom[900:])])
    cat = DomainCorpus.from_chunks([(pd.Categorical(tok[:900]), pd.Categorical(dom[:900])),
                                    (pd.Categorical(tok[900:]), pd.Categorical(dom[900:]))])
    _same(cat, plain)


@pytest.mark.parametrize("dense_cells", [0, 1 << 22])
def test_one_domain_per_chunk_and_weights(dense_cells, monkeypatch):
    monkeypatch.setattr(counting, "_DENSE_CELLS", dense_cells)
    rng = np.random.default_rng(3)
    docs = {f"doc{i}": rng.integers(0, 50, rng.integers(1, 200)) for i in range(6)}
    got = DomainCorpus.from_chunks((t, name) for name, t in docs.items())
    ref = DomainCorpus.from_tokens(np.concatenate(list(docs.values())),
                                   np.repeat(list(docs), [len(t) for t in docs.values()]))
    _same(got, ref)
    w = DomainCorpus.from_chunks([(np.array([1, 1, 2]), np.array([0, 0, 1]),
                                   np.array([0.5, 2.0, 1.5]))], n_words=4)
    np.testing.assert_allclose(w.counts.toarray(), [[0, 2.5, 0, 0], [0, 0, 1.5, 0]])
    # a domain whose chunks hold no tokens keeps its (empty) row
    e = DomainCorpus.from_chunks([(np.array([1, 2]), "a"), (np.array([], dtype=int), "b")])
    assert e.domain_ids.tolist() == ["a", "b"] and e.domain_sizes.tolist() == [2, 0]


def test_bad_chunks_raise_value_error():
    with pytest.raises(ValueError, match="chunks is empty"):
        DomainCorpus.from_chunks([])
    with pytest.raises(ValueError, match="same length"):
        DomainCorpus.from_chunks([(np.arange(3), np.arange(2))])
    with pytest.raises(ValueError, match="earlier chunks held integer"):
        DomainCorpus.from_chunks([(np.arange(3), 0), (np.array(["a"]), 1)])
    with pytest.raises(ValueError, match="not in the vocabulary"):
        DomainCorpus.from_chunks([(np.array(["a", "zz"]), 0)], vocabulary=["a", "b"])
    with pytest.raises(ValueError, match="beyond the vocabulary"):
        DomainCorpus.from_chunks([(np.arange(5), 0)], n_words=3)
    with pytest.raises(ValueError, match="negative"):
        DomainCorpus.from_chunks([(np.array([1, -1]), 0)])
    with pytest.raises(ValueError, match="finite and non-negative"):
        DomainCorpus.from_chunks([(np.array([1, 2]), 0, np.array([1.0, np.nan]))])
    with pytest.raises(ValueError, match="pair"):
        DomainCorpus.from_chunks([np.arange(3)])
