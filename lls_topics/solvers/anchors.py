"""Anchor words in p(d|x) space: find them, then recover the topics from them.

Each input ``x`` has a profile ``q_x = p(d|x)`` over domains, and under the LLS
model ``q_x = sum_y p(y|x) p(d|y)``: the profiles fill a simplex whose vertices are
the rows ``p(d|y)``. An anchor input of label ``y`` (one only ``y`` emits) sits
exactly on vertex ``y``. So:

1. :func:`find_anchors` picks ``k`` vertices by successive projection (SPA) or
   successive nonnegative projection (SNPA), with the profile norms corrected for
   multinomial sampling noise so that rare inputs are not taken for vertices.
2. :func:`recover_topics` writes every profile as a convex combination of the
   anchor profiles (simplex-constrained regression, L2 or KL loss), which gives
   ``p(y|x)``, then ``p(x|y) ∝ p(y|x) p(x)`` and ``p_d(y) ∝ p(d|y) p(y) / p(d)``
   with the actual domain sizes.

Everything is vectorized over inputs and works from the sparse counts: memory is
``O(nnz + V k)``.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._simplex import normalize_rows, simplex_least_squares
from .._validation import check_count_matrix, check_int

__all__ = ["label_anchors", "word_profiles", "find_anchors", "recover_topics",
           "simplex_kl_regression", "topics_from_coefficients"]


def word_profiles(counts: Any) -> tuple[sp.csr_matrix, np.ndarray]:
    """Row-normalize the input-by-domain counts.

    Parameters
    ----------
    counts : sparse or dense (n_domains, n_words) counts

    Returns
    -------
    Q : csr_matrix of shape (n_words, n_domains)
        Row ``x`` is the empirical p(d|x) (all zeros for an unseen input).
    word_counts : ndarray of shape (n_words,)
    """
    M = counts if sp.issparse(counts) else sp.csr_matrix(np.asarray(counts, dtype=float))
    Q = sp.csr_matrix(M.T, dtype=np.float64)
    if not Q.has_canonical_format:
        Q = Q.copy()          # may share its arrays with ``counts``
        Q.sum_duplicates()
    # scale the stored values row by row: a product with a diagonal matrix costs
    # three times as much on bootstrap-sized matrices
    per_row = np.diff(Q.indptr)
    V = Q.shape[0]
    n_x = np.bincount(np.repeat(np.arange(V), per_row), weights=Q.data, minlength=V)
    inv = np.divide(1.0, n_x, out=np.zeros_like(n_x), where=n_x > 0)
    Q.data = Q.data * np.repeat(inv, per_row)
    return Q, n_x


def _row_sq_norms(Q: sp.csr_matrix) -> np.ndarray:
    return np.asarray(Q.multiply(Q).sum(axis=1)).ravel()


def find_anchors(Q: Any, n_topics: int, *, word_counts: Any = None, method: str = "spa",
                 noise_correction: bool = True, confidence: float = 1.0,
                 min_count: float | None = None,
                 cleanup: bool = False, candidates: Any = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Pick ``n_topics`` anchor inputs: the vertices of the cloud of profiles.

    Parameters
    ----------
    Q : sparse or dense (n_words, n_domains)
        Input profiles p(d|x) (rows sum to 1, or 0 for unseen inputs), e.g. from
        :func:`word_profiles`.
    n_topics : int
        Number of anchors k.
    word_counts : array of shape (n_words,), optional
        Samples behind each profile; enables the noise correction and the
        default candidate filter.
    method : {"spa", "snpa"}
        ``"spa"``: successive projection onto the orthogonal complement of the
        chosen anchors. ``"snpa"``: successive nonnegative projection, where the
        residual is taken against the convex hull of the chosen anchors, which is
        more robust when the cloud is noisy.
    noise_correction : bool, default=True
        Score each input by an unbiased estimate of its *noise-free* residual
        norm: a profile estimated from ``n`` samples has squared norm inflated by
        the multinomial variance, ``(sum_d q_d (1 - diag) - ||r||^2) / n``, which
        is what makes naive SPA pick rare inputs as fake vertices.
    confidence : float, default=1.0
        With the noise correction, rank inputs by a lower confidence bound: the
        corrected norm minus this many (upper bounds of) its standard deviation,
        ``2 sqrt(||r||^2 max_d q_d / n)``. The argmax over many noisy inputs
        otherwise favours the luckiest rare one.
    min_count : float, optional
        Inputs with fewer samples are never anchors. Default: inputs must have at
        least 0.1 % of the samples per topic, and at least 5 samples.
    cleanup : bool, default=False
        Arora et al.'s second pass: replace each anchor by the input farthest
        from the span of the others.
    candidates : array of int, optional
        Restrict the search to these inputs.

    Returns
    -------
    anchors : ndarray of int, shape (k,)
    residuals : ndarray of shape (k,)
        Residual norm of each pick (a vertex's distance from the span, or hull,
        of the earlier picks); a sharp drop after the true ``k`` suggests ``k``.

    Examples
    --------
    >>> from lls_topics import make_discrete_lls
    >>> prob = make_discrete_lls(n_per_domain=2000, random_state=0)
    >>> Q, word_counts = word_profiles(prob.corpus.counts)
    >>> anchors, residuals = find_anchors(Q, 5, word_counts=word_counts)
    >>> anchors.shape, bool(np.all(np.diff(residuals) <= 0))  # residuals shrink
    ((5,), True)
    """
    Q = sp.csr_matrix(Q, dtype=np.float64)
    V, D = Q.shape
    k = check_int(n_topics, "n_topics", minimum=1)
    if method not in ("spa", "snpa"):
        raise ValueError(f"method must be 'spa' or 'snpa', got {method!r}")
    n_x = None if word_counts is None else np.asarray(word_counts, dtype=np.float64)
    if n_x is not None and n_x.shape != (V,):
        raise ValueError(f"word_counts must have shape ({V},), got {n_x.shape}")
    seen = np.asarray(Q.sum(axis=1)).ravel() > 0
    allowed = seen.copy()
    if n_x is not None:
        if min_count is None:
            min_count = max(5.0, 1e-3 * n_x.sum() / k)
        allowed &= n_x >= min_count
        if allowed.sum() < k:  # tiny corpora: fall back on every seen input
            allowed = seen.copy()
    if candidates is not None:
        mask = np.zeros(V, dtype=bool)
        mask[np.asarray(candidates, dtype=np.int64)] = True
        allowed &= mask
    if allowed.sum() < k:
        raise ValueError(f"n_topics={k} exceeds the number of candidate inputs with data "
                         f"({int(allowed.sum())})")
    use_noise = noise_correction and n_x is not None
    inv_n = np.zeros(V)
    if use_noise:
        # multinomial variance of a profile from n samples, with the n/(n-1) bias fix
        big = n_x > 1
        inv_n[big] = 1.0 / (n_x[big] - 1.0)

    if method == "spa":
        anchors, res = _spa(Q, k, allowed, inv_n if use_noise else None, confidence)
    else:
        anchors, res = _snpa(Q, k, allowed, inv_n if use_noise else None)
    if cleanup and k > 1:
        anchors, res = _cleanup(Q, anchors, allowed, inv_n if use_noise else None)
    return anchors, res


