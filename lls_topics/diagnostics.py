"""Can these domains identify these labels? Checks on a fitted factorization.

The labels are identifiable (up to a permutation) when every label owns anchor
inputs and the domain-by-label matrix p_d(y) has full column rank. A fit shows how
close it came to failing either condition:

- **anchor strength** of label y: the largest p(y|x) among inputs with enough
  samples, and how many inputs are near-anchors (p(y|x) >= 0.9). A label without
  a strong anchor is a mixture the data cannot pin down;
- the **condition number** of p_d(y): large when some combination of labels moves
  (almost) the same way in every domain;
- **nearly collinear label pairs**: two p_d(y) columns whose correlation across
  domains is near 1 shift together, so no domain tells them apart.

:func:`identifiability_diagnostics` measures all three and words one actionable
message per failed check; every solver's ``fit`` raises them as
:class:`~lls_topics.solvers.base.IdentifiabilityWarning` and ``diagnostics()``
returns them.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["identifiability_diagnostics", "ANCHOR_STRENGTH_MIN", "NEAR_ANCHOR",
           "COLLINEAR_CORRELATION", "CONDITION_MAX"]

#: a label whose best input gives p(y|x) below this has no usable anchor
ANCHOR_STRENGTH_MIN = 0.5
#: inputs with p(y|x) at least this count as near-anchors of y
NEAR_ANCHOR = 0.9
#: two fitted p_d(y) columns correlated above this across domains shift together (on the
#: protocol grid fitted pairs reach 0.35; planted shared columns give 0.70-0.95)
COLLINEAR_CORRELATION = 0.65
#: p_d(y) with a larger condition number barely identifies the labels
CONDITION_MAX = 1e4


def _label_posterior(domain_topic: np.ndarray, topic_word: np.ndarray,
                     domain_sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """p(y|x) under the pooled mix (k, V) and each input's expected count (V,)."""
    p_y = domain_sizes @ domain_topic                    # expected samples per label
    joint = topic_word * p_y[:, None]                    # (k, V): expected counts of (y, x)
    n_x = joint.sum(axis=0)
    post = np.divide(joint, n_x, out=np.zeros_like(joint), where=n_x > 0)
    return post, n_x


def _collinear_pairs(P: np.ndarray, threshold: float) -> list[dict]:
    D, k = P.shape
    if D < 3 or k < 2:
        return []
    Z = P - P.mean(axis=0)
    norm = np.linalg.norm(Z, axis=0)
    # a label constant across domains is collinear with nothing in this sense; the
    # condition number speaks for it
    Z = np.divide(Z, norm, out=np.zeros_like(Z), where=norm > 1e-12 * max(norm.max(), 1e-300))
    C = Z.T @ Z
    i, j = np.triu_indices(k, 1)
    hit = C[i, j] >= threshold
    order = np.argsort(-C[i, j][hit])
    return [{"labels": (int(a), int(b)), "correlation": float(c)}
            for a, b, c in zip(i[hit][order], j[hit][order], C[i, j][hit][order])]


def identifiability_diagnostics(domain_topic: Any, topic_word: Any, domain_sizes: Any, *,
                                min_count: float | None = None) -> dict:
    """Measure how well a fitted factorization identifies its labels.

    Parameters
    ----------
    domain_topic : array of shape (n_domains, k)
        Fitted p_d(y); rows sum to 1.
    topic_word : array of shape (k, n_words)
        Fitted p(x|y); rows sum to 1.
    domain_sizes : array of shape (n_domains,)
        Samples per domain (gives each input's expected count).
    min_count : float, optional
        Inputs with fewer expected samples are not considered as anchors (their
        p(y|x) is mostly noise). Default: 5, or 0.1% of the samples per label if
        larger (the anchor solver's candidate filter).

    Returns
    -------
    dict with
        ``anchor_strength`` : ndarray (k,), the largest p(y|x) over counted inputs;
        ``anchor_input`` : ndarray of int (k,), the input that gives it;
        ``n_near_anchors`` : ndarray of int (k,), inputs with p(y|x) >= 0.9;
        ``condition_number`` : float, of p_d(y) (2-norm);
        ``collinear_pairs`` : list of {"labels": (i, j), "correlation": r}, most
        correlated first;
        ``warnings`` : list of str, one actionable message per failed check.
    """
    P = np.asarray(domain_topic, dtype=np.float64)
    A = np.asarray(topic_word, dtype=np.float64)
    n = np.broadcast_to(np.asarray(domain_sizes, dtype=np.float64), (P.shape[0],))
    if P.ndim != 2 or A.ndim != 2 or P.shape[1] != A.shape[0]:
        raise ValueError(f"domain_topic (n_domains, k) and topic_word (k, n_words) must share "
                         f"k, got shapes {P.shape} and {A.shape}")
    k = P.shape[1]
    post, n_x = _label_posterior(P, A, n)
    if min_count is None:
        min_count = max(5.0, 1e-3 * n.sum() / k)
    counted = n_x >= min_count
    if not counted.any():
        counted = n_x > 0
    masked = np.where(counted[None, :], post, -1.0)
    anchor_input = np.argmax(masked, axis=1)
    strength = np.clip(masked[np.arange(k), anchor_input], 0.0, None)
    near = (masked >= NEAR_ANCHOR).sum(axis=1)
    sv = np.linalg.svd(P, compute_uv=False)
    cond = float(np.inf if sv[-1] <= 0 else sv[0] / sv[-1]) if k > 1 else 1.0
    pairs = _collinear_pairs(P, COLLINEAR_CORRELATION)

    messages = []
    for y in np.flatnonzero(strength < ANCHOR_STRENGTH_MIN):
        messages.append(
            f"label {y} has no anchor: its most specific input ({int(anchor_input[y])}, about "
            f"{n_x[anchor_input[y]]:.0f} samples) gives p(y|x) = {strength[y]:.2f}, so this "
            "label may be a mixture of others: lower n_topics, or use inputs that only one "
            "label emits (a finer vocabulary, more clusters)")
    for p in pairs:
        a, b = p["labels"]
        messages.append(
            f"labels {a} and {b} shift together across domains (correlation "
            f"{p['correlation']:.2f}): add domains where they differ, or lower n_topics")
    if cond > CONDITION_MAX:
        messages.append(
            f"the fitted p_d(y) matrix has condition number {cond:.3g}: the labels are barely "
            "identifiable from these domains (duplicate or collinear domains, or too many "
            "topics): add domains whose label mixes differ, or lower n_topics")
    return {"anchor_strength": strength, "anchor_input": anchor_input,
            "n_near_anchors": near, "condition_number": cond, "collinear_pairs": pairs,
            "warnings": messages}
