"""Topic solvers over the domain-by-input count matrix.

All share :class:`~lls_topics.solvers.base.BaseTopicSolver`'s interface:
``fit``, ``topic_word_``, ``domain_topic_``, ``predict_proba`` and ``predict``.
"""
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {"AnchorSolver": "anchor", "NMFSolver": "nmf", "LDASolver": "lda",
         "BaseTopicSolver": "base", "IdentifiabilityWarning": "base"}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"lls_topics.solvers.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'lls_topics.solvers' has no attribute {name!r}")
