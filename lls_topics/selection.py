"""Choose the number of labels k from the data.

Two signals, both computed by :func:`select_n_topics`:

- **held-out likelihood by document completion**: every domain's tokens are split
  at random into ``cv`` folds; for each fold a solver is fitted on the other folds
  (all domains) and scores the held-out tokens of each domain with that domain's
  fitted p_d(y). Tokens are exchangeable within a domain, so this is an honest
  estimate of how well k labels predict new samples of the same domains;
- **the anchor residual curve**: the residual norm of each successive anchor pick
  (noise-corrected successive projection on the profiles p(d|x)); it falls sharply
  after the last true vertex.

The rule: the likelihood decides, and the residual curve breaks near-ties (see
:func:`select_n_topics`).
"""
from __future__ import annotations

import warnings
from typing import Any, Iterable

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone

from ._validation import check_count_matrix, check_int, check_random_state
from .corpus import DomainCorpus

__all__ = ["select_n_topics", "SelectionResult", "split_counts", "heldout_log_likelihood",
           "anchor_residual_curve", "whole_counts"]

#: weight of the smoothed training unigram mixed into every held-out prediction, so an
#: input that a fit gives zero mass costs a finite, k-independent penalty
_SMOOTHING = 1e-4
#: a candidate within this many standard errors of the best held-out score is a near-tie
_TIE_SE = 1.0


class SelectionResult:
    """What :func:`select_n_topics` measured.

    Attributes
    ----------
    candidates_ : ndarray of int, shape (n_candidates,)
        The k values tried (those above the number of domains are dropped).
    scores_ : ndarray of shape (n_candidates,)
        Held-out log-likelihood per token, by document completion, for each k.
    score_se_ : ndarray of shape (n_candidates,)
        Standard error of each score's difference to the best score (paired over
        domains); 0 at the best k.
    residuals_ : ndarray of shape (n_candidates,)
        The anchor residual curve: the residual norm of the k-th anchor pick.
    residual_drops_ : ndarray of shape (n_candidates,)
        ``residual(k) / residual(k + 1)``: large where the k-th pick was the last
        real vertex (NaN where no pick follows).
    best_by_likelihood_ : int
        The k of the highest held-out score.
    best_by_residual_ : int
        The k of the largest residual drop.
    near_ties_ : ndarray of int
        The candidates whose score is within one standard error of the best.
    best_ : int
        The chosen k (see :func:`select_n_topics` for the rule).
    """

    def __init__(self, candidates: np.ndarray, scores: np.ndarray, score_se: np.ndarray,
                 residuals: np.ndarray, drops: np.ndarray) -> None:
        self.candidates_ = candidates
        self.scores_ = scores
        self.score_se_ = score_se
        self.residuals_ = residuals
        self.residual_drops_ = drops
        i_best = int(np.argmax(scores))
        self.best_by_likelihood_ = int(candidates[i_best])
        # a drop is undefined where no pick follows (k = number of domains)
        ranked = np.where(np.isfinite(drops), drops, -np.inf)
        self.best_by_residual_ = int(candidates[int(np.argmax(ranked))])
        tie = scores >= scores[i_best] - _TIE_SE * score_se
        self.near_ties_ = candidates[tie]
        # among near-ties, the residual curve's sharpest drop
        self.best_ = int(candidates[tie][int(np.argmax(ranked[tie]))])

    def __repr__(self) -> str:
        return (f"SelectionResult(best_={self.best_}, best_by_likelihood_="
                f"{self.best_by_likelihood_}, best_by_residual_={self.best_by_residual_})")


def whole_counts(data: Any) -> sp.csr_matrix:
    """Validated whole-number counts (csr, float64) from a corpus, planted problem or matrix."""
    if hasattr(data, "corpus") and hasattr(data, "topic_word"):   # a planted DiscreteLLS
        data = data.corpus
    counts = data.counts if isinstance(data, DomainCorpus) else check_count_matrix(data, "data")
    counts = sp.csr_matrix(counts, dtype=np.float64)
    counts.eliminate_zeros()
    if not np.all(counts.data == np.round(counts.data)):
        raise ValueError("data must hold whole-number counts (samples): held-out "
                         "likelihood splits each domain's samples, which fractional "
                         "(expected) counts do not have")
    return counts


def split_counts(counts: Any, n_folds: int, random_state: Any = None) -> list[sp.csr_matrix]:
    """Split every domain's samples into ``n_folds`` random folds.

    Each sample goes to a fold uniformly at random (a multinomial split of each
    count), so the folds are independent draws of the same domains.

    Parameters
    ----------
    counts : sparse or dense (n_domains, n_words) whole-number counts
    n_folds : int, >= 2
    random_state : int, Generator or None

    Returns
    -------
    list of ``n_folds`` csr_matrix of shape (n_domains, n_words), summing to ``counts``
    """
    M = whole_counts(counts)
    f = check_int(n_folds, "cv", minimum=2)
    rng = check_random_state(random_state)
    left = M.data.astype(np.int64)
    folds = []
    for i in range(f - 1):
        take = rng.binomial(left, 1.0 / (f - i))
        left = left - take
        folds.append(take)
    folds.append(left)
    return [sp.csr_matrix((x.astype(np.float64), M.indices, M.indptr), shape=M.shape)
            for x in folds]


