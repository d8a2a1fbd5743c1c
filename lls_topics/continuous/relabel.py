"""Label networks trained on domain labels through p(d|y): DDFA's refinement rounds.

Under latent label shift ``p(d|x) = sum_y p(y|x) p(d|y)``. Given an estimate of
p(d|y), a network with k outputs ``g(x) = p(y|x)`` can be trained on the *domain* labels
with the forward-corrected cross-entropy ``-log (g(x) @ p(d|y).T)[d]`` (Patrini et al.,
2017): the loss of a classifier whose labels are seen through a known noise matrix.

Why: the domain discriminator's outputs are blurred (a 20-way classifier on noisy
targets early-stops weak), so clusters of p(d|x) are impure and the topic solver's
p_d(y) is shrunk. A network with a k-way bottleneck, trained through the estimated
p(d|y), commits each sample to a label; clusters of its outputs are purer, so the
solver's next p_d(y) is sharper. On mnist1d (alpha=0.5, r=20, medians of 3 seeds;
``benchmarks/continuous.py --refine-rounds 3``) three rounds, scored with the label
network's own posterior, raised the matched accuracy from 0.615 to 0.690 and cut L1(P)
per entry from 0.073 to 0.058; through the *true* p(d|y) the same kind of fine-tuning reaches
0.916 (``benchmarks/ddfa_ceiling.py``; the supervised oracle: 0.934), so the estimate
of p(d|y) is what limits the pipeline.

DDFA runs rounds by default (``refine_rounds="auto"``): one label network goes through
them within an epoch budget (the first round starts from the discriminator's body with
a head distilled from the first pass's posterior, :func:`distill_head`; each later
round continues it through the p(d|y) that the round before solved), and a round's
model is kept unless the held-out domain likelihood says the model kept so far is
better (see :mod:`lls_topics.continuous.policy`); more rounds follow while the held-out
rows say the rounds beat the first pass and still climb
(:func:`lls_topics.continuous.policy.another_round`). The label network's logits get a
temperature fitted on its early-stopping rows (``label_temperature_``): a network
stopped early is overconfident.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["fit_label_network", "label_proba", "distill_head"]


def _label_body(model: Any, n_domains: int, n_topics: int, dropout: float, seed: int) -> Any:
    """A copy of the discriminator's network with k outputs instead of D.

    The default MLP keeps its hidden layers (so the round starts from what the
    discriminator learned) under a new output layer; any other module gets a linear
    layer from its D logits to k.
    """
    import torch
    from torch import nn

    from .nets import MLP

    if isinstance(model, MLP) and isinstance(model[-1], nn.Linear):
        linears = [m for m in model if isinstance(m, nn.Linear)]
        body = MLP(linears[0].in_features, tuple(m.out_features for m in linears[:-1]),
                   n_topics, dropout, generator=torch.Generator().manual_seed(seed))
        state = {k: v for k, v in model.state_dict().items()
                 if not k.startswith(f"{len(model) - 1}.")}
        body.load_state_dict(state, strict=False)
        head = body[-1]
    else:
        import copy

        # nn.Linear's default init draws from torch's global RNG: leave it untouched
        with torch.random.fork_rng(devices=[]):
            head = nn.Linear(n_domains, n_topics)
        body = nn.Sequential(copy.deepcopy(model), head)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        # small weights: the round starts near uniform p(y|x), so the early gradient
        # is driven by p(d|y), not by an arbitrary random head
        bound = 0.1 / np.sqrt(head.in_features)
        nn.init.uniform_(head.weight, -bound, bound, generator=gen)
        head.bias.zero_()
    return body.to(next(iter(model.parameters())).device)


def _head_inputs(body: Any, head: Any, src: tuple, batch_size: int) -> np.ndarray:
    """What ``body`` feeds its layer ``head`` for every sample of a batch source (see
    :func:`lls_topics.continuous.nets.iter_batches`), in eval mode, as float64.

    Returns
    -------
    ndarray of shape (n_samples, head.in_features)
    """
    import torch

    from .nets import iter_batches

    got: list = []
    hook = head.register_forward_hook(lambda mod, inp, out: got.append(
        inp[0].detach().double().cpu().numpy()))
    was_training = body.training
    body.eval()
    dev = next(iter(body.parameters())).device
    try:
        with torch.no_grad():
            for xb, _ in iter_batches(src, dev, int(batch_size)):
                body(xb)
    finally:
        hook.remove()
        body.train(was_training)
    return np.concatenate(got)


def distill_head(H: np.ndarray, posterior: np.ndarray, ridge: float = 1e-3
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Weights and bias of a linear head whose softmax reproduces ``posterior`` on ``H``.

    Ridge regression of the centred log-posterior on the head's inputs: a closed form,
    one solve of the size of the hidden layer.

    Parameters
    ----------
    H : ndarray of shape (n_samples, n_hidden)
        The head's inputs.
    posterior : ndarray of shape (n_samples, n_topics)
        Rows sum to 1; logs are floored at log(1e-4) so that exact zeros stay finite.
    ridge : float, default=1e-3
        Penalty as a share of the mean diagonal of the centred ``H.T @ H``.

    Returns
    -------
    weight : ndarray of shape (n_topics, n_hidden)
    bias : ndarray of shape (n_topics,)

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> H = rng.normal(size=(200, 5))
    >>> z = H @ rng.normal(size=(5, 3))
    >>> Q = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    >>> W, b = distill_head(H, Q)
    >>> fit = H @ W.T + b
    >>> bool(np.all(fit.argmax(axis=1) == Q.argmax(axis=1)))
    True
    """
    H = np.asarray(H, dtype=np.float64)
    Q = np.asarray(posterior, dtype=np.float64)
    if H.ndim != 2 or Q.ndim != 2 or len(H) != len(Q) or len(H) == 0:
        raise ValueError(f"H (n, h) and posterior (n, k) must have the same n >= 1 rows, "
                         f"got shapes {H.shape} and {Q.shape}")
    if not np.all(np.isfinite(Q)) or np.any(Q < 0):
        raise ValueError("posterior must be finite and non-negative")
    if not ridge > 0:
        raise ValueError(f"ridge must be > 0, got {ridge!r}")
    Z = np.log(np.maximum(Q, 1e-4))
    Z -= Z.mean(axis=1, keepdims=True)
    mu_h, mu_z = H.mean(axis=0), Z.mean(axis=0)
    Hc = H - mu_h
    G = Hc.T @ Hc
    lam = float(ridge) * max(float(np.trace(G)) / max(G.shape[0], 1), 1e-12)
    W = np.linalg.solve(G + lam * np.eye(G.shape[0]), Hc.T @ (Z - mu_z))
    return W.T, mu_z - mu_h @ W


