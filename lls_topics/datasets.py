"""Planted latent-label-shift problems, following ``docs/protocol.md``.

Everything here runs offline: discrete problems are generated, continuous ones are
built from data sets that ship with installed packages (scikit-learn's digits,
``mnist1d``'s procedural generator) or from :func:`make_continuous_lls`, a procedural
family of labeled continuous data sets of random difficulty.
"""
from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import numpy as np
from sklearn.utils import Bunch

from ._validation import check_int, check_random_state, check_same_length
from .corpus import DomainCorpus

__all__ = ["make_discrete_lls", "population_counts", "draw_domain_priors",
           "make_semisynthetic_lls", "load_digits_lls", "load_mnist1d_lls",
           "make_continuous_lls", "CONTINUOUS_N_CLASSES", "load_docstring_texts",
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
                           size_ratio: float = 4.0,
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
        Scale domain d's size by a factor drawn uniformly from
        [1 / size_ratio, 1] (the protocol's [0.25, 1] by default).
    size_ratio : float, default=4.0
        With ``unequal_sizes``, the largest possible ratio of two domains' scale
        factors (at least 1); issue 14's benchmark uses about 10.
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
    if not np.isfinite(size_ratio) or size_ratio < 1:
        raise ValueError(f"size_ratio must be a finite number >= 1, got {size_ratio}")
    rng = check_random_state(random_state)
    classes, yi = np.unique(y, return_inverse=True)
    k = len(classes)
    P = draw_domain_priors(r, k, alpha, max_condition, rng)
    P[P < 1e-7] = 0.0
    P /= P.sum(axis=1, keepdims=True)
    class_sizes = np.bincount(yi, minlength=k)
    S = class_sizes.min() / P.mean(axis=0).max()
    scale = rng.uniform(1.0 / size_ratio, 1.0, size=r) if unequal_sizes else np.ones(r)
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
                    *, unequal_sizes: bool = False, size_ratio: float = 4.0,
                    random_state: Any = 0) -> Bunch:
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
                                  size_ratio=size_ratio, random_state=random_state)


def load_mnist1d_lls(n_domains: int = 20, alpha: float = 3.0,
                     max_condition: float | None = 4.0, *, n_samples: int = 10000,
                     unequal_sizes: bool = False, size_ratio: float = 4.0,
                     random_state: Any = 0) -> Bunch:
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
                                  unequal_sizes=unequal_sizes, size_ratio=size_ratio,
                                  random_state=random_state)


#: the class counts that :func:`make_continuous_lls` draws from
CONTINUOUS_N_CLASSES = (5, 10, 20)