def heldout_log_likelihood(domain_topic: np.ndarray, topic_word: np.ndarray,
                           heldout: sp.csr_matrix, unigram: np.ndarray) -> np.ndarray:
    """Log-likelihood of each domain's held-out counts, shape (n_domains,).

    The prediction is ``(1 - e) p_d(y) p(x|y) + e u(x)`` with ``u`` a smoothed
    training unigram and ``e`` = 1e-4, so no held-out sample costs infinitely.
    """
    from .solvers.em import CountData

    H = sp.csr_matrix(heldout)
    H.eliminate_zeros()
    data = CountData(H, dense=False)
    model = data.model_values(domain_topic, topic_word)
    model = (1 - _SMOOTHING) * model + _SMOOTHING * unigram[data.cols]
    return np.bincount(data.rows, weights=data.data * np.log(model), minlength=H.shape[0])


def anchor_residual_curve(counts: Any, n_picks: int) -> np.ndarray:
    """Residual norm of each of ``n_picks`` successive anchor picks, shape (n_picks,).

    The picks are the anchor solver's (noise-corrected successive projection on
    the profiles p(d|x)); the curve falls sharply after the last true vertex.
    """
    from .solvers.anchors import find_anchors, word_profiles

    Q, n_x = word_profiles(counts)
    n_picks = min(check_int(n_picks, "n_picks", minimum=1), int(np.count_nonzero(n_x)))
    _, res = find_anchors(Q, n_picks, word_counts=n_x)
    return res


def _make(solver: Any, k: int, random_state: Any) -> Any:
    if isinstance(solver, str):
        from .solvers.registry import make_solver

        return make_solver(solver, k, random_state=random_state)
    est = clone(solver)
    est.set_params(n_topics=k)
    return est


def select_n_topics(data: Any, candidates: Iterable[int] = range(2, 21), *,
                    solver: Any = "anchor", cv: int = 5, random_state: Any = None,
                    verbose: bool = False) -> SelectionResult:
    """Choose the number of labels k by held-out likelihood and the anchor residuals.

    The rule: the **held-out likelihood decides**; among the candidates whose score
    is within one standard error of the best (near-ties), the one where the anchor
    residual curve drops most is chosen. Why: the likelihood is the criterion that
    measures what a k buys on new samples, under any solver, and it does not
    depend on the anchor condition; but past the true k it is nearly flat (extra
    labels split real ones and cost little), so its argmax alone wanders upwards
    within its noise. The residual drop is sharp where the anchors are strong
    but, used alone, fails when one label's anchors are weak. Used inside the
    likelihood's near-ties it only breaks ties the likelihood cannot.

    Parameters
    ----------
    data : DomainCorpus, or (n_domains, n_words) whole-number counts (dense or sparse)
    candidates : iterable of int, default=range(2, 21)
        The k values to try; those above the number of domains (which cannot be
        identified) are dropped.
    solver : str or estimator, default="anchor"
        A solver name (``"anchor"``, ``"nmf"``, ``"lda"``, ...) or an unfitted
        solver whose ``n_topics`` is set for each candidate.
    cv : int, default=5
        Folds of each domain's samples; each candidate is fitted ``cv`` times.
    random_state : int, Generator or None
        Seeds the split of the samples and the solvers.
    verbose : bool, default=False
        Show a progress bar.

    Returns
    -------
    SelectionResult
        ``best_``, ``scores_`` (held-out log-likelihood per token per k),
        ``residuals_`` (the anchor residual curve), and the rest described there.

    Examples
    --------
    >>> from lls_topics import make_discrete_lls, select_n_topics
    >>> prob = make_discrete_lls(n_topics=3, n_words=60, n_domains=8, random_state=0)
    >>> result = select_n_topics(prob.corpus, [2, 3, 4], cv=2, random_state=0)
    >>> int(result.best_), result.scores_.shape
    (3, (3,))
    """
    counts = whole_counts(data)
    D = counts.shape[0]
    n_x = np.asarray(counts.sum(axis=0)).ravel()
    cand = np.unique(np.asarray([check_int(k, "candidates", minimum=1) for k in candidates]))
    cand = cand[cand <= min(D, np.count_nonzero(n_x))]
    if cand.size == 0:
        raise ValueError(f"candidates must include a k between 1 and the number of domains "
                         f"({D}), got {list(candidates)}")
    rng = check_random_state(random_state)
    seed = int(rng.integers(2**31 - 1))
    folds = split_counts(counts, cv, rng)
    total = sp.csr_matrix(counts)
    per_domain = np.zeros((cand.size, D))
    from tqdm.auto import tqdm

    bar = tqdm(total=cand.size * len(folds), disable=not verbose, desc="select k")
    for f, held in enumerate(folds):
        train = total - held
        nx_train = np.asarray(train.sum(axis=0)).ravel() + 1.0
        unigram = nx_train / nx_train.sum()
        for i, k in enumerate(cand):
            est = _make(solver, int(k), seed)
            with warnings.catch_warnings():
                # past the true k, diagnostics warn by design; they are not news here
                warnings.simplefilter("ignore")
                est.fit(train)
            rows = np.asarray(est.domain_ids_, dtype=np.int64)
            ll = heldout_log_likelihood(est.domain_topic_, est.topic_word_, held[rows], unigram)
            per_domain[i, rows] += ll
            bar.update()
    bar.close()
    n_total = float(counts.sum())
    scores = per_domain.sum(axis=1) / n_total
    best = int(np.argmax(scores))
    diff = per_domain[best] - per_domain
    se = diff.std(axis=1, ddof=1) * np.sqrt(D) / n_total if D > 1 else np.zeros(cand.size)
    res = anchor_residual_curve(counts, int(cand.max()) + 1)
    res = np.concatenate([res, np.zeros(int(cand.max()) + 1 - res.size)])
    r_k = res[cand - 1]
    drops = np.divide(r_k, res[cand], out=np.full(cand.size, np.nan), where=res[cand] > 0)
    return SelectionResult(cand, scores, se, r_k, drops)
