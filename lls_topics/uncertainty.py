"""Bootstrap intervals for p_d(y) and p(x|y) (:func:`lls_topics.bootstrap`).

Each replicate redraws the domain-by-input counts, refits, and is aligned to the full
fit's labels by Hungarian matching on p_d(y) (:func:`lls_topics.metrics.align_labels`);
the intervals are percentiles of the aligned replicates.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone

from ._validation import check_int, check_random_state

__all__ = ["bootstrap", "BootstrapResult", "resample_counts", "METHODS"]

#: resampling schemes; the first is the default (see :func:`bootstrap` for the measurement)
METHODS = ("parametric", "nonparametric")


class BootstrapResult:
    """Intervals from :func:`bootstrap`, in the full fit's label order.

    Attributes
    ----------
    estimator_ : fitted solver
        The fit on the full data; its ``domain_topic_`` and ``topic_word_`` are the
        estimates the intervals surround.
    domain_topic_low_, domain_topic_high_ : ndarray of shape (n_domains, k)
        Interval ends for p_d(y) (each in [0, 1]; ``low <= estimate <= high``).
    domain_topic_se_ : ndarray of shape (n_domains, k)
        Bootstrap standard error of p_d(y).
    topic_word_low_, topic_word_high_ : ndarray of shape (k, n_words)
        Interval ends for p(x|y).
    domain_topic_replicates_ : ndarray of shape (n_resamples, n_domains, k)
        The aligned replicates of p_d(y); each row of each replicate sums to 1.
    confidence_ : float
    method_ : str
    """

    def __init__(self, estimator: Any, P_reps: np.ndarray, A_reps: np.ndarray,
                 confidence: float, method: str) -> None:
        self.estimator_ = estimator
        self.confidence_ = confidence
        self.method_ = method
        self.domain_topic_replicates_ = P_reps
        tail = (1.0 - confidence) / 2
        n_d = np.asarray(estimator.domain_sizes_, dtype=np.float64)
        n_y = n_d @ estimator.domain_topic_
        self.domain_topic_low_, self.domain_topic_high_ = _interval(
            P_reps, estimator.domain_topic_, tail, n_d[:, None])
        self.topic_word_low_, self.topic_word_high_ = _interval(
            A_reps, estimator.topic_word_, tail, n_y[:, None])
        self.domain_topic_se_ = P_reps.std(axis=0, ddof=1)

    def __repr__(self) -> str:
        return (f"BootstrapResult(n_resamples={self.domain_topic_replicates_.shape[0]}, "
                f"confidence={self.confidence_}, method={self.method_!r})")


def _interval(reps: np.ndarray, estimate: np.ndarray, tail: float, n: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = np.quantile(reps, [tail, 1.0 - tail], axis=0)
    # A share below -log(tail) / n gives no sample at all among n with probability
    # above ``tail`` (the "rule of three" at 95%), so no data can exclude it: an upper
    # end below that is the fit's resolution, not evidence (replicates of an entry
    # fitted at 0 all sit at 0).
    hi = np.maximum(hi, np.divide(-np.log(tail), n, out=np.ones_like(n), where=n > 0))
    # where every replicate lies on one side, the interval still holds the estimate
    return np.clip(np.minimum(lo, estimate), 0, 1), np.clip(np.maximum(hi, estimate), 0, 1)


def resample_counts(counts: sp.csr_matrix, sizes: np.ndarray, rng: np.random.Generator,
                    method: str, model: np.ndarray | None = None) -> sp.csr_matrix:
    """One bootstrap draw of the counts, each domain keeping its size.

    Parameters
    ----------
    counts : csr_matrix (n_domains, n_words), whole-number counts
    sizes : ndarray of int (n_domains,)
    rng : Generator
    method : {"parametric", "nonparametric"}
        ``"parametric"``: each domain ~ Multinomial(n_d, p(x|d)) of the fitted
        model ``model`` (dense (n_domains, n_words), rows sum to 1).
        ``"nonparametric"``: each domain's samples redrawn with replacement
        (Multinomial(n_d, the domain's empirical p(x|d))); stays on the sparse
        support of the counts.

    Returns
    -------
    csr_matrix of the same shape
    """
    if method == "parametric":
        drawn = rng.multinomial(sizes, model)
        return sp.csr_matrix(drawn.astype(np.float64))
    # redraw each domain's samples: n_d uniform sample positions within its stretch
    # of the cumulative counts, vectorized over all domains at once
    cum = np.cumsum(counts.data.astype(np.int64))
    starts = np.concatenate([[0], cum])[counts.indptr[:-1]]
    row = np.repeat(np.arange(counts.shape[0]), sizes)
    pos = np.searchsorted(cum, starts[row] + rng.integers(0, sizes[row]), side="right")
    data = np.bincount(pos, minlength=counts.nnz).astype(np.float64)
    # copies: a consumer that drops the new zeros in place must not touch ``counts``
    out = sp.csr_matrix((data, counts.indices.copy(), counts.indptr.copy()), shape=counts.shape)
    out.eliminate_zeros()
    return out


def _replicates(estimator: Any, counts: sp.csr_matrix, sizes: np.ndarray, method: str,
                seeds: list) -> tuple[np.ndarray, np.ndarray]:
    from .metrics import align_labels

    model = estimator.domain_topic_ @ estimator.topic_word_ if method == "parametric" else None
    if model is not None:
        model = model / model.sum(axis=1, keepdims=True)
    Ps, As = [], []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        boot = resample_counts(counts, sizes, rng, method, model)
        P, A = estimator.fit_replicate(boot, rng)
        perm = align_labels(estimator.domain_topic_, P)
        Ps.append(P[:, perm])
        As.append(A[perm])
    return np.asarray(Ps), np.asarray(As)


def bootstrap(solver: Any, data: Any, n_resamples: int = 200, *, confidence: float = 0.9,
              method: str = "parametric", random_state: Any = None, n_jobs: int | None = None,
              ) -> BootstrapResult:
    """Bootstrap intervals for p_d(y) and p(x|y) of a topic solver.

    ``solver`` (unfitted; it is cloned) is fitted on ``data``; then ``n_resamples``
    times the counts are redrawn with every domain keeping its size, refitted, and
    each replicate's labels are aligned to the full fit's by Hungarian matching on
    p_d(y). The intervals are the replicates' percentiles, extended where needed
    so that each holds the estimate, and with an upper end no lower than the
    resolution of the data: ``-log(tail) / n`` for a share among ``n`` samples (the
    rule of three at 95%), below which a share can leave no sample at all.

    The refits start from the full fit (the anchor solver keeps its anchors and
    reruns its refinement from the fitted factors): the anchor search is a
    discrete choice the bootstrap does not revisit, and the refit costs a fraction
    of a fit. So the intervals cover the sampling noise of the counts given the
    anchors found, not the chance that another input would have been picked as
    an anchor, nor a wrong ``n_topics``.

    For DDFA, bootstrap its topic solver on the domain-by-cluster counts
    (``DomainCorpus.from_tokens(ddfa.discretizer_.labels_, rows)``), i.e. with the
    discriminator and the clustering held fixed: the interval then covers the
    sampling noise of the cluster counts given them, not the discriminator's
    training noise nor the choice of clusters.

    Parameters
    ----------
    solver : topic solver (e.g. :class:`~lls_topics.AnchorSolver`)
    data : DomainCorpus, or (n_domains, n_words) whole-number counts
    n_resamples : int, default=200
    confidence : float in (0, 1), default=0.9
        Nominal coverage of each interval.
    method : {"parametric", "nonparametric"}, default="parametric"
        ``"parametric"`` redraws each domain from the fitted model's p(x|d);
        ``"nonparametric"`` redraws each domain's own samples with replacement.
        The default was chosen by measured coverage (``benchmarks/select_diag.py
        coverage``, docs/benchmarks.md).
    random_state : int, Generator or None
        The same seed gives the same intervals for any ``n_jobs``.
    n_jobs : int or None
        Replicates run in parallel with joblib (``None``: 1; ``-1``: every core).

    Returns
    -------
    BootstrapResult
        ``domain_topic_low_``, ``domain_topic_high_``, ``domain_topic_se_`` (n_domains,
        k), ``topic_word_low_``, ``topic_word_high_`` (k, n_words), ``estimator_``.

    Examples
    --------
    >>> from lls_topics import AnchorSolver, bootstrap, make_discrete_lls
    >>> prob = make_discrete_lls(n_topics=3, n_words=60, n_domains=8, random_state=0)
    >>> res = bootstrap(AnchorSolver(3, random_state=0), prob.corpus, n_resamples=20,
    ...                 random_state=0, n_jobs=1)
    >>> res.domain_topic_low_.shape, bool(np.all(res.domain_topic_low_ <= res.domain_topic_high_))
    ((8, 3), True)
    """
    from joblib import Parallel, delayed

    from .selection import whole_counts

    R = check_int(n_resamples, "n_resamples", minimum=2)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not hasattr(solver, "fit_replicate"):
        raise ValueError(f"solver must be a lls_topics topic solver, got {type(solver).__name__}")
    counts = whole_counts(data)
    estimator = clone(solver).fit(data)
    sizes = np.asarray(counts.sum(axis=1)).ravel().astype(np.int64)
    counts, sizes = counts[sizes > 0], sizes[sizes > 0]    # the domains the fit kept
    rng = check_random_state(random_state)
    seeds = np.random.SeedSequence(int(rng.integers(2**63 - 1))).spawn(R)
    jobs = 1 if n_jobs is None else int(n_jobs)
    n_chunks = max(1, min(R, jobs if jobs > 0 else R))
    chunks = [list(c) for c in np.array_split(np.arange(R), n_chunks) if len(c)]
    parts = Parallel(n_jobs=jobs)(
        delayed(_replicates)(estimator, counts, sizes, method, [seeds[i] for i in c])
        for c in chunks)
    P_reps = np.concatenate([p for p, _ in parts])
    A_reps = np.concatenate([a for _, a in parts])
    return BootstrapResult(estimator, P_reps, A_reps, confidence, method)
