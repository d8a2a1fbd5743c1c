"""Discretization of continuous inputs into a finite "vocabulary" of clusters.

Any discretization whose clusters are nearly label-pure is a valid vocabulary for a
latent-label-shift problem: a topic solver then groups the clusters by how their
frequencies shift across domains. Where to cluster matters:

- ``"discriminator"``: the discriminator outputs p(d|x), as in the DDFA paper. Samples
  with the same label have the same p(d|x) in the population, so clusters there are
  label-pure when the domains differ enough; when they differ little (high alpha)
  p(d|x) is nearly constant and carries little signal.
- ``"features"``: the input features (or an embedding); label-pure whenever classes
  are separated in feature space, whatever the domains.
- ``"both"``: standardized features next to the discriminator's log-probabilities,
  each block scaled to the same total variance.
"""
from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .._params import RANDOM_STATE, Interval, Options, validate_params
from .._validation import check_features, check_random_state
from ..persistence import SaveLoadMixin
from ..threads import N_JOBS, bounded_threads

__all__ = ["Discretizer", "SPACES", "METHODS"]

SPACES = ("discriminator", "features", "both")
METHODS = ("kmeans", "minibatch")

# above this many samples, "kmeans" switches to MiniBatchKMeans
_MINIBATCH_ABOVE = 50000
_LOG_FLOOR = 1e-6


def _work(self: Any, X: Any = None, proba: Any = None) -> float | None:
    """Multiply-adds of one k-means pass: samples x clusters x dimensions."""
    arrays = [a for a in (X, proba) if isinstance(a, np.ndarray)]
    if not arrays:
        return None
    dims = sum(int(np.prod(a.shape[1:])) for a in arrays)
    return float(len(arrays[0])) * dims * int(self.n_clusters)


