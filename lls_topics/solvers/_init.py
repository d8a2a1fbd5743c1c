"""Starting points for the iterative solvers (:class:`NMFSolver`, :class:`LDASolver`).

An initializer maps validated counts to a starting ``(domain_topic, topic_word)``
pair. The registry is keyed by the ``init`` names the solvers accept; a callable
``init(counts, n_topics, rng) -> (P, A)`` is accepted too, so new starting points
plug in without touching the solvers.

Why the start matters here: the likelihood of the LLS mixture is flat along
rotations of the factorization once the anchors are blurred by sampling noise, so
maximum likelihood from a random start reaches a *higher* likelihood than the truth
at a much larger prior error. The anchor solution pins the rotation: it sets
``p(anchor of y | y') = 0`` for ``y' != y`` and the multiplicative (EM) updates keep
those zeros, so the fit stays on the identified branch.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from .._simplex import normalize_rows

__all__ = ["INIT_METHODS", "resolve_init", "init_anchor", "init_nndsvda", "init_random"]

InitFn = Callable[[sp.csr_matrix, int, np.random.Generator], "tuple[np.ndarray, np.ndarray]"]


def seed_from(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**31 - 1))


def init_anchor(counts: sp.csr_matrix, n_topics: int, rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray]:
    """The :class:`~lls_topics.solvers.anchor.AnchorSolver` solution.

    Returns
    -------
    domain_topic : ndarray (D, k), rows sum to 1
    topic_word : ndarray (k, V), rows sum to 1
    """
    try:
        from .anchor import AnchorSolver
    except ImportError as exc:  # pragma: no cover - only before the anchor solver lands
        raise ImportError("init='anchor' needs lls_topics.solvers.anchor.AnchorSolver; use "
                          "init='nndsvda' or 'random' instead") from exc
    from .base import IdentifiabilityWarning

    with warnings.catch_warnings():
        # the calling solver already checked (and warned about) identifiability
        warnings.simplefilter("ignore", IdentifiabilityWarning)
        solver = AnchorSolver(n_topics, random_state=seed_from(rng)).fit(counts)
    return solver.domain_topic_, solver.topic_word_


def init_nndsvda(counts: sp.csr_matrix, n_topics: int, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray]:
    """NNDSVD with zeros filled by the mean (Boutsidis & Gallopoulos), on p(x|d).

    Deterministic up to the randomized SVD, whose seed comes from ``rng``.
    """
    from sklearn.utils.extmath import randomized_svd

    sizes = np.asarray(counts.sum(axis=1)).ravel()
    Q = sp.diags(1.0 / sizes) @ counts  # rows are the empirical p(x|d)
    k = n_topics
    U, S, Vt = randomized_svd(Q, k, random_state=seed_from(rng))
    W = np.zeros((Q.shape[0], k))
    H = np.zeros((k, Q.shape[1]))
    # the leading singular pair of a non-negative matrix can be taken non-negative
    W[:, 0] = np.sqrt(S[0]) * np.abs(U[:, 0])
    H[0] = np.sqrt(S[0]) * np.abs(Vt[0])
    for j in range(1, k):
        u, v = U[:, j], Vt[j]
        up, un = np.maximum(u, 0), np.maximum(-u, 0)
        vp, vn = np.maximum(v, 0), np.maximum(-v, 0)
        nup, nun = np.linalg.norm(up), np.linalg.norm(un)
        nvp, nvn = np.linalg.norm(vp), np.linalg.norm(vn)
        # keep the sign pattern carrying more of the singular pair's energy
        if nup * nvp >= nun * nvn:
            uu, vv, sigma = up / max(nup, 1e-300), vp / max(nvp, 1e-300), nup * nvp
        else:
            uu, vv, sigma = un / max(nun, 1e-300), vn / max(nvn, 1e-300), nun * nvn
        W[:, j] = np.sqrt(S[j] * sigma) * uu
        H[j] = np.sqrt(S[j] * sigma) * vv
    fill = 1.0 / Q.shape[1]  # the mean entry of a row-stochastic matrix
    W[W < 1e-12] = fill
    H[H < 1e-12] = fill
    return rescale(W, H)


def init_random(counts: sp.csr_matrix, n_topics: int, rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray]:
    """Random topics around the corpus word frequencies, uniform-Dirichlet mixtures."""
    freq = np.asarray(counts.sum(axis=0)).ravel()
    freq = freq / freq.sum()
    # perturbing the pooled frequencies keeps unseen inputs at zero mass
    A = normalize_rows(freq[None, :] * rng.gamma(1.0, 1.0, size=(n_topics, freq.size)) + 1e-12)
    P = rng.dirichlet(np.ones(n_topics), size=counts.shape[0])
    return P, A


def rescale(W: np.ndarray, H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Turn ``W @ H`` (D x k, k x V) into normalized ``(P, A)`` with the same product
    up to each row's scale."""
    s = H.sum(axis=1)
    s = np.where(s > 0, s, 1.0)
    return normalize_rows(W * s[None, :]), normalize_rows(H / s[:, None])


INIT_METHODS: dict[str, InitFn] = {"anchor": init_anchor, "nndsvda": init_nndsvda,
                                   "random": init_random}


def resolve_init(init: Any, allowed: tuple[str, ...], name: str = "init") -> InitFn | str:
    """Return the initializer for ``init`` (a registered name or a callable)."""
    if callable(init):
        return init
    if isinstance(init, str) and init in allowed:
        return INIT_METHODS.get(init, init)
    raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))} or a callable "
                     f"(counts, n_topics, rng) -> (domain_topic, topic_word), got {init!r}")


def check_init_output(out: Any, shape: tuple[int, int], n_topics: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Validate and normalize what an initializer returned."""
    try:
        P, A = out
    except (TypeError, ValueError):
        raise ValueError("init must return a pair (domain_topic, topic_word)") from None
    P = np.asarray(P, dtype=np.float64)
    A = np.asarray(A, dtype=np.float64)
    D, V = shape
    if P.shape != (D, n_topics) or A.shape != (n_topics, V):
        raise ValueError(f"init returned shapes {P.shape} and {A.shape}; expected "
                         f"({D}, {n_topics}) and ({n_topics}, {V})")
    if not (np.all(np.isfinite(P)) and np.all(np.isfinite(A))) or P.min() < 0 or A.min() < 0:
        raise ValueError("init returned negative or non-finite entries")
    return normalize_rows(P), normalize_rows(A)
