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

import time
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
from ..persistence import SaveLoadMixin
from ..solvers.base import IdentifiabilityWarning, pooled_prior
from ..solvers.registry import make_solver, solver_names
from ..threads import N_JOBS, bounded_threads
from .adjust import ADJUST_METHODS, adjust_posterior, label_posterior
from .discretize import SPACES, Discretizer
from .discriminator import DEVICE, DomainDiscriminator, batch_work, check_inputs
from .distributed import DISTRIBUTED

__all__ = ["DDFA", "domain_signal"]

_POSTERIORS = ("auto", "adjust", "clusters", "combined", "network")
_SPACES = ("auto",) + SPACES

# the adjust step's EM only needs to settle the argmax: at 100 iterations and tol 1e-5
# 99% of the digits test labels agree with 500 iterations at 1e-7, in a quarter of the time
_ADJUST_ITER, _ADJUST_TOL = 100, 1e-5
#: early-stopping patience of each refinement round's label network
_REFINE_PATIENCE = 3
#: training samples the first round's head is distilled on (a ridge fit of the hidden
#: layer's width: a few thousand rows determine it; more only cost time)
_DISTILL_ROWS = 20000
#: what a bagged first-pass model keeps of each member (see DDFA._bag_first_pass)
_MEMBER_KEYS = ("discretizer", "solver", "order", "domain_topic")


def _members(c: dict) -> list:
    """The clusterings a model predicts with: its bag, or the model itself."""
    return c.get("members") or [c]


#: k-means starts of a bag's members beyond the first clustering's unkept starts:
#: averaging members takes the place of keeping the best of several starts
_BAG_N_INIT = 1


def _member_states(members: list) -> list:
    """What a fitted DDFA keeps of each member of a bag (see ``bag_``)."""
    return [{key: b[key] for key in _MEMBER_KEYS} for b in members]


def _extra_clusterings(first: Any, seeds: list, fit_one: Any) -> list:
    """A bag's clusterings after its first, fitted one ``first``: the k-means starts that
    ``first`` did not keep, then ``fit_one(seed)`` (a clustering with ``_BAG_N_INIT``
    starts) for each seed left; one per seed."""
    spare = first.pop_other_runs()
    return [spare[j] if j < len(spare) else fit_one(seed) for j, seed in enumerate(seeds)]


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


def _geometric_mean(A: np.ndarray, B: np.ndarray, w: float = 0.5) -> np.ndarray:
    """Rows of ``A^w B^(1-w)``, normalized: the weighted geometric mean of two
    posteriors of the same samples (shape (n_samples, n_topics); rows sum to 1)."""
    logp = w * np.log(np.maximum(A, 1e-300)) + (1.0 - w) * np.log(np.maximum(B, 1e-300))
    logp -= logp.max(axis=1, keepdims=True)
    out = np.exp(logp)
    return out / out.sum(axis=1, keepdims=True)


def _validation_rows(X_val: Any, d_val: Any, ids: np.ndarray) -> tuple[Any, np.ndarray | None]:
    """Check optional validation data; return it with its domains' rows (or None, None)."""
    if (X_val is None) != (d_val is None):
        raise ValueError("X_val and d_val must be given together")
    if X_val is None:
        return None, None
    X_val = check_inputs(X_val, "X_val")
    check_same_length(X_val, d_val, "X_val", "d_val")
    return X_val, map_domain_ids(d_val, row_lookup(ids), "d_val")


def _take(X: Any, X_val: Any, n: int, pos: np.ndarray) -> Any:
    """Rows ``pos`` of the stacked (X, X_val) (positions >= n are X_val's)."""
    pos = np.asarray(pos, dtype=np.int64)
    if X_val is not None and pos.size and pos.min() >= n:
        src, pos = X_val, pos - n
    elif X_val is None or not pos.size or pos.max() < n:
        src = X
    else:
        return np.concatenate([X, X_val])[pos]
    if isinstance(src, np.ndarray):
        return src[pos]
    from torch.utils.data import Subset

    return Subset(src, pos.tolist())


def _work(self: Any, *args: Any, **kwargs: Any) -> float | None:
    """Thread sizing of a DDFA call: its discriminator's batch (see ``batch_work``)."""
    disc = kwargs.get("discriminator") if "discriminator" in kwargs else (
        args[0] if args and isinstance(args[0], DomainDiscriminator) else None)
    if disc is None:
        disc = getattr(self, "discriminator_", None) or self.discriminator or \
            DomainDiscriminator()
        X = args[0] if args else kwargs.get("X")
    else:
        X = args[1] if len(args) > 1 else kwargs.get("X")
    return batch_work(disc, X)


