"""Latent Dirichlet allocation over domains, one document per domain, via gensim.

LLS corpora are unlike the text corpora gensim's defaults are tuned for: a handful of
documents (the domains), each thousands of samples long. Measured on the protocol
grid (``benchmarks/solvers.py --gensim-default``, medians of 3 seeds), gensim as first
tried (``passes=20, alpha="auto"``) has 4.8x, 14x and 22x the oracle's prior error on
small-a0.5, small-a3 and small-a10 (tomotopy: 1.2x, 1.6x, 1.5x); its plain defaults
(online updates with a decaying step, one pass, 50 E-step iterations) barely move the
near-uniform random topics at all. What this class does instead, and why:

* **batch variational EM** (``update_every=0``, ``chunksize`` = all domains,
  ``decay=0``): with so few documents there is nothing to gain from online
  updates, and ``decay=0`` makes each M-step replace the topics by the new
  statistics rather than blend them with the old ones, which otherwise slows
  convergence by orders of magnitude;
* **a seeded start** (``init="anchor"``): the sufficient statistics of the anchor
  solution (one E-step at it) replace gensim's random topics. Variational EM then
  refines a start that already has the right rotation; from gensim's own random
  start it converges to a collapsed or rotated optimum (9x tomotopy's error on
  small-a3, seed 0, even with all the other settings here);
* **long E-steps** (``iterations=200``, ``gamma_threshold=1e-5``): a document of
  thousands of samples needs more than gensim's 50 fixed-point iterations;
* **sparse priors** (``alpha=0.1``, ``topic_word_prior=0.01``: tomotopy's default
  ``alpha`` and ``eta``): with thousands of samples per domain the document prior
  barely matters, and the small topic prior keeps the anchors' zeros sharp;
* **a pass budget with a stopping rule** (``passes=100``, ``tol``): passes stop once
  the topics move by less than ``tol``; like EM, running much longer trades prior
  accuracy for likelihood.

Result on the protocol grid (medians, one run of ``benchmarks/solvers.py``): 0.84x,
0.79x, 0.82x and 0.50x tomotopy's L1(P) (500 Gibbs iterations, 1 worker) on small-a0.5,
small-a3, small-a10 and large, in 0.2-4 s against tomotopy's 5-80 s. From the anchor
start the variational fixed point is reached in a few passes: most of the accuracy
comes from the seed. scikit-learn's ``LatentDirichletAllocation`` has no public way
to seed its topics, and from its random start it does no better than gensim's (L1 5.7
against tomotopy's 0.67 on small-a3, seed 0, batch, 200 iterations), so there is no
``backend="sklearn"``.
"""
from __future__ import annotations

import contextlib
import logging
import warnings
from numbers import Integral, Real
from typing import Any, Iterator

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from .._params import BOOL, N_TOPICS, RANDOM_STATE, Interval, Options
from .em import CountData
from ._init import check_init_output, resolve_init, seed_from
from .base import BaseTopicSolver

__all__ = ["LDASolver"]

_INITS = ("anchor", "nndsvda", "random", "gensim")
_BACKENDS = ("gensim",)


@contextlib.contextmanager
def _quiet_gensim() -> Iterator[None]:
    """Silence gensim's per-call "too few updates" warning while passes run one by one."""
    logger = logging.getLogger("gensim.models.ldamodel")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _bow(counts: sp.csr_matrix) -> list[list[tuple[int, float]]]:
    """One gensim bag-of-words document per domain (counts may be fractional)."""
    return [list(zip(counts.indices[s:e].tolist(), counts.data[s:e].tolist()))
            for s, e in zip(counts.indptr[:-1], counts.indptr[1:])]


def _expected_topic_counts(counts: sp.csr_matrix, P: np.ndarray, A: np.ndarray) -> np.ndarray:
    """E-step statistics ``sum_d N[d,x] p(y|d,x)`` at (P, A), shape (k, V)."""
    data = CountData(counts)
    R, _ = data.ratio(P, A)
    return A * data.dot_domains(R, P)