def fit_label_network(discriminator: Any, domain_given_label: np.ndarray, X: Any,
                      rows: np.ndarray, X_val: Any = None, rows_val: np.ndarray | None = None,
                      *, patience: int | None = None, max_epochs: int | None = None,
                      init_network: Any = None, distill_from: tuple | None = None,
                      random_state: int = 0, verbose: bool = False) -> Any:
    """Fine-tune a copy of a trained discriminator into a k-way label network.

    Parameters
    ----------
    discriminator : fitted DomainDiscriminator
        Its network and training settings (epochs, learning rate, batch size,
        patience, device) are reused.
    domain_given_label : ndarray of shape (n_domains, n_topics)
        p(d|y); columns sum to 1 (see :func:`lls_topics.continuous.adjust.domain_given_label`).
    X, rows : training features and their domains' rows ``0..D-1``.
    X_val, rows_val : optional validation data for early stopping.
    patience : int, optional
        Early-stopping patience (default: the discriminator's).
    max_epochs : int, optional
        At most this many epochs (default: the discriminator's ``epochs``); DDFA
        passes its share of the refinement epoch budget.
    init_network : fit_label_network result, optional
        Continue training this label network (same k) instead of starting from the
        discriminator: DDFA's later rounds go on from the round before.
    distill_from : (X_sub, posterior), optional
        Some training samples and a label posterior of them (shape (len(X_sub), k), rows
        sum to 1): the new k-way head starts as the ridge fit that reproduces it
        (:func:`distill_head`), so the network starts at the model it is to improve
        and the domain labels move it only as far as they carry evidence. Default: a
        head near zero (uniform p(y|x)). Not with ``init_network``.
    random_state : int
    verbose : bool
        Show the training bar.

    Returns
    -------
    DomainDiscriminator
        Fitted on the domains; its ``model_.body`` maps x to the k label logits
        (read them with :func:`label_proba`).
    """
    from sklearn.utils.validation import check_is_fitted

    from .nets import ForwardCorrected
    from .discriminator import DomainDiscriminator

    check_is_fitted(discriminator, "model_")
    D = int(discriminator.n_classes_)
    M = np.asarray(domain_given_label, dtype=np.float64)
    if M.ndim != 2 or M.shape[0] != D or M.shape[1] < 1:
        raise ValueError(f"domain_given_label must have shape (n_domains={D}, n_topics), got "
                         f"{M.shape}")
    if not np.all(np.isfinite(M)) or np.any(M < 0):
        raise ValueError("domain_given_label must be finite and non-negative (p(d|y))")
    k = M.shape[1]
    for name, r in (("rows", rows), ("rows_val", rows_val)):
        if r is None:
            continue
        r = np.asarray(r)
        if r.ndim != 1 or not np.issubdtype(r.dtype, np.integer) or \
                (r.size and (r.min() < 0 or r.max() >= D)):
            raise ValueError(f"{name} must be integer domain rows in [0, {D})")
    # the network's outputs are the rows 0..D-1: training needs every one of them
    missing = np.setdiff1d(np.arange(D), np.asarray(rows))
    if missing.size:
        raise ValueError(f"rows must hold every domain row 0..{D - 1}; missing "
                         f"{missing[:5].tolist()}")

    if init_network is not None and distill_from is not None:
        raise ValueError("init_network and distill_from are alternatives; give one")
    if init_network is not None:
        import copy

        check_is_fitted(init_network, "model_")
        body = getattr(init_network.model_, "body", None)
        if body is None or int(getattr(init_network, "n_classes_", -1)) != D:
            raise ValueError("init_network must be a fit_label_network result on the same "
                             "domains")
        body = copy.deepcopy(body)
    else:
        body = _label_body(discriminator.model_, D, k, float(discriminator.dropout),
                           int(random_state))
        if distill_from is not None:
            _distill_into(body, discriminator, distill_from, k)
    net = ForwardCorrected(body, np.log(np.maximum(M.T, 1e-12)))
    params = discriminator.get_params()
    params.update(model=net, calibrate=False, random_state=int(random_state), verbose=verbose)
    if patience is not None:
        params["patience"] = int(patience)
    if max_epochs is not None:
        params["epochs"] = max(1, min(int(params["epochs"]), int(max_epochs)))
    params.pop("hidden", None)
    params.pop("dropout", None)
    ln = DomainDiscriminator(**params)
    if X_val is None:
        ln.fit(X, rows)
    else:
        ln.fit(X, rows, X_val, rows_val)
    ln.label_temperature_ = 1.0
    if X_val is not None:
        ln.label_temperature_ = _label_temperature(ln, M, X_val, np.asarray(rows_val))
    # the fitted network is all that is needed from here on; with model=None a saved
    # label network on the default MLP is rebuilt from its weights at load
    # (DomainDiscriminator._make_module)
    ln.model = None
    return ln


