"""Non-negative matrix factorization solvers for the domain-by-input counts.

``loss="kl"`` is maximum likelihood for the counts (PLSA): it runs the sparse EM of
:func:`lls_topics.solvers.em.em_fit`, whose updates are the multiplicative KL-NMF updates with
each domain's scale profiled out. On the protocol grid it is 1.5x (large) to 13x
(small) faster than scikit-learn's ``NMF(beta_loss="kullback-leibler", solver="mu")``
from the same start, at the same likelihood and prior error (``benchmarks/solvers.py
--kl-backends`` measures it), so scikit-learn is used for the Frobenius loss only.

``reference=True`` reproduces the DDFA paper's NMF step for comparison.
"""
from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from .._params import BOOL, N_TOPICS, RANDOM_STATE, Interval, Options
from .em import CountData, em_fit, run_em
from .._simplex import normalize_rows
from ._init import check_init_output, rescale, resolve_init, seed_from
from .base import BaseTopicSolver

__all__ = ["NMFSolver", "reference_nmf"]

_LOSSES = ("kl", "frobenius")
_INITS = ("anchor", "nndsvda", "random")


def _reference(counts: Any, n_topics: int, random_state: Any, quiet: bool = False) -> tuple:
    from sklearn.decomposition import NMF

    M = sp.csr_matrix(counts, dtype=np.float64)
    sizes = np.asarray(M.sum(axis=1)).ravel()
    X = (sp.diags(1.0 / sizes) @ M).T.tocsr()  # V x D, columns are p(x|d)
    model = NMF(n_components=n_topics, init="random", random_state=random_state)
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore", ConvergenceWarning)
        W = model.fit_transform(X)  # V x k: p(x|y) up to column scale
    H = model.components_  # k x D
    P, A = rescale(H.T, W.T)
    return P, A, int(model.n_iter_)


