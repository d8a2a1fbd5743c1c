"""``lls-topics select-k``, ``fit --bootstrap`` and the diagnostics in summary.json."""
import csv
import json

import numpy as np
import pytest
import scipy.sparse as sp

from lls_topics import cli
from lls_topics.datasets import draw_domain_priors, make_discrete_lls


@pytest.fixture(scope="module")
def npz(tmp_path_factory):
    prob = make_discrete_lls(n_topics=3, n_words=60, n_domains=8, n_per_domain=1500,
                             random_state=0)
    path = tmp_path_factory.mktemp("data") / "c.npz"
    sp.save_npz(path, sp.csr_matrix(prob.corpus.counts))
    return path


def _matrix(path):
    with open(path) as fh:
        rows = list(csv.reader(fh))[1:]
    return np.array([[float(v) for v in r[1:]] for r in rows])


def test_select_k_prints_the_choice_and_plots(npz, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    code = cli.main(["select-k", str(npz), "--max-topics", "5", "--cv", "2", "-q",
                     "--plot", str(tmp_path / "k.png")])
    out = capsys.readouterr().out
    assert code == 0
    assert "best k: 3" in out
    assert (tmp_path / "k.png").stat().st_size > 0


def test_select_k_bad_range_is_a_usage_error(npz, capsys):
    assert cli.main(["select-k", str(npz), "--min-topics", "6", "--max-topics", "3"]) == 2
    assert "--min-topics" in capsys.readouterr().err


def test_fit_bootstrap_writes_ordered_intervals_and_diagnostics(npz, tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(["fit", str(npz), "-k", "3", "--bootstrap", "20", "--out", str(out), "-q"])
    assert code == 0
    est, lo, hi = (_matrix(out / f) for f in
                   ("domain_topic.csv", "domain_topic_lo.csv", "domain_topic_hi.csv"))
    assert lo.shape == est.shape == hi.shape == (8, 3)
    assert np.all(lo <= est + 1e-6) and np.all(est <= hi + 1e-6)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["diagnostics"]["warnings"] == []
    assert len(summary["diagnostics"]["anchor_strength"]) == 3
    assert summary["bootstrap"]["n_resamples"] == 20


def test_fit_logs_and_records_a_collinear_pair(tmp_path, capsys):
    rng = np.random.default_rng(1)
    A = make_discrete_lls(n_topics=5, n_words=200, n_domains=20, random_state=1).topic_word
    full = np.insert(draw_domain_priors(20, 4, 3.0, 8.0, rng), 3, 0.0, axis=1)
    full[:, 1] /= 2
    full[:, 3] = full[:, 1]
    path = tmp_path / "shared.npz"
    sp.save_npz(path, sp.csr_matrix(rng.multinomial(5000, full @ A).astype(float)))
    code = cli.main(["fit", str(path), "-k", "5", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 0
    assert "shift together across domains" in err
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert any("shift together" in w for w in summary["diagnostics"]["warnings"])
    assert summary["diagnostics"]["collinear_pairs"]