def _distill_into(body: Any, discriminator: Any, distill_from: tuple, k: int) -> None:
    """Set the last linear layer of ``body`` to :func:`distill_head` of ``distill_from``."""
    import torch
    from torch import nn

    if not isinstance(distill_from, tuple) or len(distill_from) != 2:
        raise ValueError("distill_from must be a pair (X_sub, posterior)")
    X_sub, Q = distill_from
    Q = np.asarray(Q, dtype=np.float64)
    if Q.ndim != 2 or Q.shape != (len(X_sub), k):
        raise ValueError(f"distill_from's posterior must have shape (len(X_sub)={len(X_sub)}, "
                         f"n_topics={k}), got {Q.shape}")
    head = [m for m in body.modules() if isinstance(m, nn.Linear)][-1]
    H = _head_inputs(body, head, discriminator.batch_source(X_sub),
                    int(discriminator.batch_size))
    W, b = distill_head(H, Q)
    with torch.no_grad():
        head.weight.copy_(torch.as_tensor(W, dtype=head.weight.dtype))
        head.bias.copy_(torch.as_tensor(b, dtype=head.bias.dtype))


def _label_logits(ln: Any, X: Any) -> np.ndarray:
    import torch

    from .nets import iter_batches

    src = ln.batch_source(X)
    body = getattr(ln.model_, "body", None)
    if body is None:
        raise ValueError("label_network must be a result of fit_label_network (a "
                         "DomainDiscriminator whose network has a k-way body)")
    body.eval()
    out = []
    with torch.no_grad():
        for xb, _ in iter_batches(src, ln.device_, int(ln.batch_size)):
            out.append(body(xb).double().cpu().numpy())
    return np.concatenate(out)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def _label_temperature(ln: Any, M: np.ndarray, X_val: Any, rows_val: np.ndarray) -> float:
    """The temperature of the label logits that minimizes the validation domain
    log-loss of ``softmax(z / T) @ p(d|y).T`` (kept at 1 unless it helps)."""
    from scipy.optimize import minimize_scalar

    Z = _label_logits(ln, X_val)

    def nll(t: float) -> float:
        q = _softmax(Z / np.exp(t))
        return float(-np.mean(np.log(np.maximum(np.sum(q * M[rows_val], axis=1), 1e-300))))

    res = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded",
                          options={"xatol": 1e-3})
    return float(np.exp(res.x)) if nll(res.x) < nll(0.0) else 1.0


def label_proba(label_network: Any, X: Any) -> np.ndarray:
    """p(y|x) under the pooled training label mix from a :func:`fit_label_network` result
    (its logits divided by ``label_temperature_``).

    Returns
    -------
    ndarray of shape (n_samples, n_topics); rows are non-negative and sum to 1.
    """
    ln = label_network
    T = float(getattr(ln, "label_temperature_", 1.0))
    return _softmax(_label_logits(ln, X) / T)
