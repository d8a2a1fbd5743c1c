"""Streamed DDFA: memmaps and Datasets through chunked p(d|x), k-means and counting."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import lls_topics.continuous.streaming as st  # noqa: E402
from lls_topics.continuous.ddfa import DDFA  # noqa: E402
from lls_topics.continuous.discriminator import DomainDiscriminator  # noqa: E402
from lls_topics.metrics import matched_accuracy  # noqa: E402

from test_ddfa import blobs  # noqa: E402

FAST = dict(epochs=30, patience=5, hidden=(32,), lr=1e-2, verbose=False)


@pytest.fixture
def small_chunks(monkeypatch):
    # stream a few hundred samples in several chunks, as a large file would be
    monkeypatch.setattr(st, "STREAM_ABOVE", 100)
    monkeypatch.setattr(st, "CHUNK", 256)


def _memmap(tmp_path, X, name="x.dat"):
    path = tmp_path / name
    mm = np.memmap(path, dtype=X.dtype, mode="w+", shape=X.shape)
    mm[:] = X
    mm.flush()
    return np.memmap(path, dtype=X.dtype, mode="r", shape=X.shape)


def _fit(X, d, seed=0):
    return DDFA(3, space="discriminator", discriminator=DomainDiscriminator(**FAST),
                random_state=seed, verbose=False).fit(X, d)


@pytest.mark.parametrize("seed", [0, 1])
def test_memmap_fit_streams_and_matches_in_memory(tmp_path, small_chunks, seed):
    X, y, d, _ = blobs(k=3, D=6, n_per_domain=200, seed=seed)
    # sorted by domain on disk, the hard case for one streamed k-means pass
    mem = _fit(X, d, seed)
    streamed = _fit(_memmap(tmp_path, X), d, seed)
    assert streamed.discretizer_.labels_ is None  # the streamed path: no per-sample labels
    assert mem.discretizer_.labels_ is not None
    # every sample counted but the held-out rows that judge refinement rounds
    assert streamed.discretizer_.cluster_sizes_.sum() == len(X) - streamed.n_choice_rows_
    assert streamed.n_choice_rows_ == mem.n_choice_rows_ > 0
    acc_mem = matched_accuracy(y, mem.predict(X, d))
    acc_str = matched_accuracy(y, streamed.predict(X, d))
    assert acc_str > 0.9 and abs(acc_str - acc_mem) < 0.03
    # the discriminator read the memmap batch by batch: same network as from the array
    np.testing.assert_allclose(streamed.discriminator_.predict_proba(X),
                               mem.discriminator_.predict_proba(X), atol=1e-5)


def test_memmap_refinement_rounds_stream(tmp_path, small_chunks):
    # the label network trains from the memmap (the discriminator's validation rows held
    # out through a row view) and its p(y|x) is clustered and counted chunk by chunk
    X, y, d, _ = blobs(k=3, D=6, n_per_domain=200, seed=5)
    mm = _memmap(tmp_path, X)
    est = DDFA(3, space="discriminator", refine_rounds=2,
               discriminator=DomainDiscriminator(**FAST), random_state=0,
               verbose=False).fit(mm, d)
    # the first pass solves the streamed counts with both of solver="auto"'s solvers
    assert [(r["round"], r["solver"]) for r in est.rounds_] == \
        [(0, "anchor"), (0, "nmf-reference"), (1, "anchor"), (2, "anchor")]
    assert len(est.round_times_) == 2 and est.n_rounds_ == 2
    assert est.label_network_ is not None and est.posterior_ == "network"
    assert est.discretizer_.labels_ is None
    assert matched_accuracy(y, est.predict(X, d)) > 0.9
    np.testing.assert_allclose(est.predict_proba(mm, d), est.predict_proba(X, d), atol=1e-6)
    # with a validation memmap: its rows are the held-out ones, X trains whole
    Xv, yv, dv, _ = blobs(k=3, D=6, n_per_domain=40, seed=6)
    est = DDFA(3, space="discriminator", discriminator=DomainDiscriminator(**FAST),
               random_state=0, verbose=False).fit(mm, d, _memmap(tmp_path, Xv, "v.dat"), dv)
    assert est.n_choice_rows_ == len(Xv) - len(Xv) // 2
    assert est.discretizer_.cluster_sizes_.sum() == len(X) + len(Xv) - est.n_choice_rows_
    assert matched_accuracy(y, est.predict(X, d)) > 0.9


def test_explicit_rounds_on_streamed_inputs(tmp_path, small_chunks):
    from torch.utils.data import TensorDataset

    X, y, d, _ = blobs(k=3, D=6, n_per_domain=150, seed=7)
    # a Dataset with rounds asked for takes the in-memory path
    est = DDFA(3, space="discriminator", refine_rounds=1, random_state=0, verbose=False,
               discriminator=DomainDiscriminator(**FAST)).fit(TensorDataset(torch.from_numpy(X)), d)
    assert est.n_rounds_ == 1 and est.discretizer_.labels_ is not None
    # a memmap without held-out rows cannot judge or early-stop rounds
    disc = DomainDiscriminator(validation_fraction=0.0, **FAST)
    with pytest.raises(ValueError, match="needs held-out rows"):
        DDFA(3, space="discriminator", refine_rounds=1, discriminator=disc, random_state=0,
             verbose=False).fit(_memmap(tmp_path, X), d)


def test_predict_proba_writes_into_a_memmap(tmp_path, small_chunks):
    X, y, d, _ = blobs(k=3, D=6, n_per_domain=120, seed=3)
    est = _fit(X, d)
    out = np.memmap(tmp_path / "out.dat", dtype=np.float64, mode="w+", shape=(len(X), 3))
    got = est.predict_proba(_memmap(tmp_path, X), d, out=out)
    assert got is out
    np.testing.assert_allclose(np.asarray(out), est.predict_proba(X, d), atol=1e-10)
    np.testing.assert_allclose(np.asarray(out).sum(1), 1.0)
    pooled = est.predict_proba(X, out=np.empty((len(X), 3)))  # no domains: p(y|x)
    np.testing.assert_allclose(pooled, est.predict_proba(X), atol=1e-10)
    with pytest.raises(ValueError, match="out must be a writable float array"):
        est.predict_proba(X, d, out=np.empty((len(X), 2)))
    with pytest.raises(ValueError, match="same length"):
        est.predict_proba(X, d[:-1], out=np.empty((len(X), 3)))


def test_dataset_fit_streams(small_chunks):
    from torch.utils.data import TensorDataset

    X, y, d, _ = blobs(k=3, D=6, n_per_domain=150, seed=4)
    est = _fit(TensorDataset(torch.from_numpy(X)), d)
    assert est.discretizer_.labels_ is None
    assert matched_accuracy(y, est.predict(X, d)) > 0.9


def test_read_rows_and_memmap_checks(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3, 2)).astype(np.float64)
    mm = _memmap(tmp_path, X)
    idx = rng.permutation(50)[:17]
    np.testing.assert_array_equal(st.read_rows(mm, idx), X[idx].astype(np.float32))
    bad = X.copy()
    bad[40, 1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        st.check_memmap(_memmap(tmp_path, bad, "bad.dat"))
    assert st.is_streamable(mm) and not st.is_streamable(X)