class LDASolver(BaseTopicSolver):
    """Latent Dirichlet allocation with each domain as one document.

    Parameters
    ----------
    n_topics : int
        Number of latent labels k.
    backend : {"gensim"}, default="gensim"
        gensim's ``LdaModel`` (or ``LdaMulticore`` when ``workers`` > 1).
    init : {"anchor", "nndsvda", "random", "gensim"} or callable, default="anchor"
        Start of the topics. ``"anchor"`` seeds gensim's sufficient statistics with an
        E-step at the :class:`~lls_topics.solvers.anchor.AnchorSolver` solution;
        ``"gensim"`` keeps gensim's own random start (poor here, see the module notes).
        A callable ``init(counts, n_topics, rng) -> (domain_topic, topic_word)`` is
        accepted.
    alpha : float or str, default=0.1
        Symmetric Dirichlet prior on p_d(y) (gensim's ``alpha``; strings such as
        ``"symmetric"`` are passed through; ``"auto"`` needs ``workers=None``).
    topic_word_prior : float, default=0.01
        Symmetric Dirichlet prior on p(x|y) (gensim's ``eta``).
    passes : int, default=100
        Maximum number of batch variational EM passes over the domains.
    iterations : int, default=200
        Maximum E-step fixed-point iterations per domain and pass.
    gamma_threshold : float, default=1e-5
        E-step convergence threshold (gensim's).
    tol : float, default=1e-4
        Stop when the largest change of a topic-word probability in a pass is below
        this. 0 runs all ``passes``.
    workers : int or None, default=None
        Use ``LdaMulticore`` with this many worker processes.
    verbose : bool, default=False
        Progress bar over passes.
    random_state : int, Generator or None

    Attributes
    ----------
    topic_word_ : ndarray of shape (n_topics, n_words)
        Posterior mean of p(x|y); each row sums to 1.
    domain_topic_ : ndarray of shape (n_domains, n_topics)
        Posterior mean of p_d(y) (normalized variational Dirichlet); each row sums to 1.
    n_iter_ : int
        Passes run.
    converged_ : bool
        Whether ``tol`` was met within ``passes``.

    Examples
    --------
    >>> from lls_topics import LDASolver, make_discrete_lls
    >>> prob = make_discrete_lls(n_per_domain=500, random_state=0)
    >>> solver = LDASolver(5, passes=5, tol=0, random_state=0).fit(prob.corpus)
    >>> solver.domain_topic_.shape, solver.topic_word_.shape
    ((20, 5), (5, 200))
    >>> bool(np.allclose(solver.domain_topic_.sum(axis=1), 1))
    True
    """

    _param_constraints = {
        "n_topics": N_TOPICS,
        "backend": [Options(_BACKENDS)],
        "init": [Options(_INITS), callable],
        "alpha": [Interval(Real, 0, None, closed="neither"),
                  Options({"symmetric", "asymmetric", "auto"})],
        "topic_word_prior": [Interval(Real, 0, None, closed="neither")],
        "passes": [Interval(Integral, 1, None)],
        "iterations": [Interval(Integral, 1, None)],
        "gamma_threshold": [Interval(Real, 0, None)],
        "tol": [Interval(Real, 0, None)],
        "workers": [None, Interval(Integral, 1, None)],
        "verbose": BOOL,
        "random_state": RANDOM_STATE,
    }

    def __init__(self, n_topics: int, *, backend: str = "gensim", init: Any = "anchor",
                 alpha: Any = 0.1, topic_word_prior: float = 0.01, passes: int = 100,
                 iterations: int = 200, gamma_threshold: float = 1e-5, tol: float = 1e-4,
                 workers: int | None = None, verbose: bool = False,
                 random_state: Any = None) -> None:
        self.n_topics = n_topics
        self.backend = backend
        self.init = init
        self.alpha = alpha
        self.topic_word_prior = topic_word_prior
        self.passes = passes
        self.iterations = iterations
        self.gamma_threshold = gamma_threshold
        self.tol = tol
        self.workers = workers
        self.verbose = verbose
        self.random_state = random_state

    def _make_model(self, n_words: int, n_docs: int, seed: int) -> Any:
        from gensim.models import LdaModel, LdaMulticore

        id2word = {i: str(i) for i in range(n_words)}
        common = dict(num_topics=int(self.n_topics), id2word=id2word, alpha=self.alpha,
                      eta=self.topic_word_prior, decay=0.0, offset=1.0, eval_every=None,
                      iterations=int(self.iterations), gamma_threshold=self.gamma_threshold,
                      random_state=seed, dtype=np.float64)
        if self.workers is not None and int(self.workers) > 1:
            w = int(self.workers)
            # one chunk per worker, M-step once per pass (batch)
            return LdaMulticore(None, workers=w, chunksize=max(1, -(-n_docs // w)),
                                batch=True, **common)
        return LdaModel(None, chunksize=n_docs, update_every=0, **common)

    def _fit_counts(self, counts: sp.csr_matrix, rng: np.random.Generator
                    ) -> tuple[np.ndarray, np.ndarray]:
        k = int(self.n_topics)
        D, V = counts.shape
        init = resolve_init(self.init, _INITS)
        init_rng, model_rng = rng.spawn(2)
        model = self._make_model(V, D, seed_from(model_rng))
        if init != "gensim":
            P0, A0 = check_init_output(init(counts, k, init_rng), counts.shape, k)
            model.state.sstats[...] = _expected_topic_counts(counts, P0, A0)
            model.sync_state()
        corpus = _bow(counts)
        passes, tol = int(self.passes), float(self.tol)
        if self.workers is not None and int(self.workers) > 1:
            # LdaMulticore starts its worker pool per update() call, so all passes run
            # in one call and the stopping rule does not apply
            model.passes = passes
            model.update(corpus)
            n_iter, converged = passes, True
        else:
            with _quiet_gensim():
                n_iter, converged = self._run_passes(model, corpus, passes, tol)
        self.n_iter_ = n_iter
        self.converged_ = converged or tol == 0
        if not self.converged_:
            warnings.warn(f"LDASolver did not converge within passes={passes} (tol={tol}); "
                          "raise passes", ConvergenceWarning, stacklevel=3)
        gamma, _ = model.inference(corpus)
        P = gamma / gamma.sum(axis=1, keepdims=True)
        A = model.get_topics()
        return P, A

    def _run_passes(self, model: Any, corpus: list, passes: int, tol: float
                    ) -> tuple[int, bool]:
        from tqdm.auto import tqdm

        prev = model.get_topics()
        n_iter = 0
        for _ in tqdm(range(passes), desc="LDA passes", disable=not self.verbose):
            # update() adds the corpus size to numdocs on every call and then rescales the
            # new statistics to it; resetting keeps each pass a plain batch M-step
            model.state.numdocs = 0
            model.update(corpus, passes=1)
            n_iter += 1
            topics = model.get_topics()
            if tol > 0 and np.max(np.abs(topics - prev)) < tol:
                return n_iter, True
            prev = topics
        return n_iter, False
