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
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["fit_label_network", "label_proba"]


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


def fit_label_network(discriminator: Any, domain_given_label: np.ndarray, X: Any,
                      rows: np.ndarray, X_val: Any = None, rows_val: np.ndarray | None = None,
                      *, patience: int | None = None, random_state: int = 0,
                      verbose: bool = False) -> Any:
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

    body = _label_body(discriminator.model_, D, k, float(discriminator.dropout),
                       int(random_state))
    net = ForwardCorrected(body, np.log(np.maximum(M.T, 1e-12)))
    params = discriminator.get_params()
    params.update(model=net, calibrate=False, random_state=int(random_state), verbose=verbose)
    if patience is not None:
        params["patience"] = int(patience)
    params.pop("hidden", None)
    params.pop("dropout", None)
    ln = DomainDiscriminator(**params)
    if X_val is None:
        ln.fit(X, rows)
    else:
        ln.fit(X, rows, X_val, rows_val)
    # the fitted network is all that is needed from here on; with model=None a saved
    # label network on the default MLP is rebuilt from its weights at load
    # (DomainDiscriminator._make_module)
    ln.model = None
    return ln


def label_proba(label_network: Any, X: Any) -> np.ndarray:
    """p(y|x) under the pooled training label mix from a :func:`fit_label_network` result.

    Returns
    -------
    ndarray of shape (n_samples, n_topics); rows are non-negative and sum to 1.
    """
    import torch

    from .nets import iter_batches

    ln = label_network
    src = ln.batch_source(X)
    body = getattr(ln.model_, "body", None)
    if body is None:
        raise ValueError("label_network must be a result of fit_label_network (a "
                         "DomainDiscriminator whose network has a k-way body)")
    body.eval()
    out = []
    with torch.no_grad():
        for xb, _ in iter_batches(src, ln.device_, int(ln.batch_size)):
            out.append(torch.softmax(body(xb), dim=1).double().cpu().numpy())
    P = np.concatenate(out)
    return P / P.sum(axis=1, keepdims=True)
