"""Thread counts for DDFA's CPU work, and a context that bounds them.

Small networks and small k-means problems run fastest on one thread: their batches are
too small to split, and every extra OpenMP thread spin-waits at each barrier. On a
machine where another process holds a core, those spinning threads made
``DDFA(10).fit`` on the digits 4-10x slower than with ``OMP_NUM_THREADS=1``. So the
default (``n_jobs=None``) gives a fit one thread per :data:`WORK_PER_THREAD`
multiply-adds of its unit of work (a training batch, a k-means pass), never more than
the cores this process may use, and never more than the cores that other processes
leave idle (from the 1-minute load average). :func:`limit_threads` applies the count
to torch and, through ``threadpoolctl``, to the BLAS and OpenMP pools (scikit-learn's
k-means included), and restores them afterwards.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import math
import os
import sys
from numbers import Integral
from typing import Any, Callable, Iterator

from ._params import Interval, check_param

__all__ = ["N_JOBS", "WORK_PER_THREAD", "available_cores", "idle_cores", "resolve_n_jobs",
           "limit_threads", "bounded_threads", "check_n_jobs"]

#: multiply-adds per unit of work (one training batch's forward pass, one k-means pass
#: over the data) below which a second thread does not pay for its synchronization: the
#: digits discriminator (64-256-256-20 MLP, batches of 128) has about 1.1e7 and ran
#: fastest on one thread on 2 cores
WORK_PER_THREAD = 5e7

#: the ``_param_constraints`` entry of an ``n_jobs`` parameter
N_JOBS = [None, Interval(Integral, 1, None), Interval(Integral, None, -1)]

# the count in force in the enclosing limit_threads, and whether the user asked for it
_ACTIVE: contextvars.ContextVar = contextvars.ContextVar("lls_topics_threads", default=None)
# threadpoolctl's scan of the loaded libraries costs tens of milliseconds: rescan only
# when modules were imported since (a new one may have loaded a BLAS or OpenMP)
_CONTROLLER: list = [None, -1]


def _controller() -> Any:
    from threadpoolctl import ThreadpoolController

    if _CONTROLLER[0] is None or _CONTROLLER[1] != len(sys.modules):
        _CONTROLLER[0] = ThreadpoolController()
        _CONTROLLER[1] = len(sys.modules)
    return _CONTROLLER[0]


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def idle_cores() -> int:
    """Cores left to this process by the others: available cores minus the 1-minute
    load average (this process's own share counted back in), at least 1."""
    cores = available_cores()
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover - not Unix
        return cores
    return max(1, min(cores, cores - int(math.floor(load)) + 1))


def check_n_jobs(n_jobs: Any, name: str = "n_jobs") -> None:
    """``None``, a positive int, or a negative int counted from the cores (-1: all);
    TypeError for another type, ValueError for 0."""
    check_param(n_jobs, name, N_JOBS)


def resolve_n_jobs(n_jobs: Any = None, work: float | None = None) -> int:
    """The number of threads to use.

    Parameters
    ----------
    n_jobs : int or None
        ``None``: chosen from ``work`` (one thread per :data:`WORK_PER_THREAD`
        multiply-adds, at most :func:`idle_cores`); a positive int: that many, at most
        :func:`available_cores`; negative: ``cores + 1 + n_jobs`` (``-1``: all cores).
    work : float, optional
        Multiply-adds of one unit of work; unknown means one thread.

    Returns
    -------
    int
        At least 1.
    """
    check_n_jobs(n_jobs)
    cores = available_cores()
    if n_jobs is None:
        want = 1 if work is None else int(work // WORK_PER_THREAD) + 1
        return max(1, min(want, idle_cores()))
    if n_jobs < 0:
        return max(1, cores + 1 + n_jobs)
    return max(1, min(int(n_jobs), cores))


@contextlib.contextmanager
def limit_threads(n_jobs: Any = None, work: float | None = None) -> Iterator[int]:
    """Run the block with at most :func:`resolve_n_jobs` threads in torch, BLAS and
    OpenMP; yields that count and restores the previous settings on exit.

    Inside an enclosing ``limit_threads`` whose count the user chose (an int
    ``n_jobs``), ``n_jobs=None`` keeps that count rather than choosing its own.
    """
    outer = _ACTIVE.get()
    if n_jobs is None and outer is not None and outer[1]:
        n, explicit = outer[0], True
    else:
        n, explicit = resolve_n_jobs(n_jobs, work), n_jobs is not None
    torch = sys.modules.get("torch")  # never import torch just to set its threads
    old_torch = torch.get_num_threads() if torch is not None else None
    token = _ACTIVE.set((n, explicit))
    try:
        if torch is not None:
            torch.set_num_threads(n)
        with _controller().limit(limits=n):
            yield n
    finally:
        _ACTIVE.reset(token)
        if torch is not None and old_torch is not None:
            torch.set_num_threads(old_torch)


def bounded_threads(work: Callable[..., float | None] | None = None) -> Callable:
    """Decorate an estimator method to run under ``limit_threads(self.n_jobs, work)``,
    where ``work(self, *args, **kwargs)`` estimates the multiply-adds of one unit of
    its work (None: unknown)."""

    def decorate(method: Callable) -> Callable:
        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            units = None
            if work is not None:
                try:
                    units = work(self, *args, **kwargs)
                except Exception:  # an estimate only: bad input is the method's to report
                    units = None
            with limit_threads(getattr(self, "n_jobs", None), units):
                return method(self, *args, **kwargs)

        return wrapper

    return decorate