class DDFA(SaveLoadMixin, BaseEstimator):
    """Unsupervised label posteriors under latent label shift for continuous inputs.

    Parameters
    ----------
    n_topics : int
        Number of latent labels k.
    solver : {"auto", "anchor", "nmf", "lda", ...} or a solver instance, default="auto"
        Topic solver for the domain-by-cluster counts (a name of
        :func:`~lls_topics.solvers.registry.solver_names`); an instance is cloned and
        must have ``n_topics`` equal to this estimator's. ``"auto"``: the anchor
        solver, and on the first pass's clusters of p(d|x) also the reference
        pipeline's NMF step, the one whose p_d(y) explains the domains of held-out
        samples better kept (:func:`lls_topics.continuous.policy.choose_first_pass`);
        refinement rounds use the anchor solver.
    n_clusters : int, optional
        Vocabulary size m of the first pass. Default: 3k for clusters of p(d|x) (the
        reference's), 1.5k where features are clustered (see
        :func:`lls_topics.continuous.policy.vocabulary_sizes`).
    discriminator : DomainDiscriminator, optional
        Cloned at fit; by default a :class:`~lls_topics.DomainDiscriminator` with its
        default MLP.
    space : {"auto", "discriminator", "features", "both"}, default="auto"
        Where the first pass clusters; see :class:`~lls_topics.Discretizer`.
        ``"auto"``: one candidate for the joint space (features beside p(d|x)) and
        one for p(d|x) alone (only p(d|x) with a torch Dataset); the one whose p_d(y)
        explains the domains of held-out samples best is kept (see Notes and
        :func:`lls_topics.continuous.policy.first_pass_candidates`).
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
        geometric mean of both (the cluster posterior keeps feature similarity where
        domains differ little, the adjust step resolves samples within a cluster).
        ``"network"``: ``p(y|x) p(d|y)`` from a refinement round's label network.
        ``"auto"``: "combined" where features were clustered, "adjust" on p(d|x)
        clusters, "network" when a refinement round is kept.
    refine_rounds : "auto" or int, default="auto"
        Label-network refinement (see :mod:`lls_topics.continuous.relabel`): a round trains
        a k-way label network on the domain labels through the current p(d|y),
        clusters its outputs (3k clusters; beside the features where the first pass
        used features) and refits the solver. One network goes through the rounds:
        the first starts from the discriminator's body with a head fitted to the first
        pass's posterior, each later round continues the one before.
        ``"auto"``: up to :data:`~lls_topics.continuous.policy.MAX_REFINE_ROUNDS`
        rounds, all of them together training at most
        :data:`~lls_topics.continuous.policy.REFINE_EPOCH_SHARE` of the
        discriminator's epochs (shared evenly); a round's model replaces the model
        kept so far unless that one predicts the domains of held-out samples better
        beyond the noise (see Notes). Past those, rounds of the same length go on while
        each explains the held-out domains better than the first pass and than the
        model it started from beyond the noise, all label networks together within
        the discriminator's epochs (:func:`~lls_topics.continuous.policy.another_round`;
        on mnist1d, where rounds are what works, about every third run takes more). An
        int N runs exactly N rounds (without the epoch budget) and keeps the last one;
        0 turns refinement off.
    n_clusterings : int, default=2
        Clusterings averaged in the kept first-pass model and in every refinement
        round (bagging; see Notes): each solves one more clustering (another k-means
        start), and their aligned p_d(y) are averaged. With the same
        discriminator the clustering seed alone moves a run's accuracy by 5-10 points.
        Against one clustering (with the label networks' epoch share at 0.5 then), two
        raised the development grid's mean accuracy, averaged over three DDFA seeds
        per run, from 0.807 to 0.825 on digits and from 0.673 to 0.697 on man-page
        embeddings, with the procedural family and mnist1d within 0.3 points
        (0.721 -> 0.724, 0.600 -> 0.597); the second clustering is a k-means start the
        first did not keep, and the label networks' smaller epoch share
        (:data:`~lls_topics.continuous.policy.REFINE_EPOCH_SHARE`) pays for its solve, so
        the fit takes no longer than with one. More costs time and buys stability, like
        k-means' ``n_init``: 3 uses the first clustering's last unkept start (measured
        with fresh clusterings, the fit after the discriminator took 1.3-1.5x as long
        as with one; docs/benchmarks.md). 1 is the unbagged model.

    random_state : int, Generator or None
        Seeds the discriminator (unless it has its own seed), the clustering and the
        solver; the same seed gives the same result on CPU.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Device of the default discriminator.
    n_jobs : int or None, default=None
        CPU threads (torch, BLAS, k-means) during :meth:`fit` and :meth:`predict_proba`,
        bounded for the call and restored afterwards; the discriminator and the
        clustering keep it unless they set their own. None: chosen from the size of
        the discriminator's network (one thread for the default MLP on tabular
        features: small batches gain nothing from more, and lose much when another
        process holds a core); never more than the idle cores. -1: all cores.
    verbose : bool, default=True
        Show progress bars.
    distributed : {"auto", True, False}, default="auto"
        Under ``torchrun`` with several processes (``"auto"``, or ``True`` to require
        it), the discriminator trains with ``torch.distributed`` (see
        :class:`~lls_topics.DomainDiscriminator`); clustering and the solver run on rank
        0 and every rank gets the fitted estimator. Every rank must call :meth:`fit`
        with the same data; only rank 0 should save the model
        (:func:`lls_topics.continuous.distributed.is_main_process`).

    Notes
    -----
    Automatic choices. Under latent label shift every candidate model is a factored
    domain posterior ``p(d|x) = sum_y q(y|x) p(d|y)``, which the true labels attain
    best. Half of the
    held-out rows (``X_val``, or the discriminator's own validation split) early-stop
    the label networks; the other half scores every candidate's pooled posterior by the
    log-likelihood of those rows' domains (the solver does not count them). Candidates
    are offered in a fixed order; of the first-pass clusterings the one with the higher
    mean held-out log-likelihood is kept
    (:data:`~lls_topics.continuous.policy.FIRST_PASS_Z`), and with ``solver="auto"`` the
    reference NMF step replaces the anchor solver on the kept p(d|x) clusters only
    beyond two standard errors (:func:`~lls_topics.continuous.policy.choose_first_pass`);
    a refinement round replaces the kept model unless its mean loss exceeds two
    standard errors (see :func:`~lls_topics.continuous.policy.keep_round`), and the
    kept round predicts alone only when it beats the first pass beyond two standard
    errors, else together with it (:func:`~lls_topics.continuous.policy.round_weight`).
    Without held-out rows
    (``fit_with_discriminator`` without ``X_val``) the first candidate is kept and
    ``"auto"`` runs no round.
    The record of every candidate is in ``rounds_``.

    Bagged clusterings (``n_clusterings`` > 1). The kept first-pass model and every
    refinement round each solve ``n_clusterings`` clusterings: the first as with one,
    then the k-means starts that the first did not keep (its ``n_init=3`` starts run
    anyway, so these cost no k-means), then clusterings with one start and seeds of
    their own; their p_d(y), labels aligned, are averaged, and so are their cluster
    posteriors (``bag_``). The held-out choices are made before bagging (on the
    candidates' first clusterings) and a round is judged with its averaged p_d(y).

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
        The clustering space of the kept model (``"label-network"`` or
        ``"label-network+features"`` after a kept refinement round).
    posterior_ : str
        The posterior used (``posterior`` with ``"auto"`` resolved).
    label_network_ : DomainDiscriminator or None
        The kept refinement round's label network (see :mod:`lls_topics.continuous.relabel`);
        None when a first-pass model was kept.
    rounds_ : list of dict
        One record per candidate, first pass (``round`` 0) then refinement rounds:
        ``space``, ``n_clusters``, ``solver`` (its registry name, or the class name of
        a solver instance), ``posterior``, ``seconds`` (its time: clustering,
        solve and, for rounds, label-network training), ``epochs``, ``kept``, and
        with held-out rows ``heldout_loglik`` (mean per sample), ``gain`` and
        ``gain_stderr`` (against the model it was offered to replace).
    round_times_ : list of float
        Seconds of each refinement round, in order.
    ensemble_weight_ : float
        1.0, or 0.5 where the kept round predicts together with the first pass: the
        normalized geometric mean of the round's p_d(y|x) and the first-pass model's,
        when the held-out domains cannot tell the two apart (see
        :func:`~lls_topics.continuous.policy.round_weight`).
    first_pass_ : dict or None
        The first-pass model that predicts beside the round (``ensemble_weight_`` 0.5):
        its ``discretizer``, ``solver``, ``domain_topic`` (p_d(y), rows sum to 1, in
        the round's label order), ``order``, ``posterior``, ``space`` and ``members``
        (as ``bag_``).
    bag_ : list of dict
        The clusterings averaged in the kept model (the first is ``discretizer_`` /
        ``solver_``), each with its ``discretizer``, ``solver``, ``order`` (its labels
        in the model's order) and ``domain_topic`` (its p_d(y), rows sum to 1, aligned);
        ``domain_topic_`` is their mean. Empty with ``n_clusterings=1`` and in the
        streamed fit.
    n_rounds_ : int
        The kept refinement round (0: a first-pass model).
    n_choice_rows_ : int
        Held-out rows that scored the candidates.
    refine_history_ : list of dict
        One entry per refinement round run: ``clusters``, ``network_epochs`` (the label
        network's), ``log_likelihood`` (the solver's, per sample) and
        ``prior_change_l1`` (mean absolute change of p_d(y) per entry, labels aligned,
        against the p_d(y) the round's network was trained through). Empty when no
        round ran.
    domain_signal_ : float
        The discriminator's :func:`domain_signal` (a diagnostic; no choice uses it).

    Examples
    --------
    >>> from lls_topics import DDFA, DomainDiscriminator
    >>> rng = np.random.default_rng(0)
    >>> P = rng.dirichlet(np.ones(2), size=4)                    # p_d(y), four domains
    >>> domains = np.repeat(np.arange(4), 150)
    >>> y = (rng.random(600) < P[domains, 1]).astype(int)         # latent labels
    >>> X = rng.normal(size=(600, 2)) + 4 * y[:, None]
    >>> disc = DomainDiscriminator(hidden=(16,), epochs=10, random_state=0, verbose=False)
    >>> model = DDFA(2, n_clusters=6, discriminator=disc, space="both", refine_rounds=0,
    ...              random_state=0, verbose=False)
    >>> proba = model.fit(X, domains).predict_proba(X, domains)
    >>> proba.shape, model.domain_topic_.shape
    ((600, 2), (4, 2))
    """

    def __init__(self, n_topics: int, *, solver: Any = "auto", n_clusters: int | None = None,
                 discriminator: Any = None, space: str = "auto", feature_weight: float = 3.0,
                 adjust: str = "kl", posterior: str = "auto", refine_rounds: Any = "auto",
                 n_clusterings: int = 2, random_state: Any = None, device: Any = "auto",
                 n_jobs: int | None = None, verbose: bool = True,
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
        self.n_clusterings = n_clusterings
        self.random_state = random_state
        self.device = device
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.distributed = distributed

    # ------------------------------------------------------------------ helpers
    _param_constraints = {
        "n_topics": N_TOPICS,
        "solver": [Options(("auto",) + tuple(solver_names())),
                   HasMethods(("fit", "get_params"), "a solver instance")],
        "n_clusters": [None, Interval(Integral, 1, None)],
        "discriminator": [None, DomainDiscriminator],
        "space": [Options(_SPACES)],
        "feature_weight": [Interval(Real, 0, None, closed="neither")],
        "adjust": [Options(ADJUST_METHODS)],
        "posterior": [Options(_POSTERIORS)],
        "refine_rounds": [Options(("auto",)), Interval(Integral, 0, None)],
        "n_clusterings": [Interval(Integral, 1, None)],
        "n_jobs": N_JOBS,
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
        if self.posterior == "network" and self.refine_rounds in (0, "auto"):
            raise ValueError("posterior='network' needs refine_rounds >= 1 (the label "
                             "network is trained by the refinement rounds; 'auto' may "
                             "run none)")
        return k

    def _primary_solver(self) -> Any:
        """The ``solver`` parameter, ``"auto"`` resolved to its primary solver (the anchor
        solver, :data:`~lls_topics.continuous.policy.AUTO_SOLVERS`)."""
        from .policy import AUTO_SOLVERS

        return AUTO_SOLVERS[0] if self.solver == "auto" else self.solver

    def _make_solver(self, seed: int, name: str | None = None) -> Any:
        """A fresh solver: ``name`` from the registry, else the ``solver`` parameter's
        (the anchor solver for ``"auto"``)."""
        k = int(self.n_topics)
        if name is None and isinstance(self.solver, str):
            name = self._primary_solver()
        if name is not None:
            return make_solver(name, k, random_state=seed)
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
    @bounded_threads(_work)
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

    @bounded_threads(_work)
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
        res = select_n_topics(counts, usable, solver=self._primary_solver(), cv=cv,
                              random_state=random_state, verbose=bool(self.verbose))
        res.discriminator_ = probe.discriminator_
        res.n_clusters_ = probe.n_clusters_
        return res

    def _fit_rest(self, disc: Any, X: Any, rows: np.ndarray, X_val: Any,
                  rows_val: np.ndarray | None, ids: np.ndarray, s_clu: int, s_sol: int,
                  held: np.ndarray | None = None) -> "DDFA":
        from .policy import first_pass_candidates, split_heldout

        from .streaming import STREAM_ABOVE, is_streamable

        n_all = len(rows) + (0 if X_val is None else len(X_val))
        # a Dataset streams without rounds (their held-out rows are read into memory
        # from arrays); asked for rounds, it takes the in-memory path as before
        streams = isinstance(X, np.memmap) or self.refine_rounds in (0, "auto")
        if is_streamable(X) and n_all > STREAM_ABOVE and streams and \
                self.space in ("auto", "discriminator"):
            # larger than memory, maybe: never hold p(d|x) (or a label network's p(y|x))
            # of every sample
            return self._fit_rest_streamed(disc, X, rows, X_val, rows_val, ids, s_clu, s_sol,
                                           held)
        k = int(self.n_topics)
        D = len(ids)
        self.discriminator_ = disc
        self.ensemble_weight_, self.first_pass_ = 1.0, None
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
        if self.space not in ("discriminator", "auto") and feats is None:
            raise ValueError(f"space={self.space!r} needs X (and X_val) as numpy arrays; "
                             "use space='discriminator' with a torch Dataset")
        signal = domain_signal(disc, proba[:len(rows)], rows)
        self.domain_signal_ = float(signal)
        # held-out rows (positions in the stacked X, X_val): no network trains on them.
        # Half early-stops the label networks, half chooses between candidates.
        if X_val is not None:
            held = np.arange(len(rows), len(all_rows))
        elif held is not None and len(held) == 0:
            held = None
        train_pos = np.arange(len(rows)) if held is None or X_val is not None else \
            np.setdiff1d(np.arange(len(rows)), held)
        stop_pos = choice_pos = None
        if held is not None and len(held) >= 4:
            stop_pos, choice_pos = split_heldout(held, s_clu)
        self.n_choice_rows_ = 0 if choice_pos is None else int(len(choice_pos))
        # the solver counts every row but those that choose: a cluster posterior fitted
        # on a row's domain would score that row's domain too well (on digits it made the
        # combined posterior win by 0.1-0.2 nats where it was 8 points less accurate)
        counted = np.ones(len(all_rows), dtype=bool)
        if choice_pos is not None:
            counted[choice_pos] = False

        # ---- first pass: candidate clusterings and posteriors (policy.py)
        cands, fitted, clusterings = [], {}, {}
        # without held-out rows nothing could choose between solvers
        auto_solver = self.solver == "auto" and choice_pos is not None
        for space, m, post, name in first_pass_candidates(
                n_topics=k, n_samples=len(all_rows), space=self.space,
                posterior=self.posterior, has_features=feats is not None,
                n_clusters=self.n_clusters,
                solver="auto" if auto_solver else None):
            secs = 0.0
            if (space, m, name) not in fitted:
                t0 = time.perf_counter()
                if (space, m) not in clusterings:
                    clusterings[(space, m)] = Discretizer(
                        m, space=space, feature_weight=self.feature_weight,
                        random_state=s_clu).fit(feats, proba)
                clu = clusterings[(space, m)]
                state = self._solve(clu.labels_.astype(np.int64)[counted],
                                    all_rows[counted], m, s_sol, name)
                state.update(discretizer=clu, n_clusters=m, space=space,
                             order=np.arange(k), network=None, solver_arg=name)
                fitted[(space, m, name)] = state
                secs = time.perf_counter() - t0
            cands.append(dict(fitted[(space, m, name)], posterior=post, seconds=secs,
                              epochs=0, round=0,
                              clustering=list(clusterings).index((space, m))))
        held_pdx = None if choice_pos is None else (
            proba[stop_pos], all_rows[stop_pos], proba[choice_pos], all_rows[choice_pos])
        best = self._choose_first_pass(cands, held_pdx)
        first = self._bag_first_pass(cands[best], feats, proba, all_rows, counted, s_clu,
                                     held_pdx)
        # the rounds may replace this model: its warnings wait for the final choice
        self._set_state(first, warn=False)
        self.posterior_ = first["posterior"]
        self.space_ = first["space"]
        self.n_rounds_ = 0
        self.refine_history_ = []
        n_rounds = self._n_rounds(choice_pos)
        if n_rounds > 0:
            n = len(rows)
            X_st, r_st = (None, None) if stop_pos is None else \
                (_take(X, X_val, n, stop_pos), all_rows[stop_pos])
            if X_st is None and X_val is not None:  # too few held-out rows to split
                X_st, r_st = X_val, all_rows[n:]
            choice = None if choice_pos is None else \
                (_take(X, X_val, n, choice_pos), all_rows[choice_pos])
            self._refine(first, disc, (_take(X, X_val, n, train_pos),
                                       all_rows[train_pos]), (X_st, r_st), choice,
                         n_rounds, s_sol, self._round_solver(first, X, X_val, feats,
                                                             all_rows, counted, s_clu),
                         self._distill_sample(first, train_pos,
                                              lambda pos: _take(X, X_val, n, pos), s_clu,
                                              proba))
        else:
            self._set_state(first)
        self.round_times_ = [r["seconds"] for r in self.rounds_ if r["round"] > 0]
        self.domain_ids_ = ids
        self.n_domains_ = D
        # the k-means starts that bags could use are spent: let them go with the fit
        kept = [self.discretizer_] + [b["discretizer"] for b in self.bag_] + \
            ([] if self.first_pass_ is None else
             [self.first_pass_["discretizer"]] +
             [b["discretizer"] for b in self.first_pass_.get("members", [])])
        for clu in kept:
            clu.pop_other_runs()
        return self

    def _n_rounds(self, choice_pos: np.ndarray | None) -> int:
        from .policy import MAX_REFINE_ROUNDS

        if self.refine_rounds == "auto":
            # without held-out rows there is nothing to tell a round's worth by
            return MAX_REFINE_ROUNDS if choice_pos is not None else 0
        return int(self.refine_rounds)

    @staticmethod
    def _round_record(c: dict, kept: bool, ref: dict) -> dict:
        rec = {"round": int(c["round"]), "space": c["space"],
               "n_clusters": int(c["n_clusters"]), "solver": c["solver_name"],
               "posterior": c["posterior"],
               "seconds": float(c["seconds"]), "epochs": int(c["epochs"]), "kept": bool(kept)}
        if "loglik" in c:
            from .policy import paired_gain

            rec["heldout_loglik"] = float(np.mean(c["loglik"]))
            rec["temperature"] = float(c["temperature"])
            if ref.get("loglik") is not None:
                # against the model it was offered to replace
                rec["gain"], rec["gain_stderr"] = paired_gain(ref["loglik"], c["loglik"])
        return rec

    def _heldout_loglik(self, c: dict, q_stop: np.ndarray, q_choice: np.ndarray,
                        stop_rows: np.ndarray, choice_rows: np.ndarray) -> np.ndarray:
        """log p(d|x) of the choosing rows under a candidate's factored model
        ``sum_y q(y|x) p(d|y)``, q its pooled posterior tempered on the stopping rows
        (shape (n_choice_rows,)); see :func:`~lls_topics.continuous.policy.calibrated_loglik`."""
        from .adjust import domain_given_label
        from .policy import calibrated_loglik

        M, p_d, _ = domain_given_label(c["domain_topic"], self.domain_sizes_)
        ll, c["temperature"] = calibrated_loglik(q_stop, stop_rows, q_choice, choice_rows,
                                                 M, p_d)
        return ll

    def _choose_first_pass(self, cands: list, held: tuple | None) -> int:
        """Score the first-pass candidates on the held-out rows ``held`` = (p(d|x) and
        domain rows of the stopping rows, the same of the choosing rows; None: no
        scoring, the first is kept), choose one
        (:func:`~lls_topics.continuous.policy.choose_first_pass`), record them all in
        ``rounds_`` and return the kept one's index. ``c["clustering"]`` names the
        clustering each candidate solves."""
        from .policy import FIRST_PASS_Z, SWITCH_Z, choose_first_pass

        best = 0
        if held is not None:
            pdx_st, r_st, pdx_ch, r_ch = held
            for c in cands:
                # the adjust step's pooled posterior: candidates differ only in p_d(y)
                # (see lls_topics.continuous.policy.first_pass_candidates)
                c["loglik"] = self._heldout_loglik(
                    c, self._adjusted_with(c["domain_topic"], pdx_st, None),
                    self._adjusted_with(c["domain_topic"], pdx_ch, None), r_st, r_ch)
            best = choose_first_pass([c["loglik"] for c in cands],
                                     [c["clustering"] for c in cands], z=FIRST_PASS_Z,
                                     solver_z=SWITCH_Z)
        # a second solve of a clustering was offered to replace that clustering's first
        primary: dict = {}
        for c in cands:
            primary.setdefault(c["clustering"], c)
        self.rounds_ = [self._round_record(c, i == best, cands[0] if primary[c["clustering"]] is c
                                           else primary[c["clustering"]])
                        for i, c in enumerate(cands)]
        return best

    def _set_state(self, c: dict, warn: bool = True) -> None:
        if warn:
            for text in c.get("warnings", []):
                warnings.warn(text, IdentifiabilityWarning, stacklevel=4)
        self.discretizer_ = c["discretizer"]
        self.solver_ = c["solver"]
        self.domain_topic_ = c["domain_topic"]
        self.cluster_topic_ = c["cluster_topic"]
        self.solver_label_order_ = c["order"]
        self.n_clusters_ = c["n_clusters"]
        self.label_network_ = c["network"]
        self.bag_ = _member_states(c.get("members", []))

    def _bag_first_pass(self, c: dict, feats: Any, proba: np.ndarray, all_rows: np.ndarray,
                        counted: np.ndarray, s_clu: int, held: tuple | None) -> dict:
        """The kept first-pass candidate ``c`` averaged over
        ``n_clusterings`` clusterings: its space,
        vocabulary size and solver, other k-means seeds. Returns ``c`` itself with one
        clustering; else a candidate whose ``members`` are the solves (``c`` first, the
        others' labels put in ``c``'s order by agreement of their posteriors on the
        counted rows), whose ``domain_topic`` is their mean (rows sum to 1) and whose
        held-out log-likelihood is re-scored with it (``held`` as in
        :meth:`_choose_first_pass`)."""
        from scipy.optimize import linear_sum_assignment

        bags = int(self.n_clusterings)
        if bags <= 1:
            return c
        t0 = time.perf_counter()
        k, m = int(self.n_topics), int(c["n_clusters"])
        rng = check_random_state(s_clu)
        seeds = rng.integers(0, 2**31 - 1, size=bags - 1)
        # the rows whose posteriors align the members' labels: a sample of the counted
        # ones (the members' p_d(y) can be too alike to align when domains differ little)
        pool = np.flatnonzero(counted)
        pos = np.sort(rng.choice(pool, min(len(pool), _DISTILL_ROWS), replace=False))

        def pooled(b: dict) -> np.ndarray:
            # p(y|cluster) alone: the adjust step would cost more and sees the same p_d(y)
            return b["solver"].predict_proba(b["discretizer"].labels_[pos])[:, b["order"]]

        Q0 = pooled(c)
        members = [c]
        seeds = seeds.tolist()
        extra = _extra_clusterings(c["discretizer"], seeds, lambda seed: Discretizer(
            m, space=c["space"], feature_weight=self.feature_weight, random_state=seed,
            n_init=_BAG_N_INIT).fit(feats, proba))
        for seed, clu in zip(seeds, extra):
            b = self._solve(clu.labels_.astype(np.int64)[counted], all_rows[counted], m,
                            seed, c.get("solver_arg"))
            b.update(discretizer=clu, order=np.arange(k))
            _, order = linear_sum_assignment(-(Q0.T @ pooled(b)))
            b.update(order=order, domain_topic=b["domain_topic"][:, order],
                     cluster_topic=b["cluster_topic"][order])
            members.append(b)
        bag = dict(c, members=members,
                   domain_topic=np.mean([b["domain_topic"] for b in members], axis=0))
        if held is not None:
            pdx_st, r_st, pdx_ch, r_ch = held
            bag["loglik"] = self._heldout_loglik(
                bag, self._adjusted_with(bag["domain_topic"], pdx_st, None),
                self._adjusted_with(bag["domain_topic"], pdx_ch, None), r_st, r_ch)
        bag["seconds"] = c["seconds"] + time.perf_counter() - t0
        return bag

    def _fit_rest_streamed(self, disc: Any, X: Any, rows: np.ndarray, X_val: Any,
                           rows_val: np.ndarray | None, ids: np.ndarray, s_clu: int,
                           s_sol: int, held: np.ndarray | None = None) -> "DDFA":
        """Clusters of p(d|x) and their counts chunk by chunk (:mod:`.streaming`), for a
        memmap or Dataset: p(d|x) of all samples is never held.

        Refinement rounds stream the same way (the label network trains from the
        memmap; its p(y|x) is clustered and counted chunk by chunk); their held-out
        rows (``X_val`` or the discriminator's validation split) are read into memory,
        so rounds run where those rows are arrays or a memmap's (not for a Dataset)."""
        from .policy import first_pass_candidates, split_heldout
        from .streaming import (RowView, kmeans_discretizer, read_rows, streamed_counts,
                                streamed_kmeans)

        k, D = int(self.n_topics), len(ids)
        n = len(rows)
        self.discriminator_ = disc
        self.ensemble_weight_, self.first_pass_ = 1.0, None
        self.domain_sizes_ = np.asarray(disc.class_counts_, dtype=np.float64)
        sources = [X] if X_val is None else [X, X_val]
        all_rows = [rows] if X_val is None else [rows, rows_val]
        signal = domain_signal(disc)

        # held-out rows (positions in the stacked X, X_val), read into memory
        if X_val is not None:
            held = np.arange(n, n + len(rows_val))
        stop_pos = choice_pos = None
        if held is not None and len(held) >= 4 and \
                all(isinstance(S, np.ndarray) for S in sources):
            stop_pos, choice_pos = split_heldout(held, s_clu)
        # p(d|x) is the one space that streams; its solvers as in memory (without
        # held-out rows nothing could choose between solvers)
        cands = first_pass_candidates(
            n_topics=k, n_samples=sum(len(r) for r in all_rows), space=self.space,
            posterior=self.posterior, has_features=False, n_clusters=self.n_clusters,
            solver="auto" if self.solver == "auto" and choice_pos is not None else None)
        space, m, post, _ = cands[0]

        def read(pos: np.ndarray) -> np.ndarray:
            if X_val is not None:
                return read_rows(X_val, pos - n)
            return read_rows(X, pos)

        stacked_rows = np.concatenate(all_rows)
        # the rows that judge candidates are not counted (see _fit_rest): they go to an
        # extra domain row that is dropped
        count_rows = [r.copy() for r in all_rows]
        if choice_pos is not None:
            src = 1 if X_val is not None else 0
            count_rows[src][choice_pos - (n if src else 0)] = D

        km = streamed_kmeans(disc, sources, m, s_clu, verbose=self.verbose)
        counts = streamed_counts(disc, km, sources, count_rows, D + 1,
                                 verbose=self.verbose)[:D]
        discretizer = kmeans_discretizer(km, counts.sum(axis=0), s_clu)
        corpus = DomainCorpus(counts, domain_ids=np.arange(D))
        firsts = []
        for _, _, _, name in cands:
            t0 = time.perf_counter()
            c = self._solve_corpus(corpus, s_sol, name)
            c.update(discretizer=discretizer, n_clusters=m, order=np.arange(k),
                     network=None, space=space, posterior=post,
                     seconds=time.perf_counter() - t0, epochs=0, round=0, clustering=0)
            firsts.append(c)
        first = firsts[0]
        self.rounds_, self.refine_history_ = [], []
        self.n_rounds_ = 0
        self.n_choice_rows_ = 0 if choice_pos is None else int(len(choice_pos))
        n_rounds = self._n_rounds(choice_pos)
        if n_rounds > 0 and choice_pos is None:
            raise ValueError(f"refine_rounds={self.refine_rounds!r} on a memmap needs held-out "
                             "rows: pass X_val and d_val (arrays or a memmap), or keep the "
                             "discriminator's validation_fraction above 0")
        if choice_pos is not None:
            X_st, X_ch = read(stop_pos), read(choice_pos)
            r_st, r_ch = stacked_rows[stop_pos], stacked_rows[choice_pos]
            first = firsts[self._choose_first_pass(
                firsts, (disc.predict_proba(X_st), r_st, disc.predict_proba(X_ch), r_ch))]
        if n_rounds > 0:
            if X_val is not None:
                X_tr, r_tr = X, rows
            else:
                keep = np.setdiff1d(np.arange(n), held)
                X_tr = RowView(X, keep) if isinstance(X, np.memmap) else X[keep]
                r_tr = rows[keep]

            def solve(net: Any, seed: int) -> dict:
                from types import SimpleNamespace

                from .relabel import label_proba

                outputs = SimpleNamespace(predict_proba=lambda Z: label_proba(net, Z))
                km_r = streamed_kmeans(outputs, sources, m, s_clu, verbose=self.verbose)
                c = streamed_counts(outputs, km_r, sources, count_rows, D + 1,
                                    verbose=self.verbose)[:D]
                cand = self._solve_corpus(DomainCorpus(c, domain_ids=np.arange(D)), seed)
                cand.update(discretizer=kmeans_discretizer(km_r, c.sum(axis=0), s_clu),
                            n_clusters=m, space="label-network")
                return cand

            self._set_state(first, warn=False)
            self.space_, self.posterior_ = space, post
            train_pos = np.arange(n) if X_val is not None else keep
            self._refine(first, disc, (X_tr, r_tr), (X_st, r_st), (X_ch, r_ch), n_rounds,
                         s_sol, solve, self._distill_sample(
                             first, train_pos, lambda pos: read_rows(X, pos), s_clu))
        else:
            self._set_state(first)
            self.space_, self.posterior_ = space, post
        self.round_times_ = [r["seconds"] for r in self.rounds_ if r["round"] > 0]
        self.domain_signal_ = float(signal)
        self.domain_ids_ = ids
        self.n_domains_ = D
        return self

    def _solve(self, tokens: np.ndarray, rows: np.ndarray, m: int, seed: int,
               name: str | None = None) -> dict:
        """Fit the topic solver (``name``, else the estimator's) on cluster ids; return
        its p_d(y) and p(cluster|y)."""
        return self._solve_corpus(DomainCorpus.from_tokens(tokens, rows, n_words=m), seed,
                                  name)

    def _solve_corpus(self, corpus: DomainCorpus, seed: int, name: str | None = None) -> dict:
        """Fit the topic solver on (domain rows x clusters) counts; return the solver,
        p_d(y) (rows sum to 1), p(cluster|y) and the held-back warnings."""
        D = len(self.domain_sizes_)
        solver = self._make_solver(seed, name)
        # a candidate's identifiability warnings are news only if it is kept: they are
        # held back and re-issued for the kept model (see _set_state)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", IdentifiabilityWarning)
            solver.fit(corpus)
        held = [w for w in caught if issubclass(w.category, IdentifiabilityWarning)]
        for w in caught:
            if w not in held:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        P = np.zeros((D, int(self.n_topics)))
        P[np.asarray(solver.domain_ids_, dtype=np.int64)] = solver.domain_topic_
        if name is None:
            primary = self._primary_solver()
            name = primary if isinstance(primary, str) else type(primary).__name__
        return {"solver": solver, "solver_name": name, "domain_topic": P,
                "cluster_topic": np.asarray(solver.topic_word_),
                "warnings": [str(w.message) for w in held]}

    def _round_solver(self, first: dict, X: Any, X_val: Any, feats: Any,
                      all_rows: np.ndarray, counted: np.ndarray, s_clu: int) -> Any:
        """In memory: ``solve(net, seed)`` clusters the label network's p(y|x) of every
        sample (beside the features where the first pass used them) and solves the
        counted rows' cluster counts, ``n_clusterings`` times with other k-means seeds
        (``members``; their p_d(y) is averaged once their labels are aligned, see
        :meth:`_refine`)."""
        from .relabel import label_proba

        k = int(self.n_topics)
        m = int(min(3 * k, max(k, len(all_rows) // 20)))
        # where the first pass found feature similarity useful, keep it beside the
        # label network's outputs
        space = "both" if first["space"] in ("both", "features") and feats is not None \
            else "discriminator"

        def solve(net: Any, seed: int) -> dict:
            G = label_proba(net, X)
            if X_val is not None:
                G = np.vstack([G, label_proba(net, X_val)])
            extra = check_random_state(seed).integers(0, 2**31 - 1,
                                                      size=int(self.n_clusterings) - 1)
            X_clu = feats if space == "both" else None
            # the first clustering is the unbagged model's (Discretizer's own starts)
            first_clu = Discretizer(m, space=space, feature_weight=self.feature_weight,
                                    random_state=s_clu).fit(X_clu, G)
            clus = [first_clu] + _extra_clusterings(first_clu, extra.tolist(), lambda s: (
                Discretizer(m, space=space, feature_weight=self.feature_weight,
                            random_state=s, n_init=_BAG_N_INIT).fit(X_clu, G)))
            members: list = []
            for clu, s in zip(clus, [seed] + extra.tolist()):
                tokens = clu.labels_.astype(np.int64)
                b = self._solve(tokens[counted], all_rows[counted], m, s)
                b.update(discretizer=clu, n_clusters=m,
                         space="label-network" + ("+features" if space == "both" else ""))
                members.append(b)
            return members[0] if len(members) == 1 else dict(members[0], members=members)

        return solve

    def _distill_sample(self, c: dict, train_pos: np.ndarray, take: Any, seed: int,
                        proba: np.ndarray | None = None) -> tuple:
        """Up to ``_DISTILL_ROWS`` training samples and candidate ``c``'s pooled posterior
        of them (the first refinement round's starting head is fitted to it).

        ``take(pos)`` reads the samples; ``proba``, p(d|x) of every row, where the fit
        holds it (the candidate's clusters are then its fitted labels); streamed, both
        are computed for the sample alone."""
        pos = np.sort(check_random_state(seed).choice(
            train_pos, min(len(train_pos), _DISTILL_ROWS), replace=False))
        X_sub = take(pos)
        if proba is not None:
            pdx = proba[pos]
            tokens = [b["discretizer"].labels_[pos] for b in _members(c)]
        else:
            pdx = self.discriminator_.predict_proba(X_sub)
            tokens = [b["discretizer"].predict(None, pdx) for b in _members(c)]
        return X_sub, self._posterior_from(c, pdx, tokens, None, c["posterior"])

    def _refine(self, first: dict, disc: Any, train: tuple, stop: tuple,
                choice: tuple | None, n_rounds: int, s_sol: int, solve_round: Any,
                distill: tuple) -> None:
        """Label-network rounds (see ``refine_rounds`` and :mod:`lls_topics.continuous.relabel`).

        ``train``, ``stop``: (features, domain rows) the label networks train and
        early-stop on; ``choice``: the held-out rows that judge each round (or None);
        ``solve_round(net, seed)``: a round's clustering and solve (in memory or
        streamed), returning the candidate's solver state; ``distill``: some training
        samples and the first-pass model's pooled posterior of them.

        One label network goes through the rounds: the first starts from the
        discriminator's body with a head fitted to reproduce the first pass's
        posterior, each later round continues the one before through the p(d|y) it
        solved. Against rounds that each restart from the discriminator (the
        previous default) at the same epoch budget, on the development quick grid (3
        seeds, medians): mnist1d 0.473 -> 0.498, man pages 0.594 -> 0.637, digits
        0.809 -> 0.809, procedural 0.691 -> 0.679 mean accuracy. With ``"auto"`` and
        held-out rows, rounds past the planned ones follow
        :func:`~lls_topics.continuous.policy.another_round`."""
        from .adjust import domain_given_label
        from .policy import another_round, keep_round, refine_epoch_budget, round_weight
        from .relabel import fit_label_network, label_proba

        auto = self.refine_rounds == "auto"
        # epochs of all planned rounds together (None: no budget)
        budget = refine_epoch_budget(disc.n_epochs_) if auto else None
        (X_tr, r_tr), (X_st, r_st) = train, stop
        # past the planned rounds, more run while policy.another_round says so: each
        # with a planned round's epochs, all within the discriminator's epochs
        more = auto and choice is not None
        cap0 = None if budget is None else -(-budget // n_rounds)
        rng = check_random_state(s_sol)
        current = prev = first  # the model kept so far; the last round's
        spent, r, kept = 0, 0, False  # label-network epochs so far; rounds run
        while True:
            r += 1
            if r <= n_rounds:
                left = None if budget is None else budget - spent
                if left is not None and left < 1:
                    break
                # what is left is shared evenly by the planned rounds still to run
                cap = None if left is None else -(-left // (n_rounds - r + 1))
            else:
                if not (more and another_round(first["loglik"], before["loglik"],
                                               prev["loglik"], kept, spent,
                                               disc.n_epochs_)):
                    break
                cap = min(cap0, int(disc.n_epochs_) - spent)
                if cap < 1:
                    break
            seed = int(rng.integers(0, 2**31 - 1))
            t0 = time.perf_counter()
            M = domain_given_label(prev["domain_topic"], self.domain_sizes_)[0]
            net = fit_label_network(disc, M, X_tr, r_tr, X_st, r_st,
                                    patience=_REFINE_PATIENCE, max_epochs=cap,
                                    init_network=prev["network"],
                                    distill_from=distill if prev["network"] is None else None,
                                    random_state=seed, verbose=self.verbose)
            spent += int(net.n_epochs_)
            cand = solve_round(net, seed)
            # the solve's labels come in their own order: put them in the order of the
            # label network's outputs (those of the p(d|y) it was trained through)
            members = _members(cand)
            for b in members:
                order = align_labels(prev["domain_topic"], b["domain_topic"])
                b.update(domain_topic=b["domain_topic"][:, order],
                         cluster_topic=b["cluster_topic"][order], order=order)
            # a bagged round predicts with its members' mean p_d(y) (rows sum to 1)
            cand = dict(members[0], members=members if len(members) > 1 else [],
                        domain_topic=np.mean([b["domain_topic"] for b in members], axis=0))
            cand.update(network=net, round=r,
                        posterior="network" if self.posterior == "auto" else self.posterior,
                        epochs=int(net.n_epochs_))
            kept = True
            if choice is not None:
                cand["loglik"] = self._heldout_loglik(
                    cand, label_proba(net, X_st), label_proba(net, choice[0]), r_st,
                    choice[1])
                kept = not auto or keep_round(current["loglik"], cand["loglik"])
            cand["seconds"] = time.perf_counter() - t0
            self.rounds_.append(self._round_record(cand, kept, current))
            self.refine_history_.append({
                "clusters": int(cand["n_clusters"]), "network_epochs": int(net.n_epochs_),
                "log_likelihood": float(cand["solver"].log_likelihood_),
                "prior_change_l1": prior_l1(prev["domain_topic"], cand["domain_topic"],
                                            per_entry=True)})
            before, prev = prev, cand
            if kept:
                for rec in self.rounds_[:-1]:
                    rec["kept"] = False
                current = cand
                self.n_rounds_ = r
        self._set_state(current)
        if current is not first:
            self.space_ = current["space"]
            self.posterior_ = current["posterior"]
            if auto and choice is not None and self.posterior_ == "network" and \
                    round_weight(first["loglik"], current["loglik"]) < 1.0:
                # the held-out rows cannot tell the round from the first pass: both
                # predict (see policy.round_weight)
                self.ensemble_weight_ = 0.5
                self.first_pass_ = {key: first[key] for key in (
                    "discretizer", "solver", "domain_topic", "order", "posterior",
                    "space")}
                if first.get("members"):
                    self.first_pass_["members"] = _member_states(first["members"])

    # ------------------------------------------------------------------ predict
    @bounded_threads(_work)
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
            out = self._network_posterior(X, domains)
            w = float(getattr(self, "ensemble_weight_", 1.0))
            if w < 1.0:
                c = self.first_pass_
                pdx = self.discriminator_.predict_proba(X)
                first = self._model_posterior(c, c["space"], X, pdx, pdx, domains,
                                              c["posterior"])
                out = _geometric_mean(out, first, w)
            return out
        pdx = self.discriminator_.predict_proba(X)
        if self.posterior_ == "adjust":
            return self._adjusted(pdx, domains)
        coords = pdx
        if self.label_network_ is not None:
            from .relabel import label_proba

            coords = label_proba(self.label_network_, X)
        state = {"discretizer": self.discretizer_, "solver": self.solver_,
                 "domain_topic": self.domain_topic_, "order": self.solver_label_order_,
                 "members": getattr(self, "bag_", [])}
        return self._model_posterior(state, self.space_, X, coords, pdx, domains,
                                     self.posterior_)

    def _model_posterior(self, c: dict, space: str, X: Any, coords: np.ndarray,
                         pdx: np.ndarray, domains: Any, posterior: str) -> np.ndarray:
        """:meth:`_posterior_from` of model ``c`` on new samples: their clusters in
        ``space`` (features beside ``coords`` where the space has them) and domains."""
        feats = X if space not in ("discriminator", "label-network") else None
        tokens = [b["discretizer"].predict(feats, coords) for b in _members(c)]
        rows = None if domains is None else self._rows(domains, pdx.shape[0])
        return self._posterior_from(c, pdx, tokens, rows, posterior)

    def _posterior_from(self, c: dict, pdx: np.ndarray, tokens: list,
                        rows: np.ndarray | None, posterior: str) -> np.ndarray:
        """A first-pass posterior ("adjust", "clusters" or "combined") of a candidate
        model ``c``; ``tokens``: the samples' cluster ids under each of ``c``'s
        clusterings (:func:`_members`); p_d(y|x) for domain rows ``rows``, pooled
        p(y|x) without. Shape (n_samples, n_topics); rows sum to 1."""
        by_adjust = None
        if posterior in ("adjust", "combined"):
            by_adjust = self._adjusted_with(c["domain_topic"], pdx, rows)
            if posterior == "adjust":
                return by_adjust
        # the solver's domains are our rows 0..D-1; a bagged model averages its members'
        # cluster posteriors
        by_cluster = np.mean([b["solver"].predict_proba(t, rows)[:, b["order"]]
                              for b, t in zip(_members(c), tokens)], axis=0)
        if posterior == "clusters":
            return by_cluster
        return _geometric_mean(by_cluster, by_adjust)

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
        rows = None if domains is None else self._rows(domains, pdx.shape[0])
        return self._adjusted_with(self.domain_topic_, pdx, rows)

    def _adjusted_with(self, P: np.ndarray, pdx: np.ndarray,
                       rows: np.ndarray | None) -> np.ndarray:
        if rows is None:
            Y = label_posterior(pdx, P, self.domain_sizes_, method=self.adjust,
                                max_iter=_ADJUST_ITER, tol=_ADJUST_TOL)
            if self.adjust == "pinv-uniform":
                Y = normalize_rows(np.clip(Y, 0.0, None))
            return Y
        return adjust_posterior(pdx, P, self.domain_sizes_, rows, method=self.adjust,
                                max_iter=_ADJUST_ITER, tol=_ADJUST_TOL)

    def _rows(self, domains: Any, n: int) -> np.ndarray:
        return sample_rows(domains, row_lookup(self.domain_ids_), n, "X")

    def predict(self, X: Any, domains: Any = None) -> np.ndarray:
        """Most probable label of each sample, shape (n_samples,)."""
        return np.argmax(self.predict_proba(X, domains), axis=1)

    def pooled_prior(self) -> np.ndarray:
        """p(y) under the pooled training mix, shape (n_topics,); sums to 1."""
        check_is_fitted(self, "domain_topic_")
        return pooled_prior(self.domain_topic_, self.domain_sizes_)
