"""lls_topics: unsupervised learning under latent label shift, as topic modeling.

Inputs are words, domains are documents and latent labels are topics. Heavy
dependencies (torch, gensim, cvxpy) are imported lazily by the modules that use
them, so ``import lls_topics`` stays fast.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it; resolved on first access (PEP 562)
_LAZY = {
    "DomainCorpus": "lls_topics.corpus",
    "AnchorSolver": "lls_topics.solvers.anchor",
    "NMFSolver": "lls_topics.solvers.nmf",
    "LDASolver": "lls_topics.solvers.lda",
    "DomainDiscriminator": "lls_topics.continuous.discriminator",
    "Discretizer": "lls_topics.continuous.discretize",
    "DDFA": "lls_topics.continuous.ddfa",
    "compare": "lls_topics.comparison",
    "find_anchors": "lls_topics.solvers.anchors",
    "recover_topics": "lls_topics.solvers.anchors",
    "adjust_posterior": "lls_topics.continuous.adjust",
    "make_discrete_lls": "lls_topics.datasets",
    "load_digits_lls": "lls_topics.datasets",
    "make_semisynthetic_lls": "lls_topics.datasets",
    "make_continuous_lls": "lls_topics.datasets",
    "IdentifiabilityWarning": "lls_topics.solvers.base",
    "select_n_topics": "lls_topics.selection",
    "bootstrap": "lls_topics.uncertainty",
    "report": "lls_topics.reporting",
    "to_pyldavis": "lls_topics.pyldavis",
}

#: subpackages and modules reachable as attributes of the package
_SUBMODULES = ("metrics", "datasets", "corpus", "solvers", "continuous", "plotting",
               "persistence", "io", "comparison")

__all__ = sorted(_LAZY) + ["__version__", "metrics", "datasets"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"lls_topics.{name}")
    raise AttributeError(f"module 'lls_topics' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
