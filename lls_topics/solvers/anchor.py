"""The anchor-word solver: identifiable by construction, then statistically polished."""
from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._params import BOOL, N_TOPICS, RANDOM_STATE, Interval, Options
from .._simplex import simplex_least_squares
from .anchors import find_anchors, label_anchors, recover_topics, word_profiles
from .cvb import cvb0_fit
from .em import CountData, em_fit, fit_domain_topic, vb_fit
from .base import BaseTopicSolver

__all__ = ["AnchorSolver", "cooccurrence_profiles"]

_MAX_COOC_WORDS = 20000
# a bootstrap refit's budget: short, yet the coverage of its intervals matched full
# refits' on the small protocol settings (0.86-0.87 on 4 seeds; benchmarks/select_diag.py)
_BOOT_RECOVER_ITER = 20
# started from the full fit's recovery, 16 steps land closer to the replicate's exact
# recovery than 20 from the uniform start (p_d(y) 2-7x closer on small-a3 and a10)
_BOOT_WARM_RECOVER_ITER = 16
_BOOT_VB_ITER = 10
_BOOT_TOL = 1e-6
#: the final maximum-likelihood p_d(y) (p(x|y) fixed) stops when a sweep gains less than
#: this many nats per sample. 1e-8 instead of em.fit_domain_topic's 1e-10: on the
#: protocol's planted grid the oracle ratios moved by at most 3e-4 and real-text L1 by
#: at most 1e-4 per entry, while short real-text domains fitted 1.4-1.7x faster and
#: DDFA's small solves about a sixth faster (docs/benchmarks.md)
_FINAL_TOL = 1e-8
#: (domain_prior, topic_word_prior) pairs tried by ``priors="heldout"``
PRIOR_GRID: tuple[tuple[float, float], ...] = tuple(
    (dp, tp) for dp in (0.1, 0.3, 1.0, 3.0) for tp in (0.01, 0.1))
#: share of every domain's samples held out to choose the priors
HELDOUT_SHARE = 0.1
#: sweep budget and tolerance of the fits that only score a prior pair: ranking the
#: pairs needs far less than the final fit's convergence. On the real-text benchmark
#: (2 corpora x 3 regimes x 3 seeds, both anchor spaces, side by side with uncapped
#: scoring fits) the same pair was chosen in 21 of 36 problems and the others were
#: near-ties: L1(P) 0.75-1.22x the uncapped choice's, mean 0.99x; the whole fit took
#: 1.3-2.4x less time (docs/benchmarks.md, docs/issue16_heldout_scoring_caps.jsonl)
_SELECT_MAX_ITER = 100
_SELECT_TOL = 1e-5
#: the least tolerance of ``refine="collapsed"``: CVB0's last sweeps creep. On three
#: real-text problems, one per regime, stopping at 1e-4 rather than 1e-6 moved L1(P)
#: by 0.0 (moderate), 0.001 (short) and 0.02 (long domains) of tomotopy's L1 and took
#: 1.2-6.7x fewer sweeps (docs/benchmarks.md)
_CVB_TOL = 1e-4
_HELDOUT_SMOOTH = 1e-4


