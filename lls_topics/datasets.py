"""Planted latent-label-shift problems, following ``docs/protocol.md``.

Everything here runs offline: discrete problems are generated, continuous ones are
built from data sets that ship with installed packages (scikit-learn's digits,
``mnist1d``'s procedural generator).
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from sklearn.utils import Bunch

from ._validation import check_int, check_random_state, check_same_length
from .corpus import DomainCorpus

__all__ = ["make_discrete_lls", "population_counts", "draw_domain_priors",
           "make_semisynthetic_lls", "load_digits_lls", "load_mnist1d_lls",
           "DISCRETE_SETTINGS", "DiscreteLLS"]

#: The standard discrete grid of the benchmark protocol.
DISCRETE_SETTINGS: dict[str, dict[str, Any]] = {
    "small-a0.5": dict(n_topics=5, n_words=200, n_domains=20, n_per_domain=5000, alpha=0.5,
                       max_condition=8, n_anchors=2, anchor_mass=0.05, beta=0.1),
    "small-a3": dict(n_topics=5, n_words=200, n_domains=20, n_per_domain=5000, alpha=3,
                     max_condition=8, n_anchors=2, anchor_mass=0.05, beta=0.1),
    "small-a10": dict(n_topics=5, n_words=200, n_domains=20, n_per_domain=5000, alpha=10,
                      max_condition=8, n_anchors=2, anchor_mass=0.05, beta=0.1),
    "large": dict(n_topics=20, n_words=2000, n_domains=100, n_per_domain=20000, alpha=3,
                  max_condition=50, n_anchors=2, anchor_mass=0.05, beta=0.1),
}


class DiscreteLLS(NamedTuple):
    """A planted discrete LLS problem.

    Unpacks as ``tokens, domains, labels, domain_topic, topic_word``.

    Attributes
    ----------
    tokens : ndarray of int64, shape (n_samples,)
        Input id of each sample.
    domains : ndarray of int64, shape (n_samples,)
        Domain id of each sample.
    labels : ndarray of int64, shape (n_samples,)
        Latent label of each sample (hidden from the solvers).
    domain_topic : ndarray of shape (n_domains, k)
        True p_d(y); rows sum to 1.
    topic_word : ndarray of shape (k, n_words)
        True p(x|y); rows sum to 1.
    """

    tokens: np.ndarray
    domains: np.ndarray
    labels: np.ndarray
    domain_topic: np.ndarray
    topic_word: np.ndarray

    @property
    def corpus(self) -> DomainCorpus:
        """The :class:`DomainCorpus` of the samples."""
        return DomainCorpus.from_tokens(self.tokens, self.domains,
                                        n_words=self.topic_word.shape[1])

    @property
    def anchors(self) -> list[np.ndarray]:
        """For each label, the inputs that only it emits."""
        owners = (self.topic_word > 0).sum(axis=0) == 1
        return [np.flatnonzero(owners & (row > 0)) for row in self.topic_word]


def draw_domain_priors(n_domains: int, n_topics: int, alpha: float,
                       max_condition: float | None, rng: np.random.Generator,
                       max_tries: int = 100000) -> np.ndarray:
    """Draw a (n_domains, n_topics) matrix of p_d(y), rows ~ Dirichlet(alpha/k).

    The whole matrix is redrawn until its 2-norm condition number is at most
    ``max_condition``.
    """
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    if max_condition is not None and max_condition < 1:
        raise ValueError(f"max_condition must be >= 1, got {max_condition}")
    conc = np.full(n_topics, alpha / n_topics)
    for _ in range(max_tries):
        P = rng.dirichlet(conc, size=n_domains)
        if not np.all(np.isfinite(P)):
            continue
        if max_condition is None or n_topics == 1:
            return P
        if np.linalg.cond(P) <= max_condition:
            return P
    raise ValueError(f"no ({n_domains} x {n_topics}) prior matrix with condition number <= "
                     f"max_condition={max_condition} was drawn in {max_tries} tries; raise "
                     "max_condition or n_domains")


def make_discrete_lls(n_topics: int = 5, n_words: int = 200, n_domains: int = 20,
                      n_per_domain: int | np.ndarray = 5000, alpha: float = 3.0,
                      max_condition: float | None = 8.0, n_anchors: int = 2,
                      anchor_mass: float = 0.05, beta: float = 0.1,
                      random_state: Any = None) -> DiscreteLLS:
    """Generate a planted discrete LLS problem (the protocol's generator).

    Parameters
    ----------
    n_topics : int
        Number of latent labels k.
    n_words : int
        Number of inputs V; must exceed ``n_topics * n_anchors``.
    n_domains : int
        Number of domains D.
    n_per_domain : int or array of shape (n_domains,)
        Samples per domain (an array gives unequal domain sizes).
    alpha : float
        Each domain's p_d(y) ~ Dirichlet(alpha / k * 1_k).
    max_condition : float or None
        Redraw p_d(y) until its condition number is at most this.
    n_anchors : int
        Anchor inputs per label.
    anchor_mass : float
        Total mass of p(x|y) on label y's anchors.
    beta : float
        Concentration of the Dirichlet draw of the non-anchor body.
    random_state : int, Generator or None

    Returns
    -------
    DiscreteLLS
        ``(tokens, domains, labels, domain_topic, topic_word)``.

    Examples
    --------
    >>> prob = make_discrete_lls(n_topics=3, n_words=50, n_domains=6, random_state=0)
    >>> prob.corpus.counts.shape, prob.domain_topic.shape, prob.topic_word.shape
    ((6, 50), (6, 3), (3, 50))
    """
    k = check_int(n_topics, "n_topics", minimum=1)
    V = check_int(n_words, "n_words", minimum=1)
    D = check_int(n_domains, "n_domains", minimum=1)
    a = check_int(n_anchors, "n_anchors", minimum=0)
    if V <= k * a:
        raise ValueError(f"n_words={V} must exceed n_topics * n_anchors = {k * a}")
    if not 0 <= anchor_mass <= 1 or (a == 0 and anchor_mass > 0):
        raise ValueError(f"anchor_mass must be in [0, 1] (and 0 without anchors), got "
                         f"{anchor_mass}")
    if beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    sizes = np.broadcast_to(np.asarray(n_per_domain), (D,)).astype(np.int64)
    if np.any(sizes < 0):
        raise ValueError("n_per_domain must be non-negative")
    rng = check_random_state(random_state)
    P = draw_domain_priors(D, k, alpha, max_condition, rng)

    n_body = V - k * a
    A = np.zeros((k, V))
    for y in range(k):
        if a:
            A[y, y * a:(y + 1) * a] = anchor_mass / a
        A[y, k * a:] = (1 - anchor_mass) * rng.dirichlet(np.full(n_body, beta))
    A /= A.sum(axis=1, keepdims=True)
    perm = rng.permutation(V)
    A = A[:, perm]

    domains = np.repeat(np.arange(D), sizes)
    labels = np.empty(domains.size, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    for d in range(D):  # one vectorized draw per domain
        labels[starts[d]:starts[d + 1]] = rng.choice(k, size=sizes[d], p=P[d])
    tokens = np.empty(domains.size, dtype=np.int64)
    u = rng.random(domains.size)
    cdf = np.cumsum(A, axis=1)
    cdf[:, -1] = 1.0
    for y in range(k):
        idx = np.flatnonzero(labels == y)
        tokens[idx] = np.searchsorted(cdf[y], u[idx], side="right")
    np.minimum(tokens, V - 1, out=tokens)
    return DiscreteLLS(tokens, domains, labels, P, A)


def population_counts(domain_topic: Any, topic_word: Any,
                      domain_sizes: Any = 1.0) -> np.ndarray:
    """Expected (noise-free) counts ``n_d * sum_y p_d(y) p(x|y)``, shape (D, V)."""
    P = np.asarray(domain_topic, dtype=np.float64)
    A = np.asarray(topic_word, dtype=np.float64)
    n = np.broadcast_to(np.asarray(domain_sizes, dtype=np.float64), (P.shape[0],))
    return n[:, None] * (P @ A)


# ---------------------------------------------------------------------- continuous
def make_semisynthetic_lls(X: Any, y: Any, n_domains: int, alpha: float,
                           max_condition: float | None, *, unequal_sizes: bool = False,
                           split: tuple[float, float, float] = (0.6, 0.2, 0.2),
                           random_state: Any = None) -> Bunch:
    """Build a semi-synthetic LLS problem from a labeled data set (the protocol's recipe).

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
        Features.
    y : array-like of shape (n_samples,)
        Class labels (k distinct values).
    n_domains : int
        Number of domains r (the protocol uses k or 2k).
    alpha : float
        p_d(y) rows ~ Dirichlet(alpha / k).
    max_condition : float or None
        Redraw p_d(y) until its condition number is at most this.
    unequal_sizes : bool, default=False
        Scale domain d's size by a factor drawn uniformly from [0.25, 1].
    split : (train, val, test) fractions
    random_state : int, Generator or None

    Returns
    -------
    Bunch with ``X_train, y_train, d_train, X_val, y_val, d_val, X_test, y_test,
    d_test`` (labels are 0..k-1, domains 0..r-1), ``domain_topic`` (r, k) the true
    p_d(y) (rows sum to 1), ``domain_sizes`` (r,), ``classes`` and ``n_topics``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(1000, 3)), rng.integers(0, 2, 1000)
    >>> data = make_semisynthetic_lls(X, y, n_domains=4, alpha=3.0, max_condition=None,
    ...                               random_state=0)
    >>> data.domain_topic.shape, bool(np.allclose(data.domain_topic.sum(axis=1), 1))
    ((4, 2), True)
    """
    X = np.asarray(X)
    y = np.asarray(y)
    check_same_length(X, y, "X", "y")
    r = check_int(n_domains, "n_domains", minimum=1)
    if len(split) != 3 or abs(sum(split) - 1) > 1e-9 or min(split) < 0:
        raise ValueError(f"split must be three non-negative fractions summing to 1, got {split}")
    rng = check_random_state(random_state)
    classes, yi = np.unique(y, return_inverse=True)
    k = len(classes)
    P = draw_domain_priors(r, k, alpha, max_condition, rng)
    P[P < 1e-7] = 0.0
    P /= P.sum(axis=1, keepdims=True)
    class_sizes = np.bincount(yi, minlength=k)
    S = class_sizes.min() / P.mean(axis=0).max()
    scale = rng.uniform(0.25, 1.0, size=r) if unequal_sizes else np.ones(r)
    cells = np.floor(P * S / r * scale[:, None]).astype(np.int64)
    chosen, dom = [], []
    for c in range(k):  # loop over classes and domains, not samples
        pool = rng.permutation(np.flatnonzero(yi == c))
        ends = np.cumsum(cells[:, c])
        starts = ends - cells[:, c]
        for d in range(r):
            chosen.append(pool[starts[d]:ends[d]])
            dom.append(np.full(cells[d, c], d))
    idx = np.concatenate(chosen)
    dom = np.concatenate(dom)
    order = rng.permutation(idx.size)
    idx, dom = idx[order], dom[order]
    n_tr = int(round(split[0] * idx.size))
    n_va = int(round(split[1] * idx.size))
    parts = {"train": slice(0, n_tr), "val": slice(n_tr, n_tr + n_va),
             "test": slice(n_tr + n_va, idx.size)}
    out = Bunch(domain_topic=P, domain_sizes=cells.sum(axis=1), classes=classes,
                n_topics=k, n_domains=r)
    for name, sl in parts.items():
        out[f"X_{name}"] = X[idx[sl]]
        out[f"y_{name}"] = yi[idx[sl]]
        out[f"d_{name}"] = dom[sl]
    return out


def load_digits_lls(n_domains: int = 20, alpha: float = 3.0, max_condition: float | None = 4.0,
                    *, unequal_sizes: bool = False, random_state: Any = 0) -> Bunch:
    """Semi-synthetic LLS problem on scikit-learn's bundled digits (k = 10).

    Features are the 64 pixel intensities scaled to [0, 1]. See
    :func:`make_semisynthetic_lls` for the returned fields.

    Examples
    --------
    >>> data = load_digits_lls(n_domains=20, random_state=0)
    >>> data.X_train.shape[1], data.domain_topic.shape
    (64, (20, 10))
    """
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return make_semisynthetic_lls(X.astype(np.float32) / 16.0, y, n_domains, alpha,
                                  max_condition, unequal_sizes=unequal_sizes,
                                  random_state=random_state)


def load_mnist1d_lls(n_domains: int = 20, alpha: float = 3.0,
                     max_condition: float | None = 4.0, *, n_samples: int = 10000,
                     unequal_sizes: bool = False, random_state: Any = 0) -> Bunch:
    """Semi-synthetic LLS problem on ``mnist1d`` generated procedurally (k = 10).

    Requires the optional ``mnist1d`` package (``pip install lls-topics[bench]``);
    the data is generated locally, nothing is downloaded.
    """
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("load_mnist1d_lls needs the mnist1d package: "
                          "pip install 'lls-topics[bench]'") from exc
    args = get_dataset_args()
    args.num_samples = int(n_samples)
    args.seed = int(check_random_state(random_state).integers(0, 2**31 - 1))
    data = make_dataset(args)
    X = np.concatenate([data["x"], data["x_test"]]).astype(np.float32)
    y = np.concatenate([data["y"], data["y_test"]])
    X = (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-6)
    return make_semisynthetic_lls(X, y, n_domains, alpha, max_condition,
                                  unequal_sizes=unequal_sizes, random_state=random_state)
