"""What a new user hit (issue 17): save/load on every estimator, thread bounds, CLI exit
codes and argument checks, --out reuse, vocabulary files, anchors after refinement."""
import json
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from torch import nn

from lls_topics import DDFA, AnchorSolver, DomainCorpus, make_discrete_lls
from lls_topics import cli
from lls_topics.continuous.discretize import Discretizer
from lls_topics.continuous.discriminator import DomainDiscriminator
from lls_topics.io import shared_top_words
from lls_topics.solvers.anchors import label_anchors
from lls_topics.threads import check_n_jobs, limit_threads, resolve_n_jobs


def _run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    n, D = 400, 4
    P = rng.dirichlet(np.ones(2) * 0.5, size=D)
    d = rng.integers(0, D, n)
    y = (rng.random(n) < P[d, 1]).astype(int)
    X = (rng.normal(size=(n, 3)) + 3.0 * y[:, None]).astype(np.float32)
    return X, d


# -- save / load on every public estimator -----------------------------------------------
def test_every_estimator_saves_and_loads(blobs, tmp_path):
    X, d = blobs
    disc = DomainDiscriminator(hidden=(8,), epochs=3, random_state=0, verbose=False)
    clu = Discretizer(4, space="features", random_state=0)
    ddfa = DDFA(2, discriminator=DomainDiscriminator(hidden=(8,), epochs=3, verbose=False),
                random_state=0, verbose=False)
    fitted = [(disc.fit(X, d), lambda e: e.predict_proba(X)),
              (clu.fit(X), lambda e: e.predict(X)),
              (ddfa.fit(X, d), lambda e: e.predict_proba(X, d))]
    for est, out in fitted:
        path = tmp_path / type(est).__name__
        est.save(path)
        back = type(est).load(path)
        assert type(back) is type(est)
        np.testing.assert_array_equal(out(back), out(est))
    with pytest.raises(ValueError, match="holds a DDFA, not a Discretizer"):
        Discretizer.load(tmp_path / "DDFA")


