"""DomainCorpus.from_dask on a 2-worker LocalCluster: the same counts as from_tokens."""
import os
import sys

import numpy as np
import pytest

from lls_topics import DomainCorpus

pytest.importorskip("dask")
pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")
import dask  # noqa: E402
import dask.bag as db  # noqa: E402

from lls_topics.dask_counting import DaskCountError  # noqa: E402


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    # no retries: a task whose worker dies fails at once (the default retries 3 times)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                         dashboard_address=None) as cluster, Client(cluster) as c:
        yield c


def _data(seed, n=6000):
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i:03d}" for i in range(200)])
    tok = words[rng.integers(0, 200, n)]
    dom = rng.integers(0, 9, n) * 11
    return tok, dom


def _same(a, b):
    assert a.counts.shape == b.counts.shape
    assert (a.counts != b.counts).nnz == 0
    assert a.domain_ids.tolist() == b.domain_ids.tolist()
    assert a.vocabulary == b.vocabulary


@pytest.mark.parametrize("seed", [0, 1])
def test_frame_bag_chunks_and_tokens_agree(client, seed):
    tok, dom = _data(seed)
    vocab, ids = np.unique(tok, return_inverse=True)
    ref = DomainCorpus.from_tokens(ids, dom, vocabulary=vocab.tolist())
    chunks = DomainCorpus.from_chunks((tok[i:i + 1000], dom[i:i + 1000])
                                      for i in range(0, len(tok), 1000))
    frame = DomainCorpus.from_dask(
        dd.from_pandas(pd.DataFrame({"domain": dom, "token": tok}), npartitions=4))
    pairs = [(int(d), tok[dom == d].tolist()) for d in np.unique(dom)]
    bag = DomainCorpus.from_dask(db.from_sequence(pairs, npartitions=3))
    for got in (chunks, frame, bag):
        _same(got, ref)
    # both workers took part
    assert len(client.scheduler_info()["workers"]) == 2


def test_weighted_frame_with_custom_columns(client):
    df = pd.DataFrame({"site": ["a", "b", "a", "a"], "x": [0, 2, 0, 3],
                       "w": [1.5, 2.0, 0.5, 1.0]})
    got = DomainCorpus.from_dask(dd.from_pandas(df, npartitions=2), domain="site", token="x",
                                 count="w")
    np.testing.assert_allclose(got.counts.toarray(), [[2.0, 0, 0, 1.0], [0, 0, 2.0, 0]])
    with pytest.raises(ValueError, match="no domain column 'domain'"):
        DomainCorpus.from_dask(dd.from_pandas(df, npartitions=2))


def _raise(item):
    raise RuntimeError("disk gone")


def _die(item):
    os._exit(3)


@pytest.mark.parametrize("fail", [_raise, _die])
def test_failed_worker_raises_without_partial_counts(client, fail):
    pairs = [(d, [1, 2, 3]) for d in range(8)]
    bag = db.from_sequence(pairs, npartitions=4).map(
        lambda p: fail(p) if p[0] == 5 else p)
    with pytest.raises(DaskCountError, match="no counts were returned"):
        DomainCorpus.from_dask(bag)


def test_bad_collection():
    with pytest.raises(ValueError, match="dask.bag.Bag"):
        DomainCorpus.from_dask([("a", [1])])


def test_missing_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask", None)
    with pytest.raises(ImportError, match=r"\[dask\]"):
        DomainCorpus.from_dask(None)


def test_read_with_dask_matches_file_readers(client, tmp_path):
    from lls_topics.io import read_discrete_dask as read_with_dask
    from lls_topics.io_stream import read_token_table_chunked

    rng = np.random.default_rng(4)
    d, t = rng.integers(0, 30, 3000) * 3, rng.integers(0, 200, 3000)
    for i in range(3):
        (tmp_path / f"p{i}.csv").write_text(
            "domain,token\n" + "".join(f"{a},{b}\n" for a, b in zip(d[i::3], t[i::3])))
    whole = tmp_path / "whole.csv"
    whole.write_text("domain,token\n" + "".join(f"{a},{b}\n" for a, b in zip(d, t)))
    _same(read_with_dask(str(tmp_path / "p*.csv"), "csv"),
          read_token_table_chunked(whole, ",", 10**6))
    _same(read_with_dask(str(tmp_path / "p*.csv"), "csv"), DomainCorpus.from_tokens(t, d))
    texts = tmp_path / "texts"
    texts.mkdir()
    words = ["alpha", "beta", "gamma", "delta", "omega", "the"]
    for i in range(4):
        (texts / f"doc{i}.txt").write_text(" ".join(rng.choice(words, 40)))
    got = read_with_dask(str(texts), min_count=1)
    assert got.domain_ids.tolist() == ["doc0", "doc1", "doc2", "doc3"]
    assert "the" not in got.vocabulary and got.n_words == 5
    with pytest.raises(ValueError, match="no file matches"):
        read_with_dask(str(tmp_path / "none*.csv"), "csv")
