"""Maximum-likelihood EM for the LLS mixture (PLSA, equivalently KL-NMF).

The counts ``N`` (D x V) are modeled as ``N[d, x] ~ n_d * sum_y P[d, y] A[y, x]``
with rows of ``P`` (p_d(y)) and of ``A`` (p(x|y)) on the simplex. The EM updates
are the multiplicative KL-NMF updates with the scale of each domain profiled out.

Every routine works on the non-zeros of a sparse matrix, so its cost is
``O(nnz * k)`` per iteration, or on a dense array when the matrix is dense enough
for BLAS to win.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._simplex import normalize_rows
from .squarem import squarem

__all__ = ["CountData", "em_fit", "vb_fit", "log_likelihood", "fit_domain_topic"]

# floor of the model where it has data: finite ratios even for counts near 2^50
_TINY = 1e-100
#: count matrices of at most this many cells take the dense path at any density
_SMALL_CELLS = 1 << 12


@dataclass
class CountData:
    """Counts prepared for repeated EM sweeps.

    Parameters
    ----------
    counts : scipy sparse (D, V), non-negative
    dense : bool or None
        Force the dense (BLAS) path; ``None`` chooses by density and size (dense above
        30% non-zeros, or at most 4,096 cells).
    """

    counts: Any
    dense: bool | None = None

    def __post_init__(self) -> None:
        M = sp.csr_matrix(self.counts, dtype=np.float64)
        M.eliminate_zeros()
        D, V = M.shape
        self.shape = (D, V)
        density = M.nnz / max(D * V, 1)
        if self.dense is None:
            # a small matrix is dense whatever its density: there scipy.sparse's per-call
            # overhead, not the arithmetic, sets the cost of a sweep (a DDFA solve on
            # 20 domains x 21 clusters at density 0.35: 13 ms sparse, 7 ms dense)
            self.dense = (density > 0.3 or D * V <= _SMALL_CELLS) and D * V <= 2e7
        self.total = float(M.sum())
        if self.dense:
            self.N = M.toarray()
            self.flat_nz = np.flatnonzero(self.N)
            self.N_nz = self.N.ravel()[self.flat_nz]
        else:
            self.M = M
            # CSR order: a domain's non-zeros are one run, so gathering a per-domain
            # value at every non-zero is a repeat (4x faster than fancy indexing)
            self.per_row = np.diff(M.indptr).astype(np.intp)
            self.rows = np.repeat(np.arange(D), self.per_row)
            # np.take with out= converts int32 indices on every call
            self.cols = M.indices.astype(np.intp)
            self.data = M.data
            # scratch of model_values (made on first use): (nnz,) buffers reused by
            # every sweep. Fresh temporaries of this size are page-faulted in on each
            # allocation, which cost more than the arithmetic (3.7 -> 0.7 ms a call,
            # 58k non-zeros)
            self._scratch = self._model = None

    def ratio(self, P: np.ndarray, A: np.ndarray, with_ll: bool = True
              ) -> tuple[Any, float]:
        """Return ``R = N / (P A)`` on the support of N, and the log-likelihood."""
        if self.dense:
            model = np.maximum(P @ A, _TINY)
            R = self.N / model
            ll = float(np.sum(self.N_nz * np.log(model.ravel()[self.flat_nz]))) if \
                with_ll else np.nan
            return R, ll
        if self._model is None:
            self._model = np.empty(len(self.data))
        model = self.model_values(P, A, out=self._model)
        vals = self.data / model
        R = sp.csr_matrix((vals, self.M.indices, self.M.indptr), shape=self.shape)
        ll = float(np.dot(self.data, np.log(model))) if with_ll else np.nan
        return R, ll

    def model_values(self, P: np.ndarray, A: np.ndarray, out: np.ndarray | None = None
                     ) -> np.ndarray:
        """``(P A)[d, x]`` at every non-zero, floored at a tiny positive value.

        One pass per label over 1-D gathers into reused buffers: memory stays
        ``O(nnz + V k)`` rather than ``O(nnz k)``. Sparse path only; the buffers make a
        ``CountData`` single-threaded (each thread builds its own).

        Parameters
        ----------
        P : ndarray of shape (D, k)
        A : ndarray of shape (k, V)
        out : ndarray of shape (nnz,), optional
            Where to write the result (default: a new array).

        Returns
        -------
        ndarray of shape (nnz,)
        """
        PT = np.ascontiguousarray(P.T, dtype=np.float64)
        A = np.asarray(A, dtype=np.float64)
        if out is None:
            out = np.empty(len(self.data))
        elif not (isinstance(out, np.ndarray) and out.shape == (len(self.data),)
                  and out.dtype == np.float64):
            raise ValueError(f"out must be a float64 array of shape ({len(self.data)},), "
                             f"one entry per non-zero count, got "
                             f"{getattr(out, 'shape', type(out).__name__)}")
        if self._scratch is None:
            self._scratch = np.empty(len(self.data))
        tmp = self._scratch
        np.take(A[0], self.cols, out=out)
        out *= np.repeat(PT[0], self.per_row)
        for y in range(1, PT.shape[0]):
            np.take(A[y], self.cols, out=tmp)
            tmp *= np.repeat(PT[y], self.per_row)
            out += tmp
        return np.maximum(out, _TINY, out=out)

    @staticmethod
    def dot_topics(R: Any, A: np.ndarray) -> np.ndarray:
        """``R @ A.T`` (D x k)."""
        return np.asarray(R @ A.T)

    @staticmethod
    def dot_domains(R: Any, P: np.ndarray) -> np.ndarray:
        """``P.T @ R`` (k x V)."""
        if sp.issparse(R):
            return np.asarray((R.T @ P).T)
        return P.T @ R


def blas_single_thread() -> Any:
    """Limit BLAS to one thread: EM multiplies small matrices many times, where
    thread start-up and contention cost far more than they save."""
    global _CONTROLLER
    from threadpoolctl import ThreadpoolController

    # finding the loaded libraries reads /proc/self/maps (~20 ms): do it once
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


_CONTROLLER = None


def em_fit(data: CountData | Any, P: np.ndarray, A: np.ndarray, *, max_iter: int = 500,
           tol: float = 0.0, update_domain_topic: bool = True,
           update_topic_word: bool = True, topic_word_prior: float = 0.0,
           domain_topic_prior: float = 0.0, callback: Any = None,
           ) -> tuple[np.ndarray, np.ndarray, int, float]:
    """Run EM (multiplicative KL-NMF updates) from ``(P, A)``.

    Parameters
    ----------
    data : CountData or sparse/dense (D, V) counts
    P : ndarray of shape (D, k)
        Initial p_d(y); rows sum to 1.
    A : ndarray of shape (k, V)
        Initial p(x|y); rows sum to 1.
    max_iter : int
        Maximum number of EM sweeps.
    tol : float
        Stop when the log-likelihood per token improves by less than this over
        an iteration (checked every 10 iterations; 0 runs all ``max_iter``).
    update_domain_topic, update_topic_word : bool
        Hold either factor fixed (fixing ``A`` gives the per-domain maximum
        likelihood of the mixture weights, the protocol's oracle).
    topic_word_prior, domain_topic_prior : float
        Pseudo-counts added in the M-steps (MAP with Dirichlet(1 + prior)).
    callback : callable(iteration, P, A, loglik), optional
        Called every iteration (forces the log-likelihood to be computed).

    Returns
    -------
    P : ndarray (D, k), rows sum to 1
    A : ndarray (k, V), rows sum to 1
    n_iter : int
    loglik : float
        Log-likelihood of the counts at the returned parameters (up to the
        multinomial constant).
    """
    if not isinstance(data, CountData):
        data = CountData(data)

    def m_step(R: Any, P: np.ndarray, A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if update_domain_topic:
            P_new = P * data.dot_topics(R, A) + domain_topic_prior
        if update_topic_word:
            A = normalize_rows(A * data.dot_domains(R, P) + topic_word_prior)
        if update_domain_topic:
            P = normalize_rows(P_new)
        return P, A

    P, A, n_iter, ll, _ = run_em(data, np.array(P, dtype=np.float64),
                                 np.array(A, dtype=np.float64), m_step, max_iter=max_iter,
                                 tol=tol, callback=callback)
    return P, A, n_iter, ll


#: sweeps between convergence checks: the log-likelihood costs as much as an update
CHECK_EVERY = 10


def run_em(data: CountData, P: np.ndarray, A: np.ndarray, m_step: Any, *, max_iter: int,
           tol: float, callback: Any = None, monotone: bool = True
           ) -> tuple[np.ndarray, np.ndarray, int, float, bool]:
    """The EM loop: E-step ratios, ``m_step(R, P, A) -> (P, A)``, a convergence test.

    Every :data:`CHECK_EVERY` sweeps the log-likelihood is compared with the last
    check; the loop stops before the update once it changed by less than ``tol`` per
    sample and sweep (``tol=0`` runs all ``max_iter``). ``monotone=False`` tests the
    size of the change, for MAP steps that need not raise the likelihood.

    Returns
    -------
    P : ndarray (D, k), A : ndarray (k, V)
        As returned by the last M-step.
    n_iter : int
    loglik : float
        Log-likelihood at the returned parameters (multinomial constant dropped).
    converged : bool
        Whether the test stopped the loop (always True with ``tol=0``).
    """
    prev = -np.inf
    n_iter, converged = 0, tol == 0
    with blas_single_thread():
        for it in range(max_iter):
            check = tol > 0 and it % CHECK_EVERY == 0
            R, ll = data.ratio(P, A, with_ll=check or callback is not None)
            if callback is not None:
                callback(it, P, A, ll)
            if check:
                change = ll - prev if monotone else abs(ll - prev)
                if change < tol * CHECK_EVERY * data.total:
                    converged = True
                    break
                prev = ll
            P, A = m_step(R, P, A)
            n_iter = it + 1
        _, ll = data.ratio(P, A)
    return P, A, n_iter, ll, converged


def vb_fit(data: CountData | Any, P: np.ndarray, A: np.ndarray, *, topic_word_prior: float,
           domain_topic_prior: float = 1.0, init_strength: float | None = None,
           max_iter: int = 500, tol: float = 1e-7, accelerate: bool = True
           ) -> tuple[np.ndarray, np.ndarray, int]:
    """Mean-field variational Bayes for the LLS mixture (LDA on the count matrix).

    Rows of ``A`` get a Dirichlet(``topic_word_prior``) prior and rows of ``P`` a
    Dirichlet(``domain_topic_prior``) prior. With a small ``topic_word_prior`` the
    update ``exp(E[log A])`` shrinks weakly supported (input, label) pairs
    towards zero, which favours the sparse, anchor-like factorization: the
    identifiable one. Full-batch, vectorized over the non-zeros of the counts.

    Parameters
    ----------
    data : CountData or (D, V) counts
    P, A : initial p_d(y) (D, k) and p(x|y) (k, V)
    topic_word_prior : float
        Dirichlet concentration on each input of each label.
    domain_topic_prior : float
        Dirichlet concentration on each label of each domain.
    init_strength : float, optional
        Pseudo-count mass of each initial topic; default ``total / k``.
    max_iter : int
        Budget of variational sweeps.
    tol : float
        Stop when no p_d(y) entry moves by more than this in an iteration (an
        accelerated cycle).
    accelerate : bool, default=True
        SQUAREM cycles (:func:`~lls_topics.solvers.squarem.squarem`) instead of plain
        sweeps: the same fixed points, reached in far fewer sweeps on flat
        posteriors (real text), where plain sweeps stop at ``max_iter``.

    Returns
    -------
    P : ndarray (D, k), posterior mean of p_d(y); rows sum to 1
    A : ndarray (k, V), posterior mean of p(x|y); rows sum to 1
    n_iter : int
    """
    from scipy.special import digamma

    if not isinstance(data, CountData):
        data = CountData(data)
    k = A.shape[0]
    sizes = _domain_totals(data)
    strength = data.total / k if init_strength is None else init_strength
    lam = np.asarray(A, dtype=np.float64) * strength + topic_word_prior
    gam = np.asarray(P, dtype=np.float64) * sizes[:, None] + domain_topic_prior

    def sweep(params: list) -> list:
        gam, lam = params
        EA = np.exp(digamma(lam) - digamma(lam.sum(axis=1, keepdims=True)))
        ET = np.exp(digamma(gam) - digamma(gam.sum(axis=1, keepdims=True)))
        R, _ = data.ratio(ET, EA, with_ll=False)
        return [domain_topic_prior + ET * data.dot_topics(R, EA),
                topic_word_prior + EA * data.dot_domains(R, ET)]

    def converged(old: list, new: list) -> bool:
        return bool(np.abs(normalize_rows(new[0]) - normalize_rows(old[0])).max() < tol)

    with blas_single_thread():
        if accelerate:
            (gam, lam), n_iter = squarem(sweep, [gam, lam], max_iter=max_iter,
                                         converged=converged)
        else:
            n_iter = 0
            for _ in range(max_iter):
                new = sweep([gam, lam])
                n_iter += 1
                done = converged([gam, lam], new)
                gam, lam = new
                if done:
                    break
    return normalize_rows(gam), normalize_rows(lam), n_iter


def _domain_totals(data: CountData) -> np.ndarray:
    if data.dense:
        return data.N.sum(axis=1)
    return np.asarray(data.M.sum(axis=1)).ravel()


def log_likelihood(counts: Any, P: np.ndarray, A: np.ndarray) -> float:
    """Log-likelihood ``sum_{d,x} N[d,x] log (P A)[d,x]`` (multinomial constant dropped)."""
    data = counts if isinstance(counts, CountData) else CountData(counts)
    return data.ratio(np.asarray(P, float), np.asarray(A, float))[1]


def fit_domain_topic(counts: Any, A: np.ndarray, *, max_iter: int = 1000, tol: float = 1e-10,
                     P0: np.ndarray | None = None, accelerate: bool = True) -> np.ndarray:
    """Maximum-likelihood p_d(y) for each domain with p(x|y) held fixed.

    With the true ``A`` this is the protocol's oracle.

    Parameters
    ----------
    counts : CountData or (D, V) counts
    A : ndarray (k, V), rows sum to 1
    max_iter : int
        Budget of EM sweeps.
    tol : float
        Stop when the log-likelihood per token gains less than this per sweep.
    P0 : ndarray (D, k), optional
        Start (default uniform).
    accelerate : bool, default=True
        SQUAREM cycles with the log-likelihood as merit (monotone, same maximum);
        plain EM crawls where a domain's weights tend to zero.

    Returns
    -------
    ndarray of shape (D, k); rows sum to 1.

    Examples
    --------
    >>> A = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]])   # p(x|y), two labels
    >>> fit_domain_topic(np.array([[30, 40, 10]]), A).round(2)
    array([[0.75, 0.25]])
    """
    data = counts if isinstance(counts, CountData) else CountData(counts)
    k = A.shape[0]
    if P0 is None:
        P0 = np.full((data.shape[0], k), 1.0 / k)
    if not accelerate:
        P, _, _, _ = em_fit(data, P0, A, max_iter=max_iter, tol=tol, update_topic_word=False)
        return P
    A = np.asarray(A, dtype=np.float64)
    # SQUAREM asks for the log-likelihood of an iterate and then sweeps from it (and
    # sweeps from the point whose merit it just compared), so each evaluation is kept
    # by identity: R for the last two iterates, the log-likelihood for the last six.
    # One ratio per point instead of up to two: 1.5-2.7x faster on real text, same arithmetic
    recent: list = []   # [array, R or None, log-likelihood], newest first

    def evaluate(P: np.ndarray) -> tuple[Any, float]:
        for entry in recent:
            if entry[0] is P and entry[1] is not None:
                return entry[1], entry[2]
        R, ll = data.ratio(P, A)
        recent.insert(0, [P, R, ll])
        del recent[6:]
        for entry in recent[2:]:
            entry[1] = None
        return R, ll

    def loglik(params: list) -> float:
        for entry in recent:
            if entry[0] is params[0]:
                return entry[2]
        return evaluate(params[0])[1]

    def sweep(params: list) -> list:
        R, _ = evaluate(params[0])
        return [normalize_rows(params[0] * data.dot_topics(R, A))]

    def converged(old: list, new: list) -> bool:
        return loglik(new) - loglik(old) < tol * data.total

    with blas_single_thread():
        P = normalize_rows(np.maximum(np.asarray(P0, dtype=np.float64), 1e-300))
        (P,), _ = squarem(sweep, [P], max_iter=max_iter, converged=converged, merit=loglik)
    return P
