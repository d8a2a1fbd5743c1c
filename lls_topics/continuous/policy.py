"""DDFA's automatic choices, as pure functions of held-out measurements (no torch).

DDFA builds several candidate models of the same data (clusterings of different
spaces, posteriors, label-network refinement rounds). Under latent label shift every
candidate is a *factored* model of the domain posterior,

    p(d|x) = sum_y q(y|x) p(d|y),

and the true label posterior with the true p(d|y) attains the lowest expected
domain log-loss among all such models. So candidates are compared by their
log-likelihood of the domains of held-out samples (rows that no network was trained
or early-stopped on), sample by sample. A candidate replaces the current one only
when its mean gain beats the sampling noise of that mean (a paired comparison on the
same rows); refinement stops at the first round that does not. No threshold here is
a value placed between two data sets' measurements: the margin is the standard error
of the user's own held-out estimate.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["SWITCH_Z", "REFINE_EPOCH_SHARE", "MAX_REFINE_ROUNDS", "paired_gain",
           "prefer_candidate", "choose_candidate", "refine_epoch_budget",
           "split_heldout"]

#: a candidate must beat the current one by this many standard errors of the paired
#: mean log-likelihood gain: two standard errors, the conventional two-sigma bar (a
#: candidate no better than the current one passes it about 2% of the time). Not tuned
#: on any benchmark.
SWITCH_Z = 2.0
#: label-network training (all refinement rounds together) may run at most this share
#: of the discriminator's epochs. Set from the time bar, not from accuracy: a round's
#: epoch costs what a discriminator epoch costs, so DDFA's fit stays within about
#: 1 + 3/4 discriminator trainings (the clustering and solver steps take the rest of
#: a 2x budget against the reference pipeline).
REFINE_EPOCH_SHARE = 0.75
#: most refinement rounds with ``refine_rounds="auto"``; the held-out rule usually
#: stops earlier, and the epoch budget caps the rounds' total cost whatever this is.
MAX_REFINE_ROUNDS = 3


def _check_loglik(values: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of per-sample "
                         f"log-likelihoods, got shape {a.shape}")
    if np.any(np.isnan(a)) or np.any(a == np.inf):
        raise ValueError(f"{name} must not hold NaN or +inf")
    return a


def paired_gain(current: Sequence[float], candidate: Sequence[float]) -> tuple[float, float]:
    """Mean per-sample log-likelihood gain of ``candidate`` over ``current`` and its
    standard error.

    Parameters
    ----------
    current, candidate : array-like of shape (n_samples,)
        log p(d_i | x_i) of each held-out sample under the two models (same rows).

    Returns
    -------
    gain : float
        Mean of ``candidate - current`` (nats per sample; positive favours the
        candidate).
    stderr : float
        Standard error of that mean (0 with a single sample).
    """
    a = _check_loglik(current, "current")
    b = _check_loglik(candidate, "candidate")
    if a.shape != b.shape:
        raise ValueError(f"current and candidate must score the same rows, got shapes "
                         f"{a.shape} and {b.shape}")
    # -inf (a sample the model gives no mass) is a finite but very large loss
    diff = np.maximum(b, -1e3) - np.maximum(a, -1e3)
    n = diff.size
    se = float(diff.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0
    return float(diff.mean()), se


def prefer_candidate(current: Sequence[float], candidate: Sequence[float], *,
                     z: float = SWITCH_Z) -> bool:
    """Whether ``candidate`` should replace ``current``: its mean held-out
    log-likelihood gain is positive and larger than ``z`` standard errors.

    Ties, and gains within the noise, keep the current model, so the order in which
    candidates are offered says which one wins when the data cannot tell them apart.
    """
    if not np.isfinite(z) or z < 0:
        raise ValueError(f"z must be a finite number >= 0, got {z!r}")
    gain, se = paired_gain(current, candidate)
    return gain > 0 and gain > z * se


def choose_candidate(logliks: Sequence[Sequence[float]], *, z: float = SWITCH_Z,
                     stop_at_first_loss: bool = False) -> int:
    """Index of the candidate kept by offering them in order to :func:`prefer_candidate`.

    Parameters
    ----------
    logliks : sequence of array-like of shape (n_samples,)
        Held-out per-sample log-likelihoods, one array per candidate, in order of
        preference (the first is kept unless another beats it beyond the noise).
    z : float
        See :func:`prefer_candidate`.
    stop_at_first_loss : bool
        For successive refinement rounds: stop at the first candidate that does not
        beat the current one (the later ones build on it).

    Returns
    -------
    int
    """
    if len(logliks) == 0:
        raise ValueError("logliks must hold at least one candidate")
    best = 0
    for i in range(1, len(logliks)):
        if prefer_candidate(logliks[best], logliks[i], z=z):
            best = i
        elif stop_at_first_loss:
            break
    return best


def refine_epoch_budget(discriminator_epochs: int, share: float = REFINE_EPOCH_SHARE) -> int:
    """Epochs that all refinement rounds together may train: ``share`` of the epochs the
    discriminator ran (rounded, at least 1)."""
    e = int(discriminator_epochs)
    if e < 1:
        raise ValueError(f"discriminator_epochs must be >= 1, got {discriminator_epochs!r}")
    if not np.isfinite(share) or share <= 0:
        raise ValueError(f"share must be a number > 0, got {share!r}")
    return max(1, int(round(share * e)))


def split_heldout(heldout: Sequence[int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split held-out rows in two halves at random: one for the label networks' early
    stopping, one for choosing between candidates.

    The rows that choose a candidate must be rows that no candidate was selected on:
    a label network early-stopped on them scores 0.1-0.2 nats better there than on
    fresh rows (digits, alpha 0.5 to 10), more than the gains being compared.

    Returns
    -------
    stop_rows, choice_rows : ndarray of int
        Sorted; together they are ``heldout``.
    """
    h = np.asarray(heldout, dtype=np.int64).reshape(-1)
    if h.size < 2:
        raise ValueError(f"heldout must hold at least 2 rows, got {h.size}")
    perm = np.random.default_rng(int(seed)).permutation(h)
    half = h.size // 2
    return np.sort(perm[:half]), np.sort(perm[half:])
