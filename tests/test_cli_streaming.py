"""lls-topics fit --chunksize / --dask and fit-continuous --mmap give the plain results."""
import sys

import numpy as np
import pytest

from lls_topics import cli


def _write_tokens(path, seed=0, n=4000, header=True):
    rng = np.random.default_rng(seed)
    d, t = rng.integers(0, 12, n), rng.integers(0, 60, n)
    words = np.array([f"w{i}" for i in range(60)])
    rows = "".join(f"site{a},{words[b]}\n" for a, b in zip(d, t))
    path.write_text(("domain,token\n" if header else "") + rows)


def _fit(argv, capsys):
    code = cli.main(argv + ["--quiet", "--seed", "0"])
    err = capsys.readouterr().err
    assert code == 0, err
    return code


@pytest.mark.parametrize("kind", ["csv", "textdir"])
def test_chunksize_gives_the_same_fit(tmp_path, capsys, kind):
    if kind == "csv":
        src = tmp_path / "tokens.csv"
        _write_tokens(src)
    else:
        src = tmp_path / "texts"
        src.mkdir()
        rng = np.random.default_rng(1)
        words = ["apple", "river", "stone", "cloud", "ember", "the", "frost", "maple"]
        for i in range(6):
            (src / f"doc{i}.txt").write_text(" ".join(rng.choice(words, 300)))
    _fit(["fit", str(src), "-k", "3", "--out", str(tmp_path / "a")], capsys)
    _fit(["fit", str(src), "-k", "3", "--out", str(tmp_path / "b"), "--chunksize", "700"],
         capsys)
    for name in ("domain_topic.csv", "topic_word.csv"):
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()


def test_bad_chunksize_and_missing_dask(tmp_path, capsys, monkeypatch):
    src = tmp_path / "tokens.csv"
    _write_tokens(src)
    assert cli.main(["fit", str(src), "-k", "3", "--chunksize", "0"]) == 2
    assert "--chunksize must be >= 1" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "dask", None)
    assert cli.main(["fit", str(src), "-k", "3", "--dask", "local:1"]) == 2
    assert "[dask]" in capsys.readouterr().err


def test_dask_counts_a_glob_like_the_whole_file(tmp_path, capsys):
    pytest.importorskip("distributed")
    pytest.importorskip("dask.dataframe")
    whole = tmp_path / "whole.csv"
    _write_tokens(whole)
    lines = whole.read_text().splitlines()
    parts = tmp_path / "parts"
    parts.mkdir()
    for i in range(3):
        (parts / f"p{i}.csv").write_text("\n".join([lines[0]] + lines[1 + i::3]) + "\n")
    _fit(["fit", str(whole), "-k", "3", "--out", str(tmp_path / "a")], capsys)
    _fit(["fit", str(parts / "*.csv"), "-k", "3", "--out", str(tmp_path / "b"), "--dask",
          "local:1"], capsys)
    assert (tmp_path / "a" / "domain_topic.csv").read_text() == \
        (tmp_path / "b" / "domain_topic.csv").read_text()


def test_fit_continuous_mmap(tmp_path, capsys):
    pytest.importorskip("torch")
    from test_ddfa import blobs

    X, y, d, _ = blobs(k=3, D=6, n_per_domain=40, seed=0)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "d.npy", d)
    _fit(["fit-continuous", str(tmp_path / "X.npy"), str(tmp_path / "d.npy"), "-k", "3",
          "--epochs", "4", "--mmap", "--out", str(tmp_path / "o")], capsys)
    post = np.loadtxt(tmp_path / "o" / "posterior.csv", delimiter=",", skiprows=1)[:, 2:]
    assert post.shape == (len(X), 3)
    np.testing.assert_allclose(post.sum(axis=1), 1.0, atol=1e-4)
