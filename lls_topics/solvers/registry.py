"""The one registry of topic solvers: name -> class, with its preset parameters.

The CLI's ``--solver`` choices, :func:`lls_topics.comparison`'s names, ``DDFA(solver=...)``
and the classes that :mod:`lls_topics.persistence` may rebuild all read this table,
so adding a solver is one entry here. Classes are imported lazily: naming a solver
does not import gensim or cvxpy.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SolverEntry", "SOLVERS", "solver_names", "solver_class", "make_solver",
           "solver_classes"]


@dataclass(frozen=True)
class SolverEntry:
    """A registered solver: where its class lives and the parameters its name presets."""

    module: str
    cls: str
    params: dict = field(default_factory=dict)
    summary: str = ""

    def load(self) -> type:
        """Import and return the class."""
        return getattr(importlib.import_module(self.module), self.cls)


#: name -> entry; the first three are the base solvers, the others presets of them
SOLVERS: dict[str, SolverEntry] = {
    "anchor": SolverEntry("lls_topics.solvers.anchor", "AnchorSolver",
                          summary="anchor words + simplex regression + sparse VB polish"),
    "nmf": SolverEntry("lls_topics.solvers.nmf", "NMFSolver",
                       summary="KL-NMF (PLSA) by EM from the anchor solution"),
    "lda": SolverEntry("lls_topics.solvers.lda", "LDASolver",
                       summary="gensim LDA seeded from the anchor solution"),
    "nmf-frobenius": SolverEntry("lls_topics.solvers.nmf", "NMFSolver", {"loss": "frobenius"},
                                 summary="Frobenius NMF (scikit-learn's solver)"),
    "nmf-reference": SolverEntry("lls_topics.solvers.nmf", "NMFSolver", {"reference": True},
                                 summary="the DDFA paper's NMF step"),
    "anchor-cooccurrence": SolverEntry(
        "lls_topics.solvers.anchor", "AnchorSolver", {"space": "cooccurrence"},
        summary="anchor words among input co-occurrence rows (real text, long domains)"),
    "anchor-text": SolverEntry(
        "lls_topics.solvers.anchor", "AnchorSolver",
        {"refine": "collapsed", "priors": "heldout"},
        summary="collapsed variational Bayes, priors chosen by held-out likelihood "
                "(real text)"),
}


def solver_names() -> tuple[str, ...]:
    """All registered solver names, in registry order."""
    return tuple(SOLVERS)


def _entry(name: Any) -> SolverEntry:
    if not isinstance(name, str) or name not in SOLVERS:
        raise ValueError(f"unknown solver {name!r}; expected one of "
                         f"{', '.join(SOLVERS)} or a solver instance")
    return SOLVERS[name]


def solver_class(name: str) -> type:
    """The class registered under ``name``.

    Raises
    ------
    ValueError
        For an unknown name, or a solver whose dependencies are not installed.
    """
    entry = _entry(name)
    try:
        return entry.load()
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"solver {name!r} is not available in this installation "
                         f"({exc})") from None


def make_solver(name: str, n_topics: int, **params: Any) -> Any:
    """Build the solver registered under ``name`` with ``n_topics`` labels.

    Keyword arguments that the class does not accept (``verbose`` for a solver
    without a progress bar, say) are dropped, so callers can pass their common
    options to any solver.

    Examples
    --------
    >>> make_solver("nmf-reference", 3, random_state=0)
    NMFSolver(n_topics=3, random_state=0, reference=True)
    """
    entry = _entry(name)
    est = solver_class(name)(n_topics)
    accepted = est.get_params(deep=False)
    chosen = dict(entry.params)
    chosen.update({k: v for k, v in params.items() if k in accepted})
    return est.set_params(**chosen)


def solver_classes() -> dict[str, tuple[str, str]]:
    """Class name -> (module, class) of every registered solver class (persistence)."""
    return {e.cls: (e.module, e.cls) for e in SOLVERS.values()}