def _spa(Q: sp.csr_matrix, k: int, allowed: np.ndarray, inv_n: np.ndarray | None,
         confidence: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    V, D = Q.shape
    sq = _row_sq_norms(Q)          # ||q_x||^2
    proj_sq = np.zeros(V)          # ||U^T q_x||^2, accumulated per picked direction
    diag = np.zeros(D)             # diag of U U^T
    row_sum = np.asarray(Q.sum(axis=1)).ravel()
    qmax = np.asarray(Q.max(axis=1).todense()).ravel()
    allowed = allowed.copy()       # picks are struck out; the caller's mask stays
    U = np.zeros((D, 0))
    anchors = np.empty(k, dtype=np.int64)
    res = np.empty(k)
    for j in range(k):
        r2 = sq - proj_sq          # squared residual norm of every input
        score = r2
        if inv_n is not None:
            # q . diag(I - UU^T) = row_sum - Q @ diag(UU^T)
            h = row_sum - Q @ diag
            score = r2 - inv_n * (h - r2)
            if confidence > 0:
                score = score - confidence * 2 * np.sqrt(np.clip(r2, 0, None) * qmax * inv_n)
        score = np.where(allowed, score, -np.inf)
        a = int(np.argmax(score))
        anchors[j] = a
        res[j] = np.sqrt(max(r2[a], 0.0))
        # the row's entries straight from the CSR arrays: getrow builds a sparse matrix
        # per pick, a tenth of a millisecond each on DDFA's small vocabularies
        q = np.zeros(D)
        lo, hi = Q.indptr[a], Q.indptr[a + 1]
        np.add.at(q, Q.indices[lo:hi], Q.data[lo:hi])   # duplicates add, as in toarray
        u = q - U @ (U.T @ q)
        nu = np.linalg.norm(u)
        # a pick that adds no direction leaves nothing more to separate
        u = np.zeros(D) if nu <= 1e-12 * max(np.linalg.norm(q), 1e-300) else u / nu
        U = np.column_stack([U, u])
        proj_sq += (Q @ u) ** 2
        diag += u ** 2
        allowed[a] = False
    return anchors, res


def _snpa(Q: sp.csr_matrix, k: int, allowed: np.ndarray, inv_n: np.ndarray | None
          ) -> tuple[np.ndarray, np.ndarray]:
    """Successive nonnegative projection (Gillis 2014), vectorized over inputs."""
    V, D = Q.shape
    sq = _row_sq_norms(Q)
    row_sum = np.asarray(Q.sum(axis=1)).ravel()
    anchors: list[int] = []
    res = np.empty(k)
    r2 = sq.copy()
    allowed = allowed.copy()
    for j in range(k):
        score = r2
        if inv_n is not None:
            # noise inflation of a residual against a hull: bounded by the plain norm's
            score = r2 - inv_n * (row_sum - r2).clip(min=0)
        score = np.where(allowed, score, -np.inf)
        a = int(np.argmax(score))
        anchors.append(a)
        res[j] = np.sqrt(max(r2[a], 0.0))
        allowed[a] = False
        B = Q[anchors].toarray()                      # (j+1, D)
        G = B @ B.T
        QB = np.asarray(Q @ B.T)                      # (V, j+1)
        # residual ||q - H B||^2 with H on the (sub)simplex: H >= 0, sum H <= 1
        H = simplex_least_squares(G, QB, sub=True)
        r2 = sq - 2 * np.einsum("ij,ij->i", H, QB) + np.einsum("ij,jk,ik->i", H, G, H)
        r2 = np.maximum(r2, 0.0)
    return np.asarray(anchors, dtype=np.int64), res


def _cleanup(Q: sp.csr_matrix, anchors: np.ndarray, allowed: np.ndarray,
             inv_n: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Replace each anchor by the input farthest from the span of the others."""
    V, D = Q.shape
    k = len(anchors)
    anchors = anchors.copy()
    sq = _row_sq_norms(Q)
    row_sum = np.asarray(Q.sum(axis=1)).ravel()
    res = np.empty(k)
    for j in range(k):
        others = np.delete(anchors, j)
        B = Q[others].toarray()
        U, s, _ = np.linalg.svd(B.T, full_matrices=False)
        U = U[:, s > 1e-12 * s.max()]
        QU = np.asarray(Q @ U)
        r2 = sq - (QU ** 2).sum(axis=1)
        score = r2
        if inv_n is not None:
            h = row_sum - Q @ (U ** 2).sum(axis=1)
            score = r2 - inv_n * (h - r2)
        ok = allowed.copy()
        ok[others] = False
        a = int(np.argmax(np.where(ok, score, -np.inf)))
        anchors[j] = a
        res[j] = np.sqrt(max(r2[a], 0.0))
    return anchors, res


def simplex_kl_regression(Q: sp.csr_matrix, B: np.ndarray, *,
                          H0: np.ndarray | None = None, max_iter: int = 500,
                          tol: float = 1e-10) -> np.ndarray:
    """Maximum-likelihood simplex regression ``max_h sum_d q_d log (h B)_d`` for all rows.

    This is the likelihood of an input's domain counts given the anchor
    profiles ``B`` (k x D); solved by EM (multiplicative updates, which keep ``h``
    on the simplex), vectorized over the non-zeros of ``Q``.

    Returns
    -------
    H : ndarray of shape (n_words, k); rows on the simplex (uniform for unseen inputs).
    """
    Q = sp.csr_matrix(Q)
    V, D = Q.shape
    k = B.shape[0]
    rows = np.repeat(np.arange(V), np.diff(Q.indptr))
    cols = Q.indices
    H = np.full((V, k), 1.0 / k) if H0 is None else np.array(H0, dtype=np.float64)
    Bc = B[:, cols].T                                   # (nnz, k)
    for _ in range(max_iter):
        model = np.maximum(np.einsum("ij,ij->i", H[rows], Bc), 1e-300)
        R = sp.csr_matrix((Q.data / model, Q.indices, Q.indptr), shape=Q.shape)
        H_new = normalize_rows(H * np.asarray(R @ B.T))
        if np.abs(H_new - H).max() < tol:
            H = H_new
            break
        H = H_new
    return H


def topics_from_coefficients(H: np.ndarray, word_counts: np.ndarray, B: np.ndarray,
                             domain_sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Turn p(y|x) and the anchor profiles into the two factors.

    Parameters
    ----------
    H : (V, k) p(y|x)
    word_counts : (V,) samples per input, i.e. p(x) up to scale
    B : (k, D) p(d|y), the anchor profiles
    domain_sizes : (D,) samples per domain, i.e. p(d) up to scale

    Returns
    -------
    domain_topic : (D, k) p_d(y) ∝ p(d|y) p(y) / p(d); rows sum to 1
    topic_word : (k, V) p(x|y) ∝ p(y|x) p(x); rows sum to 1
    """
    joint = H * word_counts[:, None]                    # p(x, y) up to scale
    p_y = joint.sum(axis=0)
    topic_word = joint.T / np.maximum(p_y[:, None], 1e-300)
    p_d = domain_sizes / domain_sizes.sum()
    Bn = B / np.maximum(B.sum(axis=1, keepdims=True), 1e-300)
    dt = (Bn.T * p_y[None, :]) / np.maximum(p_d[:, None], 1e-300)
    return normalize_rows(dt), normalize_rows(topic_word)


def recover_topics(counts: Any, anchors: Any, *, loss: str = "l2", backend: str = "numpy",
                   max_iter: int | None = None, tol: float | None = None,
                   init: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Recover p_d(y) and p(x|y) from the counts and the anchor inputs.

    Parameters
    ----------
    counts : sparse or dense (n_domains, n_words) counts
    anchors : array of int, shape (k,)
    loss : {"l2", "kl"}
        Simplex regression loss of each profile on the anchor profiles.
    backend : {"numpy", "cvxpy"}
        ``"cvxpy"`` solves every regression exactly with cvxpy: the reference that
        the vectorized path is tested against (slow; for small problems).
    max_iter, tol : optional
        Budget and per-input tolerance of the regressions (defaults: to convergence).
    init : ndarray of shape (n_words, k), optional
        Where the L2 regressions start (rows on the simplex; default uniform), e.g.
        the coefficients of a fit on similar counts. The regression is convex, so the
        start changes how many steps reach the solution, not the solution.

    Returns
    -------
    domain_topic : ndarray (n_domains, k); rows sum to 1
    topic_word : ndarray (k, n_words); rows sum to 1
    word_topic : ndarray (n_words, k); p(y|x), rows sum to 1 (uniform where unseen)

    Examples
    --------
    >>> from lls_topics import make_discrete_lls
    >>> prob = make_discrete_lls(n_per_domain=2000, random_state=0)
    >>> Q, word_counts = word_profiles(prob.corpus.counts)
    >>> anchors, _ = find_anchors(Q, 5, word_counts=word_counts)
    >>> P, A, _ = recover_topics(prob.corpus.counts, anchors)
    >>> P.shape, A.shape, bool(np.allclose(A.sum(axis=1), 1))
    ((20, 5), (5, 200), True)
    """
    if loss not in ("l2", "kl"):
        raise ValueError(f"loss must be 'l2' or 'kl', got {loss!r}")
    if backend not in ("numpy", "cvxpy"):
        raise ValueError(f"backend must be 'numpy' or 'cvxpy', got {backend!r}")
    M = check_count_matrix(counts, "counts")
    Q, n_x = word_profiles(M)
    anchors = np.asarray(anchors, dtype=np.int64)
    if anchors.ndim != 1 or anchors.size == 0 or anchors.min() < 0 or \
            anchors.max() >= Q.shape[0]:
        raise ValueError(f"anchors must be a 1-D array of input ids in [0, {Q.shape[0]})")
    if np.any(n_x[anchors] <= 0):
        raise ValueError("anchors contains an input with no samples")
    B = Q[anchors].toarray()                          # (k, D): p(d|y) estimates
    if backend == "cvxpy":
        H = _recover_cvxpy(Q, B, loss)
    elif loss == "l2":
        G = B @ B.T
        QB = np.asarray(Q @ B.T)
        if init is not None:
            init = np.asarray(init, dtype=np.float64)
            if init.shape != QB.shape:
                raise ValueError(f"init must have shape (n_words, k) = {QB.shape}, "
                                 f"got {init.shape}")
        H = simplex_least_squares(G, QB, H0=init, max_iter=max_iter or 5000,
                                  tol=tol or 1e-12)
    else:
        # start the (slowly converging) multiplicative updates near the L2 solution,
        # kept off the boundary since multiplicative updates cannot leave a zero
        H0 = simplex_least_squares(B @ B.T, np.asarray(Q @ B.T), max_iter=2000, tol=1e-10)
        H0 = 0.9 * H0 + 0.1 / B.shape[0]
        H = simplex_kl_regression(Q, B, H0=H0, max_iter=max_iter or 20000, tol=tol or 1e-13)
    unseen = n_x <= 0
    H[unseen] = 1.0 / B.shape[0]
    domain_sizes = np.asarray(M.sum(axis=1)).ravel()
    dt, tw = topics_from_coefficients(H, n_x, B, domain_sizes)
    return dt, tw, H


# interior-point defaults stop ~1e-4 short of the boundary, where anchors sit
_TIGHT = dict(tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12, max_iter=500)


def label_anchors(topic_word: np.ndarray, prior: np.ndarray, word_counts: np.ndarray, *,
                  min_count: float | None = None) -> np.ndarray:
    """The anchor of each label in a final fit: the confident input most specific to it.

    After refinement, labels may drift from the inputs that anchored them at the start;
    this names, for every label ``y``, the input ``x`` with the largest
    ``p(y|x) ∝ p(x|y) p(y)`` among the inputs seen at least ``min_count`` times whose
    most probable label is ``y``. Without such an input, the condition on the count is
    dropped, then the one on the most probable label (no input then names ``y``).

    Parameters
    ----------
    topic_word : ndarray of shape (n_topics, n_words)
        p(x|y).
    prior : ndarray of shape (n_topics,)
        p(y), e.g. the pooled label mix.
    word_counts : ndarray of shape (n_words,)
        Times each input was seen.
    min_count : float, optional
        Default: 5, or 0.1% of the samples per label if larger (as in
        :func:`find_anchors`).

    Returns
    -------
    ndarray of int, shape (n_topics,)
    """
    A = np.asarray(topic_word, dtype=np.float64)
    k = A.shape[0]
    n_x = np.asarray(word_counts, dtype=np.float64).ravel()
    if min_count is None:
        min_count = max(5.0, 1e-3 * n_x.sum() / k)
    joint = A * np.asarray(prior, dtype=np.float64)[:, None]
    total = joint.sum(axis=0)
    post = np.divide(joint, total, out=np.zeros_like(joint), where=total > 0)  # p(y|x)
    best = np.argmax(post, axis=0)
    confident = n_x >= min_count
    out = np.empty(k, dtype=np.int64)
    for y in range(k):  # k passes over V: labels are few
        score = post[y]
        for allowed in (confident & (best == y), best == y, total > 0):
            if allowed.any():
                # ties (several inputs only label y emits): the most often seen
                out[y] = int(np.lexsort((-n_x, -np.where(allowed, score, -1.0)))[0])
                break
        else:
            out[y] = int(np.argmax(A[y]))
    return out


def _recover_cvxpy(Q: sp.csr_matrix, B: np.ndarray, loss: str) -> np.ndarray:
    """Exact per-input simplex regressions with cvxpy (the reference implementation)."""
    import cvxpy as cp

    V, D = Q.shape
    k = B.shape[0]
    H = np.full((V, k), 1.0 / k)
    h = cp.Variable(k, nonneg=True)
    q = cp.Parameter(D)
    l2 = cp.Problem(cp.Minimize(cp.sum_squares(B.T @ h - q)), [cp.sum(h) == 1])
    for x in range(V):  # the reference path: one small exact problem per input
        row = Q.getrow(x).toarray().ravel()
        if row.sum() <= 0:
            continue
        if loss == "l2":
            q.value = row
            l2.solve(solver=cp.CLARABEL, **_TIGHT)
        else:
            support = row > 0
            # restrict the log to the support of q so zero-count domains add nothing
            sub = cp.Problem(cp.Maximize(row[support] @ cp.log(B[:, support].T @ h)),
                             [cp.sum(h) == 1])
            with warnings.catch_warnings():
                # at these tolerances the exponential cone reports "may be inaccurate"
                # while agreeing with the fast path to ~1e-5
                warnings.simplefilter("ignore", UserWarning)
                sub.solve(solver=cp.CLARABEL, **_TIGHT)
        H[x] = np.clip(h.value, 0, None)
        H[x] /= H[x].sum()
    return H
