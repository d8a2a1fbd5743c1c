"""Streamed readers give the same corpus as the whole-file readers."""
import sys

import numpy as np
import pytest

from lls_topics.corpus import DomainCorpus
from lls_topics.io_stream import read_mmcorpus_chunked, read_token_table_chunked

from lls_topics.io import read_discrete


def _same(a, b, exact=True):
    assert a.counts.shape == b.counts.shape
    if exact:
        assert (a.counts != b.counts).nnz == 0
    else:
        assert abs(a.counts - b.counts).max() < 1e-9
    assert a.domain_ids.tolist() == b.domain_ids.tolist()
    assert a.domain_ids.dtype.kind == b.domain_ids.dtype.kind
    assert a.vocabulary == b.vocabulary


@pytest.fixture(params=["pandas", "csv-module"])
def engine(request, monkeypatch):
    if request.param == "pandas":
        pytest.importorskip("pandas")
    else:
        monkeypatch.setitem(sys.modules, "pandas", None)
    return request.param


def test_int_table_with_header(tmp_path, engine):
    rng = np.random.default_rng(0)
    d, t = rng.integers(0, 30, 3000) * 3, rng.integers(0, 200, 3000)
    p = tmp_path / "a.csv"
    p.write_text("domain,token\n" + "".join(f"{a},{b}\n" for a, b in zip(d, t)))
    got = read_token_table_chunked(p, ",", 700)
    _same(got, read_discrete(str(p)))
    _same(got, DomainCorpus.from_tokens(t, d))


def test_string_table_with_counts_no_header(tmp_path, engine):
    rng = np.random.default_rng(1)
    d, t = rng.integers(0, 12, 2000), rng.integers(0, 40, 2000)
    words = np.array([f"w{i}" for i in range(40)])
    p = tmp_path / "b.tsv"
    p.write_text("".join(f"site{a}\t{words[b]}\t{b / 7:.3f}\n" for a, b in zip(d, t)))
    _same(read_token_table_chunked(p, "\t", 333), read_discrete(str(p)), exact=False)


def test_bad_tables_raise_value_error(tmp_path, engine):
    p = tmp_path / "bad.csv"
    p.write_text("domain,token\na,1\nb\n")
    with pytest.raises(ValueError, match="bad.csv"):
        read_token_table_chunked(p, ",", 10)
    p.write_text("\n\n")
    with pytest.raises(ValueError, match="is empty"):
        read_token_table_chunked(p, ",", 10)


def test_mmcorpus_doc_by_doc(tmp_path):
    from gensim.corpora import MmCorpus

    rng = np.random.default_rng(2)
    docs = [[(int(w), int(c)) for w, c in zip(np.unique(rng.integers(0, 50, 8)),
                                               rng.integers(1, 5, 8))] for _ in range(30)]
    docs[7] = []  # an empty document keeps its row
    path = tmp_path / "c.mm"
    MmCorpus.serialize(str(path), docs)
    mm = MmCorpus(str(path))
    got = read_mmcorpus_chunked(mm, docs_per_chunk=4)
    _same(got, DomainCorpus.from_gensim(MmCorpus(str(path)), num_terms=mm.num_terms))
    assert got.n_domains == 30 and got.domain_sizes[7] == 0
