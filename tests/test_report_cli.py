"""The report through the command line: fit --report, the report command, exit codes."""
import numpy as np
import pytest

pytest.importorskip("matplotlib")

from lls_topics import cli  # noqa: E402
from lls_topics.datasets import make_discrete_lls  # noqa: E402


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A token table and the output directory of 'fit --report' on it."""
    tmp = tmp_path_factory.mktemp("cli")
    prob = make_discrete_lls(n_topics=3, n_words=60, n_domains=8, n_per_domain=400,
                             random_state=0)
    lines = ["domain,token"] + [f"doc{d},w{t:03d}" for d, t in zip(prob.domains, prob.tokens)]
    (tmp / "t.csv").write_text("\n".join(lines) + "\n")
    code = cli.main(["fit", str(tmp / "t.csv"), "-k", "3", "--out", str(tmp / "out"),
                     "--report", str(tmp / "fit.html"), "-q"])
    assert code == 0
    return tmp


def run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_fit_report_and_report_command(fitted, capsys):
    page = (fitted / "fit.html").read_text(encoding="utf-8")
    assert "AnchorSolver" in page and "w0" in page and "fit time" in page
    out = fitted / "again.html"
    code, stdout, err = run(["report", str(fitted / "out" / "model"), str(fitted / "t.csv"),
                             "--out", str(out), "--top", "10", "-q"], capsys)
    assert code == 0, err
    assert f"wrote the report {out}" in stdout
    again = out.read_text(encoding="utf-8")
    # the same page, the fit time read back from summary.json
    assert again == page


@pytest.mark.parametrize("case, needle", [
    ("no_model", "does not exist"),
    ("not_a_model", "cannot load a model"),
    ("other_data", "inputs (columns)"),
    ("bad_out", "does not exist"),
])
def test_report_command_bad_input(fitted, tmp_path, capsys, case, needle):
    model, data, out = fitted / "out" / "model", fitted / "t.csv", tmp_path / "r.html"
    if case == "no_model":
        model = tmp_path / "nothing"
    elif case == "not_a_model":
        model = fitted / "out"
    elif case == "other_data":
        prob = make_discrete_lls(n_topics=3, n_words=40, n_domains=8, n_per_domain=50,
                                 random_state=1)
        data = tmp_path / "other.csv"
        data.write_text("domain,token\n" + "\n".join(
            f"doc{d},w{t:03d}" for d, t in zip(prob.domains, prob.tokens)) + "\n")
    elif case == "bad_out":
        out = tmp_path / "missing" / "r.html"
    code, _, err = run(["report", str(model), str(data), "--out", str(out), "-q"], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and needle in err, err
    assert [p.name for p in tmp_path.rglob("*") if p.suffix in (".html", ".tmp")] == []


def test_fit_with_unwritable_report_fails_before_fitting(fitted, tmp_path, capsys):
    code, _, err = run(["fit", str(fitted / "t.csv"), "-k", "3", "--out", str(tmp_path / "o"),
                        "--report", str(tmp_path / "no" / "r.html"), "-q"], capsys)
    assert code == 2 and err.count("\n") == 1 and "--report" in err
    assert not (tmp_path / "o").exists()


def test_report_command_ddfa_needs_domains(tmp_path, capsys):
    pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    d = np.repeat(np.arange(4), 60)
    X = (rng.normal(size=(240, 3)) + 4 * (rng.random(240) < 0.3 + 0.1 * d)[:, None]
         ).astype(np.float32)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "d.npy", d)
    code, _, err = run(["fit-continuous", str(tmp_path / "X.npy"), str(tmp_path / "d.npy"),
                        "-k", "2", "--epochs", "3", "--out", str(tmp_path / "o"),
                        "--report", str(tmp_path / "fit.html"), "-q"], capsys)
    assert code == 0, err
    page = (tmp_path / "fit.html").read_text(encoding="utf-8")
    assert '<section id="ddfa">' in page and "No refinement rounds" in page
    model = str(tmp_path / "o" / "model")
    code, _, err = run(["report", model, str(tmp_path / "X.npy"), "-q"], capsys)
    assert code == 2 and "--domains" in err
    code, _, err = run(["report", model, str(tmp_path / "X.npy"), "--domains",
                        str(tmp_path / "d.npy"), "--out", str(tmp_path / "r.html"), "-q"],
                       capsys)
    assert code == 0, err
    assert (tmp_path / "r.html").is_file()
