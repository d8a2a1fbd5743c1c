"""DDFA's automatic choices as pure functions: no torch, no data, only numbers in.

:func:`choose` resolves ``space="auto"``, the default vocabulary size and
``posterior="auto"`` from measured quantities (the discriminator's held-out domain
signal, and the held-out domain information of clusterings), with every threshold a
named argument, so that the rule can be read, unit-tested and changed in one place.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Choice", "choose", "default_n_clusters", "reference_n_clusters",
           "information_margin", "NO_SIGNAL", "STRONG_SIGNAL", "FEATURE_SHARE"]

#: below this domain signal ``space="auto"`` clusters the features alone: the
#: discriminator does not beat the prior p(d) on held-out data by a margin that the
#: solver could use. On the digits grid, alpha=10 with unequal sizes gave 0.000-0.008,
#: the next weakest setting (alpha=10, equal sizes) 0.029-0.043.
NO_SIGNAL = 0.015
#: at or above this domain signal the default vocabulary is 2k instead of 1.5k: strong
#: domain shift keeps more clusters label-pure and identifiable (digits: alpha=0.5 gave
#: 0.33-0.72, alpha=3 0.09-0.25).
STRONG_SIGNAL = 0.3
#: with ``space="auto"``, features count as informative when clusters of the features
#: keep at least this share of the held-out domain information that clusters of the
#: discriminator outputs keep (and otherwise only when the difference is within the
#: estimate's sampling noise, :func:`information_margin`). Digits gave 0.70-1.9,
#: mnist1d (whose raw features k-means to near chance) mostly 0.12-0.67.
FEATURE_SHARE = 0.68


class Choice(NamedTuple):
    """What :func:`choose` decided."""

    #: where to cluster: "discriminator", "features" or "both"
    space: str
    #: vocabulary size m
    n_clusters: int
    #: how predict_proba scores a sample: "adjust" or "combined" (or the user's choice)
    posterior: str
    #: held-out information of feature clusters over that of p(d|x) clusters, if measured
    feature_share: float | None
    #: whether the choice would change with the clusterings' held-out information
    #: (``info_disc``/``info_feat``), which the caller has not measured yet
    needs_information: bool


def default_n_clusters(n_topics: int, n_samples: int, signal: float | None = None, *,
                       strong_signal: float = STRONG_SIGNAL) -> int:
    """The default vocabulary size: ``1.5 k`` (rounded up), or ``2 k`` when the domain
    signal is at least ``strong_signal``; at most one cluster per 20 samples (but never
    fewer than ``k``).

    Measured on the digits grid (``benchmarks/continuous.py``): with few samples per
    domain, larger vocabularies spread the counts thin and the solver groups the
    clusters less reliably, so ``1.5 k`` was best among 1.5k, 2k, 3k, 5k and 8k where
    domains differ moderately or little; where they differ much (alpha=0.5), ``2 k`` was
    more accurate (0.945 against 0.828 median accuracy at r=2k) and halved L1(P).

    Examples
    --------
    >>> default_n_clusters(10, 5000), default_n_clusters(10, 5000, signal=0.5)
    (15, 20)
    """
    k = int(n_topics)
    m = 2 * k if signal is not None and signal >= strong_signal else -(-3 * k // 2)
    return int(max(k, min(m, n_samples // 20)))


def reference_n_clusters(n_topics: int, n_samples: int) -> int:
    """The reference DDFA's vocabulary, ``3 k``, capped at one cluster per 20 samples
    (never below ``k``): used for clusters of p(d|x) alone and of label networks.

    Examples
    --------
    >>> reference_n_clusters(10, 5000), reference_n_clusters(10, 300)
    (30, 15)
    """
    k = int(n_topics)
    return int(min(3 * k, max(k, n_samples // 20)))


def information_margin(n_clusters: int, n_domains: int, n_held: int) -> float:
    """Twice the sampling noise of a plug-in I(cluster; domain) estimate in nats.

    Where cluster and domain are independent, ``2 N I`` is chi-squared with
    ``(m - 1)(D - 1)`` degrees of freedom; one clustering must beat another by more
    than twice that standard deviation (divided by ``2 N``) to count as better.
    """
    return 2.0 * np.sqrt(2.0 * (n_clusters - 1) * (n_domains - 1)) / (2.0 * max(n_held, 1))


def choose(*, n_topics: int, n_samples: int, n_domains: int, signal: float,
           has_features: bool, space: str = "auto", n_clusters: int | None = None,
           posterior: str = "auto", info_disc: float | None = None,
           info_feat: float | None = None, n_held: int | None = None,
           no_signal: float = NO_SIGNAL, strong_signal: float = STRONG_SIGNAL,
           feature_share: float = FEATURE_SHARE) -> Choice:
    """Resolve DDFA's ``"auto"`` settings.

    Parameters
    ----------
    n_topics, n_samples, n_domains : int
        k, the samples that are clustered, and D.
    signal : float
        The discriminator's held-out domain signal (:func:`lls_topics.continuous.ddfa.domain_signal`).
    has_features : bool
        Whether feature vectors can be clustered (False for a torch Dataset).
    space, n_clusters, posterior :
        The user's settings; ``"auto"`` / None are resolved here.
    info_disc, info_feat : float, optional
        Held-out I(cluster; domain) of p(d|x) clusters and of feature clusters, both
        with the vocabulary of a first call. ``info_feat`` may be None when
        ``info_disc`` is within the noise margin (p(d|x) clusters cannot win then).
    n_held : int, optional
        Number of held-out rows behind the information estimates.
    no_signal, strong_signal, feature_share : float
        The thresholds (see the module constants for how each was set).

    Returns
    -------
    Choice

    Examples
    --------
    >>> choose(n_topics=10, n_samples=4000, n_domains=20, signal=0.2, has_features=True,
    ...        info_disc=0.5, info_feat=0.1, n_held=800).space
    'discriminator'
    """
    k = int(n_topics)
    resolved = space
    if space == "auto":
        resolved = ("discriminator" if not has_features else
                    "features" if signal < no_signal else "both")
    m = (default_n_clusters(k, n_samples, signal, strong_signal=strong_signal)
         if n_clusters is None else int(n_clusters))
    share = None
    needs = space == "auto" and has_features and info_disc is None
    if space == "auto" and has_features and info_disc is not None:
        margin = information_margin(m, n_domains, n_held or n_samples)
        if info_disc > margin and info_feat is not None:
            share = info_feat / info_disc
            if share < feature_share and info_disc - max(info_feat, 0.0) > margin:
                resolved = "discriminator"
                if n_clusters is None:
                    m = reference_n_clusters(k, n_samples)
    post = posterior if posterior != "auto" else (
        "adjust" if resolved == "discriminator" else "combined")
    return Choice(resolved, int(m), post, share, needs)
