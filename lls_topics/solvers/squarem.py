"""SQUAREM acceleration of positive fixed-point iterations (EM, variational Bayes).

EM and mean-field VB on the LLS mixture converge linearly, and slowly where the
likelihood is flat (real text: hundreds of sweeps still move p_d(y) by 1e-4).
SQUAREM (Varadhan & Roland, 2008, scheme S3) takes two plain steps, extrapolates
along the fitted quadratic path and takes one stabilizing step from there. It keeps
the fixed points of the map and needs no gradient. Here the extrapolation is done on
the logarithms of the parameters, so every extrapolated point stays positive, and
an optional merit function (the log-likelihood for EM) rejects any cycle that would
lose ground, which keeps EM monotone.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

__all__ = ["squarem"]

Params = Sequence[np.ndarray]
_FLOOR = 1e-300


def squarem(step: Callable[[Params], list], x0: Params, *, max_iter: int,
            converged: Callable[[Params, Params], bool],
            merit: Callable[[Params], float] | None = None,
            max_step: float = 64.0) -> tuple[list, int]:
    """Iterate the positive map ``step`` to a fixed point with SQUAREM.

    Parameters
    ----------
    step : callable(list of arrays) -> list of arrays
        One plain iteration (an EM or VB sweep). Arrays must stay positive.
    x0 : sequence of positive arrays
        The start.
    max_iter : int
        Budget in plain steps (each cycle uses three).
    converged : callable(old, new) -> bool
        Stopping rule, checked after every cycle.
    merit : callable(params) -> float, optional
        Higher is better (the log-likelihood). A cycle that ends below its
        plain two-step point is replaced by that point and the step bound shrinks.
    max_step : float
        Largest extrapolation factor tried at first; it grows while the bound is
        hit and the merit keeps improving.

    Returns
    -------
    params : list of arrays
        The last iterate.
    n_steps : int
        Plain steps taken.
    """
    x = [np.asarray(a, dtype=np.float64) for a in x0]
    n = 0
    bound = float(max_step)
    while n < max_iter:
        x1 = step(x)
        n += 1
        if n >= max_iter or converged(x, x1):
            return x1, n
        x2 = step(x1)
        n += 1
        # exact zeros (fixed by multiplicative updates) stay at the floor
        lx, l1, l2 = ([np.log(np.maximum(a, _FLOOR)) for a in z] for z in (x, x1, x2))
        r = [b - a for a, b in zip(lx, l1)]
        v = [c - 2 * b + a for a, b, c in zip(lx, l1, l2)]
        rr = sum(float(np.vdot(a, a)) for a in r)
        vv = sum(float(np.vdot(a, a)) for a in v)
        alpha = -np.sqrt(rr / vv) if vv > 0 else -1.0
        alpha = float(np.clip(alpha, -bound, -1.0))
        new = x2
        if alpha < -1.0 and n < max_iter:
            with np.errstate(over="ignore", invalid="ignore"):
                y = [np.exp(a - 2 * alpha * b + alpha * alpha * c)
                     for a, b, c in zip(lx, r, v)]
            if all(np.all(np.isfinite(a)) and np.all(a > 0) for a in y):
                cand = step(y)
                n += 1
                ok = all(np.all(np.isfinite(a)) for a in cand)
                if ok and merit is not None:
                    ok = merit(cand) >= merit(x2)
                if ok:
                    new = cand
                    if alpha == -bound:
                        bound *= 4.0
                else:
                    bound = max(1.0, bound / 4.0)
        done = converged(x, new)
        x = new
        if done:
            break
    return x, n
