"""Evaluation metrics for latent label shift, invariant to label permutations.

Labels are only identifiable up to a permutation, so every metric first aligns the
estimated labels to the true ones with the Hungarian algorithm. Definitions follow
the benchmark protocol (``docs/protocol.md``).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from ._validation import check_distribution_matrix

__all__ = ["align_labels", "prior_l1", "prior_l1_per_entry", "matched_accuracy",
           "topic_l1", "confusion_permutation"]


def _pair(P_true: Any, P_hat: Any, names: tuple[str, str], axis_k: int = 1
          ) -> tuple[np.ndarray, np.ndarray]:
    A = check_distribution_matrix(P_true, names[0])
    B = check_distribution_matrix(P_hat, names[1])
    if A.shape[1 - axis_k] != B.shape[1 - axis_k]:
        raise ValueError(f"{names[0]} and {names[1]} must describe the same rows, got shapes "
                         f"{A.shape} and {B.shape}")
    if B.shape[axis_k] < A.shape[axis_k]:
        raise ValueError(f"{names[1]} has {B.shape[axis_k]} labels, fewer than the "
                         f"{A.shape[axis_k]} of {names[0]}")
    return A, B


def align_labels(P_true: Any, P_hat: Any) -> np.ndarray:
    """Permutation of estimated labels that best matches the true ones in L1.

    Parameters
    ----------
    P_true : array-like of shape (n_domains, k)
        True p_d(y).
    P_hat : array-like of shape (n_domains, k_hat), k_hat >= k
        Estimated p_d(y).

    Returns
    -------
    perm : ndarray of int, shape (k,)
        ``P_hat[:, perm]`` is aligned with ``P_true``.

    Examples
    --------
    >>> P = np.array([[0.9, 0.1], [0.2, 0.8]])
    >>> align_labels(P, P[:, ::-1]).tolist()
    [1, 0]
    """
    A, B = _pair(P_true, P_hat, ("P_true", "P_hat"))
    cost = np.abs(A[:, :, None] - B[:, None, :]).sum(axis=0)
    rows, cols = linear_sum_assignment(cost)
    perm = np.empty(A.shape[1], dtype=np.int64)
    perm[rows] = cols
    return perm


def prior_l1(P_true: Any, P_hat: Any, *, per_entry: bool = False) -> float:
    """L1 error of the label priors p_d(y) after the best label permutation.

    Parameters
    ----------
    P_true, P_hat : array-like of shape (n_domains, k)
    per_entry : bool, default=False
        Divide by ``n_domains * k`` (the mean per entry, as the DDFA paper reports).

    Returns
    -------
    float
        ``sum_{d,y} |p_d(y) - p^_d(pi(y))|``.

    Examples
    --------
    >>> P = np.array([[0.9, 0.1], [0.2, 0.8]])
    >>> prior_l1(P, P[:, ::-1])  # the labels are matched before comparing
    0.0
    >>> round(prior_l1(P, [[0.8, 0.2], [0.2, 0.8]]), 6)
    0.2
    """
    A, B = _pair(P_true, P_hat, ("P_true", "P_hat"))
    perm = align_labels(A, B)
    err = float(np.abs(A - B[:, perm]).sum())
    return err / A.size if per_entry else err


def prior_l1_per_entry(P_true: Any, P_hat: Any) -> float:
    """Mean absolute error per entry of p_d(y) after alignment (see :func:`prior_l1`)."""
    return prior_l1(P_true, P_hat, per_entry=True)


def topic_l1(A_true: Any, A_hat: Any, *, perm: Any = None) -> float:
    """Summed L1 error of p(x|y) rows after the best (or a given) label permutation.

    Parameters
    ----------
    A_true, A_hat : array-like of shape (k, n_words)
        Rows are p(x|y).
    perm : array-like of int, optional
        Use this permutation (e.g. the one from :func:`align_labels` on p_d(y))
        instead of matching on the topics themselves.
    """
    A = check_distribution_matrix(A_true, "A_true")
    B = check_distribution_matrix(A_hat, "A_hat")
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"A_true and A_hat must have the same number of inputs, got "
                         f"shapes {A.shape} and {B.shape}")
    if perm is None:
        if B.shape[0] < A.shape[0]:
            raise ValueError("A_hat has fewer labels than A_true")
        # cityblock cost without a (k, k, V) tensor
        cost = np.stack([np.abs(B - a).sum(axis=1) for a in A])
        rows, cols = linear_sum_assignment(cost)
        perm = np.empty(A.shape[0], dtype=np.int64)
        perm[rows] = cols
    perm = np.asarray(perm)
    return float(np.abs(A - B[perm]).sum())


def _confusion(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts of (predicted, true) label pairs, with the distinct labels of each."""
    yt = np.asarray(y_true).ravel()
    yp = np.asarray(y_pred).ravel()
    if yt.shape != yp.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {yt.size} and "
                         f"{yp.size}")
    if yt.size == 0:
        raise ValueError("y_true is empty")
    ct, it = np.unique(yt, return_inverse=True)
    cp, ip = np.unique(yp, return_inverse=True)
    C = np.zeros((len(cp), len(ct)), dtype=np.int64)
    np.add.at(C, (ip.ravel(), it.ravel()), 1)
    return C, cp, ct


def confusion_permutation(y_true: Any, y_pred: Any) -> dict:
    """Mapping from predicted to true labels that maximizes agreement."""
    C, cp, ct = _confusion(y_true, y_pred)
    rows, cols = linear_sum_assignment(-C)
    return {cp[r].item() if hasattr(cp[r], "item") else cp[r]:
            ct[c].item() if hasattr(ct[c], "item") else ct[c] for r, c in zip(rows, cols)}


def matched_accuracy(y_true: Any, y_pred: Any) -> float:
    """Accuracy after the label permutation that maximizes it (Hungarian matching).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> matched_accuracy([0, 0, 1, 1], [1, 1, 0, 1])
    0.75
    """
    C, _, _ = _confusion(y_true, y_pred)
    rows, cols = linear_sum_assignment(-C)
    return float(C[rows, cols].sum() / C.sum())
