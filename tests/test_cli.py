import csv
import json

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from lls_topics import cli
from lls_topics.datasets import make_discrete_lls



@pytest.fixture(scope="module")
def problem():
    return make_discrete_lls(n_topics=3, n_words=60, n_domains=8, n_per_domain=400,
                             random_state=0)


def _write_token_csv(path, problem, words=True, header=True, delimiter=","):
    vocab = [f"w{i:03d}" for i in range(problem.topic_word.shape[1])]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        if header:
            w.writerow(["domain", "token"])
        for d, t in zip(problem.domains, problem.tokens):
            w.writerow([f"doc{d}", vocab[t] if words else t])


def _run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _check_outputs(out, k, n_domains):
    for name in ("domain_topic.csv", "topic_word.csv", "top_words.csv", "top_words.txt",
                 "summary.json"):
        assert (out / name).is_file(), name
    with open(out / "domain_topic.csv") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["domain"] + [f"label_{j}" for j in range(k)]
    assert len(rows) == n_domains + 1
    P = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
    np.testing.assert_allclose(P.sum(axis=1), 1, atol=1e-4)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_topics"] == k and "lls_topics_version" in summary
    assert summary["timings_seconds"]["fit"] >= 0
    assert np.isfinite(summary["log_likelihood_per_sample"])
    return rows, summary


def test_fit_token_csv_writes_files(problem, tmp_path, capsys):
    src = tmp_path / "tokens.csv"
    _write_token_csv(src, problem)
    out = tmp_path / "out"
    code, stdout, err = _run(["fit", str(src), "--topics", "3", "--out", str(out), "-q"],
                             capsys)
    assert code == 0, err
    rows, summary = _check_outputs(out, 3, 8)
    assert rows[1][0] == "doc0"
    with open(out / "topic_word.csv") as fh:
        tw = list(csv.reader(fh))
    # string tokens: the vocabulary is the words that occur, sorted
    assert tw[1][0] == "w000" and len(tw) == len(np.unique(problem.tokens)) + 1
    A = np.array([[float(v) for v in r[1:]] for r in tw[1:]])
    np.testing.assert_allclose(A.sum(axis=0), 1, atol=1e-4)
    if (out / "anchors.txt").exists():
        assert (out / "anchors.txt").read_text().startswith("label 0:")
    # the saved model loads and predicts like the fitted one
    from lls_topics.persistence import load_estimator

    model = load_estimator(out / "model")
    assert model.domain_topic_.shape == (8, 3)
    assert "wrote" in stdout


def test_fit_tsv_integer_tokens_and_counts(problem, tmp_path, capsys):
    src = tmp_path / "tokens.tsv"
    _write_token_csv(src, problem, words=False, header=False, delimiter="\t")
    code, _, err = _run(["fit", str(src), "-k", "3", "--out", str(tmp_path / "o"), "-q"],
                        capsys)
    assert code == 0, err
    _check_outputs(tmp_path / "o", 3, 8)


@pytest.mark.parametrize("fmt", ["mtx", "npz", "mmcorpus"])
def test_fit_count_matrix_formats(problem, tmp_path, capsys, fmt):
    M = problem.corpus.counts
    if fmt == "mtx":
        src = tmp_path / "counts.mtx"
        scipy.io.mmwrite(str(src), M)
    elif fmt == "npz":
        src = tmp_path / "counts.npz"
        sp.save_npz(src, sp.csr_matrix(M))
    else:
        from gensim.corpora import MmCorpus

        src = tmp_path / "corpus.mm"
        MmCorpus.serialize(str(src), problem.corpus.to_gensim())
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(f"w{i}" for i in range(M.shape[1])) + "\n")
    code, _, err = _run(["fit", str(src), "-k", "3", "--vocab", str(vocab), "--out",
                         str(tmp_path / "o"), "-q"], capsys)
    assert code == 0, err
    _check_outputs(tmp_path / "o", 3, 8)
    assert "w" in (tmp_path / "o" / "top_words.txt").read_text()


def test_fit_text_directory(tmp_path, capsys):
    rng = np.random.default_rng(0)
    themes = [["apple", "banana", "cherry", "grape", "melon"],
              ["engine", "wheel", "brake", "clutch", "piston"],
              ["violin", "cello", "flute", "oboe", "trumpet"]]
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(6):
        mix = rng.dirichlet(np.ones(3) * 0.5)
        labels = rng.choice(3, size=300, p=mix)
        words = [themes[y][rng.integers(5)] for y in labels]
        (docs / f"domain{i}.txt").write_text(" ".join(words) + " the and of it")
    out = tmp_path / "out"
    code, stdout, err = _run(["fit", str(docs), "--topics", "3", "--out", str(out)], capsys)
    assert code == 0, err
    rows, summary = _check_outputs(out, 3, 6)
    assert {r[0] for r in rows[1:]} == {f"domain{i}" for i in range(6)}
    top = (out / "top_words.txt").read_text()
    assert "the" not in top.split()  # stop words removed by default
    assert "label 0:" in stdout


