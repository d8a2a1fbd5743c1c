"""Simplex tools shared by the discrete solvers and DDFA's adjust step.

One copy each of: Euclidean projection onto the probability simplex, least squares
over the simplex for many right-hand sides at once, and row normalization with a
uniform fallback for rows without mass.
"""
from __future__ import annotations

import numpy as np

__all__ = ["normalize_rows", "project_simplex", "simplex_least_squares"]


def normalize_rows(X: np.ndarray) -> np.ndarray:
    """Scale each row of a non-negative matrix to sum to 1.

    A row with no mass (an unused label, an unseen input) becomes uniform instead of
    NaN, so every row of the result is a distribution.

    Examples
    --------
    >>> normalize_rows(np.array([[1.0, 3.0], [0.0, 0.0]]))
    array([[0.25, 0.75],
           [0.5 , 0.5 ]])
    """
    X = np.asarray(X, dtype=np.float64)
    s = X.sum(axis=1, keepdims=True)
    return np.divide(X, s, out=np.full_like(X, 1.0 / X.shape[1]), where=s > 0)


def project_simplex(Y: np.ndarray, *, sub: bool = False) -> np.ndarray:
    """Euclidean projection of each row of ``Y`` onto the probability simplex.

    With ``sub=True`` the target is ``{h >= 0, sum h <= 1}`` instead.
    Sort-based (Held et al. / Duchi et al.), ``O(n k log k)``.
    """
    Y = np.asarray(Y, dtype=np.float64)
    n, k = Y.shape
    if sub:
        clipped = np.maximum(Y, 0.0)
        inside = clipped.sum(axis=1) <= 1.0
        out = clipped
        if np.all(inside):
            return out
        out = out.copy()
        out[~inside] = project_simplex(Y[~inside])
        return out
    U = np.sort(Y, axis=1)[:, ::-1]
    css = np.cumsum(U, axis=1)
    css -= 1.0
    # with u sorted in decreasing order, j u_j > u_1 + ... + u_j - 1 holds exactly for
    # the first rho entries (the support), so rho is a count, not a search
    rho = np.count_nonzero(U * np.arange(1, k + 1) > css, axis=1)
    theta = css[np.arange(n), rho - 1] / rho
    return np.maximum(Y - theta[:, None], 0.0)


#: without a start, at most this many rows go through the exact active-set solve first
#: (on the few hundred rows of a DDFA vocabulary it is several times faster than the
#: FISTA loop, whose per-step overhead dominates small problems); more rows iterate
_EXACT_ROWS = 1000
#: the exact solve needs G = B B^T well conditioned (smallest eigenvalue above this share
#: of the largest), where the minimizer is unique and both paths agree to 1e-9
_EXACT_COND = 1e-8


#: rounds of support updates (primal-dual active set) before the rows left iterate,
#: from a start's support and from the full support (no start)
_SUPPORT_ROUNDS = 4
_COLD_SUPPORT_ROUNDS = 12


