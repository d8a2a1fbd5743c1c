"""Every place that names solvers reads the one registry (lls_topics.solvers.registry)."""
import pytest

from lls_topics import persistence
from lls_topics.cli import SOLVERS as CLI_SOLVERS
from lls_topics.cli import build_parser
from lls_topics.solvers import registry


def _choices(command: str) -> list:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    action = next(a for a in sub.choices[command]._actions if a.dest == "solver")
    return list(action.choices)


def test_cli_choices_are_the_registry():
    names = list(registry.solver_names())
    assert list(CLI_SOLVERS) == names
    assert _choices("fit") == names
    # DDFA's commands add its held-out choice between solvers
    for command in ("demo", "fit-continuous"):
        assert _choices(command) == ["auto", *names]


def test_compare_accepts_every_registered_name():
    from lls_topics import compare, make_discrete_lls

    data = make_discrete_lls(n_topics=3, n_words=30, n_domains=6, n_per_domain=300,
                             random_state=0)
    table = compare(data, solvers=registry.solver_names(), truth=data, random_state=0)
    rows = table.to_dict("records") if hasattr(table, "to_dict") else table
    assert [row["solver"] for row in rows] == ["oracle", *registry.solver_names()]


def test_ddfa_solver_names_come_from_the_registry():
    pytest.importorskip("torch")
    from lls_topics import DDFA

    for name in registry.solver_names():
        DDFA(2, solver=name)._check_params()
    with pytest.raises(ValueError, match="nmf-reference"):
        DDFA(2, solver="no-such-solver")._check_params()


def test_persistence_builds_every_registered_class():
    for name, entry in registry.SOLVERS.items():
        cls = registry.solver_class(name)
        assert persistence._resolve(cls.__name__) is cls


def test_presets_and_unknown_names():
    est = registry.make_solver("nmf-reference", 4, random_state=1, verbose=False)
    assert est.get_params()["reference"] is True and est.random_state == 1
    with pytest.raises(ValueError, match="unknown solver 'bogus'"):
        registry.make_solver("bogus", 3)
