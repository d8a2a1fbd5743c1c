"""Multi-process training with ``torch.distributed``, as launched by ``torchrun``.

Every process (rank) trains the same network on its share of each epoch's samples
(``DistributedSampler``) with gradients averaged by ``DistributedDataParallel``:
gloo on CPUs, nccl on GPUs. The steps after the networks (clustering, the topic
solver) run on rank 0 inside :func:`rank_zero_only`, and the fitted estimator is
then broadcast to the other ranks.
"""
from __future__ import annotations

import atexit
import contextlib
import os
import threading
from typing import Any, Iterator

__all__ = ["DISTRIBUTED", "launched_by_torchrun", "use_distributed", "init_distributed",
           "rank", "world_size", "is_main_process", "rank_zero_only", "broadcast_object",
           "DDPContext"]

DISTRIBUTED = ("auto", True, False)
_local = threading.local()


def launched_by_torchrun() -> bool:
    """Whether torchrun's environment (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``) is set."""
    return all(v in os.environ for v in ("RANK", "WORLD_SIZE", "MASTER_ADDR"))


def check_distributed(value: Any, name: str = "distributed") -> None:
    if not any(value is v or (isinstance(v, str) and value == v) for v in DISTRIBUTED):
        raise ValueError(f"{name} must be 'auto', True or False, got {value!r}")


def use_distributed(value: Any) -> bool:
    """Resolve a ``distributed`` parameter: ``"auto"`` means "when launched by torchrun
    with more than one process"; ``True`` requires torchrun's environment."""
    check_distributed(value)
    if getattr(_local, "rank_zero_only", False) or value is False:
        return False
    if value is True and not launched_by_torchrun():
        raise ValueError("distributed=True needs torchrun's environment (RANK, WORLD_SIZE, "
                         "MASTER_ADDR); launch with: torchrun --nproc_per_node=N script.py")
    return launched_by_torchrun() and int(os.environ["WORLD_SIZE"]) > 1


def init_distributed(device: Any) -> None:
    """Join torchrun's process group once: nccl for CUDA devices, gloo otherwise."""
    import torch.distributed as dist

    if dist.is_initialized():
        return
    backend = "nccl" if getattr(device, "type", str(device)) == "cuda" else "gloo"
    dist.init_process_group(backend=backend)
    atexit.register(_destroy)


def _destroy() -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


def rank() -> int:
    """This process's rank (0 outside a process group)."""
    import torch.distributed as dist

    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def world_size() -> int:
    import torch.distributed as dist

    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main_process() -> bool:
    """True on rank 0 and in plain single-process runs: the process that writes files."""
    if "RANK" in os.environ and not _initialized():
        return int(os.environ["RANK"]) == 0
    return rank() == 0


def _initialized() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


@contextlib.contextmanager
def rank_zero_only() -> Iterator[None]:
    """Inside, networks train locally (no collectives): for work done by rank 0 alone."""
    before = getattr(_local, "rank_zero_only", False)
    _local.rank_zero_only = True
    try:
        yield
    finally:
        _local.rank_zero_only = before


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """``obj`` from rank ``src`` on every rank (pickled through the process group)."""
    import torch.distributed as dist

    box = [obj if rank() == src else None]
    dist.broadcast_object_list(box, src=src)
    return box[0]


class DDPContext:
    """What one training run needs to know about the process group.

    ``wrap`` puts the model in ``DistributedDataParallel``; ``epoch_positions`` are this
    rank's sample positions for an epoch (``DistributedSampler``: a seeded shuffle,
    padded so that every rank takes the same number of steps); ``agree`` makes every
    rank use rank 0's value of a scalar (early stopping decides identically).
    """

    def __init__(self, device: Any, n: int, seed: int) -> None:
        import torch
        from torch.utils.data.distributed import DistributedSampler

        init_distributed(device)
        self.device = device
        self.rank, self.world_size = rank(), world_size()
        self.sampler = DistributedSampler(range(n), num_replicas=self.world_size,
                                          rank=self.rank, shuffle=True,
                                          seed=int(seed) % (2**63))
        self._torch = torch

    def wrap(self, model: Any) -> Any:
        from torch.nn.parallel import DistributedDataParallel as DDP

        if self.device.type == "cuda":
            return DDP(model, device_ids=[self.device.index or 0])
        return DDP(model)

    def epoch_positions(self, epoch: int) -> Any:
        import numpy as np

        self.sampler.set_epoch(epoch)
        return np.fromiter(iter(self.sampler), dtype=np.int64)

    def agree(self, value: float) -> float:
        import torch.distributed as dist

        t = self._torch.tensor([float(value)], dtype=self._torch.float64)
        if self.device.type == "cuda":
            t = t.to(self.device)
        dist.broadcast(t, src=0)
        return float(t.item())


def local_device(device: Any) -> Any:
    """With torchrun on GPUs, each rank uses ``cuda:LOCAL_RANK``."""
    import torch

    if getattr(device, "type", None) == "cuda" and device.index is None and \
            "LOCAL_RANK" in os.environ:
        return torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    return device