# -- threads -----------------------------------------------------------------------------
class _ThreadProbe(nn.Module):
    """A linear layer that records torch's thread count at every forward pass."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.lin = nn.Linear(n_in, n_out)
        self.seen = []

    def forward(self, x):
        self.seen.append(torch.get_num_threads())
        return self.lin(x)


def test_small_network_trains_on_one_thread_and_restores_settings(blobs):
    X, d = blobs
    before = torch.get_num_threads()
    probe = _ThreadProbe(3, 4)
    disc = DomainDiscriminator(probe, epochs=2, random_state=0, verbose=False).fit(X, d)
    assert set(disc.model_.seen) == {1}
    assert torch.get_num_threads() == before
    # an explicit n_jobs is honoured (up to the cores there are), inherited by nested fits
    with limit_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_thread_counts():
    assert resolve_n_jobs(None, work=1e6) == 1
    assert resolve_n_jobs(None) == 1
    assert resolve_n_jobs(10**6) >= 1 and resolve_n_jobs(-1) >= resolve_n_jobs(1) == 1
    for bad in (0, 1.5, "2", True):
        with pytest.raises((TypeError, ValueError), match="n_jobs"):
            check_n_jobs(bad)
    with pytest.raises(ValueError, match="n_jobs"):
        DDFA(2, n_jobs=0).fit(np.zeros((10, 2)), np.arange(10) % 2)
    with pytest.raises(ValueError, match="n_jobs"):
        Discretizer(2, space="features", n_jobs=0).fit(np.zeros((10, 2)))


# -- anchors after refinement ------------------------------------------------------------
def test_label_anchors_names_an_input_of_each_label():
    A = np.array([[0.5, 0.3, 0.2, 0.0],
                  [0.0, 0.1, 0.4, 0.5]])
    counts = np.array([100, 100, 100, 1])
    # label 1's most specific input is seen once: a confident one is preferred
    assert label_anchors(A, np.array([0.5, 0.5]), counts, min_count=5).tolist() == [0, 2]
    assert label_anchors(A, np.array([0.5, 0.5]), counts, min_count=0).tolist() == [0, 3]


def test_anchors_belong_to_their_labels_after_refinement():
    from gensim.parsing.preprocessing import STOPWORDS
    from gensim.test.utils import datapath
    from gensim.utils import simple_preprocess

    with open(datapath("lee_background.cor"), encoding="utf-8") as fh:
        docs = [[w for w in simple_preprocess(line) if w not in STOPWORDS]
                for line in fh][:150]
    vocab, inv = np.unique(np.concatenate([np.array(t, dtype=object) for t in docs])
                           .astype(str), return_inverse=True)
    doc_of = np.repeat(np.arange(len(docs)), [len(t) for t in docs])
    keep = np.bincount(inv) >= 5
    sel = keep[inv]
    corpus = DomainCorpus.from_tokens((np.cumsum(keep) - 1)[inv[sel]], doc_of[sel],
                                      n_words=int(keep.sum()))
    k = 10
    s = AnchorSolver(k, random_state=0).fit(corpus)
    joint = s.topic_word_ * s.pooled_prior()[:, None]
    post = joint / joint.sum(axis=0)          # p(y|x), one column per input
    rows = post[:, s.anchors_].T              # row l: p(y | anchors_[l])
    assert np.all(rows.argmax(axis=1) == np.arange(k)), rows.round(2)
    # here the refinement moved one label off its initial anchor: the old report was wrong
    assert not np.all(post[:, s.initial_anchors_].argmax(axis=0) == np.arange(k))


# -- CLI: exit codes and argument checks ---------------------------------------------------
def _bad_files(tmp_path):
    f = {}
    f["neg.mtx"] = "%%MatrixMarket matrix coordinate real general\n3 3 3\n1 1 -2\n2 2 3\n3 3 1\n"
    f["nan.mtx"] = "%%MatrixMarket matrix coordinate real general\n3 3 3\n1 1 nan\n2 2 3\n3 3 1\n"
    for name, text in f.items():
        (tmp_path / name).write_text(text)
    sp.save_npz(tmp_path / "neg.npz", sp.csr_matrix(np.array([[1.0, -2, 3], [1, 2, 3]])))
    np.savez(tmp_path / "one.npz", counts=np.array([1, 2, 3]))
    sp.save_npz(tmp_path / "zero.npz", sp.csr_matrix(np.zeros((3, 4))))


@pytest.mark.parametrize("argv, needle", [
    (["fit", "{t}/neg.mtx", "--topics", "2"], "negative"),
    (["fit", "{t}/nan.mtx", "--topics", "2"], "NaN"),
    (["fit", "{t}/neg.npz", "--topics", "2"], "negative"),
    (["fit", "{t}/one.npz", "--topics", "2"], "2-D"),
    (["fit", "{t}/zero.npz", "--topics", "2"], "no non-zero counts"),
    (["demo", "--epochs", "0"], "--epochs: must be at least 1"),
    # numeric options, rejected before the (missing) input is even looked at
    (["fit", "{t}/missing.csv", "--topics", "0"], "--topics: must be at least 1"),
    (["fit", "{t}/missing.csv", "--topics", "2", "--top", "0"], "--top: must be at least 1"),
    (["fit", "{t}/missing.csv", "--topics", "2", "--top", "-2"], "--top"),
    (["fit", "{t}/missing.csv", "--topics", "2", "--min-count", "0"], "--min-count"),
    (["fit", "{t}/missing.csv", "--topics", "x"], "expected an integer"),
    (["fit", "{t}/missing.csv", "--topics", "2", "--seed", "-1"], "--seed"),
    (["fit-continuous", "{t}/a.npy", "{t}/b.txt", "-k", "2", "--clusters", "0"], "--clusters"),
    (["fit-continuous", "{t}/a.npy", "{t}/b.txt", "-k", "2", "--epochs", "0"], "--epochs"),
    (["fit-continuous", "{t}/a.npy", "{t}/b.txt", "-k", "2", "--refine-rounds", "-1"],
     "--refine-rounds"),
    (["fit-continuous", "{t}/a.npy", "{t}/b.txt", "-k", "2", "--top", "-2"], "--top"),
    (["compare", "--n-per-domain", "0"], "--n-per-domain"),
    (["fit", "{t}/missing.csv", "--topics", "2", "--bootstrap", "-1"], "--bootstrap"),
    (["fit", "{t}/missing.csv", "--topics", "2", "--jobs", "0"], "--jobs"),
    (["fit", "{t}/missing.csv", "--topics", "2", "--confidence", "1.5"], "--confidence"),
    (["select-k", "{t}/missing.csv", "--cv", "1"], "--cv"),
    (["select-k", "{t}/missing.csv", "--max-topics", "0"], "--max-topics"),
    (["report", "{t}/m", "{t}/missing.csv", "--top", "0"], "--top"),
    (["compare", "{t}/missing.csv"], "--topics is required"),
    # --out checked before reading or fitting
    (["fit", "{t}/missing.csv", "--topics", "2", "--out", "{t}/neg.mtx"], "not a directory"),
    (["fit-continuous", "{t}/a.npy", "{t}/b.txt", "-k", "2", "--out", "{t}/neg.mtx"],
     "not a directory"),
])
def test_user_errors_exit_2_with_one_line(tmp_path, capsys, argv, needle):
    _bad_files(tmp_path)
    argv = [a.format(t=tmp_path) for a in argv]
    if "--out" not in argv and argv[0] in ("fit", "fit-continuous"):
        argv += ["--out", str(tmp_path / "o")]
    code, out, err = _run(argv + ["-q"], capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], err
    assert "--debug" not in err


def _token_csv(path, n_domains=6, seed=0):
    prob = make_discrete_lls(n_topics=2, n_words=30, n_domains=n_domains, n_per_domain=200,
                             random_state=seed)
    lines = ["domain,token"] + [f"d{d},w{t}" for d, t in zip(prob.domains, prob.tokens)]
    path.write_text("\n".join(lines) + "\n")


def test_out_folder_is_not_mixed_across_runs(tmp_path, capsys):
    src = tmp_path / "t.csv"
    _token_csv(src)
    out = tmp_path / "o"
    assert _run(["fit", str(src), "-k", "2", "--out", str(out), "-q"], capsys)[0] == 0
    assert (out / "anchors.txt").exists()
    (out / "mine.txt").write_text("keep me")
    code, _, err = _run(["fit", str(src), "-k", "2", "--solver", "nmf", "--out", str(out),
                         "-q"], capsys)
    assert code == 2 and "--overwrite" in err
    code, stdout, _ = _run(["fit", str(src), "-k", "2", "--solver", "nmf", "--out", str(out),
                            "-q", "--overwrite"], capsys)
    assert code == 0
    assert not (out / "anchors.txt").exists()     # the anchor run's file is gone
    assert (out / "mine.txt").read_text() == "keep me"  # not ours: left alone
    files = json.loads((out / "summary.json").read_text())["files"]
    assert len(files) == len(set(files)) and "anchors.txt" not in files
    assert "mine.txt" not in files and "mine.txt" not in stdout


def test_vocab_for_token_table_and_binary_dictionary(tmp_path, capsys):
    src = tmp_path / "t.csv"
    _token_csv(src)
    vocab = tmp_path / "v.txt"
    vocab.write_text("a\nb\n")
    code, _, err = _run(["fit", str(src), "-k", "2", "--vocab", str(vocab), "--out",
                         str(tmp_path / "o")], capsys)
    assert code == 2 and "--vocab applies to count matrices" in err
    from gensim.corpora import Dictionary

    counts = tmp_path / "c.npz"
    sp.save_npz(counts, sp.csr_matrix(np.eye(3) * 5 + 1))
    dct = tmp_path / "v.dict"
    Dictionary([["a", "b", "c"]]).save(str(dct))
    code, _, err = _run(["fit", str(counts), "-k", "2", "--vocab", str(dct), "--out",
                         str(tmp_path / "o2")], capsys)
    assert code == 2 and "binary" in err and "save_as_text" in err
    assert len(err.strip().splitlines()) == 1
    with open(tmp_path / "p.dict", "wb") as fh:   # any pickle
        pickle.dump({"x": 1}, fh)
    code, _, err = _run(["fit", str(counts), "-k", "2", "--vocab", str(tmp_path / "p.dict"),
                         "--out", str(tmp_path / "o3")], capsys)
    assert code == 2 and "binary" in err


def test_hint_when_labels_share_their_top_words(tmp_path, capsys):
    assert shared_top_words([["the", "a", "x"], ["the", "a", "y"]], n=3) == ["the", "a"]
    assert shared_top_words([["the", "x", "z"], ["the", "y", "w"]], n=3) == []
    assert shared_top_words([["the", "a"]]) == []
    docs = tmp_path / "docs"
    docs.mkdir()
    rng = np.random.default_rng(0)
    common = "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()
    for i in range(6):
        own = [f"word{j}" for j in rng.integers(0, 40, 30)]
        (docs / f"doc{i}.txt").write_text(" ".join(common * 20 + own))
    code, _, err = _run(["fit", str(docs), "-k", "2", "--out", str(tmp_path / "o")], capsys)
    assert code == 0 and "hint: every label's top words include" in err


# -- plots and the comparison table --------------------------------------------------------
def test_comparison_value_labels_stay_inside_their_panels():
    pytest.importorskip("matplotlib")
    from lls_topics import plotting

    plotting.use_file_backend()
    rows = [{"solver": "anchor", "log_likelihood": -2.924, "fit_seconds": 0.2},
            {"solver": "nmf", "log_likelihood": -2.927, "fit_seconds": 0.3}]
    fig = plotting.plot_comparison(rows)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        box = ax.get_window_extent(renderer)
        for text in ax.texts:
            t = text.get_window_extent(renderer)
            assert box.x0 <= t.x0 and t.x1 <= box.x1, (ax.get_title(), text.get_text())


def test_heatmap_title_reports_l1_per_entry():
    pytest.importorskip("matplotlib")
    from lls_topics import plotting
    from lls_topics.metrics import prior_l1

    plotting.use_file_backend()
    rng = np.random.default_rng(0)
    A, B = rng.dirichlet(np.ones(3), 8), rng.dirichlet(np.ones(3), 8)
    fig = plotting.plot_domain_topics(A, B)
    title = fig._suptitle.get_text()
    assert "per entry" in title and f"{prior_l1(A, B, per_entry=True):.3g}" in title


def test_simplex_vertex_labels_do_not_overlap():
    pytest.importorskip("matplotlib")
    from lls_topics import plotting

    plotting.use_file_backend()
    rng = np.random.default_rng(0)
    Q = rng.dirichlet(np.ones(4), 200)
    # two vertices close together, as in the demo picture
    V = np.array([[0.7, 0.1, 0.1, 0.1], [0.66, 0.14, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1],
                  [0.1, 0.1, 0.1, 0.7]])
    fig = plotting.plot_simplex(Q, anchors=V)
    ax = fig.axes[0]
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in ax.texts if t.get_text().isdigit()]
    assert len(boxes) == 4
    for i in range(4):
        for j in range(i):
            assert not boxes[i].overlaps(boxes[j]), (i, j)


def test_compare_table_drops_columns_without_values(tmp_path, capsys):
    src = tmp_path / "t.csv"
    _token_csv(src)
    code, out, _ = _run(["compare", str(src), "--topics", "2", "--solvers", "anchor,nmf",
                         "-q"], capsys)
    assert code == 0
    header = out.splitlines()[0].split()
    assert "log_likelihood" in header and "l1_P" not in header and "oracle_ratio" not in header
