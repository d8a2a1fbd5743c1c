"""A torch domain discriminator: a classifier of p(d|x), the first step of DDFA.

Any ``torch.nn.Module`` that maps a batch of inputs to one logit per class can be
plugged in (a CNN for images, say); by default a small MLP on the flattened
features is used. The same class also trains ordinary classifiers (pass labels as
``domains``), which the benchmarks use for the supervised oracle.
"""
from __future__ import annotations

import copy
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .._params import (BOOL, RANDOM_STATE, Interval, LazyInstanceOf, Options, check_param,
                       validate_params)
from .._validation import check_features, check_random_state, check_same_length
from ..corpus import encode_domains, map_domain_ids, row_lookup
from ..persistence import SaveLoadMixin
from ..threads import N_JOBS, bounded_threads
from .distributed import DISTRIBUTED

__all__ = ["DomainDiscriminator", "check_inputs", "resolve_device", "batch_work"]


#: what a ``device`` parameter may be (its value is checked by :func:`resolve_device`)
DEVICE = [None, str, LazyInstanceOf("torch", "device")]


def resolve_device(device: Any) -> Any:
    """``"auto"`` -> CUDA when available, else CPU; anything else goes to ``torch.device``."""
    import torch

    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or a torch.device, got "
                         f"{device!r}: {exc}") from None


def _is_dataset(X: Any) -> bool:
    try:
        from torch.utils.data import Dataset
    except ImportError:  # pragma: no cover
        return False
    return isinstance(X, Dataset)


def check_inputs(X: Any, name: str = "X") -> Any:
    """Validate DDFA inputs: a finite numeric array of shape (n_samples, ...) (returned as
    float32) or a non-empty map-style torch Dataset (returned as is).

    Raises
    ------
    ValueError
        Naming ``name`` and what was expected.
    """
    from .streaming import RowView

    # a RowView holds rows of a memmap that check_memmap validated
    view = isinstance(X, RowView)
    if view or _is_dataset(X):
        if not view and not hasattr(X, "__len__"):
            raise ValueError(f"{name} must be a map-style torch Dataset with __len__")
        if len(X) == 0:
            raise ValueError(f"{name} is empty; expected at least one sample")
        return X
    if isinstance(X, np.memmap):
        from .streaming import check_memmap

        # validated block by block and read a batch at a time: never copied whole
        return check_memmap(X, name)
    return check_features(X, name)


def batch_work(discriminator: Any, X: Any) -> float | None:
    """Multiply-adds of one forward pass over a batch: the network's weights (or, before
    fit with the default MLP, its layer widths for ``X``) times ``batch_size``; None
    when unknown. Sets the default thread count (:mod:`lls_topics.threads`)."""
    model = getattr(discriminator, "model_", None)
    if model is None:
        model = discriminator.model
    if model is not None:
        return float(sum(p.numel() for p in model.parameters())) * discriminator.batch_size
    if X is None:
        return None
    hidden = discriminator.hidden
    widths = [DomainDiscriminator._n_features(X)] + list(
        hidden if isinstance(hidden, (tuple, list)) else (hidden,))
    return float(sum(a * b for a, b in zip(widths, widths[1:]))) * discriminator.batch_size


def _work(self: Any, X: Any = None, *args: Any, **kwargs: Any) -> float | None:
    return batch_work(self, X)


