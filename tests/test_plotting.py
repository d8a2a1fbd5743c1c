import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from lls_topics.plotting import (label_vertices, plot_comparison, plot_domain_topics,  # noqa: E402
                                 plot_simplex)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_domain_topics_aligned(tmp_path):
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(4), size=10)
    perm = np.array([2, 0, 3, 1])
    fig = plot_domain_topics(P, P[:, perm], domain_ids=[f"d{i}" for i in range(10)])
    left, right = fig.axes[0].images[0].get_array(), fig.axes[1].images[0].get_array()
    # aligned: the right panel shows the same matrix as the left
    np.testing.assert_allclose(np.asarray(right), np.asarray(left))
    assert "0" in fig._suptitle.get_text()
    fig.savefig(tmp_path / "h.png")
    assert (tmp_path / "h.png").stat().st_size > 0
    fig2 = plot_domain_topics(None, P)
    assert len(fig2.axes[0].images) == 1
    with pytest.raises(ValueError, match="one row per domain"):
        plot_domain_topics(P, P[:5])


@pytest.mark.parametrize("n_domains", [3, 6])
def test_simplex(n_domains, tmp_path):
    rng = np.random.default_rng(1)
    P = rng.dirichlet(np.ones(3), size=n_domains)
    V = label_vertices(P, domain_sizes=np.arange(1, n_domains + 1))
    np.testing.assert_allclose(V.sum(axis=1), 1)
    w = rng.dirichlet(np.ones(3) * 0.3, size=400)
    labels = w.argmax(1)
    Q = w @ V
    fig = plot_simplex(Q, anchors=V, labels=labels)
    fig.savefig(tmp_path / "s.png")
    fig = plot_simplex(Q, anchors=np.array([0, 1, 2]), max_points=100)
    assert fig.axes
    with pytest.raises(ValueError, match="columns"):
        plot_simplex(Q, anchors=np.ones((3, n_domains + 1)) / (n_domains + 1))
    if n_domains != 3:
        with pytest.raises(ValueError, match="3 domains"):
            plot_simplex(Q, method="barycentric")


def test_comparison_tolerates_missing_keys(tmp_path):
    table = [
        {"solver": "anchor", "fit_seconds": 0.1, "l1_P": 0.3, "oracle_ratio": 1.2},
        {"solver": "nmf", "fit_seconds": 0.5, "l1_P": 0.25},
        {"solver": "lda", "fit_seconds": 2.0, "l1_P": None, "matched_accuracy": 0.8},
    ]
    fig = plot_comparison(table)
    assert len(fig.axes) == 4  # l1_P, oracle_ratio, matched_accuracy, fit_seconds
    fig.savefig(tmp_path / "c.png")
    fig = plot_comparison([{"solver": "x", "fit_seconds": 1.0}], log_time=True)
    assert len(fig.axes) == 1
    with pytest.raises(ValueError, match="nothing to plot"):
        plot_comparison([{"solver": "x"}])
    with pytest.raises(ValueError, match="empty"):
        plot_comparison([])


def test_comparison_of_a_real_compare_call_has_the_prior_error_panel():
    from lls_topics import compare, make_discrete_lls

    data = make_discrete_lls(n_topics=3, n_words=40, n_domains=8, n_per_domain=400,
                             random_state=1)
    table = compare(data, solvers=("anchor", "nmf-reference"), truth=data, random_state=0)
    fig = plot_comparison(table)
    titles = [ax.get_title() for ax in fig.axes]
    assert any(t.startswith("L1 error of $p_d(y)$") for t in titles), titles
    # its bars carry the table's own values
    panel = fig.axes[[t.startswith("L1 error of $p_d(y)$") for t in titles].index(True)]
    widths = sorted(round(p.get_width(), 9) for p in panel.patches)
    rows = table.to_dict("records") if hasattr(table, "to_dict") else table
    assert widths == sorted(round(float(r["l1_P"]), 9) for r in rows)


def test_select_k_plot(tmp_path):
    from lls_topics import make_discrete_lls, select_n_topics
    from lls_topics.plotting import plot_select_k

    prob = make_discrete_lls(n_topics=3, n_words=60, n_domains=6, n_per_domain=1000,
                             random_state=0)
    res = select_n_topics(prob.corpus, range(2, 5), cv=2, random_state=0)
    fig = plot_select_k(res)
    assert len(fig.axes) == 2
    line = fig.axes[0].lines[0]
    np.testing.assert_array_equal(line.get_xdata(), [2, 3, 4])
    fig.savefig(tmp_path / "k.png")
    with pytest.raises(ValueError, match="SelectionResult"):
        plot_select_k(object())
