"""What every topic solver shares: input checks, fitted attributes, prediction.

A solver factorizes the domain-by-input counts ``N`` (D x V) as
``p(x|d) = sum_y p(x|y) p_d(y)``. Subclasses implement :meth:`_fit_counts`; this
base turns any accepted input into validated sparse counts, drops empty domains,
stores the normalized factors and answers ``predict_proba`` / ``transform``.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from .._params import validate_params
from .._simplex import normalize_rows
from .._validation import (check_count_matrix, check_identifiable, check_int,
                           check_random_state, check_tokens)
from ..corpus import DomainCorpus, row_lookup, sample_rows
from ..persistence import SaveLoadMixin
from .em import CountData, fit_domain_topic, log_likelihood

__all__ = ["BaseTopicSolver", "IdentifiabilityWarning", "prepare_counts", "pooled_prior"]


class IdentifiabilityWarning(UserWarning):
    """The data may not identify the labels (collinear domains, too few domains)."""


def pooled_prior(domain_topic: np.ndarray, domain_sizes: np.ndarray) -> np.ndarray:
    """p(y) of the pooled mix of domains: rows of p_d(y) weighted by the domain sizes.

    Returns
    -------
    ndarray of shape (n_topics,); sums to 1.
    """
    w = np.asarray(domain_sizes, dtype=np.float64)
    return (w / w.sum()) @ domain_topic


def prepare_counts(X: Any, n_topics: int, *, name: str = "X"
                   ) -> tuple[sp.csr_matrix, np.ndarray, list | None]:
    """Validate solver input and drop empty domains.

    Parameters
    ----------
    X : DomainCorpus, array-like or sparse matrix of shape (n_domains, n_words)
    n_topics : int

    Returns
    -------
    counts : csr_matrix of float64, shape (n_kept_domains, n_words)
    domain_ids : ndarray of the kept domains' ids
    vocabulary : list or None
    """
    if isinstance(X, DomainCorpus):
        counts = X.counts.astype(np.float64)
        ids = np.asarray(X.domain_ids)
        vocab = X.vocabulary
    else:
        counts = check_count_matrix(X, name, allow_fractional=True)
        ids = np.arange(counts.shape[0])
        vocab = None
    sizes = np.asarray(counts.sum(axis=1)).ravel()
    empty = sizes <= 0
    if np.any(empty):
        dropped = ids[empty].tolist()
        warnings.warn(f"dropping {len(dropped)} domain(s) with no samples: {dropped[:20]}",
                      UserWarning, stacklevel=3)
        counts = counts[~empty]
        ids = ids[~empty]
    k = check_int(n_topics, "n_topics", minimum=1)
    D = counts.shape[0]
    check_identifiable(k, D, "domains with data")
    n_used = int(np.count_nonzero(np.asarray(counts.sum(axis=0)).ravel()))
    if k > n_used:
        raise ValueError(f"n_topics={k} exceeds the number of inputs that have data "
                         f"({n_used}); expected n_topics <= {n_used}")
    return counts, ids, vocab


class BaseTopicSolver(SaveLoadMixin, BaseEstimator):
    """Shared behaviour of :class:`AnchorSolver`, :class:`NMFSolver`, :class:`LDASolver`.

    Fitted attributes
    -----------------
    topic_word_ : ndarray of shape (n_topics, n_words)
        p(x|y); each row sums to 1.
    domain_topic_ : ndarray of shape (n_domains, n_topics)
        p_d(y); each row sums to 1.
    domain_ids_ : ndarray of shape (n_domains,)
        The id of each row of ``domain_topic_`` (empty domains are dropped).
    domain_sizes_ : ndarray of shape (n_domains,)
        Samples seen in each domain.
    n_words_ : int
        Vocabulary size seen at fit.
    log_likelihood_ : float
        Log-likelihood per sample of the training counts at the fitted factors.
    """

    #: what each parameter may be (see :mod:`lls_topics._params`); checked first in fit
    _param_constraints: dict[str, list] = {}

    #: fitted array attributes saved by :meth:`save` (extended by subclasses)
    _fitted_arrays: tuple[str, ...] = ("topic_word_", "domain_topic_", "domain_ids_",
                                       "domain_sizes_")

    # -- subclasses implement ------------------------------------------------------
    def _fit_counts(self, counts: sp.csr_matrix, rng: np.random.Generator
                    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (domain_topic (D, k), topic_word (k, V)) for validated counts."""
        raise NotImplementedError

    # -- sklearn API ---------------------------------------------------------------
    def __sklearn_tags__(self) -> Any:
        """scikit-learn >= 1.6 tags: a transformer of non-negative (domains x inputs)
        counts, dense or sparse."""
        tags = super().__sklearn_tags__()
        from sklearn.utils import TransformerTags

        tags.transformer_tags = TransformerTags()
        tags.input_tags.positive_only = True
        tags.input_tags.sparse = True
        return tags

    def fit(self, X: Any, y: Any = None) -> "BaseTopicSolver":
        """Factorize the domain-by-input counts.

        Parameters
        ----------
        X : DomainCorpus, array-like or sparse matrix of shape (n_domains, n_words)
            Non-negative counts (expected counts and weights are accepted too).
        y : ignored

        Returns
        -------
        self
        """
        validate_params(self)
        counts, ids, vocab = prepare_counts(X, self.n_topics)
        rng = check_random_state(self.random_state)
        self._check_collinear(counts)
        P, A = self._fit_counts(counts, rng)
        self._set_fitted(counts, ids, vocab, P, A)
        return self

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit and return ``domain_topic_`` (n_domains, n_topics); rows sum to 1."""
        return self.fit(X).domain_topic_

    def _set_fitted(self, counts: sp.csr_matrix, ids: np.ndarray, vocab: list | None,
                    P: np.ndarray, A: np.ndarray) -> None:
        P = _clean_rows(P, "domain_topic_")
        A = _clean_rows(A, "topic_word_")
        self.domain_topic_ = P
        self.topic_word_ = A
        self.domain_ids_ = np.asarray(ids)
        self.domain_sizes_ = np.asarray(counts.sum(axis=1)).ravel()
        self.n_words_ = counts.shape[1]
        self.n_features_in_ = counts.shape[1]
        self.vocabulary_ = vocab
        total = float(self.domain_sizes_.sum())
        self.log_likelihood_ = log_likelihood(counts, P, A) / total
        self._warn_diagnostics()

    def fit_replicate(self, counts: sp.csr_matrix, rng: np.random.Generator
                      ) -> tuple[np.ndarray, np.ndarray]:
        """(p_d(y), p(x|y)) refitted on resampled counts of the fitted domains.

        Used by :func:`lls_topics.bootstrap`; leaves the fitted solver unchanged.
        This default refits from scratch; subclasses may start from the fit.

        Parameters
        ----------
        counts : csr_matrix of shape (n_domains_, n_words_)
            Counts of the fitted domains, in the fitted order.
        rng : numpy Generator

        Returns
        -------
        domain_topic : ndarray (n_domains_, k), rows sum to 1
        topic_word : ndarray (k, n_words_), rows sum to 1
        """
        est = clone(self)
        if "random_state" in est.get_params():
            est.set_params(random_state=int(rng.integers(2**31 - 1)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IdentifiabilityWarning)
            est.fit(counts)
        return est.domain_topic_, est.topic_word_

    def _row_lookup(self) -> dict:
        return row_lookup(self.domain_ids_)

    def _check_collinear(self, counts: sp.csr_matrix) -> None:
        """Warn when the domains' input profiles span fewer than ``n_topics`` dimensions."""
        k = int(self.n_topics)
        if k < 2:
            return
        sizes = np.asarray(counts.sum(axis=1)).ravel()
        Q = sp.diags(1.0 / sizes) @ counts
        sv = _top_singular_values(Q, k)
        if sv[k - 1] <= 1e-9 * sv[0]:
            cond = np.inf if sv[k - 1] == 0 else sv[0] / sv[k - 1]
            warnings.warn(f"the domains span fewer than n_topics={k} independent directions "
                          f"(condition number {cond:.3g}): duplicate or collinear domains "
                          "put identifiability at risk", IdentifiabilityWarning, stacklevel=3)

    def diagnostics(self) -> dict:
        """How well the fit identifies its labels: anchors, conditioning, collinear pairs.

        Returns
        -------
        dict
            ``anchor_strength`` (k,): the largest p(y|x) among inputs with enough
            samples; ``anchor_input`` (k,); ``n_near_anchors`` (k,): inputs with
            p(y|x) >= 0.9; ``condition_number`` of p_d(y); ``collinear_pairs``: label
            pairs whose p_d(y) columns correlate above 0.65 across domains;
            ``warnings``: the actionable messages that ``fit`` raised. See
            :func:`lls_topics.diagnostics.identifiability_diagnostics`.
        """
        from ..diagnostics import identifiability_diagnostics

        check_is_fitted(self, "domain_topic_")
        return identifiability_diagnostics(self.domain_topic_, self.topic_word_,
                                           self.domain_sizes_)

    def _warn_diagnostics(self) -> None:
        for message in self.diagnostics()["warnings"]:
            warnings.warn(message, IdentifiabilityWarning, stacklevel=4)

    # -- prediction ------------------------------------------------------------------
    def _domain_rows(self, domains: Any, n: int) -> np.ndarray:
        return sample_rows(domains, self._row_lookup(), n, "tokens")

    def pooled_prior(self) -> np.ndarray:
        """p(y) under the pooled training mix: domains weighted by their sizes, shape (k,)."""
        check_is_fitted(self, "domain_topic_")
        return pooled_prior(self.domain_topic_, self.domain_sizes_)

    def predict_proba(self, tokens: Any, domains: Any = None) -> np.ndarray:
        """Posterior p_d(y|x) ∝ p(x|y) p_d(y) for each sample.

        Parameters
        ----------
        tokens : array-like of int, shape (n_samples,)
            Input ids in ``[0, n_words_)``.
        domains : array-like of shape (n_samples,) or a single id, optional
            Domain ids as given at fit. Without them the pooled label mix
            (:meth:`pooled_prior`) is used.

        Returns
        -------
        ndarray of shape (n_samples, n_topics); rows sum to 1.
        """
        check_is_fitted(self, "domain_topic_")
        tok = check_tokens(tokens, "tokens", n_words=self.n_words_)
        if domains is None:
            prior = np.broadcast_to(self.pooled_prior(), (tok.size, self.domain_topic_.shape[1]))
        else:
            prior = self.domain_topic_[self._domain_rows(domains, tok.size)]
        joint = self.topic_word_[:, tok].T * prior
        s = joint.sum(axis=1, keepdims=True)
        # an input no label emits carries no evidence: fall back on the prior
        return np.divide(joint, s, out=np.array(prior, dtype=np.float64), where=s > 0)

    def predict(self, tokens: Any, domains: Any = None) -> np.ndarray:
        """Most probable label of each sample, shape (n_samples,)."""
        return np.argmax(self.predict_proba(tokens, domains), axis=1)

    def transform(self, X: Any) -> np.ndarray:
        """p_d(y) of (new) domains with ``topic_word_`` held fixed (maximum likelihood).

        Parameters
        ----------
        X : DomainCorpus, array-like or sparse of shape (n_domains, n_words_)

        Returns
        -------
        ndarray of shape (n_domains, n_topics); rows sum to 1 (uniform for a domain
        without samples).
        """
        check_is_fitted(self, "domain_topic_")
        counts = X.counts if isinstance(X, DomainCorpus) else check_count_matrix(X, "X")
        if counts.shape[1] != self.n_words_:
            raise ValueError(f"X has {counts.shape[1]} inputs (columns), expected "
                             f"{self.n_words_} as at fit")
        return fit_domain_topic(counts, self.topic_word_)

    def score(self, X: Any, y: Any = None) -> float:
        """Log-likelihood per sample of ``X`` (rows must be the fitted domains, in order)."""
        check_is_fitted(self, "domain_topic_")
        counts = X.counts if isinstance(X, DomainCorpus) else check_count_matrix(X, "X")
        if counts.shape != (self.domain_topic_.shape[0], self.n_words_):
            raise ValueError(f"X must have shape {(self.domain_topic_.shape[0], self.n_words_)}"
                             f" (the fitted domains and inputs), got {counts.shape}")
        return log_likelihood(CountData(counts), self.domain_topic_, self.topic_word_) / \
            float(counts.sum())


def _clean_rows(X: np.ndarray, name: str) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if not np.all(np.isfinite(X)):
        raise FloatingPointError(f"{name} became non-finite during fitting; please report "
                                 "this with the data that caused it")
    return normalize_rows(np.clip(X, 0.0, None))


def _top_singular_values(Q: Any, k: int) -> np.ndarray:
    """The ``k`` largest singular values of Q (n_domains x n_words), descending.

    The dense Gram matrix of the domains costs O(D^3); with thousands of short
    domains that alone took longer than the whole fit, so large problems use
    Lanczos (ARPACK) on Q for its top ``k`` values only.
    """
    D = Q.shape[0]
    if D <= 500 or k + 1 >= min(Q.shape):
        G = np.asarray((Q @ Q.T).todense()) if sp.issparse(Q) else Q @ Q.T
        return np.sqrt(np.clip(np.linalg.eigvalsh(G)[::-1], 0, None))[:k]
    from scipy.sparse.linalg import svds

    v0 = np.full(min(Q.shape), 1.0)   # deterministic start
    sv = svds(sp.csr_matrix(Q), k=k, return_singular_vectors=False, v0=v0)
    return np.sort(sv)[::-1]