def _simplex_ls_on_support(G: np.ndarray, QB: np.ndarray, support: np.ndarray
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact minimizers for the rows whose minimizer has the guessed ``support``.

    On a guessed support S the minimizer solves the KKT system
    ``G_SS h - qb_S = lam 1``, ``sum h = 1`` (``h = 0`` off S); it is the minimizer
    (unique: G is positive definite) exactly when ``h >= 0`` and
    ``(h G - qb)_j >= lam`` off S. One batched (k + 1) x (k + 1) solve per row.

    Returns
    -------
    H : ndarray (n, k); the exact minimizer on the rows where ``ok`` holds
    ok : ndarray of bool (n,)
    next_support : ndarray of bool (n, k)
        The next guess (primal-dual active set): the guessed support less its
        negative entries, plus the inputs off it whose multiplier is negative.
    """
    n, k = QB.shape
    s = support.astype(np.float64)
    K = np.zeros((n, k + 1, k + 1))
    K[:, :k, :k] = G * (s[:, :, None] * s[:, None, :])
    K[:, np.arange(k), np.arange(k)] += 1.0 - s       # h_j = 0 off the support
    K[:, :k, k] = -s
    K[:, k, :k] = s
    rhs = np.empty((n, k + 1))
    rhs[:, :k] = QB * s
    rhs[:, k] = 1.0
    empty = ~support.any(axis=1)
    K[empty, k, :k] = 1.0                              # any solvable system; not ok
    K[empty, :k, k] = -1.0
    sol = np.linalg.solve(K, rhs[:, :, None])[:, :, 0]
    H, lam = sol[:, :k], sol[:, k]
    eps = 1e-12 * max(float(np.abs(G).max()), 1.0)
    slack = H @ G - QB - lam[:, None]          # 0 on S, must be >= 0 off S
    ok = ~empty & np.all(H >= 0, axis=1) & np.all(support | (slack >= -eps), axis=1)
    nxt = (support & (H > 0)) | (~support & (slack < -eps))
    stuck = ~nxt.any(axis=1)
    nxt[stuck] = support[stuck]
    return H, ok, nxt


def simplex_least_squares(G: np.ndarray, QB: np.ndarray, *, H0: np.ndarray | None = None,
                          max_iter: int = 5000, tol: float = 1e-12, sub: bool = False,
                          support_rounds: int | None = None) -> np.ndarray:
    """Solve ``min_h ||q - h B||^2`` over the simplex for many ``q`` at once.

    Only the Gram matrix ``G = B B^T`` (k x k) and ``QB = Q B^T`` (n x k) are
    needed, so each iteration costs ``O(n k^2)`` whatever the number of domains.
    Accelerated projected gradient (FISTA) with adaptive restart. Where ``G`` is well
    conditioned, rows are first solved exactly on a guessed support (a batched KKT
    solve, then primal-dual support updates) and only the rows left iterate: from
    the support of a start ``H0`` (rows on the simplex), or without one from the full
    support, for up to 1000 rows. ``support_rounds`` sets how many support updates
    run before the rows left iterate (default: 4 from a start, 12 without one).

    Returns
    -------
    H : ndarray of shape (n, k); rows on the simplex.
    """
    n, k = QB.shape
    eig = np.linalg.eigvalsh(G)
    L = float(eig[-1])
    if L <= 0:
        return np.full((n, k), 1.0 / k)
    step = 1.0 / L
    QB = np.asarray(QB, dtype=np.float64)
    H = np.full((n, k), 1.0 / k) if H0 is None else np.array(H0, dtype=np.float64)
    if not sub and eig[0] > _EXACT_COND * L and (H0 is not None or n <= _EXACT_ROWS):
        # the rows whose minimizer a few support updates find are solved exactly, the
        # rest iterate: from a start close to the solution (a bootstrap replicate from
        # the full fit) the start's support is mostly right; without one, the updates
        # begin from the full support
        rounds = support_rounds if support_rounds is not None else \
            _SUPPORT_ROUNDS if H0 is not None else _COLD_SUPPORT_ROUNDS
        left = []
        # blocks of rows keep the batched (k + 1) x (k + 1) systems to about 16 MB
        block = max(1, 2_000_000 // (k + 1) ** 2)
        for lo in range(0, n, block):
            rest = np.arange(lo, min(n, lo + block))
            support = H[rest] > 0
            for _ in range(rounds):
                H_try, ok, support = _simplex_ls_on_support(G, QB[rest], support)
                H[rest[ok]] = H_try[ok]
                rest, support = rest[~ok], support[~ok]
                if rest.size == 0:
                    break
            left.append(rest)
        rest = np.zeros(n, dtype=bool)
        rest[np.concatenate(left)] = True
        if rest.any():
            H[rest] = _fista(G, QB[rest], H[rest], step, max_iter, tol, sub)
        return H
    return _fista(G, QB, H, step, max_iter, tol, sub)


def _fista(G: np.ndarray, QB: np.ndarray, H: np.ndarray, step: float, max_iter: int,
           tol: float, sub: bool) -> np.ndarray:
    """The accelerated projected-gradient loop of :func:`simplex_least_squares`."""
    n = QB.shape[0]
    # the rows still moving, compacted: a row leaves the working set once it has
    # converged, and the rest keep contiguous arrays (no gather/scatter per step)
    rows = np.arange(n)
    Hw, Yw, QBw = H, H.copy(), QB
    t = 1.0
    for _ in range(max_iter):
        grad = Yw @ G
        grad -= QBw
        H_new = project_simplex(Yw - step * grad, sub=sub)
        delta = H_new - Hw
        t_new = 0.5 * (1 + np.sqrt(1 + 4 * t * t))
        mom = (t - 1) / t_new
        # restart momentum where it points uphill (O'Donoghue & Candes)
        uphill = np.einsum("ij,ij->i", grad, delta) > 0
        Yw = H_new + mom * delta
        Yw[uphill] = H_new[uphill]
        Hw = H_new
        t = t_new
        still = np.abs(delta).max(axis=1) > tol
        if not still.all():
            H[rows] = Hw
            rows, Hw, Yw, QBw = rows[still], Hw[still], Yw[still], QBw[still]
            if rows.size == 0:
                return H
    H[rows] = Hw
    return H
