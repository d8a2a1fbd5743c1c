"""DDFA for continuous data: discriminate, discretize, factorize, adjust.

1. A domain discriminator learns p(d|x) from the pooled samples.
2. The samples are clustered (in discriminator space, feature space or both); the
   cluster ids are the "words" of a finite latent-label-shift problem.
3. A topic solver factorizes the domain-by-cluster counts into p_d(y) and p(cluster|y).
4. The adjust step turns p(d|x) and p_d(y) into p_d(y|x), solving
   ``p(d|x) = sum_y p(d|y) p(y|x)`` on the simplex with the domains' actual sizes
   (see :mod:`lls_topics.continuous.adjust`).
"""
from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from .._params import (BOOL, N_TOPICS, RANDOM_STATE, HasMethods, Interval, Options,
                       validate_params)
from .._simplex import normalize_rows
from .._validation import (check_identifiable, check_int, check_random_state,
                           check_same_length)
from ..corpus import DomainCorpus, encode_domains, map_domain_ids, row_lookup, sample_rows
from ..metrics import align_labels, prior_l1
from ..solvers.base import IdentifiabilityWarning, pooled_prior
from ..solvers.registry import make_solver, solver_names
from .adjust import ADJUST_METHODS, adjust_posterior, label_posterior
from .discretize import SPACES, Discretizer
from .discriminator import DEVICE, DomainDiscriminator, check_inputs
from .distributed import DISTRIBUTED
from .policy import choose, information_margin, reference_n_clusters

__all__ = ["DDFA", "domain_signal"]

_POSTERIORS = ("auto", "adjust", "clusters", "combined", "network")
_SPACES = ("auto",) + SPACES

# the adjust step's EM only needs to settle the argmax: at 100 iterations and tol 1e-5
# 99% of the digits test labels agree with 500 iterations at 1e-7, in a quarter of the time
_ADJUST_ITER, _ADJUST_TOL = 100, 1e-5
#: early-stopping patience of each refinement round's label network
_REFINE_PATIENCE = 3


def _domain_information(clusters: np.ndarray, rows: np.ndarray, m: int, D: int) -> float:
    """Plug-in I(cluster; domain) in nats with the Miller-Madow bias correction."""
    N = len(rows)
    J = np.zeros((m, D))
    np.add.at(J, (clusters, rows), 1.0)
    J /= N
    pc, pd = J.sum(axis=1), J.sum(axis=0)
    nz = J > 0
    info = float(np.sum(J[nz] * np.log(J[nz] / np.outer(pc, pd)[nz])))
    return info - (np.sum(pc > 0) - 1) * (np.sum(pd > 0) - 1) / (2.0 * N)


def domain_signal(discriminator: Any, proba: np.ndarray | None = None,
                  rows: np.ndarray | None = None) -> float:
    """How much a trained domain discriminator knows beyond the domain sizes.

    The relative gain of its held-out log-loss over the prior p(d):
    ``(H(p(d)) - CE) / H(p(d))``, where ``CE`` is the best validation cross-entropy of
    its training history. It is 0 when p(d|x) carries no information about the domain
    (then no method can group clusters by how they shift across domains) and 1 when
    it names every sample's domain. Without a validation history, ``CE`` is measured
    on ``proba`` (the discriminator's outputs on its training samples, whose domain
    rows are ``rows``), which overstates the signal.

    Returns
    -------
    float
        At most 1; may be slightly negative when the discriminator is worse than the
        prior on held-out data.
    """
    counts = np.asarray(discriminator.class_counts_, dtype=np.float64)
    p = counts[counts > 0] / counts.sum()
    H = float(-(p * np.log(p)).sum())
    if H <= 0:
        return 0.0
    val = list(getattr(discriminator, "history_", {}).get("val_loss", []))
    if val:
        ce = float(np.min(val))
    elif proba is not None and rows is not None:
        ce = float(-np.mean(np.log(np.maximum(proba[np.arange(len(rows)), rows], 1e-300))))
    else:
        return 1.0
    return (H - ce) / H


def _validation_rows(X_val: Any, d_val: Any, ids: np.ndarray) -> tuple[Any, np.ndarray | None]:
    """Check optional validation data; return it with its domains' rows (or None, None)."""
    if (X_val is None) != (d_val is None):
        raise ValueError("X_val and d_val must be given together")
    if X_val is None:
        return None, None
    X_val = check_inputs(X_val, "X_val")
    check_same_length(X_val, d_val, "X_val", "d_val")
    return X_val, map_domain_ids(d_val, row_lookup(ids), "d_val")