def _kmeans_plusplus(X: np.ndarray, n_clusters: int, random_state: Any) -> np.ndarray:
    """Greedy k-means++ seeds (Arthur & Vassilvitskii; 2 + log k trials per center),
    drawn as scikit-learn's ``KMeans(init="k-means++")`` draws them from the same
    ``RandomState``. Returns the rows of ``X`` picked, shape (n_clusters,).

    scikit-learn's seeding validates its inputs for every center it adds; on DDFA's
    clusterings of a few hundred samples that overhead was about half of the k-means
    time.
    """
    n, _ = X.shape
    trials = 2 + int(np.log(n_clusters))
    sq_norms = np.einsum("ij,ij->i", X, X)
    weight = np.ones(n, dtype=X.dtype)

    def sq_dist(C: np.ndarray) -> np.ndarray:
        # the expansion ||c||^2 - 2 c.x + ||x||^2, as scikit-learn computes it
        d = -2 * (C @ X.T)
        d += np.einsum("ij,ij->i", C, C)[:, None]
        d += sq_norms[None, :]
        return np.maximum(d, 0, out=d)

    picks = np.empty(n_clusters, dtype=np.int64)
    picks[0] = random_state.choice(n, p=weight / weight.sum())
    closest = sq_dist(X[picks[:1]])
    potential = closest @ weight
    for c in range(1, n_clusters):
        draws = random_state.uniform(size=trials) * potential
        cand = np.searchsorted(np.cumsum(weight * closest), draws)
        np.clip(cand, None, n - 1, out=cand)
        d = np.minimum(closest, sq_dist(X[cand]))
        pot = d @ weight.reshape(-1, 1)
        best = int(np.argmin(pot))
        potential, closest, picks[c] = pot[best], d[best], cand[best]
    return picks


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether labels ``b`` are a function of labels ``a`` (scikit-learn's test for two
    k-means runs that found the same clustering up to the order of its labels)."""
    pairs = np.unique(np.stack([a, b]), axis=1)
    return pairs.shape[1] == np.unique(a).size


def _kmeans_runs(Z: np.ndarray, n_clusters: int, n_init: int, seed: int) -> list:
    """Every start of ``KMeans(n_clusters, n_init=n_init, random_state=seed)`` as its own
    fitted ``KMeans``; the first is the run that scikit-learn keeps (the lowest inertia,
    a later run replacing an earlier only with a different clustering), the others
    follow by inertia. DDFA's bags use the runs that one clustering would discard as
    further members, so their k-means costs nothing more.
    """
    import warnings

    from sklearn.cluster import KMeans

    rs = np.random.RandomState(seed)
    centered = Z - Z.mean(axis=0)    # where scikit-learn seeds, for the same picks
    runs, caught = [], []
    for _ in range(n_init):
        picks = _kmeans_plusplus(centered, n_clusters, rs)
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            # the rows of Z itself: centered inside fit, they are the seeds above exactly
            runs.append(KMeans(n_clusters=n_clusters, init=Z[picks], n_init=1,
                               random_state=seed).fit(Z))
        caught.append(got)
    best = 0
    for i in range(1, n_init):
        if runs[i].inertia_ < runs[best].inertia_ and \
                not _same_partition(runs[i].labels_, runs[best].labels_):
            best = i
    # the kept run's warnings (too few distinct clusters) are the user's; the others' not
    for w in caught[best]:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    rest = sorted((i for i in range(n_init) if i != best), key=lambda i: runs[i].inertia_)
    out = [runs[best]] + [runs[i] for i in rest]
    for km in out:
        # the seeding is k-means++; a named init also keeps the model savable
        km.set_params(init="k-means++", n_init=n_init)
    return out


def _adopt_run(clu: "Discretizer", km: Any) -> None:
    """Make the fitted k-means run ``km`` the clustering of ``clu``."""
    clu.kmeans_ = km
    clu.cluster_centers_ = km.cluster_centers_
    clu.labels_ = np.asarray(km.labels_)
    clu.cluster_sizes_ = np.bincount(clu.labels_, minlength=int(clu.n_clusters))
    clu._other_runs = []


class Discretizer(SaveLoadMixin, BaseEstimator):
    """k-means clustering of samples into ``n_clusters`` discrete inputs.

    Parameters
    ----------
    n_clusters : int
        Size of the vocabulary.
    method : {"kmeans", "minibatch"}, default="kmeans"
        ``"kmeans"`` uses scikit-learn's ``KMeans`` (``MiniBatchKMeans`` above 50,000
        samples); ``"minibatch"`` always uses ``MiniBatchKMeans``.
    space : {"discriminator", "features", "both"}, default="discriminator"
        Where to cluster (see the module docstring).
    feature_weight : float, default=1.0
        With ``space="both"``, the total variance of the feature block relative to the
        discriminator block.
    n_init : int, default=3
        k-means restarts; the lowest-inertia clustering is kept, as scikit-learn's
        ``KMeans(n_init=n_init)`` keeps it (the same clustering for the same seed), and
        the others stay available to :meth:`pop_other_runs` until the next fit.
    n_jobs : int or None, default=None
        Threads of k-means, bounded during :meth:`fit` and :meth:`predict`. None: one
        per :data:`~lls_topics.threads.WORK_PER_THREAD` multiply-adds of a pass over
        the data, at most the idle cores (an enclosing DDFA's ``n_jobs`` when set);
        -1: all cores.
    random_state : int, Generator or None

    Attributes
    ----------
    kmeans_ : fitted KMeans or MiniBatchKMeans
    cluster_centers_ : ndarray of shape (n_clusters, n_dims)
        Centers in the clustering space.
    cluster_sizes_ : ndarray of shape (n_clusters,)
        Training samples per cluster.

    Examples
    --------
    >>> from lls_topics import Discretizer
    >>> X = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
    >>> labels = Discretizer(2, space="features", random_state=0).fit_predict(X)
    >>> bool(labels[0] == labels[1] and labels[2] == labels[3] and labels[0] != labels[2])
    True
    """

    def __init__(self, n_clusters: int, *, method: str = "kmeans",
                 space: str = "discriminator", feature_weight: float = 1.0, n_init: int = 3,
                 n_jobs: int | None = None, random_state: Any = None):
        self.n_clusters = n_clusters
        self.method = method
        self.space = space
        self.feature_weight = feature_weight
        self.n_init = n_init
        self.n_jobs = n_jobs
        self.random_state = random_state

    # the discarded k-means starts serve the fit that made them (see pop_other_runs)
    _persist_exclude = ("_other_runs",)

    _param_constraints = {
        "n_clusters": [Interval(Integral, 1, None)],
        "method": [Options(METHODS)],
        "space": [Options(SPACES)],
        "feature_weight": [Interval(Real, 0, None, closed="neither")],
        "n_init": [Interval(Integral, 1, None)],
        "n_jobs": N_JOBS,
        "random_state": RANDOM_STATE,
    }

    def _inputs(self, X: Any, proba: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
        F = L = None
        if self.space in ("features", "both"):
            if X is None:
                raise ValueError(f"space={self.space!r} needs the features X")
            F = check_features(X, "X").reshape(len(X), -1).astype(np.float64)
        if self.space in ("discriminator", "both"):
            if proba is None:
                raise ValueError(f"space={self.space!r} needs the discriminator outputs "
                                 "proba (p(d|x))")
            L = check_features(proba, "proba").astype(np.float64)
            if L.ndim != 2:
                raise ValueError(f"proba must be 2-D (n_samples, n_domains), got shape "
                                 f"{L.shape}")
            if np.any(L < 0):
                raise ValueError("proba contains negative values; expected p(d|x)")
        if F is not None and L is not None and len(F) != len(L):
            raise ValueError(f"X and proba must have the same length, got {len(F)} and "
                             f"{len(L)}")
        return F, L

    def _embed(self, F: np.ndarray | None, L: np.ndarray | None) -> np.ndarray:
        if self.space == "discriminator":
            return L
        Fs = (F - self.feature_mean_) / self.feature_scale_
        if self.space == "features":
            return Fs
        Ls = (np.log(np.maximum(L, _LOG_FLOOR)) - self.logp_mean_) / self.logp_scale_
        return np.hstack([np.sqrt(float(self.feature_weight)) * Fs, Ls])

    @bounded_threads(_work)
    def fit(self, X: Any = None, proba: Any = None) -> "Discretizer":
        """Fit k-means in the chosen space.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...), optional
            Features (needed by ``space="features"`` and ``"both"``).
        proba : array-like of shape (n_samples, n_domains), optional
            Discriminator outputs p(d|x) (needed by ``"discriminator"`` and ``"both"``).

        Returns
        -------
        self
        """
        validate_params(self)
        F, L = self._inputs(X, proba)
        n = len(F) if F is not None else len(L)
        m = int(self.n_clusters)
        if m > n:
            raise ValueError(f"n_clusters={m} exceeds the number of samples ({n})")
        if F is not None:
            self.feature_mean_ = F.mean(axis=0)
            sd = F.std(axis=0)
            # each block gets unit total variance; constant features are left at zero
            self.feature_scale_ = np.where(sd > 0, sd, 1.0) * np.sqrt(max(np.sum(sd > 0), 1))
        if L is not None and self.space == "both":
            logp = np.log(np.maximum(L, _LOG_FLOOR))
            self.logp_mean_ = logp.mean(axis=0)
            self.logp_scale_ = float(np.sqrt(np.sum(logp.var(axis=0)))) or 1.0
        Z = self._embed(F, L)
        seed = int(check_random_state(self.random_state).integers(0, 2**31 - 1))
        if self.method == "minibatch" or n > _MINIBATCH_ABOVE:
            from sklearn.cluster import MiniBatchKMeans

            runs = [MiniBatchKMeans(n_clusters=m, n_init=int(self.n_init), random_state=seed,
                                    batch_size=4096).fit(Z)]
        else:
            runs = _kmeans_runs(Z, m, int(self.n_init), seed)
        _adopt_run(self, runs[0])
        self.n_features_in_ = Z.shape[1]
        # the discarded starts, for DDFA's bags (see pop_other_runs); not saved
        self._other_runs = runs[1:]
        return self

    def pop_other_runs(self) -> list:
        """The k-means starts of the last :meth:`fit` that it did not keep, as fitted
        Discretizers (lowest inertia first; none with ``MiniBatchKMeans``), handed over
        once: this Discretizer lets them go. Each is a different clustering of the same
        samples at no further cost; DDFA averages them with the kept one
        (``n_clusterings``)."""
        import copy

        check_is_fitted(self, "kmeans_")
        runs, self._other_runs = getattr(self, "_other_runs", []), []
        out = []
        for km in runs:
            twin = copy.copy(self)
            _adopt_run(twin, km)
            out.append(twin)
        return out

    def transform(self, X: Any = None, proba: Any = None) -> np.ndarray:
        """The samples in the clustering space, shape (n_samples, n_dims)."""
        check_is_fitted(self, "kmeans_")
        F, L = self._inputs(X, proba)
        Z = self._embed(F, L)
        if Z.shape[1] != self.n_features_in_:
            raise ValueError(f"the inputs give {Z.shape[1]} dimensions, expected "
                             f"{self.n_features_in_} as at fit")
        return Z

    @bounded_threads(_work)
    def predict(self, X: Any = None, proba: Any = None) -> np.ndarray:
        """Cluster id of each sample, shape (n_samples,), in ``[0, n_clusters)``."""
        return self.kmeans_.predict(self.transform(X, proba)).astype(np.int64)

    def fit_predict(self, X: Any = None, proba: Any = None) -> np.ndarray:
        """Fit, then return the training samples' cluster ids, shape (n_samples,)."""
        return self.fit(X, proba).labels_.astype(np.int64)
