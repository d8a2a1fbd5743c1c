"""Export a discrete fit to pyLDAvis (an optional extra: ``pip install lls-topics[pyldavis]``).

pyLDAvis 3.4.1 works with pandas 3.1 and numpy 2.4 (checked when this was written).
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["to_pyldavis"]

_FLOOR = 1e-12


def to_pyldavis(model: Any, data: Any, **kwargs: Any) -> Any:
    """pyLDAvis's prepared data for a fitted discrete solver, for its inter-topic map.

    Domains are pyLDAvis's documents, inputs its terms and labels its topics; topics
    keep the model's order (``sort_topics=False``), so pyLDAvis's topic ``y + 1`` is
    label ``y``. Inputs that never occur in ``data`` are left out (pyLDAvis takes the
    logarithm of each term's frequency); p(x|y) is floored at 1e-12 and renormalized
    over the rest.

    Parameters
    ----------
    model : fitted AnchorSolver, NMFSolver or LDASolver
    data : DomainCorpus or count matrix of shape (n_domains, n_words)
        The data the model was fitted on.
    **kwargs
        Passed to ``pyLDAvis.prepare`` (e.g. ``R=30``, ``lambda_step=0.1``).

    Returns
    -------
    pyLDAvis.PreparedData
        Show it with ``pyLDAvis.display`` or save it with ``pyLDAvis.save_html``.
    """
    from .reporting import fitted_view

    try:
        import pyLDAvis
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("to_pyldavis needs pyLDAvis: pip install 'lls-topics[pyldavis]'") \
            from exc
    view = fitted_view(model, data)
    if view.kind != "discrete":
        raise ValueError("model must be a discrete solver (AnchorSolver, NMFSolver, "
                         "LDASolver); DDFA's inputs are continuous")
    used = view.input_counts > 0
    # pyLDAvis takes logarithms of p(x|y): a floor keeps exact zeros finite
    A = np.maximum(view.topic_word[:, used], _FLOOR)
    A = A / A.sum(axis=1, keepdims=True)
    options = {"sort_topics": False, "n_jobs": 1, "start_index": 0}
    options.update(kwargs)
    return pyLDAvis.prepare(A, view.domain_topic, view.domain_sizes,
                            [v for v, u in zip(view.vocab, used) if u],
                            view.input_counts[used], **options)