def make_continuous_lls(n_samples: int = 10000, *, n_classes: int | None = None,
                        n_features: int | None = None, random_state: Any = None,
                        return_params: bool = False) -> tuple:
    """A procedural labeled data set of random difficulty, for continuous LLS benchmarks.

    Every draw is a new problem: a Gaussian class mixture in a latent space, pushed
    through a random nonlinear network into a random number of features. Feed it to
    :func:`make_semisynthetic_lls` to build domains.

    The seed draws, in this order:

    - ``k`` from {5, 10, 20} and the latent dimension ``q`` from 2..12;
    - the separation ``s``, log-uniform in [1.5, 6]: class means are
      ``N(0, s^2 / q I_q)`` draws, so that two classes' means lie about ``s * sqrt(2)``
      within-class standard deviations apart whatever ``q``;
    - 1 to 3 Gaussian sub-clusters per class (class mean plus a ``N(0, s^2/(4q) I)``
      offset), each with a random within-cluster covariance of unit scale, so that
      classes are multi-modal and a class is not one k-means cluster;
    - the map: 2 or 3 hidden layers of width 16..128, all ``tanh`` or all ``relu``,
      Gaussian weights with a random gain, then a linear layer to ``n_features``
      outputs (8..128 when not given), plus Gaussian noise of 0 to 0.3 of each
      output's spread.

    Features are standardized (zero mean, unit variance per column). Classes are equal
    in size (up to one sample) and shuffled.

    Parameters
    ----------
    n_samples : int, default=10000
        Number of examples (at least 2 per class).
    n_classes : int or None
        Number of classes k; None draws it from {5, 10, 20}.
    n_features : int or None
        Output dimension; None draws it from 8..128.
    random_state : int, Generator or None
        The same seed gives the same data set. Passing ``n_classes`` or ``n_features``
        leaves every other draw as it is for that seed.
    return_params : bool, default=False
        Also return a dict of the drawn parameters (``n_classes``, ``latent_dim``,
        ``separation``, ``n_subclusters``, ``activation``, ``widths``,
        ``n_features``, ``noise``).

    Returns
    -------
    X : ndarray of float32, shape (n_samples, n_features)
    y : ndarray of int64, shape (n_samples,)
        Class ids 0..k-1.
    params : dict
        Only with ``return_params=True``.

    Examples
    --------
    >>> X, y = make_continuous_lls(500, random_state=0)
    >>> X.shape, int(y.max()) + 1
    ((500, 29), 20)
    >>> X2, _ = make_continuous_lls(500, random_state=0)
    >>> bool((X == X2).all())
    True
    """
    n = check_int(n_samples, "n_samples", minimum=1)
    rng = check_random_state(random_state)
    # every draw happens whatever the arguments, so that fixing n_classes or n_features
    # changes nothing else of a seed's problem
    k = int(rng.choice(CONTINUOUS_N_CLASSES))
    q = int(rng.integers(2, 13))
    sep = float(np.exp(rng.uniform(np.log(1.5), np.log(6.0))))
    n_layers = int(rng.integers(2, 4))
    widths = [int(w) for w in rng.integers(16, 129, size=n_layers)]
    activation = str(rng.choice(["tanh", "relu"]))
    p = int(rng.integers(8, 129))
    noise = float(rng.uniform(0.0, 0.3))
    seeds = rng.integers(0, 2**31 - 1, size=2)
    if n_classes is not None:
        k = check_int(n_classes, "n_classes", minimum=2)
    if n_features is not None:
        p = check_int(n_features, "n_features", minimum=1)
    if n < 2 * k:
        raise ValueError(f"n_samples must be at least 2 per class (>= {2 * k} for "
                         f"n_classes={k}), got {n}")
    mix = np.random.default_rng(seeds[0])  # class geometry
    means = mix.normal(0.0, sep / np.sqrt(q), size=(k, q))
    n_sub = mix.integers(1, 4, size=k)
    y = np.arange(n) % k
    mix.shuffle(y)
    comp_of = mix.integers(0, 3, size=n) % n_sub[y]  # sub-cluster of each sample
    offsets = mix.normal(0.0, sep / (2 * np.sqrt(q)), size=(k, 3, q))
    # a random linear map of unit scale per sub-cluster: N(0, I) -> N(0, L L^T)
    chol = np.eye(q) + mix.normal(0.0, 0.5 / np.sqrt(q), size=(k, 3, q, q))
    Z = mix.standard_normal((n, q))
    Z = np.einsum("nij,nj->ni", chol[y, comp_of], Z) + means[y] + offsets[y, comp_of]

    net = np.random.default_rng(seeds[1])  # the nonlinear map
    act = np.tanh if activation == "tanh" else (lambda a: np.maximum(a, 0.0))
    H = Z / np.sqrt(1.0 + sep**2 / q)  # about unit scale into the first layer
    for w in widths:
        gain = net.uniform(1.0, 2.0)
        W = net.normal(0.0, gain / np.sqrt(H.shape[1]), size=(H.shape[1], w))
        H = act(H @ W + net.normal(0.0, 0.5, size=w))
    W = net.normal(0.0, 1.0 / np.sqrt(H.shape[1]), size=(H.shape[1], p))
    X = H @ W
    spread = X.std(axis=0) + 1e-12
    X = X + net.standard_normal(X.shape) * (noise * spread)
    X = (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-12)
    X = X.astype(np.float32)
    y = y.astype(np.int64)
    if not return_params:
        return X, y
    params = dict(n_classes=k, latent_dim=q, separation=sep,
                  n_subclusters=n_sub.tolist(), activation=activation, widths=widths,
                  n_features=p, noise=noise)
    return X, y, params


#: packages whose docstrings :func:`load_docstring_texts` reads by default (all
#: dependencies of lls_topics, so always installed)
DOCSTRING_PACKAGES = ("numpy", "scipy", "sklearn", "gensim")
_SKIP_SOURCE_DIRS = {"tests", "test", "testing", "externals", "_vendor", "vendored",
                     "_vendored", "benchmarks", "__pycache__"}


def load_docstring_texts(packages: Sequence[str] = DOCSTRING_PACKAGES
                         ) -> tuple[list[str], np.ndarray, list[str]]:
    """A real labeled text corpus available offline: docstrings labeled by package.

    The module, class and function docstrings of each installed package's sources,
    read with :mod:`ast` (nothing is imported); test and vendored folders are
    skipped, and packages that are not installed are left out.

    Returns
    -------
    texts : list of str
    labels : ndarray of int64, shape (len(texts),)
        Index into ``names`` of each docstring's package.
    names : list of str
        The packages found, in the order given.

    Raises
    ------
    ValueError
        If ``packages`` is empty or none of them is installed.
    """
    import importlib.util
    from pathlib import Path

    if isinstance(packages, str) or len(packages) == 0:
        raise ValueError(f"packages must be a non-empty sequence of package names, got "
                         f"{packages!r}")
    texts: list[str] = []
    labels: list[int] = []
    names: list[str] = []
    for pkg in packages:
        try:
            spec = importlib.util.find_spec(pkg)   # top level: does not import it
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.submodule_search_locations:
            continue
        docs = [d for f in _source_files(Path(list(spec.submodule_search_locations)[0]))
                for d in _file_docstrings(f)]
        if docs:
            texts += docs
            labels += [len(names)] * len(docs)
            names.append(pkg)
    if not names:
        raise ValueError(f"none of the packages {list(packages)} is installed")
    return texts, np.asarray(labels, dtype=np.int64), names


def _source_files(folder: Any) -> list:
    import os
    from pathlib import Path

    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames
                             if d not in _SKIP_SOURCE_DIRS and not d.startswith("."))
        out += [Path(dirpath) / f for f in sorted(filenames)
                if f.endswith(".py") and not f.startswith("test_")]
    return out


def _file_docstrings(path: Any) -> list[str]:
    import ast

    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError, OSError, RecursionError):
        return []
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    docs = (ast.get_docstring(node, clean=True) for node in ast.walk(tree)
            if isinstance(node, kinds))
    return [d for d in docs if d]
