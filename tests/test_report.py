"""Tests of lls_topics.report (the HTML page of a fit) and lls_topics.to_pyldavis."""
import re
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from lls_topics import AnchorSolver, DomainCorpus, NMFSolver, make_discrete_lls, report  # noqa
from lls_topics.metrics import matched_accuracy, prior_l1  # noqa
from lls_topics.reporting import domain_order, relevance  # noqa


@pytest.fixture(scope="module")
def problem():
    return make_discrete_lls(n_topics=4, n_words=120, n_domains=12, n_per_domain=1500,
                             random_state=3)


@pytest.fixture(scope="module")
def anchor(problem):
    return AnchorSolver(4, random_state=0).fit(problem.corpus)


def band(model, width=0.05):
    P = model.domain_topic_
    return SimpleNamespace(domain_topic_low_=np.clip(P - width, 0, 1),
                           domain_topic_high_=np.clip(P + width, 0, 1))


@pytest.fixture(scope="module")
def page(problem, anchor, tmp_path_factory):
    """A report with every optional part (truth, bootstrap, title, time)."""
    path = tmp_path_factory.mktemp("page") / "r.html"
    return report(anchor, problem.corpus, path, truth=problem, bootstrap=band(anchor),
                  title="planted <problem>", fit_seconds=1.25)


def images(text):
    return re.findall(r'<img class="figure" alt="([^"]*)" src="data:image/png;base64,', text)


def test_report_sections_and_numbers(problem, anchor, page):
    text = page.read_text(encoding="utf-8")
    for sid in ("summary", "mix", "labels", "diagnostics", "truth"):
        assert f'<section id="{sid}">' in text
    assert "planted &lt;problem&gt;" in text and "<problem>" not in text  # escaped
    assert "1.25 s" in text and "AnchorSolver" in text
    # heatmap, intervals, truth heatmap; no external resource of any kind
    assert images(text) == ["p_d(y) heatmap", "p_d(y) intervals",
                            "true and estimated p_d(y), aligned"]
    assert not re.search(r'(src|href)="(http|//)', text)
    # one panel per label, each with its anchor and its two top lists
    assert text.count('class="label-panel"') == 4
    assert text.count("relevance, λ=0.6") == 4
    for y, a in enumerate(anchor.anchors_):
        panel = text.split(f'id="label-{y}"')[1].split('class="label-panel"')[0]
        assert "anchor inputs" in panel and f"<td>{int(np.atleast_1d(a)[0])}</td>" in panel
    # the truth section shows the metrics' numbers
    l1 = prior_l1(problem.domain_topic, anchor.domain_topic_)
    acc = matched_accuracy(problem.labels, anchor.predict(problem.tokens, problem.domains))
    assert f"{l1:.4g}" in text and f"{acc:.4g}" in text


def test_report_is_deterministic(problem, anchor, page, tmp_path):
    again = report(anchor, problem.corpus, tmp_path / "again.html", truth=problem,
                   bootstrap=band(anchor), title="planted <problem>", fit_seconds=1.25)
    assert again == tmp_path / "again.html"
    assert again.read_bytes() == page.read_bytes()


def test_solver_without_anchors_and_plain_matrix(problem, tmp_path):
    nmf = NMFSolver(4, random_state=0).fit(problem.corpus.counts)
    text = report(nmf, problem.corpus.counts, tmp_path / "n.html",
                  truth=problem.domain_topic).read_text(encoding="utf-8")
    assert "most exclusive of the label" in text and "NMFSolver" in text
    assert '<section id="truth">' in text and len(images(text)) == 2


def test_relevance_and_domain_order():
    A = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]])
    lift, rel = relevance(A, np.array([0.5, 0.5]), 0.0)
    # an input only label 0 emits has lift 1 / p(y=0) = 2; a shared one has lift 1
    np.testing.assert_allclose(lift, [[2, 1, 0], [0, 1, 2]])
    assert rel[0, 2] == -np.inf and np.isclose(rel[0, 0], np.log(2))
    _, rel1 = relevance(A, np.array([0.5, 0.5]), 1.0)
    np.testing.assert_allclose(rel1[0, :2], np.log(0.5))
    # two groups of identical mixes come out contiguous
    P = np.array([[1, 0], [0, 1], [1, 0], [0, 1], [1, 0]], dtype=float)
    order = domain_order(P)
    assert sorted(order) == list(range(5))
    groups = P[order, 0]
    assert np.count_nonzero(np.diff(groups)) == 1


@pytest.mark.parametrize("case, needle", [
    ("unfitted", "model is not fitted"),
    ("not_a_model", "model must be"),
    ("columns", "data has 119 inputs"),
    ("rows", "lacks the fitted domain"),
    ("missing_dir", "does not exist"),
    ("is_dir", "is a directory"),
    ("parent_is_file", "does not exist"),
    ("truth_rows", "truth's domain_topic has 5 rows"),
    ("bootstrap", "bootstrap's intervals"),
    ("n_top", "n_top"),
])
def test_bad_input_value_error_and_no_file(problem, anchor, tmp_path, case, needle):
    (tmp_path / "a_file").write_text("x")
    model, data, path, kw = anchor, problem.corpus, tmp_path / "r.html", {}
    if case == "unfitted":
        model = AnchorSolver(4)
    elif case == "not_a_model":
        model = problem.domain_topic
    elif case == "columns":
        data = problem.corpus.counts[:, :119]
    elif case == "rows":
        data = problem.corpus.counts[:5]
    elif case == "missing_dir":
        path = tmp_path / "no" / "r.html"
    elif case == "is_dir":
        path = tmp_path
    elif case == "parent_is_file":
        path = tmp_path / "a_file" / "r.html"
    elif case == "truth_rows":
        kw = {"truth": problem.domain_topic[:5]}
    elif case == "bootstrap":
        kw = {"bootstrap": SimpleNamespace(domain_topic_low_=np.zeros((3, 4)),
                                           domain_topic_high_=np.ones((3, 4)))}
    elif case == "n_top":
        kw = {"n_top": 0}
    with pytest.raises(ValueError, match=re.escape(needle)):
        report(model, data, path, **kw)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_error_while_building_leaves_old_file_intact(problem, anchor, tmp_path, monkeypatch):
    import lls_topics.reporting as reporting

    path = tmp_path / "r.html"
    path.write_text("the previous report")

    def boom(*args, **kwargs):
        raise RuntimeError("figure failed")

    monkeypatch.setattr(reporting, "_build", boom)
    with pytest.raises(RuntimeError, match="figure failed"):
        report(anchor, problem.corpus, path)
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]
    assert path.read_text() == "the previous report"