class DDFA(BaseEstimator):
    """Unsupervised label posteriors under latent label shift for continuous inputs.

    Parameters
    ----------
    n_topics : int
        Number of latent labels k.
    solver : {"anchor", "nmf", "lda"} or a solver instance, default="anchor"
        Topic solver for the domain-by-cluster counts; an instance is cloned and must
        have ``n_topics`` equal to this estimator's.
    n_clusters : int, optional
        Vocabulary size m. Default: :func:`~lls_topics.continuous.policy.default_n_clusters` (1.5k, or 2k when the
        domain signal is strong).
    discriminator : DomainDiscriminator, optional
        Cloned at fit; by default a :class:`~lls_topics.DomainDiscriminator` with its
        default MLP.
    space : {"auto", "discriminator", "features", "both"}, default="auto"
        Where to cluster; see :class:`~lls_topics.Discretizer`. ``"auto"`` measures
        the discriminator's :func:`domain_signal` and uses ``"both"`` (the most
        accurate on the benchmark grid), or ``"features"`` when the signal is below
        :data:`~lls_topics.continuous.policy.NO_SIGNAL`: there p(d|x) is noise, which only blurs the clusters, and
        feature similarity is all there is to go on. ``"discriminator"``, the paper's
        choice, fails when domains differ little. When clusters of the features keep
        less than :data:`~lls_topics.continuous.policy.FEATURE_SHARE` of the held-out domain information that
        clusters of p(d|x) keep (features that barely separate the labels, as on
        mnist1d) by more than the estimate's sampling noise, ``"auto"``
        clusters p(d|x) alone with 3k clusters (the reference's vocabulary). With a
        torch Dataset (no feature matrix), ``"auto"`` means ``"discriminator"``.
    feature_weight : float, default=3.0
        With ``space="both"``, the weight of the feature block against the
        discriminator block (see :class:`~lls_topics.Discretizer`). Chosen on the
        digits grid: 3 keeps clusters label-pure where domains differ little (alpha=10)
        at a small cost where they differ much.
    adjust : {"kl", "lsq", "pinv-uniform"}, default="kl"
        How p(y|x) is solved from p(d|x); ``"pinv-uniform"`` is the reference DDFA
        behaviour (see :func:`~lls_topics.continuous.adjust.label_posterior`).
    posterior : {"auto", "combined", "adjust", "clusters", "network"}, default="auto"
        How :meth:`predict_proba` scores a sample. ``"adjust"``: the DDFA adjust step
        on the discriminator output. ``"clusters"``: ``p_d(y) p(c(x)|y)`` from the
        solver, for the sample's cluster ``c(x)``. ``"combined"``: the normalized
        geometric mean of both; it was the most accurate on the benchmark grid, since
        the cluster posterior keeps feature similarity where domains differ little
        and the adjust step resolves samples within a cluster. ``"auto"``:
        ``"combined"``, or ``"adjust"`` when only p(d|x) is clustered (the cluster
        posterior then adds quantization noise and no feature similarity), or
        ``"network"`` with ``refine_rounds``. ``"network"``: ``p(y|x) p(d|y)`` from
        the last refinement round's label network, which is trained for exactly this
        (after refinement it was up to 10 points more accurate than the adjust step on
        mnist1d at alpha=3 and 25 on digits at alpha=10, and within 2 points of it
        elsewhere; medians of 3 seeds).
    refine_rounds : int, default=0
        Rounds of label-network refinement after the topic solver (see
        :mod:`lls_topics.continuous.relabel`): each round fine-tunes a copy of the
        discriminator into a k-way label network trained on the domain labels
        through the current p(d|y), clusters its outputs (3k clusters) and refits
        the solver on them. Each round costs about one more discriminator training.
        Where the first pass clustered features too, each round clusters the
        features beside the label network's outputs. ``discretizer_``, ``solver_``
        and ``label_network_`` are then the last round's, and ``posterior="auto"``
        means ``"network"``.
    random_state : int, Generator or None
        Seeds the discriminator (unless it has its own seed), the clustering and the
        solver; the same seed gives the same result on CPU.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Device of the default discriminator.
    verbose : bool, default=True
        Show progress bars.
    distributed : {"auto", True, False}, default="auto"
        Under ``torchrun`` with several processes (``"auto"``, or ``True`` to require
        it), the discriminator trains with ``torch.distributed`` (see
        :class:`~lls_topics.DomainDiscriminator`); clustering and the solver run on rank
        0 and every rank gets the fitted estimator. Every rank must call :meth:`fit`
        with the same data; only rank 0 should save the model
        (:func:`lls_topics.continuous.distributed.is_main_process`).

    Attributes
    ----------
    discriminator_ : DomainDiscriminator
    discretizer_ : Discretizer
    solver_ : fitted topic solver
    domain_ids_ : ndarray of shape (n_domains,)
        Domain ids, in row order of ``domain_topic_``.
    domain_topic_ : ndarray of shape (n_domains, n_topics)
        p_d(y); rows sum to 1.
    cluster_topic_ : ndarray of shape (n_topics, n_clusters)
        p(cluster|y); rows sum to 1.
    domain_sizes_ : ndarray of shape (n_domains,)
        Samples per domain in the discriminator's training data (they set p(d)).
    n_clusters_ : int
    space_ : str
        The clustering space used (``space`` with ``"auto"`` resolved;
        ``"label-network"`` after refinement rounds).
    posterior_ : str
        The posterior used (``posterior`` with ``"auto"`` resolved).
    label_network_ : DomainDiscriminator or None
        The last refinement round's label network (see :mod:`lls_topics.continuous.relabel`);
        None without ``refine_rounds``.
    refine_history_ : list of dict
        One entry per refinement round: ``clusters``, ``network_epochs`` (the label
        network's), ``log_likelihood`` (the solver's, per sample) and
        ``prior_change_l1`` (mean absolute change of p_d(y) per entry, labels aligned,
        against the p_d(y) the round's network was trained through). Empty without
        ``refine_rounds``.
    domain_signal_ : float
        The discriminator's :func:`domain_signal`.
    feature_share_ : float or None
        With ``space="auto"``: held-out I(cluster; domain) of feature clusters over
        that of discriminator clusters (None where it was not needed).

    Examples
    --------
    >>> from lls_topics import DDFA, DomainDiscriminator
    >>> rng = np.random.default_rng(0)
    >>> P = rng.dirichlet(np.ones(2), size=4)                    # p_d(y), four domains
    >>> domains = np.repeat(np.arange(4), 150)
    >>> y = (rng.random(600) < P[domains, 1]).astype(int)         # latent labels
    >>> X = rng.normal(size=(600, 2)) + 4 * y[:, None]
    >>> disc = DomainDiscriminator(hidden=(16,), epochs=10, random_state=0, verbose=False)
    >>> model = DDFA(2, n_clusters=6, discriminator=disc, space="both", random_state=0,
    ...              verbose=False)
    >>> proba = model.fit(X, domains).predict_proba(X, domains)
    >>> proba.shape, model.domain_topic_.shape
    ((600, 2), (4, 2))
    """

    def __init__(self, n_topics: int, *, solver: Any = "anchor", n_clusters: int | None = None,
                 discriminator: Any = None, space: str = "auto", feature_weight: float = 3.0,
                 adjust: str = "kl", posterior: str = "auto", refine_rounds: int = 0,
                 random_state: Any = None, device: Any = "auto", verbose: bool = True,
                 distributed: Any = "auto") -> None:
        self.n_topics = n_topics
        self.solver = solver
        self.n_clusters = n_clusters
        self.discriminator = discriminator
        self.space = space
        self.feature_weight = feature_weight
        self.adjust = adjust
        self.posterior = posterior
        self.refine_rounds = refine_rounds
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.distributed = distributed

    # ------------------------------------------------------------------ helpers
    _param_constraints = {
        "n_topics": N_TOPICS,
        "solver": [Options(solver_names()),
                   HasMethods(("fit", "get_params"), "a solver instance")],
        "n_clusters": [None, Interval(Integral, 1, None)],
        "discriminator": [None, DomainDiscriminator],
        "space": [Options(_SPACES)],
        "feature_weight": [Interval(Real, 0, None, closed="neither")],
        "adjust": [Options(ADJUST_METHODS)],
        "posterior": [Options(_POSTERIORS)],
        "refine_rounds": [Interval(Integral, 0, None)],
        "random_state": RANDOM_STATE,
        "device": DEVICE,
        "verbose": BOOL,
        "distributed": [Options(DISTRIBUTED)],
    }

    def _check_params(self) -> int:
        validate_params(self)
        k = int(self.n_topics)
        if self.n_clusters is not None and self.n_clusters < k:
            raise ValueError(f"n_clusters must be >= n_topics={k}, got {self.n_clusters}")
        if self.posterior == "network" and self.refine_rounds == 0:
            raise ValueError("posterior='network' needs refine_rounds >= 1 (the label "
                             "network is trained by the refinement rounds)")
        return k

    def _make_solver(self, seed: int) -> Any:
        k = int(self.n_topics)
        if isinstance(self.solver, str):
            return make_solver(self.solver, k, random_state=seed)
        est = clone(self.solver)
        params = est.get_params()
        if params.get("n_topics", k) != k:
            raise ValueError(f"solver has n_topics={params['n_topics']}, but this DDFA has "
                             f"n_topics={k}")
        if "random_state" in params and params["random_state"] is None:
            est.set_params(random_state=seed)
        return est

    def _make_discriminator(self, seed: int) -> Any:
        if self.discriminator is None:
            return DomainDiscriminator(device=self.device, random_state=seed,
                                       verbose=self.verbose, distributed=self.distributed)
        disc = clone(self.discriminator)
        if disc.random_state is None:
            disc.set_params(random_state=seed)
        if self.distributed is False:
            disc.set_params(distributed=False)
        return disc

    # ---------------------------------------------------------------------- fit
    def fit(self, X: Any, domains: Any, X_val: Any = None, d_val: Any = None) -> "DDFA":
        """Fit the discriminator, the clustering and the topic solver.

        Parameters
        ----------
        X : ndarray of shape (n_samples, ...) or torch Dataset
            Training features.
        domains : array-like of shape (n_samples,)
            Domain id of each sample (any hashable ids).
        X_val, d_val : optional
            Validation data for the discriminator's early stopping; it is also
            clustered and counted with the training data. Without it the
            discriminator holds out its ``validation_fraction``.

        Returns
        -------
        self
        """
        k = self._check_params()
        X = check_inputs(X, "X")
        check_same_length(X, domains, "X", "domains")
        ids, rows = encode_domains(domains, "domains")
        check_identifiable(k, len(ids))
        X_val, rows_val = _validation_rows(X_val, d_val, ids)
        rng = check_random_state(self.random_state)
        seeds = [int(s) for s in rng.integers(0, 2**31 - 1, size=3)]
        from . import distributed as dist

        ddp = dist.use_distributed(self.distributed)
        if ddp:
            from .discriminator import resolve_device

            dist.init_distributed(dist.local_device(resolve_device(self.device)))
            # one seed for all ranks: the same validation split and sampler shuffles
            seeds = dist.broadcast_object(seeds)
        s_disc, s_clu, s_sol = seeds

        disc = self._make_discriminator(s_disc)
        if X_val is None:
            disc.fit(X, rows)
        else:
            disc.fit(X, rows, X_val, rows_val)
        # the samples the discriminator never trained on: its own validation split
        held = None if X_val is not None else disc.validation_indices_
        if not ddp:
            return self._fit_rest(disc, X, rows, X_val, rows_val, ids, s_clu, s_sol, held)
        return self._fit_rest_rank_zero(disc, X, rows, X_val, rows_val, ids, s_clu, s_sol,
                                        held)

    def _fit_rest_rank_zero(self, *args: Any) -> "DDFA":
        """Clustering and solver on rank 0 alone; every rank gets the fitted state (or
        rank 0's error, so that no rank waits forever)."""
        from . import distributed as dist

        state = None
        if dist.rank() == 0:
            try:
                with dist.rank_zero_only():
                    self._fit_rest(*args)
                state = ("ok", self.__dict__)
            except Exception as exc:
                dist.broadcast_object(("error", f"{type(exc).__name__}: {exc}"))
                raise
        status, state = dist.broadcast_object(state)
        if status == "error":
            raise RuntimeError(f"DDFA failed on rank 0 ({state})")
        if dist.rank() != 0:
            self.__dict__.update(state)
        return self

    def fit_with_discriminator(self, discriminator: Any, X: Any, domains: Any,
                               X_val: Any = None, d_val: Any = None) -> "DDFA":
        """Fit with an already trained discriminator (reused as is, not cloned).

        Useful to compare configurations on one discriminator or to reuse an
        expensive network. ``discriminator.classes_`` must be the domain ids of
        ``domains``.

        Parameters
        ----------
        discriminator : fitted DomainDiscriminator
        X, domains, X_val, d_val : as in :meth:`fit`

        Returns
        -------
        self
        """
        k = self._check_params()
        check_is_fitted(discriminator, "model_")
        X = check_inputs(X, "X")
        check_same_length(X, domains, "X", "domains")
        ids = np.asarray(discriminator.classes_)
        check_identifiable(k, len(ids))
        rows = map_domain_ids(domains, row_lookup(ids), "domains")
        X_val, rows_val = _validation_rows(X_val, d_val, ids)
        rng = check_random_state(self.random_state)
        _, s_clu, s_sol = (int(s) for s in rng.integers(0, 2**31 - 1, size=3))
        return self._fit_rest(discriminator, X, rows, X_val, rows_val, ids, s_clu, s_sol)

    def select_n_topics(self, X: Any, domains: Any, candidates: Any = range(2, 21), *,
                        X_val: Any = None, d_val: Any = None, cv: int = 5,
                        random_state: Any = None) -> Any:
        """Choose ``n_topics`` on the domain-by-cluster counts, one discriminator for all k.

        The discriminator is trained once and the samples clustered once (with
        this estimator's settings and the vocabulary that the largest candidate
        would get); then :func:`lls_topics.select_n_topics` scores every candidate
        on those counts with this estimator's solver. Refit with the chosen k,
        reusing the network: ``ddfa.set_params(n_topics=res.best_)
        .fit_with_discriminator(res.discriminator_, X, domains)``.

        Parameters
        ----------
        X, domains, X_val, d_val : as in :meth:`fit`
        candidates : iterable of int, default=range(2, 21)
            Those above the number of domains are dropped.
        cv : int, default=5
            Folds of each domain's samples.
        random_state : int, Generator or None
            Seeds the sample folds and the solvers (the network follows this
            estimator's ``random_state``).

        Returns
        -------
        SelectionResult
            As :func:`lls_topics.select_n_topics`, plus ``discriminator_`` (the
            trained discriminator) and ``n_clusters_`` (the vocabulary size used).
        """
        from ..selection import select_n_topics

        ids, rows = encode_domains(domains, "domains")
        cand = [check_int(k, "candidates", minimum=1) for k in candidates]
        usable = [k for k in cand if k <= len(ids)]
        if not usable:
            raise ValueError(f"candidates must include a k between 1 and the number of "
                             f"domains ({len(ids)}), got {cand}")
        probe = clone(self).set_params(n_topics=max(usable), refine_rounds=0)
        with warnings.catch_warnings():
            # the largest candidate is often too many labels: its warnings are no news
            warnings.simplefilter("ignore", IdentifiabilityWarning)
            probe.fit(X, domains, X_val, d_val)
        if X_val is not None:
            rows = np.concatenate([rows, _validation_rows(X_val, d_val, ids)[1]])
        counts = DomainCorpus.from_tokens(probe.discretizer_.labels_.astype(np.int64), rows,
                                          n_words=probe.n_clusters_)
        res = select_n_topics(counts, usable, solver=self.solver, cv=cv,
                              random_state=random_state, verbose=bool(self.verbose))
        res.discriminator_ = probe.discriminator_
        res.n_clusters_ = probe.n_clusters_
        return res

    def _fit_rest(self, disc: Any, X: Any, rows: np.ndarray, X_val: Any,
                  rows_val: np.ndarray | None, ids: np.ndarray, s_clu: int, s_sol: int,
                  held: np.ndarray | None = None) -> "DDFA":
        from .streaming import STREAM_ABOVE, is_streamable

        n_all = len(rows) + (0 if X_val is None else len(X_val))
        if is_streamable(X) and n_all > STREAM_ABOVE and int(self.refine_rounds) == 0 \
                and self.space in ("auto", "discriminator"):
            # larger than memory, maybe: never hold p(d|x) of every sample
            return self._fit_rest_streamed(disc, X, rows, X_val, rows_val, ids, s_clu, s_sol)
        k = int(self.n_topics)
        D = len(ids)
        self.discriminator_ = disc
        # p(d) as the discriminator learned it: its training share of each domain
        self.domain_sizes_ = np.asarray(disc.class_counts_, dtype=np.float64)

        proba = disc.predict_proba(X)
        feats = X if isinstance(X, np.ndarray) else None
        all_rows = rows
        if X_val is not None:
            proba = np.vstack([proba, disc.predict_proba(X_val)])
            if feats is not None and isinstance(X_val, np.ndarray):
                feats = np.concatenate([feats, X_val])
            else:
                feats = None
            all_rows = np.concatenate([rows, rows_val])
        signal = domain_signal(disc, proba[:len(rows)], rows)
        settings = dict(n_topics=k, n_samples=len(all_rows), n_domains=D, signal=signal,
                        has_features=feats is not None, space=self.space,
                        n_clusters=self.n_clusters, posterior=self.posterior)
        choice = choose(**settings)
        disc_ = None
        if choice.needs_information:
            # held-out rows give an honest I(cluster; domain): the discriminator
            # memorizes its training samples' domains (with all rows, the demo's
            # digits problem picked p(d|x) clusters and lost 10 points)
            if X_val is not None:
                held = np.arange(len(rows), len(all_rows))
            elif held is None or len(held) == 0:
                held = np.arange(len(all_rows))
            m = choice.n_clusters
            # with a single k-means start the share flipped across the threshold on
            # mnist1d (a0.5, unequal sizes: 0.55 -> 0.40 median accuracy): keep 3
            by_disc = Discretizer(m, space="discriminator", random_state=s_clu)
            i_disc = _domain_information(by_disc.fit_predict(None, proba)[held],
                                         all_rows[held], m, D)
            i_feat, by_feat = None, None
            # within the noise margin p(d|x) clusters cannot win: skip the feature k-means
            if i_disc > information_margin(m, D, len(held)):
                by_feat = Discretizer(m, space="features", random_state=s_clu)
                i_feat = _domain_information(by_feat.fit_predict(feats, None)[held],
                                             all_rows[held], m, D)
            choice = choose(**settings, info_disc=i_disc, info_feat=i_feat, n_held=len(held))
            if choice.space == "features" and by_feat is not None:
                disc_ = by_feat
        space, m, share = choice.space, choice.n_clusters, choice.feature_share
        if space != "discriminator" and feats is None:
            raise ValueError(f"space={self.space!r} needs X (and X_val) as numpy arrays; "
                             "use space='discriminator' with a torch Dataset")
        if disc_ is None:
            disc_ = Discretizer(m, space=space, feature_weight=self.feature_weight,
                                random_state=s_clu).fit(feats, proba)
        tokens = disc_.labels_.astype(np.int64)
        self.discretizer_ = disc_
        self.n_clusters_ = m
        self.space_ = space
        self.posterior_ = choice.posterior
        self.domain_signal_ = float(signal)
        self.feature_share_ = None if share is None else float(share)

        self._solve(tokens, all_rows, m, s_sol)
        self.label_network_ = None
        self.refine_history_ = []
        self.solver_label_order_ = np.arange(k)
        if int(self.refine_rounds) > 0:
            self._refine(disc, X, rows, X_val, rows_val, all_rows, feats, s_clu, s_sol)
        self.domain_ids_ = ids
        self.n_domains_ = D
        return self

    def _fit_rest_streamed(self, disc: Any, X: Any, rows: np.ndarray, X_val: Any,
                           rows_val: np.ndarray | None, ids: np.ndarray, s_clu: int,
                           s_sol: int) -> "DDFA":
        """Clusters of p(d|x) and their counts chunk by chunk (:mod:`.streaming`), for a
        memmap or Dataset: p(d|x) of all samples is never held."""
        from .streaming import kmeans_discretizer, streamed_counts, streamed_kmeans

        k, D = int(self.n_topics), len(ids)
        self.discriminator_ = disc
        self.domain_sizes_ = np.asarray(disc.class_counts_, dtype=np.float64)
        sources = [X] if X_val is None else [X, X_val]
        all_rows = [rows] if X_val is None else [rows, rows_val]
        signal = domain_signal(disc)
        choice = choose(n_topics=k, n_samples=sum(len(r) for r in all_rows), n_domains=D,
                        signal=signal, has_features=False, space=self.space,
                        n_clusters=self.n_clusters, posterior=self.posterior)
        km = streamed_kmeans(disc, sources, choice.n_clusters, s_clu, verbose=self.verbose)
        counts = streamed_counts(disc, km, sources, all_rows, D, verbose=self.verbose)
        self.discretizer_ = kmeans_discretizer(km, counts.sum(axis=0), s_clu)
        self.n_clusters_ = choice.n_clusters
        self.space_ = choice.space
        self.posterior_ = choice.posterior
        self.domain_signal_ = float(signal)
        self.feature_share_ = None
        self._solve_corpus(DomainCorpus(counts, domain_ids=np.arange(D)), s_sol)
        self.label_network_ = None
        self.solver_label_order_ = np.arange(k)
        self.domain_ids_ = ids
        self.n_domains_ = D
        return self

    def _solve(self, tokens: np.ndarray, rows: np.ndarray, m: int, seed: int) -> None:
        """Fit the topic solver on cluster ids; set domain_topic_ and cluster_topic_."""
        self._solve_corpus(DomainCorpus.from_tokens(tokens, rows, n_words=m), seed)

    def _solve_corpus(self, corpus: DomainCorpus, seed: int) -> None:
        """Fit the topic solver on (domain rows x clusters) counts."""
        D = len(self.domain_sizes_)
        solver = self._make_solver(seed)
        solver.fit(corpus)
        self.solver_ = solver
        P = np.zeros((D, int(self.n_topics)))
        P[np.asarray(solver.domain_ids_, dtype=np.int64)] = solver.domain_topic_
        self.domain_topic_ = P
        self.cluster_topic_ = np.asarray(solver.topic_word_)

    def _refine(self, disc: Any, X: Any, rows: np.ndarray, X_val: Any,
                rows_val: np.ndarray | None, all_rows: np.ndarray, feats: Any, s_clu: int,
                s_sol: int) -> None:
        """Label-network rounds (see ``refine_rounds`` and :mod:`lls_topics.continuous.relabel`)."""
        from .adjust import domain_given_label
        from .relabel import fit_label_network, label_proba

        k = int(self.n_topics)
        m = reference_n_clusters(k, len(all_rows))
        # where the first pass found feature similarity useful, keep it beside the
        # label network's outputs
        space = "both" if self.space_ in ("both", "features") and feats is not None \
            else "discriminator"
        seeds = check_random_state(s_sol).integers(0, 2**31 - 1, size=int(self.refine_rounds))
        history = []
        for seed in seeds.tolist():
            P_net = self.domain_topic_
            M = domain_given_label(P_net, self.domain_sizes_)[0]
            net = fit_label_network(disc, M, X, rows, X_val, rows_val,
                                    patience=_REFINE_PATIENCE, random_state=seed,
                                    verbose=self.verbose)
            G = label_proba(net, X)
            if X_val is not None:
                G = np.vstack([G, label_proba(net, X_val)])
            clu = Discretizer(m, space=space, feature_weight=self.feature_weight,
                              random_state=s_clu)
            self.discretizer_ = clu
            self._solve(clu.fit_predict(feats if space == "both" else None, G), all_rows,
                        m, seed)
            history.append({"clusters": m, "network_epochs": int(net.n_epochs_),
                            "log_likelihood": float(self.solver_.log_likelihood_),
                            "prior_change_l1": prior_l1(P_net, self.domain_topic_,
                                                        per_entry=True)})
        self.refine_history_ = history
        # the last solve's labels come in their own order: put them in the order of the
        # label network's outputs (those of the p(d|y) it was trained through)
        order = align_labels(P_net, self.domain_topic_)
        self.domain_topic_ = self.domain_topic_[:, order]
        self.cluster_topic_ = self.cluster_topic_[order]
        self.solver_label_order_ = order
        self.n_clusters_ = m
        self.space_ = "label-network" + ("+features" if space == "both" else "")
        self.label_network_ = net
        if self.posterior == "auto":
            self.posterior_ = "network"

    # ------------------------------------------------------------------ predict
    def predict_proba(self, X: Any, domains: Any = None, *, out: Any = None) -> np.ndarray:
        """Label posteriors of new samples.

        Parameters
        ----------
        X : ndarray of shape (n_samples, ...), numpy.memmap or torch Dataset
            A memmap or Dataset of more than ``streaming.STREAM_ABOVE`` samples (or
            any X when ``out`` is given) is scored chunk by chunk.
        domains : array-like of shape (n_samples,) or a single id, optional
            The samples' domains (ids as at fit). Without them, p(y|x) under the
            pooled training label mix is returned.
        out : writable float ndarray of shape (n_samples, n_topics), optional
            Where to write the result, e.g. a ``numpy.memmap`` opened with ``mode="w+"``.

        Returns
        -------
        ndarray of shape (n_samples, n_topics)
            p_d(y|x) (or p(y|x)); rows are non-negative and sum to 1. ``out`` when given.
        """
        check_is_fitted(self, "domain_topic_")
        from .streaming import STREAM_ABOVE, is_streamable, predict_streamed

        if out is not None or (is_streamable(X) and len(X) > STREAM_ABOVE):
            return predict_streamed(self._predict_proba, X, domains, int(self.n_topics), out)
        return self._predict_proba(X, domains)

    def _predict_proba(self, X: Any, domains: Any) -> np.ndarray:
        if self.posterior_ == "network":
            return self._network_posterior(X, domains)
        pdx = self.discriminator_.predict_proba(X)
        n = pdx.shape[0]
        if self.posterior_ == "adjust":
            return self._adjusted(pdx, domains)
        coords = pdx
        if self.label_network_ is not None:
            from .relabel import label_proba

            coords = label_proba(self.label_network_, X)
        tokens = self.discretizer_.predict(
            X if self.space_ not in ("discriminator", "label-network") else None, coords)
        # the solver's domains are our rows 0..D-1
        by_cluster = self.solver_.predict_proba(
            tokens, None if domains is None else self._rows(domains, n))
        by_cluster = by_cluster[:, self.solver_label_order_]
        if self.posterior_ == "clusters":
            return by_cluster
        by_adjust = self._adjusted(pdx, domains)
        logp = 0.5 * (np.log(np.maximum(by_cluster, 1e-300)) +
                      np.log(np.maximum(by_adjust, 1e-300)))
        logp -= logp.max(axis=1, keepdims=True)
        out = np.exp(logp)
        return out / out.sum(axis=1, keepdims=True)

    def _network_posterior(self, X: Any, domains: Any) -> np.ndarray:
        """p_d(y|x) ∝ g(x)_y p(d|y), g the label network's p(y|x) (pooled label mix)."""
        from .adjust import domain_given_label
        from .relabel import label_proba

        G = label_proba(self.label_network_, X)
        if domains is None:
            return G
        M = domain_given_label(self.domain_topic_, self.domain_sizes_)[0]
        out = G * M[self._rows(domains, len(G))]
        s = out.sum(axis=1, keepdims=True)
        # a sample whose domain holds none of its likely labels: fall back to p(y|x)
        return np.where(s > 0, out / np.where(s > 0, s, 1.0), G)

    def _adjusted(self, pdx: np.ndarray, domains: Any) -> np.ndarray:
        n = pdx.shape[0]
        if domains is None:
            Y = label_posterior(pdx, self.domain_topic_, self.domain_sizes_,
                                method=self.adjust, max_iter=_ADJUST_ITER, tol=_ADJUST_TOL)
            if self.adjust == "pinv-uniform":
                Y = normalize_rows(np.clip(Y, 0.0, None))
            return Y
        rows = self._rows(domains, n)
        return adjust_posterior(pdx, self.domain_topic_, self.domain_sizes_, rows,
                                method=self.adjust, max_iter=_ADJUST_ITER, tol=_ADJUST_TOL)

    def _rows(self, domains: Any, n: int) -> np.ndarray:
        return sample_rows(domains, row_lookup(self.domain_ids_), n, "X")

    def predict(self, X: Any, domains: Any = None) -> np.ndarray:
        """Most probable label of each sample, shape (n_samples,)."""
        return np.argmax(self.predict_proba(X, domains), axis=1)

    def pooled_prior(self) -> np.ndarray:
        """p(y) under the pooled training mix, shape (n_topics,); sums to 1."""
        check_is_fitted(self, "domain_topic_")
        return pooled_prior(self.domain_topic_, self.domain_sizes_)
