"""DDFA for continuous inputs: the only part of lls_topics that needs torch.

- :mod:`~lls_topics.continuous.discriminator`: the domain discriminator p(d|x);
- :mod:`~lls_topics.continuous.nets`: torch building blocks and the batching loop;
- :mod:`~lls_topics.continuous.discretize`: clustering into a vocabulary;
- :mod:`~lls_topics.continuous.adjust`: p_d(y|x) from p(d|x) and p_d(y);
- :mod:`~lls_topics.continuous.relabel`: label networks trained through p(d|y);
- :mod:`~lls_topics.continuous.policy`: DDFA's automatic choices (pure functions);
- :mod:`~lls_topics.continuous.ddfa`: the :class:`DDFA` estimator that ties them together;
- :mod:`~lls_topics.continuous.streaming`: DDFA's chunked passes for memmaps and Datasets;
- :mod:`~lls_topics.continuous.distributed`: training under ``torchrun`` (torch.distributed).
"""
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {"DDFA": "ddfa", "DomainDiscriminator": "discriminator", "Discretizer": "discretize",
         "adjust_posterior": "adjust", "label_posterior": "adjust",
         "fit_label_network": "relabel", "label_proba": "relabel"}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"lls_topics.continuous.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'lls_topics.continuous' has no attribute {name!r}")