def test_ddfa_report(tmp_path):
    pytest.importorskip("torch")
    from lls_topics import DDFA, DomainDiscriminator
    from test_ddfa import FAST, blobs

    X, y, d, P = blobs(k=3, D=6, n_per_domain=60, seed=1)
    model = DDFA(3, discriminator=DomainDiscriminator(**{**FAST, "epochs": 8}),
                 refine_rounds=1, random_state=0, verbose=False).fit(X, d)
    (round_1,) = model.refine_history_
    assert round_1["clusters"] == model.n_clusters_ and round_1["network_epochs"] >= 1
    assert round_1["log_likelihood"] == model.solver_.log_likelihood_
    assert 0 <= round_1["prior_change_l1"] < 1
    text = report(model, (X, d), tmp_path / "d.html",
                  truth={"domain_topic": P, "labels": y}).read_text(encoding="utf-8")
    assert '<section id="ddfa">' in text and "p(d|x) simplex" in text
    assert "<h3>refinement rounds</h3>" in text and "prior_change_l1" in text
    assert "clustering space" in text and str(model.n_clusters_) in text
    assert "top clusters by p(x|y)" in text
    acc = matched_accuracy(y, model.predict(X, d))
    assert f"{acc:.4g}" in text
    with pytest.raises(ValueError, match="pair"):
        report(model, X, tmp_path / "e.html")
    with pytest.raises(ValueError, match="discriminator expects"):
        report(model, (X[:, :2], d), tmp_path / "e.html")
    with pytest.raises(ValueError, match="not seen at fit"):
        report(model, (X, d + 100), tmp_path / "e.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.html"]


def test_model_diagnostics_are_shown(problem, anchor, tmp_path, monkeypatch):
    monkeypatch.setattr(type(anchor), "diagnostics", lambda self: {
        "min_singular_value": 0.125, "gaps": np.array([0.5, 0.25]),
        "collinear_pairs": [(0, 3), (1, 2)], "empty": [],
        "warnings": ["domains 3 and 4 are collinear"]}, raising=False)
    text = report(anchor, problem.corpus, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "the model's own diagnostics" in text
    assert "min_singular_value" in text and "0.125" in text and "0.5, 0.25" in text
    assert "domains 3 and 4 are collinear" in text
    assert "(0, 3), (1, 2)" in text and "<td>empty</td><td>none</td>" in text


def test_to_pyldavis(problem, anchor):
    pytest.importorskip("pyLDAvis")
    from lls_topics import to_pyldavis

    prepared = to_pyldavis(anchor, problem.corpus, R=10)
    coords = prepared.topic_coordinates.sort_values("topics")
    # topics keep the model's order and pyLDAvis's sizes are the pooled label mix
    np.testing.assert_allclose(coords["Freq"].to_numpy() / 100, anchor.pooled_prior(),
                               atol=1e-6)
    assert set(prepared.topic_info["Category"]) >= {"Default", "Topic1"}
    with pytest.raises(ValueError, match="data has"):
        to_pyldavis(anchor, problem.corpus.counts[:, :10])


def test_report_in_headless_chromium(page):
    """The page renders in a real browser: every figure, the label switcher, sorting,
    and no console errors."""
    from browser import NoBrowser, chromium

    try:
        browser = chromium(1200, 900)
        driver = browser.__enter__()
    except NoBrowser as exc:
        pytest.skip(str(exc))
    try:
        driver.get(page.as_uri())
        sizes = driver.execute_script(
            "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, "
            "i.naturalHeight, i.getBoundingClientRect().width])")
        assert len(sizes) == 3
        assert all(done and w > 100 and h > 100 and shown > 100
                   for done, w, h, shown in sizes), sizes

        def visible():
            return [p.get_attribute("data-label")
                    for p in driver.find_elements("css selector", ".label-panel")
                    if p.is_displayed()]

        assert visible() == ["0"]
        buttons = driver.find_elements("css selector", ".switcher button")
        assert len(buttons) == 4
        buttons[2].click()
        assert visible() == ["2"]
        assert buttons[2].get_attribute("aria-selected") == "true"
        assert buttons[0].get_attribute("aria-selected") == "false"
        # sorting: the p(x|y) column, clicked, orders the rows descending then ascending
        table = driver.find_element("css selector", "#label-2 table.sortable")
        header = table.find_elements("css selector", "th")[1]

        def column():
            return [float(td.get_attribute("data-v")) for td in table.find_elements(
                "css selector", "tbody tr td:nth-child(2)")]

        header.click()
        assert column() == sorted(column(), reverse=True)
        header.click()
        assert column() == sorted(column())
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
    finally:
        browser.__exit__(None, None, None)