class AnchorSolver(BaseTopicSolver):
    """Anchor-word solver for LLS / topic models over domain-by-input counts.

    The labels are identifiable because each owns *anchor* inputs that no other
    label emits; their profiles p(d|x) are the vertices of the simplex that all
    profiles fill. The solver

    1. finds those vertices by successive projection with a multinomial-noise
       correction (so rare inputs are not mistaken for vertices),
    2. recovers p(y|x) for every input by simplex-constrained regression on the
       anchor profiles, hence p(x|y) and p_d(y) (using the actual domain sizes),
    3. refines the solution on the counts: a variational-Bayes pass with a sparse
       Dirichlet prior on p(x|y), which keeps the anchor-like (identifiable)
       structure while pooling the evidence of every input, then a short
       maximum-likelihood (EM) polish, and finally the maximum-likelihood p_d(y)
       given the recovered p(x|y).

    Parameters
    ----------
    n_topics : int
        Number of latent labels k (at most the number of domains).
    space : {"profile", "cooccurrence"}, default="profile"
        Where anchors are sought. ``"profile"``: the rows p(d|x) of the
        input-by-domain counts (sparse, O(nnz + V k) memory). ``"cooccurrence"``:
        Arora et al.'s input-input co-occurrence rows, for corpora of many short
        domains where per-input profiles are too noisy. Only the rows of candidate
        anchors are formed (sparse, at most ``n_candidates x V``), never the V x V
        matrix; vocabularies up to 20,000 inputs.
    method : {"spa", "snpa"}, default="spa"
        Successive projection, or successive nonnegative projection.
    noise_correction : bool or "auto", default="auto"
        Correct the profile norms for multinomial sampling noise. ``"auto"`` does
        so when the counts are whole numbers (samples), not for fractional
        (expected) counts, which carry no sampling noise.
    confidence : float, default=1.0
        Rank candidate anchors by a lower confidence bound, this many (upper
        bounds of) standard deviations below their noise-corrected norm; this
        stops an input seen a few times from winning by its noise alone.
    min_count : float, optional
        Inputs seen fewer times are never anchors (default: 5, or 0.1% of the
        samples per label if larger).
    cleanup : bool, default=False
        Arora et al.'s second pass over the anchors.
    loss : {"l2", "kl"}, default="l2"
        Loss of the simplex regression in the recovery step.
    backend : {"numpy", "cvxpy"}, default="numpy"
        ``"cvxpy"`` solves the recovery regressions exactly, one input at a time
        (a slow reference for small problems).
    refine : {"auto", "bayes", "collapsed", "ml", "none"}, default="auto"
        ``"bayes"``: variational Bayes then ``polish_iter`` EM steps;
        ``"collapsed"``: collapsed variational Bayes (CVB0,
        :func:`~lls_topics.solvers.cvb.cvb0_fit`) in place of the mean-field pass,
        for whole-number counts: closer to a Gibbs sampler's answer, more accurate
        on real text with moderate or many short domains, and slower (see the README);
        ``"ml"``: ``max_iter`` EM steps; ``"none"``: the anchor solution as is.
        ``"auto"`` is ``"bayes"`` for whole-number counts and ``"ml"`` for
        fractional (expected) counts, where there is no noise to regularize.
    topic_word_prior : float, default=0.01
        Dirichlet concentration on p(x|y) in the Bayesian pass; small values
        favour sparse topics.
    domain_prior : float, default=1.0
        Dirichlet concentration on p_d(y) in the Bayesian pass.
    polish_iter : int, default=10
        EM steps after the Bayesian pass. A few steps fit the well-determined
        directions of the likelihood; many steps let p(x|y) overfit along the
        nearly flat ones (on the protocol grid, 10 steps beat both 0 and 50).
    pool_below : float, default=30
        During the Bayesian refinement, inputs seen fewer times than this are
        pooled into one column per label (by their recovered p(y|x)); their
        p(x|y) is split back afterwards in the recovered proportions. Merging
        columns keeps the mixture model exact while removing thousands of
        barely observed parameters that would otherwise overfit. Set 0 to pool
        nothing.
    max_iter : int, default=500
        Iteration cap of the Bayesian pass and of ``refine="ml"``.
    tol : float, default=1e-7
        Convergence tolerance of the refinement (for ``refine="collapsed"`` at
        least 1e-4, where its slow last sweeps no longer move p_d(y) measurably).
    priors : {"fixed", "heldout"}, default="fixed"
        ``"heldout"`` chooses ``domain_prior`` and ``topic_word_prior`` on the data:
        every pair of :data:`PRIOR_GRID` is fit on a random 90% of each domain's
        samples (binomial thinning, seeded by ``random_state``) and the pair whose
        p(x|d) best predicts the held-out 10% is refit on all the samples. The
        scoring fits stop after at most 100 sweeps (enough to rank the pairs), so
        the whole fit costs two to six fixed-prior fits. On real text the best
        priors differ by regime (many short domains favour sparse p_d(y));
        ``"fixed"`` uses the two parameters as given.
    accelerate : bool, default=True
        SQUAREM acceleration of the Bayesian pass and of the final maximum-likelihood
        p_d(y) (same fixed points, fewer sweeps; :mod:`lls_topics.solvers.squarem`).
    random_state : int, Generator or None
        Seeds the held-out split of ``priors="heldout"``; otherwise the solver is
        deterministic.

    Attributes
    ----------
    topic_word_ : ndarray of shape (n_topics, n_words)
        p(x|y); rows sum to 1.
    domain_topic_ : ndarray of shape (n_domains, n_topics)
        p_d(y); rows sum to 1.
    anchors_ : ndarray of int, shape (n_topics,)
        The anchor input of each label in the final fit (label ``y`` is anchored by
        ``anchors_[y]``): the confident input whose p(y|x) is the largest among those
        whose most probable label is ``y`` (see
        :func:`~lls_topics.solvers.anchors.label_anchors`). The refinement may move a
        label away from the input that anchored it at the start, so these can differ
        from ``initial_anchors_``.
    initial_anchors_ : ndarray of int, shape (n_topics,)
        The inputs found by successive projection, before the refinement.
    anchor_residuals_ : ndarray of shape (n_topics,)
        Residual norm at each anchor pick; a sharp drop after the true number of
        labels is a diagnostic for choosing ``n_topics``.
    n_iter_ : int
        Refinement iterations run.
    domain_prior_, topic_word_prior_ : float
        The priors used (chosen ones with ``priors="heldout"``).
    prior_scores_ : ndarray of shape (len(PRIOR_GRID),) or None
        Held-out log-likelihood per sample of each pair (``priors="heldout"``).
    domain_ids_, domain_sizes_, n_words_, log_likelihood_
        See :class:`~lls_topics.solvers.base.BaseTopicSolver`.

    Examples
    --------
    >>> from lls_topics import AnchorSolver, make_discrete_lls
    >>> prob = make_discrete_lls(n_per_domain=2000, random_state=0)
    >>> solver = AnchorSolver(n_topics=5, random_state=0).fit(prob.corpus)
    >>> solver.domain_topic_.shape
    (20, 5)
    """

    _fitted_arrays = BaseTopicSolver._fitted_arrays + ("anchors_", "initial_anchors_",
                                                       "anchor_residuals_")
    _param_constraints = {
        "n_topics": N_TOPICS,
        "space": [Options({"profile", "cooccurrence"})],
        "method": [Options({"spa", "snpa"})],
        "noise_correction": [Options({True, False, "auto"}), np.bool_],
        "confidence": [Interval(Real, 0, None)],
        "min_count": [None, Interval(Real, 0, None)],
        "cleanup": BOOL,
        "loss": [Options({"l2", "kl"})],
        "backend": [Options({"numpy", "cvxpy"})],
        "refine": [Options({"auto", "bayes", "collapsed", "ml", "none"})],
        "topic_word_prior": [Interval(Real, 0, None, closed="neither")],
        "domain_prior": [Interval(Real, 0, None, closed="neither")],
        "polish_iter": [Interval(Integral, 0, None)],
        "pool_below": [Interval(Real, 0, None)],
        "max_iter": [Interval(Integral, 0, None)],
        "tol": [Interval(Real, 0, None)],
        "priors": [Options({"fixed", "heldout"})],
        "accelerate": BOOL,
        "random_state": RANDOM_STATE,
    }

    def __init__(self, n_topics: int, *, space: str = "profile", method: str = "spa",
                 noise_correction: Any = "auto", confidence: float = 1.0,
                 min_count: float | None = None, cleanup: bool = False, loss: str = "l2",
                 backend: str = "numpy", refine: str = "auto", topic_word_prior: float = 0.01,
                 domain_prior: float = 1.0, polish_iter: int = 10, pool_below: float = 30,
                 max_iter: int = 500, tol: float = 1e-7, priors: str = "fixed",
                 accelerate: bool = True, random_state: Any = None) -> None:
        self.n_topics = n_topics
        self.space = space
        self.method = method
        self.noise_correction = noise_correction
        self.confidence = confidence
        self.min_count = min_count
        self.cleanup = cleanup
        self.loss = loss
        self.backend = backend
        self.refine = refine
        self.topic_word_prior = topic_word_prior
        self.domain_prior = domain_prior
        self.polish_iter = polish_iter
        self.pool_below = pool_below
        self.max_iter = max_iter
        self.tol = tol
        self.priors = priors
        self.accelerate = accelerate
        self.random_state = random_state

    def _set_fitted(self, counts: sp.csr_matrix, ids: np.ndarray, vocab: list | None,
                    P: np.ndarray, A: np.ndarray) -> None:
        super()._set_fitted(counts, ids, vocab, P, A)
        # name each final label's anchor from the final fit, so that anchors_[y] is an
        # input of label y even where the refinement moved the labels
        self.initial_anchors_ = np.asarray(self.anchors_, dtype=np.int64)
        self.anchors_ = label_anchors(self.topic_word_, self.pooled_prior(),
                                      np.asarray(counts.sum(axis=0)).ravel(),
                                      min_count=self.min_count)

    def _fit_counts(self, counts: sp.csr_matrix, rng: np.random.Generator
                    ) -> tuple[np.ndarray, np.ndarray]:
        sampled = bool(np.all(counts.data == np.round(counts.data)))
        refine = self.refine
        if refine == "auto":
            refine = "bayes" if sampled else "ml"
        priors = (float(self.domain_prior), float(self.topic_word_prior))
        self.prior_scores_ = None
        collapsed = refine == "collapsed"
        if refine in ("bayes", "collapsed") and self.priors == "heldout":
            priors, self.prior_scores_ = self._choose_priors(counts, sampled, rng, collapsed)
        self.domain_prior_, self.topic_word_prior_ = priors
        P, A, anchors = self._anchor_solution(counts, sampled)
        self.n_iter_ = 0
        if refine == "none":
            return P, A
        if refine in ("bayes", "collapsed"):
            P, A, self.n_iter_ = self._refine_bayes(counts, P, A, anchors, *priors,
                                                    collapsed=collapsed)
            return P, A
        data = CountData(counts)
        P, A, self.n_iter_, _ = em_fit(data, P, A, max_iter=self.max_iter,
                                       tol=self.tol * 1e-3)
        P = fit_domain_topic(data, A, P0=P, accelerate=bool(self.accelerate),
                             tol=_FINAL_TOL)
        return P, A

    def _anchor_solution(self, counts: sp.csr_matrix, sampled: bool
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Anchors and the recovered (P, A); sets ``anchors_`` and ``anchor_residuals_``."""
        k = int(self.n_topics)
        noise = sampled if self.noise_correction == "auto" else bool(self.noise_correction)
        if self.space == "profile":
            Q, n_x = word_profiles(counts)
            anchors, residuals = find_anchors(
                Q, k, word_counts=n_x, method=self.method, noise_correction=noise,
                confidence=self.confidence if noise else 0.0, min_count=self.min_count,
                cleanup=self.cleanup)
            P, A, H = recover_topics(counts, anchors, loss=self.loss, backend=self.backend)
        else:
            P, A, anchors, residuals = _cooccurrence_solution(
                counts, k, method=self.method, min_count=self.min_count,
                cleanup=self.cleanup)
            H = None
        # p(y|x) of the recovery: where a bootstrap replicate's recovery starts
        self._recovered_word_topic = H
        self.anchors_ = anchors
        self.anchor_residuals_ = residuals
        return P, A, anchors

    def _refine_bayes(self, counts: sp.csr_matrix, P: np.ndarray, A: np.ndarray,
                      anchors: np.ndarray, domain_prior: float, topic_word_prior: float,
                      max_iter: int | None = None, tol: float | None = None,
                      collapsed: bool = False) -> tuple[np.ndarray, np.ndarray, int]:
        """VB (or CVB0) pass, short EM polish, then the ML p_d(y); returns
        (P, A, sweeps).

        ``max_iter`` and ``tol`` of the VB (CVB0) pass default to the estimator's.
        """
        pool = _RarePool(counts, P, A, anchors, self.pool_below)
        data = CountData(pool.counts)
        max_iter = self.max_iter if max_iter is None else max_iter
        tol = self.tol if tol is None else tol
        if collapsed:
            P, A_m, n_vb = cvb0_fit(pool.counts, P, pool.topic_word,
                                    topic_word_prior=topic_word_prior,
                                    domain_topic_prior=domain_prior,
                                    max_iter=max_iter, tol=max(tol, _CVB_TOL))
        else:
            P, A_m, n_vb = vb_fit(data, P, pool.topic_word,
                                  topic_word_prior=topic_word_prior,
                                  domain_topic_prior=domain_prior, max_iter=max_iter,
                                  tol=tol, accelerate=bool(self.accelerate))
        P, A_m, n_em, _ = em_fit(data, P, A_m, max_iter=self.polish_iter)
        P = fit_domain_topic(data, A_m, P0=P, accelerate=bool(self.accelerate),
                             tol=_FINAL_TOL)
        return P, pool.expand(A_m), n_vb + n_em

    def _choose_priors(self, counts: sp.csr_matrix, sampled: bool,
                       rng: np.random.Generator, collapsed: bool = False
                       ) -> tuple[tuple[float, float], np.ndarray]:
        """The (domain_prior, topic_word_prior) of :data:`PRIOR_GRID` whose fit on a
        random 90% of every domain's samples best predicts the other 10%.

        Returns the chosen pair and the held-out log-likelihood per sample of every
        pair, shape (len(PRIOR_GRID),).
        """
        held = counts.copy()
        held.data = rng.binomial(np.round(counts.data).astype(np.int64),
                                 HELDOUT_SHARE).astype(np.float64)
        train = (counts - held).tocsr()
        train.eliminate_zeros()
        held.eliminate_zeros()
        keep = np.asarray(train.sum(axis=1)).ravel() > 0
        if keep.sum() < int(self.n_topics) or held.nnz == 0:
            return (float(self.domain_prior), float(self.topic_word_prior)), \
                np.full(len(PRIOR_GRID), np.nan)
        train, held = train[keep], held[keep].tocoo()
        P0, A0, anchors = self._anchor_solution(train, sampled)
        V = counts.shape[1]
        scores = np.empty(len(PRIOR_GRID))
        for i, (dp, tp) in enumerate(PRIOR_GRID):
            P, A, _ = self._refine_bayes(train, P0, A0, anchors, dp, tp,
                                         max_iter=min(int(self.max_iter), _SELECT_MAX_ITER),
                                         tol=max(float(self.tol), _SELECT_TOL),
                                         collapsed=collapsed)
            p = np.einsum("ij,ji->i", P[held.row], A[:, held.col])
            # a word the fit gives zero mass must not make every score -inf
            p = (1.0 - _HELDOUT_SMOOTH) * p + _HELDOUT_SMOOTH / V
            scores[i] = float(np.dot(held.data, np.log(p)) / held.data.sum())
        return PRIOR_GRID[int(np.argmax(scores))], scores

    def fit_replicate(self, counts: sp.csr_matrix, rng: np.random.Generator
                      ) -> tuple[np.ndarray, np.ndarray]:
        """Refit on resampled counts, keeping the anchors (for :func:`lls_topics.bootstrap`).

        The recovery from the anchors is redone on the new counts, so its noise
        reaches the replicate as it reaches the estimate; then a short version of
        the refinement (a few recovery, variational-Bayes and EM steps, looser
        tolerances). The recovery's regressions start from the full fit's (they
        are convex: the start sets how fast, not where, they converge).
        Measured in ``benchmarks/select_diag.py``: the same coverage as full refits
        at a fraction of their cost.
        """
        if self.space != "profile" or self.backend != "numpy" or \
                self.refine not in ("auto", "bayes") or not np.all(counts.data % 1 == 0):
            return super().fit_replicate(counts, rng)
        # the fit recovered from the projection's picks (anchors_ names the final labels')
        anchors = getattr(self, "initial_anchors_", self.anchors_)
        # models saved before the recovery's coefficients were kept start uniform
        init = getattr(self, "_recovered_word_topic", None)
        if self.loss != "l2":
            init = None
        P, A, _ = recover_topics(
            counts, anchors, loss=self.loss, init=init, tol=_BOOT_TOL,
            max_iter=_BOOT_RECOVER_ITER if init is None else _BOOT_WARM_RECOVER_ITER)
        data = CountData(counts)
        # models saved before priors="heldout" existed have no chosen priors
        P, A, _ = vb_fit(data, P, A,
                         topic_word_prior=getattr(self, "topic_word_prior_",
                                                  self.topic_word_prior),
                         domain_topic_prior=getattr(self, "domain_prior_", self.domain_prior),
                         max_iter=_BOOT_VB_ITER,
                         tol=self.tol)
        P, A, _, _ = em_fit(data, P, A, max_iter=self.polish_iter)
        return fit_domain_topic(data, A, P0=P, tol=_BOOT_TOL * 0.1, max_iter=200), A


class _RarePool:
    """Merge rarely seen inputs into one column per label, and split them back.

    Summing columns of the counts sums the matching columns of p(x|y), so the
    pooled problem is the same mixture with fewer, better-estimated parameters.
    """

    def __init__(self, counts: sp.csr_matrix, P: np.ndarray, A: np.ndarray,
                 anchors: np.ndarray, threshold: float) -> None:
        V = counts.shape[1]
        k = A.shape[0]
        n_x = np.asarray(counts.sum(axis=0)).ravel()
        rare = (n_x > 0) & (n_x < threshold)
        rare[anchors] = False
        self.A0 = A
        self.kept = np.flatnonzero(~rare)
        self.rare = np.flatnonzero(rare)
        if self.rare.size == 0:
            self.counts, self.topic_word, self.G = counts, A, None
            return
        sizes = np.asarray(counts.sum(axis=1)).ravel()
        p_y = sizes @ P
        group = np.argmax(A[:, self.rare] * p_y[:, None], axis=0)   # argmax p(y|x)
        self.G = sp.csr_matrix((np.ones(self.rare.size), (self.rare, group)), shape=(V, k))
        self.counts = sp.hstack([counts[:, self.kept], counts @ self.G], format="csr")
        pool_sizes = np.asarray(self.G.T @ n_x).ravel()
        self.count_share = n_x[self.rare] / pool_sizes[group]
        self.group_mass = np.asarray((self.G.T @ A.T).T)             # (k labels, k pools)
        self.topic_word = np.hstack([A[:, self.kept], self.group_mass])

    def expand(self, A_m: np.ndarray) -> np.ndarray:
        """p(x|y) over the original inputs from the pooled solution; rows sum to 1."""
        if self.G is None:
            return A_m
        k, V = self.A0.shape
        out = np.zeros((k, V))
        nk = self.kept.size
        out[:, self.kept] = A_m[:, :nk]
        group = self.G.indices                                      # pool of each rare input
        # a label the recovery gave no mass in a pool splits it by the inputs' counts
        share = np.divide(self.A0[:, self.rare], self.group_mass[:, group],
                          out=np.broadcast_to(self.count_share, (k, self.rare.size)).copy(),
                          where=self.group_mass[:, group] > 0)
        out[:, self.rare] = A_m[:, nk + group] * share
        return out


def cooccurrence_profiles(counts: sp.csr_matrix, max_words: int = _MAX_COOC_WORDS
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Arora et al.'s normalized input co-occurrence rows, p(x'|x).

    Each domain (document) contributes its unbiased pair counts
    ``(h h^T - diag(h)) / (n (n - 1))``; domains with fewer than 2 samples add
    nothing.

    Returns
    -------
    Qn : dense ndarray of shape (V, V); rows sum to 1 (0 for unseen inputs)
    row_mass : ndarray of shape (V,); the co-occurrence mass of each input
    """
    H, Hw, fix, mass = _cooccurrence_parts(sp.csr_matrix(counts), max_words)
    Qbar = np.asarray((H.T @ Hw).todense())
    Qbar[np.diag_indices(counts.shape[1])] += fix
    Qn = np.divide(Qbar, mass[:, None], out=np.zeros_like(Qbar), where=mass[:, None] > 0)
    return Qn, mass


def _cooccurrence_parts(counts: sp.csr_matrix, max_words: int = _MAX_COOC_WORDS
                        ) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray, np.ndarray]:
    """The pieces of :func:`cooccurrence_profiles` without the dense V x V matrix.

    The unnormalized co-occurrence matrix is ``H^T Hw + diag(fix)``: ``H`` the counts of
    the domains with at least 2 samples, ``Hw`` those rows weighted by
    ``1 / (n (n - 1))``; ``fix`` turns the diagonal into its clipped, unbiased value
    (``max(sum_d w_d (h_dx^2 - h_dx), 0)``; off the diagonal every entry is >= 0, so
    this is the clipping of :func:`cooccurrence_profiles`).

    Returns ``H``, ``Hw``, ``fix`` and the row masses, shapes (D', V), (D', V), (V,), (V,).
    """
    V = counts.shape[1]
    if V > max_words:
        raise ValueError(f"space='cooccurrence' takes at most {max_words} inputs (its rows "
                         f"are V-long); V={V} exceeds that. Use space='profile' for large "
                         "vocabularies")
    n = np.asarray(counts.sum(axis=1)).ravel()
    keep = n >= 2
    H = sp.csr_matrix(counts[keep])
    w = 1.0 / (n[keep] * (n[keep] - 1))
    Hw = sp.csr_matrix(sp.diags(w) @ H)
    # the diagonal of H^T Hw, and what the unbiased pair counts subtract from it
    square = np.asarray(H.multiply(Hw).sum(axis=0)).ravel()
    single = np.asarray(Hw.sum(axis=0)).ravel()
    fix = np.maximum(square - single, 0.0) - square
    # row sums of H^T Hw are H^T (w n); the diagonal then moves by fix
    mass = np.asarray(H.T @ (w * n[keep])).ravel() + fix
    np.clip(mass, 0.0, None, out=mass)
    return H, Hw, fix, mass