@pytest.mark.parametrize("argv_tail, needle", [
    (["missing.csv", "-k", "2"], "does not exist"),
    (["{bad}", "-k", "2"], "cannot tell the format"),
    (["{csv}", "-k", "50"], "larger than the number of domains"),
    (["{csv}", "-k", "2", "--format", "mtx"], "cannot read"),
    (["{onecol}", "-k", "2"], "expected at least 2"),
    (["{csv}"], "--topics"),
])
def test_bad_input_exit_2_one_line(problem, tmp_path, capsys, argv_tail, needle):
    good = tmp_path / "t.csv"
    _write_token_csv(good, problem)
    bad = tmp_path / "t.xyz"
    bad.write_text("garbage")
    onecol = tmp_path / "one.csv"
    onecol.write_text("a\nb\nc\n")
    argv = ["fit"] + [a.format(csv=good, bad=bad, onecol=onecol) for a in argv_tail] + \
        ["--out", str(tmp_path / "o"), "-q"]
    code, out, err = _run(argv, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert needle in lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize("argv", [[], ["fit"], ["fit-continuous"], ["compare"], ["demo"]])
def test_help_everywhere(argv, capsys):
    code, out, err = _run(argv + ["--help"], capsys)
    assert code == 0
    assert "usage:" in out


def test_no_command_and_unknown_command(capsys):
    code, out, _ = _run([], capsys)
    assert code == 2 and "usage:" in out
    code, _, err = _run(["frobnicate"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1


# -- commands built on DDFA and compare -------------------------------------------------
def _blobs(tmp_path, n_domains=4, n=600, seed=0):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(2) * 0.7, size=n_domains)
    d = rng.integers(0, n_domains, n)
    y = (rng.random(n) < P[d, 1]).astype(int)
    X = rng.normal(size=(n, 2)).astype(np.float32) + 4.0 * y[:, None]
    return X, d, y


def test_fit_continuous_writes_files(tmp_path, capsys):
    X, d, _ = _blobs(tmp_path)
    np.save(tmp_path / "X.npy", X)
    (tmp_path / "d.txt").write_text("domain\n" + "\n".join(f"site{v}" for v in d) + "\n")
    out = tmp_path / "out"
    code, stdout, err = _run(["fit-continuous", str(tmp_path / "X.npy"), str(tmp_path / "d.txt"),
                              "-k", "2", "--epochs", "5", "--out", str(out), "-q"], capsys)
    assert code == 0, err
    for name in ("domain_topic.csv", "topic_word.csv", "posterior.csv", "top_samples.csv",
                 "summary.json"):
        assert (out / name).is_file(), name
    with open(out / "posterior.csv") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["row", "domain", "label_0", "label_1"] and len(rows) == len(X) + 1
    post = np.array([[float(v) for v in r[2:]] for r in rows[1:]])
    np.testing.assert_allclose(post.sum(axis=1), 1, atol=1e-4)
    assert post.min() >= 0
    # CSV features too; a length mismatch is an input error
    np.savetxt(tmp_path / "X.csv", X, delimiter=",", header="a,b", comments="")
    code, _, err = _run(["fit-continuous", str(tmp_path / "X.csv"), str(tmp_path / "d.txt"),
                         "-k", "5", "--out", str(out), "-q", "--overwrite"], capsys)
    assert code == 2 and "larger than the number of domains" in err
    np.save(tmp_path / "d_short.npy", d[:-3])
    code, _, err = _run(["fit-continuous", str(tmp_path / "X.npy"),
                         str(tmp_path / "d_short.npy"), "-k", "2", "-q"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "rows" in err


def test_fit_continuous_refine_rounds(tmp_path, capsys):
    from lls_topics.persistence import load_estimator

    X, d, _ = _blobs(tmp_path)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "d.npy", d)
    out = tmp_path / "out"
    code, _, err = _run(["fit-continuous", str(tmp_path / "X.npy"), str(tmp_path / "d.npy"),
                         "-k", "2", "--epochs", "5", "--refine-rounds", "1", "--out", str(out),
                         "-q"], capsys)
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["params"]["refine_rounds"] == 1
    model = load_estimator(out / "model")
    post = np.loadtxt(out / "posterior.csv", delimiter=",", skiprows=1)[:, 2:]
    np.testing.assert_allclose(model.predict_proba(X, d), post, atol=1e-5)
    code, _, err = _run(["fit-continuous", str(tmp_path / "X.npy"), str(tmp_path / "d.npy"),
                         "-k", "2", "--refine-rounds", "-1", "-q"], capsys)
    assert code == 2 and "--refine-rounds" in err


def test_compare_planted_problem(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "cmp.png"
    code, stdout, err = _run(["compare", "--problem", "small-a3", "--n-per-domain", "500",
                              "--solvers", "anchor,nmf", "--plot", str(png), "-q"], capsys)
    assert code == 0, err
    assert "anchor" in stdout and "nmf" in stdout
    assert png.stat().st_size > 0
    # the truth beside the most accurate solver's p_d(y)
    assert (tmp_path / "cmp_heatmaps.png").stat().st_size > 0
    code, _, err = _run(["compare", "--problem", "nope", "-q"], capsys)
    assert code == 2 and "small-a3" in err


def test_demo_runs_quickly(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "demo.png"
    code, stdout, err = _run(["demo", "--epochs", "2", "--plot", str(png), "-q"], capsys)
    assert code == 0, err
    assert "reference DDFA pipeline" in stdout and "supervised oracle" in stdout
    assert "y=0" in stdout and png.stat().st_size > 0