def reference_nmf(counts: Any, n_topics: int, random_state: Any = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The DDFA paper's NMF step (the protocol's "reference NMF step").

    scikit-learn ``NMF(n_components=k, init="random")`` with its defaults (Frobenius,
    coordinate descent, ``max_iter=200``) on the V x D matrix whose column d is the
    empirical p(x|d); the topic-word factor is rescaled to columns summing to 1 and
    the scale is moved into p(y|d), which is then normalized. scikit-learn's
    ``ConvergenceWarning`` is passed on.

    Parameters
    ----------
    counts : sparse or dense (D, V) counts with no empty row
    n_topics : int
    random_state : int or None
        Passed to scikit-learn's ``NMF``.

    Returns
    -------
    domain_topic : ndarray (D, k); rows sum to 1
    topic_word : ndarray (k, V); rows sum to 1
    """
    P, A, _ = _reference(counts, n_topics, random_state)
    return P, A


def _sparse_map_em(data: CountData, P: np.ndarray, A: np.ndarray, prior: float,
                   max_iter: int, tol: float) -> tuple:
    """EM for the MAP of p(x|y) under a sparse Dirichlet(1 + prior), -1 <= prior < 0.

    The mode of the M-step is ``max(expected counts + prior, 0)``, normalized: inputs
    a label explains less than ``-prior`` samples of drop out of that label, and the
    multiplicative updates then keep them out.
    """
    _, V = data.shape
    has_data = np.zeros(V, dtype=bool)
    has_data[np.unique(data.cols if not data.dense else np.nonzero(data.N)[1])] = True

    def m_step(R: Any, P: np.ndarray, A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        P_new = P * data.dot_topics(R, A)
        S = A * data.dot_domains(R, P)
        S_map = np.maximum(S + prior, 0.0)
        # an input seen in the data must stay possible under some label
        lost = np.flatnonzero(has_data & (S_map.max(axis=0) <= 0))
        if lost.size:
            best = np.argmax(S[:, lost], axis=0)
            S_map[best, lost] = S[best, lost]
        return normalize_rows(P_new), normalize_rows(S_map)

    # the MAP steps need not raise the likelihood: test the size of the change
    return run_em(data, P, A, m_step, max_iter=max_iter, tol=tol, monotone=False)


class NMFSolver(BaseTopicSolver):
    """Factorize the domain-by-input counts by non-negative matrix factorization.

    Parameters
    ----------
    n_topics : int
        Number of latent labels k.
    loss : {"kl", "frobenius"}, default="kl"
        ``"kl"`` is maximum likelihood for the counts (equivalently PLSA), fitted by
        sparse EM. ``"frobenius"`` fits the empirical p(x|d) rows by least squares
        with scikit-learn's coordinate-descent NMF.
    init : {"anchor", "nndsvda", "random"} or callable, default="anchor"
        Starting point. ``"anchor"`` starts from
        :class:`~lls_topics.solvers.anchor.AnchorSolver`; its zeros on other labels'
        anchors are kept by the multiplicative updates, which pins the otherwise
        unidentified rotation of the factorization. ``"random"`` and ``"nndsvda"`` reach
        as high a likelihood but, at finite sample sizes, usually a different rotation
        with several times the prior error. A callable
        ``init(counts, n_topics, rng) -> (domain_topic, topic_word)`` is also accepted.
    n_restarts : int, default=1
        Runs from independently seeded starts; the best objective (log-likelihood for
        ``"kl"``, squared error for ``"frobenius"``) is kept. Useful with
        ``init="random"``.
    max_iter : int, default=500
        Iterations per run (EM sweeps for ``"kl"``; coordinate-descent sweeps for
        ``"frobenius"``).
    tol : float or None, default=None
        ``"kl"`` (default 1e-6): stop when the log-likelihood per sample improves by
        less than this in one sweep. Because the likelihood is nearly flat along rotations, running
        EM to full convergence slowly trades prior accuracy for likelihood; this
        tolerance stops it once the fit of the data has settled. ``"frobenius"``
        (default 1e-4): scikit-learn's relative tolerance. 0 runs exactly ``max_iter``
        iterations.
    topic_word_prior : float, default=-1.0
        ``"kl"`` only: pseudo-count added to each label's expected input counts in the
        M-step, i.e. the MAP under a Dirichlet(1 + topic_word_prior) prior on p(x|y).
        0 is plain maximum likelihood (PLSA). Values in [-1, 0) are a sparse prior
        whose mode drops the inputs that a label explains fewer than
        ``-topic_word_prior`` samples of. The default -1 (the Dirichlet(0) limit of
        LDA's small topic prior) is chosen by measurement: from the anchor start,
        maximum likelihood run to convergence lets p(x|y) spread over inputs along
        the nearly flat directions of the likelihood and ends at 1.0x-1.5x the
        protocol's likelihood limit on the small grid, the sparse MAP at 0.7x-1.0x
        (``benchmarks/solvers.py``). On expected (population) counts the pseudo-count
        is negligible.
    reference : bool, default=False
        Reproduce the DDFA paper's step instead (:func:`reference_nmf`):
        scikit-learn's ``NMF(n_components=k, init="random")`` with its defaults on the
        column-normalized V x D matrix. ``loss``, ``init``, ``max_iter``, ``tol`` and
        ``n_restarts`` are then ignored, and scikit-learn's own ``max_iter=200`` is kept
        (``converged_`` records whether it sufficed; no warning, since raising it would
        no longer reproduce the paper).
    verbose : bool, default=False
        Show a progress bar over restarts.
    random_state : int, Generator or None
        Seeds the starts (and the anchor solver, SVD and scikit-learn's NMF).

    Attributes
    ----------
    topic_word_ : ndarray of shape (n_topics, n_words)
        p(x|y); each row sums to 1.
    domain_topic_ : ndarray of shape (n_domains, n_topics)
        p_d(y); each row sums to 1.
    n_iter_ : int
        Iterations of the kept run.
    converged_ : bool
        Whether the kept run met ``tol`` before ``max_iter``.
    restart_objectives_ : ndarray of shape (n_restarts,)
        Objective of each run (log-likelihood per sample for ``"kl"``, minus the
        squared error for ``"frobenius"``; higher is better).

    Examples
    --------
    >>> from lls_topics.datasets import make_discrete_lls
    >>> prob = make_discrete_lls(random_state=0)
    >>> solver = NMFSolver(5, random_state=0).fit(prob.corpus)
    >>> solver.domain_topic_.shape
    (20, 5)
    """

    _fitted_arrays = BaseTopicSolver._fitted_arrays + ("restart_objectives_",)
    _param_constraints = {
        "n_topics": N_TOPICS,
        "loss": [Options(_LOSSES)],
        "init": [Options(_INITS), callable],
        "n_restarts": [Interval(Integral, 1, None)],
        "max_iter": [Interval(Integral, 1, None)],
        "tol": [None, Interval(Real, 0, None)],
        "topic_word_prior": [Interval(Real, -1, None)],
        "reference": BOOL,
        "verbose": BOOL,
        "random_state": RANDOM_STATE,
    }

    def __init__(self, n_topics: int, *, loss: str = "kl", init: Any = "anchor",
                 n_restarts: int = 1, max_iter: int = 500, tol: float | None = None,
                 topic_word_prior: float = -1.0, reference: bool = False, verbose: bool = False,
                 random_state: Any = None) -> None:
        self.n_topics = n_topics
        self.loss = loss
        self.init = init
        self.n_restarts = n_restarts
        self.max_iter = max_iter
        self.tol = tol
        self.topic_word_prior = topic_word_prior
        self.reference = reference
        self.verbose = verbose
        self.random_state = random_state

    def _tol(self) -> float:
        if self.tol is not None:
            return float(self.tol)
        return 1e-6 if self.loss == "kl" else 1e-4

    def _fit_counts(self, counts: sp.csr_matrix, rng: np.random.Generator
                    ) -> tuple[np.ndarray, np.ndarray]:
        if self.reference:
            P, A, n_iter = _reference(counts, int(self.n_topics), seed_from(rng), quiet=True)
            self.n_iter_ = n_iter
            self.converged_ = n_iter < 200
            self.restart_objectives_ = np.array([np.nan])
            return P, A
        from tqdm.auto import tqdm

        k = int(self.n_topics)
        init = resolve_init(self.init, _INITS)
        data = CountData(counts) if self.loss == "kl" else None
        n_runs = int(self.n_restarts)
        # one generator per run so that a run's result does not depend on the others
        seeds = rng.spawn(n_runs)
        best, objectives = None, []
        for run_rng in tqdm(seeds, desc="NMF restarts", disable=not self.verbose or n_runs == 1):
            P0, A0 = check_init_output(init(counts, k, run_rng), counts.shape, k)
            if self.loss == "kl":
                result = self._fit_kl(data, P0, A0)
            else:
                result = self._fit_frobenius(counts, P0, A0, run_rng)
            objectives.append(result[2])
            if best is None or result[2] > best[2]:
                best = result
        P, A, _, n_iter, converged = best
        self.n_iter_ = n_iter
        self.converged_ = converged
        self.restart_objectives_ = np.asarray(objectives)
        if not converged:
            warnings.warn(f"NMFSolver(loss={self.loss!r}) did not converge within "
                          f"max_iter={self.max_iter} iterations (tol={self._tol()}); raise "
                          "max_iter", ConvergenceWarning, stacklevel=3)
        return P, A

    def _fit_kl(self, data: CountData, P0: np.ndarray, A0: np.ndarray) -> tuple:
        max_iter = int(self.max_iter)
        tol = self._tol()
        prior = float(self.topic_word_prior)
        if prior >= 0:
            P, A, n_iter, ll = em_fit(data, P0, A0, max_iter=max_iter, tol=tol,
                                      topic_word_prior=prior)
            # em_fit stops before the update that would gain less than tol
            converged = tol == 0 or n_iter < max_iter
        else:
            P, A, n_iter, ll, converged = _sparse_map_em(data, P0, A0, prior, max_iter, tol)
        return P, A, ll / data.total, n_iter, converged

    def _fit_frobenius(self, counts: sp.csr_matrix, P0: np.ndarray, A0: np.ndarray,
                       rng: np.random.Generator) -> tuple:
        from sklearn.decomposition import NMF

        sizes = np.asarray(counts.sum(axis=1)).ravel()
        Q = (sp.diags(1.0 / sizes) @ counts).tocsr()  # rows are the empirical p(x|d)
        model = NMF(n_components=int(self.n_topics), init="custom", solver="cd",
                    beta_loss="frobenius", max_iter=int(self.max_iter), tol=self._tol(),
                    random_state=seed_from(rng))
        with warnings.catch_warnings():
            # replaced below by a warning that names this class's parameter
            warnings.simplefilter("ignore", ConvergenceWarning)
            # on an exact fit scikit-learn's sparse error rounds below zero and warns
            # taking its square root; the error is recomputed below without that
            warnings.filterwarnings("ignore", message="invalid value encountered in sqrt",
                                    category=RuntimeWarning)
            W = model.fit_transform(Q, W=np.ascontiguousarray(P0), H=np.ascontiguousarray(A0))
        H = model.components_
        # ||Q - W H||^2 from the non-zeros of Q and k x k products: no dense D x V array
        sq = (Q.data @ Q.data + np.sum((W.T @ W) * (H @ H.T))
              - 2.0 * np.sum(np.asarray(Q @ H.T) * W))
        P, A = rescale(W, H)
        converged = model.n_iter_ < int(self.max_iter)
        return P, A, -max(float(sq), 0.0), int(model.n_iter_), converged