def _cooccurrence_solution(counts: sp.csr_matrix, k: int, *, method: str,
                           min_count: float | None, cleanup: bool
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Anchors among the rows of :func:`cooccurrence_profiles`, then the recovery.

    Only the candidate anchors' rows are formed (sparse, at most ``n_candidates x V``),
    and the recovery's products of every row with the anchor rows go through the
    factors (``V x k``), never the V x V matrix. The anchors and the solution are those
    of the dense construction."""
    H, Hw, fix, mass = _cooccurrence_parts(counts)
    n_x = np.asarray(counts.sum(axis=0)).ravel()
    if min_count is None:
        min_count = max(5.0, 1e-3 * n_x.sum() / k)
    cand = np.flatnonzero((n_x >= min_count) & (mass > 0))
    if cand.size < k:
        cand = np.flatnonzero(mass > 0)
    rows = sp.csr_matrix(H[:, cand].T @ Hw)
    rows = rows + sp.csr_matrix((fix[cand], (np.arange(cand.size), cand)), shape=rows.shape)
    rows = sp.csr_matrix(sp.diags(1.0 / mass[cand]) @ rows)
    picks, residuals = find_anchors(rows, k, method=method, noise_correction=False,
                                    cleanup=cleanup)
    anchors = cand[picks]
    B = rows[picks].toarray()                                   # (k, V) anchor rows
    # every row's products with the anchor rows, (H^T Hw + diag(fix)) B^T / mass
    QB = np.asarray(H.T @ (Hw @ B.T)) + fix[:, None] * B.T
    QB = np.divide(QB, mass[:, None], out=np.zeros_like(QB), where=mass[:, None] > 0)
    W = simplex_least_squares(B @ B.T, QB, max_iter=3000, tol=1e-10)
    W[mass <= 0] = 1.0 / k
    # p(x|y) ∝ p(y|x) p(x); p_d(y) then follows by maximum likelihood per domain
    joint = W.T * n_x[None, :]
    A = joint / np.maximum(joint.sum(axis=1, keepdims=True), 1e-300)
    # a start for the refinement, which refits p_d(y) at the end: the final fit's
    # tolerance, not the oracle's 1e-10
    P = fit_domain_topic(counts, A, tol=_FINAL_TOL)
    return P, A, anchors, residuals
