"""The README's Python quickstart must run as written."""
import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_quickstart_runs(capsys):
    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    quick = [b for b in blocks if "AnchorSolver(n_topics=5" in b]
    assert quick, "the quickstart block is missing from README.md"
    exec(compile(quick[0], "README-quickstart", "exec"), {})
    l1, acc = map(float, capsys.readouterr().out.split())
    assert l1 < 1.0 and acc > 0.85
