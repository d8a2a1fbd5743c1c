"""Smoke test: every script under examples/ runs to completion."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

# DEV ONLY: the modules each example needs that are not yet merged on main. Remove once
# the solvers and DDFA branches are merged: the examples must then all run.
_NEEDS = {
    "discrete_corpus.py": ["lls_topics.solvers.anchor", "lls_topics.solvers.nmf"],
    "continuous_digits.py": ["lls_topics.ddfa", "lls_topics.solvers.anchor"],
    "compare_solvers.py": ["lls_topics.compare", "lls_topics.solvers.anchor",
                           "lls_topics.solvers.nmf", "lls_topics.solvers.lda"],
    "custom_discriminator.py": ["lls_topics.ddfa", "lls_topics.solvers.anchor"],
}


def test_every_example_is_listed():
    assert {p.name for p in EXAMPLES} == set(_NEEDS)


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path):
    for module in _NEEDS.get(script.name, []):
        pytest.importorskip(module)
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip()