class DomainDiscriminator(SaveLoadMixin, BaseEstimator):
    """Classifier of the domain of each sample, p(d|x), trained with torch.

    Parameters
    ----------
    model : torch.nn.Module, optional
        Maps a batch of inputs to ``n_domains`` logits. It is deep-copied at fit, so
        the object passed here keeps its initial weights and refits are repeatable.
        By default, an MLP on the flattened features with ReLU and dropout.
    hidden : tuple of int, default=(256, 256)
        Hidden widths of the default MLP.
    epochs : int, default=100
        Maximum passes over the training data.
    lr : float, default=1e-3
        Adam learning rate.
    batch_size : int, default=128
    weight_decay : float, default=1e-4
        Adam's L2 penalty.
    validation_fraction : float, default=0.2
        Share of the data held out for early stopping and temperature calibration
        when no explicit validation data is passed to :meth:`fit`. ``0`` trains for
        all ``epochs`` and skips calibration.
    patience : int, default=10
        Stop after this many epochs without a lower validation loss; the weights of
        the best epoch are kept.
    dropout : float, default=0.1
        Dropout rate of the default MLP.
    calibrate : bool, default=True
        Fit a temperature on the validation split so that ``predict_proba`` is
        calibrated (the adjust step of DDFA relies on calibrated p(d|x)).
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
    n_jobs : int or None, default=None
        CPU threads for training and prediction (torch and BLAS; bounded during the
        call and restored afterwards). None: chosen from the network's size (one
        thread for small networks such as the default MLP on tabular features, never
        more than the idle cores; see :mod:`lls_topics.threads`); -1: all cores.
    random_state : int, Generator or None
        Seeds weight initialization (default MLP), dropout, the validation split and
        batch order through ``torch.Generator`` objects; CPU results are deterministic
        for a seed.
    verbose : bool, default=True
        Show a tqdm bar with the losses.
    distributed : {"auto", True, False}, default="auto"
        Train with ``torch.distributed`` (``DistributedDataParallel``, each rank on its
        ``DistributedSampler`` share of every epoch; gloo on CPU, nccl on GPU) when
        launched by ``torchrun`` with several processes (``"auto"``); ``True`` requires
        torchrun. Every rank must call :meth:`fit` with the same data and seed.

    Attributes
    ----------
    model_ : torch.nn.Module
        The trained network (in eval mode), holding the best-validation weights.
    classes_ : ndarray of shape (n_classes,)
        The distinct domain ids, in column order of :meth:`predict_proba`.
    class_counts_ : ndarray of shape (n_classes,)
        Training samples per class (the prior p(d) the network has learned).
    temperature_ : float
        Logits are divided by this before the softmax (1 without calibration).
    n_epochs_ : int
        Epochs run.
    validation_indices_ : ndarray of int or None
        Positions in ``X`` held out by ``validation_fraction`` (None when ``X_val`` was
        given or nothing was held out).
    best_epoch_ : int
    history_ : dict of lists
        ``train_loss`` and ``val_loss`` per epoch.

    Examples
    --------
    >>> from lls_topics import DomainDiscriminator
    >>> rng = np.random.default_rng(0)
    >>> domains = rng.integers(0, 2, 200)
    >>> X = rng.normal(size=(200, 2)) + 3 * domains[:, None]   # the domains are separable
    >>> disc = DomainDiscriminator(hidden=(16,), epochs=30, random_state=0, verbose=False)
    >>> proba = disc.fit(X, domains).predict_proba(X)
    >>> proba.shape, bool(np.allclose(proba.sum(axis=1), 1))
    ((200, 2), True)
    >>> float((proba.argmax(axis=1) == domains).mean()) > 0.8
    True
    """

    def __init__(self, model: Any = None, *, hidden: tuple[int, ...] = (256, 256),
                 epochs: int = 100, lr: float = 1e-3, batch_size: int = 128,
                 weight_decay: float = 1e-4, validation_fraction: float = 0.2,
                 patience: int = 10, dropout: float = 0.1, calibrate: bool = True,
                 device: Any = "auto", n_jobs: int | None = None, random_state: Any = None,
                 verbose: bool = True, distributed: Any = "auto"):
        self.model = model
        self.hidden = hidden
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.dropout = dropout
        self.calibrate = calibrate
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.distributed = distributed

    # ------------------------------------------------------------------ validation
    _param_constraints = {
        "model": [None, LazyInstanceOf("torch.nn", "Module")],
        "hidden": [Interval(Integral, 1, None), tuple, list],
        "epochs": [Interval(Integral, 1, None)],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None)],
        "weight_decay": [Interval(Real, 0, None)],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "patience": [Interval(Integral, 1, None)],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "calibrate": BOOL,
        "device": DEVICE,
        "n_jobs": N_JOBS,
        "random_state": RANDOM_STATE,
        "verbose": BOOL,
        "distributed": [Options(DISTRIBUTED)],
    }

    def _check_params(self) -> None:
        validate_params(self)
        if isinstance(self.hidden, (tuple, list)):
            for h in self.hidden:
                check_param(h, "each entry of hidden", [Interval(Integral, 1, None)])

    # ---------------------------------------------------------------------- fit
    @bounded_threads(_work)
    def fit(self, X: Any, domains: Any, X_val: Any = None, d_val: Any = None
            ) -> "DomainDiscriminator":
        """Train the network to predict each sample's domain.

        Parameters
        ----------
        X : ndarray of shape (n_samples, ...) or torch Dataset
            Features; a Dataset may return ``x`` or a tuple whose first item is ``x``.
        domains : array-like of shape (n_samples,)
            Domain id of each sample (any hashable ids).
        X_val, d_val : optional
            Explicit validation data for early stopping and calibration; when omitted,
            ``validation_fraction`` of ``X`` is held out at random.

        Returns
        -------
        self
        """
        import torch

        self._check_params()
        X = check_inputs(X, "X")
        check_same_length(X, domains, "X", "domains")
        classes, y = encode_domains(domains, "domains")
        if len(classes) < 2:
            raise ValueError(f"domains must hold at least 2 distinct ids, got {len(classes)}")
        if (X_val is None) != (d_val is None):
            raise ValueError("X_val and d_val must be given together")
        rng = check_random_state(self.random_state)
        seed = int(rng.integers(0, 2**62))
        if X_val is not None:
            X_val = check_inputs(X_val, "X_val")
            check_same_length(X_val, d_val, "X_val", "d_val")
            y_val = map_domain_ids(d_val, row_lookup(classes), "d_val")
            train_idx = np.arange(len(y))
            val_idx = None
            sources = (X, X_val)
        else:
            n = len(y)
            n_val = int(round(self.validation_fraction * n))
            if self.validation_fraction > 0 and (n_val < 1 or n - n_val < 1):
                raise ValueError(f"validation_fraction={self.validation_fraction} leaves an "
                                 f"empty split of {n} samples")
            perm = rng.permutation(n)
            train_idx, val_idx = np.sort(perm[n_val:]), np.sort(perm[:n_val])
            y_val = y[val_idx] if n_val else None
            sources = (X, None)
        # positions of X held out for early stopping (None with explicit X_val or no
        # split): DDFA measures held-out domain information on them
        self.validation_indices_ = val_idx if val_idx is None or len(val_idx) else None
        self.classes_ = classes
        self.n_classes_ = len(classes)
        # remembered so predict can reject arrays of another shape before torch does
        self.input_shape_ = list(X.shape[1:]) if isinstance(X, np.ndarray) else None
        self.class_counts_ = np.bincount(y[train_idx], minlength=len(classes)).astype(float)
        dev = resolve_device(self.device)
        ddp = None
        from .distributed import DDPContext, local_device, use_distributed

        if use_distributed(self.distributed):
            dev = local_device(dev)
            ddp = DDPContext(dev, len(train_idx), seed)
        self.device_ = dev

        if self.model is None:
            n_in = self._n_features(X)
            hidden = self.hidden if isinstance(self.hidden, (tuple, list)) else (self.hidden,)
            from .nets import MLP

            model = MLP(n_in, tuple(hidden), len(classes), self.dropout,
                        generator=torch.Generator().manual_seed(seed))
            custom = False
        else:
            model = copy.deepcopy(self.model)
            custom = True
        model.to(dev)

        train = self._as_source(sources[0], train_idx, y[train_idx])
        if X_val is not None:
            val = self._as_source(X_val, np.arange(len(y_val)), y_val)
        elif y_val is not None:
            val = self._as_source(X, val_idx, y_val)
        else:
            val = None
        if custom:
            # a user's module draws dropout masks from torch's global RNG: run training
            # in a forked RNG state seeded from our generator, so it is reproducible and
            # the caller's global state is left untouched
            devices = [dev.index or 0] if dev.type == "cuda" else []
            with torch.random.fork_rng(devices=devices):
                torch.random.default_generator.manual_seed(seed % (2**63))
                if dev.type == "cuda":
                    torch.cuda.manual_seed(seed % (2**63))
                self._train(model, train, val, dev, seed, ddp)
        else:
            self._train(model, train, val, dev, seed, ddp)
        model.eval()
        self.model_ = model
        self.temperature_ = 1.0
        if val is not None and self.calibrate:
            self.temperature_ = self._fit_temperature(self._logits_source(val), val[1])
        return self

    @staticmethod
    def _n_features(X: Any) -> int:
        if isinstance(X, np.ndarray) or hasattr(X, "take"):
            return int(np.prod(X.shape[1:]))
        x0 = X[0]
        if isinstance(x0, (tuple, list)):
            x0 = x0[0]
        return int(np.prod(np.shape(np.asarray(x0))))

    @staticmethod
    def _as_source(X: Any, idx: np.ndarray, y: np.ndarray) -> tuple:
        """(features or Dataset view, labels) for one split."""
        from .streaming import RowView

        if isinstance(X, np.memmap):
            return (RowView(X, idx), np.asarray(y, dtype=np.int64))
        if isinstance(X, RowView):
            return (X.subset(idx), np.asarray(y, dtype=np.int64))
        if isinstance(X, np.ndarray):
            return (X[idx], np.asarray(y, dtype=np.int64))
        return (_Subset(X, idx), np.asarray(y, dtype=np.int64))

    def _batches(self, src: tuple, dev: Any, order: Any = None):
        from .nets import iter_batches

        return iter_batches(src, dev, int(self.batch_size), order)

    def _train(self, model: Any, train: tuple, val: tuple | None, dev: Any, seed: int,
               ddp: Any = None) -> None:
        import torch
        import torch.nn.functional as F

        gen_cpu = torch.Generator().manual_seed(seed)
        if dev.type == "cuda":
            gen_dev = torch.Generator(device=dev).manual_seed(seed)
        else:
            gen_dev = gen_cpu
        if ddp is not None:
            # each rank draws its own dropout masks (its batches differ anyway)
            gen_dev = torch.Generator(device=dev).manual_seed(seed + 7919 * ddp.rank)
        from .nets import GeneratorDropout

        drops = [m for m in model.modules() if isinstance(m, GeneratorDropout)]
        for m in drops:
            m.generator = gen_dev
        # gradients go through DDP's all-reduce; evaluation uses the bare model, alone
        net = model if ddp is None else ddp.wrap(model)
        opt = torch.optim.Adam(net.parameters(), lr=float(self.lr),
                               weight_decay=float(self.weight_decay))
        y_tr = torch.from_numpy(train[1]).to(dev)
        n = len(train[1])
        history: dict[str, list] = {"train_loss": [], "val_loss": []}
        best, best_state, best_epoch, stale = np.inf, None, 0, 0
        bar = None
        epochs = int(self.epochs)
        if self.verbose and (ddp is None or ddp.rank == 0):
            from tqdm.auto import tqdm

            bar = tqdm(total=epochs, desc="discriminator", leave=False)
        try:
            for epoch in range(epochs):
                model.train()
                order = torch.randperm(n, generator=gen_cpu).numpy() if ddp is None \
                    else ddp.epoch_positions(epoch)
                total = 0.0
                for xb, pos in self._batches(train, dev, order):
                    logits = net(xb)
                    if logits.ndim != 2 or logits.shape[1] != self.n_classes_:
                        raise ValueError(f"model must map a batch to {self.n_classes_} "
                                         "logits (one per domain), got output shape "
                                         f"{tuple(logits.shape)}")
                    loss = F.cross_entropy(logits, y_tr[torch.from_numpy(pos).to(dev)])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    total += float(loss.detach()) * len(pos)
                history["train_loss"].append(total / len(order))
                if val is not None:
                    vl = self._nll(self._logits_source(val, model, dev), val[1], 1.0)
                    if ddp is not None:  # rank 0's loss decides, so all ranks stop together
                        vl = ddp.agree(vl)
                    history["val_loss"].append(vl)
                    if vl < best - 1e-6:
                        best, best_epoch, stale = vl, epoch, 0
                        best_state = {k: v.detach().clone() for k, v in
                                      model.state_dict().items()}
                    else:
                        stale += 1
                if bar is not None:
                    bar.update(1)
                    post = {"loss": f"{history['train_loss'][-1]:.4f}"}
                    if val is not None:
                        post["val"] = f"{history['val_loss'][-1]:.4f}"
                    bar.set_postfix(post)
                if val is not None and stale >= int(self.patience):
                    break
        finally:
            if bar is not None:
                bar.close()
            for m in drops:
                m.generator = None  # generators do not survive pickling
        if best_state is not None:
            model.load_state_dict(best_state)
        self.n_epochs_ = len(history["train_loss"])
        self.best_epoch_ = best_epoch if val is not None else self.n_epochs_ - 1
        self.history_ = history

    def _logits_source(self, src: tuple, model: Any = None, dev: Any = None) -> np.ndarray:
        import torch

        model = self.model_ if model is None else model
        dev = self.device_ if dev is None else dev
        was_training = model.training
        model.eval()
        out = []
        with torch.no_grad():
            for xb, _ in self._batches(src, dev):
                out.append(model(xb).double().cpu().numpy())
        if was_training:
            model.train()
        n_cls = self.n_classes_
        logits = np.concatenate(out) if out else np.zeros((0, n_cls))
        if logits.ndim != 2 or logits.shape[1] != n_cls:
            raise ValueError(f"model must map a batch to {n_cls} logits (one per domain), "
                             f"got output shape {logits.shape}")
        return logits

    @staticmethod
    def _nll(logits: np.ndarray, y: np.ndarray, T: float) -> float:
        z = logits / T
        z = z - z.max(axis=1, keepdims=True)
        lse = np.log(np.exp(z).sum(axis=1))
        return float(np.mean(lse - z[np.arange(len(y)), y]))

    def _fit_temperature(self, logits: np.ndarray, y: np.ndarray) -> float:
        from scipy.optimize import minimize_scalar

        res = minimize_scalar(lambda t: self._nll(logits, y, float(np.exp(t))),
                              bounds=(np.log(0.05), np.log(20.0)), method="bounded",
                              options={"xatol": 1e-4})
        T = float(np.exp(res.x))
        # keep T = 1 unless calibration actually helps on the validation split
        return T if self._nll(logits, y, T) < self._nll(logits, y, 1.0) else 1.0

    def _make_module(self, name: str, state: dict, objects: dict | None = None) -> Any:
        """Rebuild the default network's architecture at load (see lls_topics.persistence);
        a label network on a custom module is rebuilt on the module passed to the loader
        as ``objects={"model": ...}`` (the discriminator's)."""
        if name != "model_" or self.model is not None:
            return None
        from .nets import module_from_state

        return module_from_state(state, self.dropout, (objects or {}).get("model"))

    def _load_extra(self, directory: Any) -> None:
        """After loading: put the network (restored on the CPU) back on the device it was
        fitted on, or on the CPU where that device is missing (a CUDA model read on a
        machine without a GPU)."""
        import torch

        dev = getattr(self, "device_", None)
        dev = torch.device("cpu") if dev is None else torch.device(dev)
        if dev.type == "cuda" and not torch.cuda.is_available():
            dev = torch.device("cpu")
        self.device_ = dev
        if getattr(self, "model_", None) is not None:
            self.model_.to(dev)

    # ------------------------------------------------------------------ predict
    @bounded_threads(_work)
    def decision_function(self, X: Any) -> np.ndarray:
        """Calibrated logits (divided by ``temperature_``), shape (n_samples, n_classes)."""
        return self._logits_source(self.batch_source(X)) / self.temperature_

    def batch_source(self, X: Any) -> tuple:
        """Check X against the fitted input shape; return it as a batch source for
        :func:`lls_topics.continuous.nets.iter_batches`."""
        check_is_fitted(self, "model_")
        X = check_inputs(X, "X")
        expected = getattr(self, "input_shape_", None)
        if expected is not None and isinstance(X, np.ndarray) and \
                list(X.shape[1:]) != list(expected):
            raise ValueError(f"X has samples of shape {tuple(X.shape[1:])}, expected "
                             f"{tuple(expected)} as at fit")
        n = len(X)
        return self._as_source(X, np.arange(n), np.zeros(n, dtype=np.int64))

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """log p(d|x), shape (n_samples, n_classes)."""
        z = self.decision_function(X)
        z = z - z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    def predict_proba(self, X: Any) -> np.ndarray:
        """p(d|x), computed in batches.

        Parameters
        ----------
        X : ndarray of shape (n_samples, ...) or torch Dataset

        Returns
        -------
        ndarray of shape (n_samples, n_classes); rows sum to 1, columns follow
        ``classes_``.
        """
        P = np.exp(self.predict_log_proba(X))
        return P / P.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """Most probable domain id of each sample, shape (n_samples,)."""
        return self.classes_[np.argmax(self.decision_function(X), axis=1)]

    def score(self, X: Any, domains: Any) -> float:
        """Accuracy of :meth:`predict` against ``domains``."""
        check_same_length(X, domains, "X", "domains")
        return float(np.mean(self.predict(X) == np.asarray(domains)))


class _Subset:
    """A view of a Dataset on given positions (torch's Subset, without the import)."""

    def __init__(self, ds: Any, idx: np.ndarray) -> None:
        self.ds, self.idx = ds, np.asarray(idx)

    def __len__(self) -> int:
        return len(self.idx)

    def __getitem__(self, i: int) -> Any:
        return self.ds[int(self.idx[i])]
