"""torch building blocks of the discriminator (imported only when torch is needed)."""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

__all__ = ["ForwardCorrected", "GeneratorDropout", "MLP", "OrderedView", "iter_batches",
           "mlp_from_state", "module_from_state"]


class GeneratorDropout(nn.Module):
    """Dropout whose masks come from a ``torch.Generator`` set at fit time.

    Training is then reproducible without touching torch's global RNG. The generator
    is attached only while training (generators do not survive pickling).
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = float(p)
        self.generator: Any = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p <= 0:
            return x
        keep = torch.empty_like(x).bernoulli_(1.0 - self.p, generator=self.generator)
        return x * keep / (1.0 - self.p)


class MLP(nn.Sequential):
    """Flatten, then (Linear, ReLU, dropout) per hidden width, then a Linear to logits."""

    def __init__(self, n_in: int, hidden: tuple[int, ...], n_out: int, dropout: float,
                 generator: torch.Generator | None = None) -> None:
        # nn.Linear draws its default init from torch's global RNG; fork it so that
        # building the network leaves the caller's global state as it was (the
        # weights are redrawn from ``generator`` below)
        with torch.random.fork_rng(devices=[]):
            layers: list = [nn.Flatten()]
            width = int(n_in)
            for h in hidden:
                layers += [nn.Linear(width, int(h)), nn.ReLU(), GeneratorDropout(dropout)]
                width = int(h)
            layers.append(nn.Linear(width, int(n_out)))
        super().__init__(*layers)
        with torch.no_grad():
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    bound = 1.0 / np.sqrt(m.in_features)
                    # He-uniform weights suit ReLU; small uniform biases as torch does
                    nn.init.uniform_(m.weight, -np.sqrt(6.0) * bound, np.sqrt(6.0) * bound,
                                     generator=generator)
                    nn.init.uniform_(m.bias, -bound, bound, generator=generator)


def mlp_from_state(state: dict, dropout: float, prefix: str = "") -> "MLP | None":
    """An :class:`MLP` shaped like the one whose ``state_dict`` is ``state`` (weights not
    loaded), or None when the keys do not follow the MLP's layout."""
    idx = sorted(int(k[len(prefix):].split(".")[0]) for k in state
                 if k.startswith(prefix) and k.endswith(".weight")
                 and k[len(prefix):].split(".")[0].isdigit())
    # Flatten, then (Linear, ReLU, dropout) per hidden layer, then the output Linear
    if not idx or idx != list(range(1, 3 * len(idx) - 1, 3)):
        return None
    shapes = [tuple(state[f"{prefix}{i}.weight"].shape) for i in idx]
    hidden = tuple(out for out, _ in shapes[:-1])
    return MLP(shapes[0][1], hidden, shapes[-1][0], dropout)


class ForwardCorrected(nn.Module):
    """log p(d|x) = log(softmax(body(x)) @ p(d|y).T): a k-way label network seen through
    a fixed p(d|y) (stored as the buffer ``log_m``, shape (k, D))."""

    def __init__(self, body: nn.Module, log_m: Any) -> None:
        super().__init__()
        self.body = body
        # p(d|y) is fixed while the network trains: a buffer, not a parameter
        self.register_buffer("log_m", torch.as_tensor(log_m, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logp_y = torch.log_softmax(self.body(x), dim=1)
        # already normalized, so cross-entropy's log-softmax leaves it unchanged
        return torch.logsumexp(logp_y[:, :, None] + self.log_m[None], dim=1)


class OrderedView(Dataset):
    """Items of a Dataset in a given order, returned as (x, position)."""

    def __init__(self, ds: Any, positions: np.ndarray) -> None:
        self.ds, self.positions = ds, np.asarray(positions)

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, i: int) -> tuple:
        pos = int(self.positions[i])
        item = self.ds[pos]
        if isinstance(item, (tuple, list)):
            item = item[0]
        return torch.as_tensor(np.asarray(item) if not torch.is_tensor(item) else item), pos


def module_from_state(state: dict, dropout: float,
                      template: "nn.Module | None" = None) -> "nn.Module | None":
    """Rebuild a default network from its ``state_dict`` (weights not loaded).

    Either the default :class:`MLP`, or a label network (:class:`ForwardCorrected`,
    recognized by its ``log_m`` buffer) on an MLP body, or on a copy of ``template``
    (the user's discriminator module) under a linear head, as
    :func:`lls_topics.continuous.relabel.fit_label_network` builds it for a custom
    module; None for any other layout (a custom module, which the caller must supply).
    """
    if "log_m" in state:
        body = mlp_from_state(state, dropout, prefix="body.")
        if body is None and template is not None:
            import copy

            k, D = (int(n) for n in state["log_m"].shape)
            with torch.random.fork_rng(devices=[]):
                body = nn.Sequential(copy.deepcopy(template), nn.Linear(D, k))
        return None if body is None else ForwardCorrected(body, state["log_m"])
    return mlp_from_state(state, dropout)


def iter_batches(src: tuple, dev: Any, batch_size: int, order: Any = None) -> Iterator:
    """Yield ``(x tensor on dev, positions)`` batches of a source in ``order``.

    Parameters
    ----------
    src : tuple
        ``(X, y)`` where ``X`` is a numpy array, a map-style torch Dataset or a
        ``streaming.RowView`` of a memmap, and ``y`` holds one entry per sample (only
        its length is used).
    dev : torch.device
    batch_size : int
    order : ndarray of positions, optional
        Default: the samples in order.
    """
    X = src[0]
    n = len(src[1])
    order = np.arange(n) if order is None else order
    bs = int(batch_size)
    if isinstance(X, np.ndarray):
        Xt = torch.from_numpy(X)
        for s in range(0, n, bs):
            pos = order[s:s + bs]
            yield Xt[torch.from_numpy(pos)].to(dev, non_blocking=True), pos
    elif hasattr(X, "take"):  # a streaming.RowView of a memmap: read one batch of rows
        for s in range(0, n, bs):
            pos = order[s:s + bs]
            yield torch.from_numpy(X.take(pos)).to(dev), pos
    else:
        from torch.utils.data import DataLoader

        # a private generator: the loader's base seed must not consume torch's global
        # RNG (that would shift a custom model's seeded dropout stream)
        loader = DataLoader(OrderedView(X, order), batch_size=bs, shuffle=False,
                            generator=torch.Generator().manual_seed(0))
        for xb, pos in loader:
            yield xb.float().to(dev), pos.numpy()
