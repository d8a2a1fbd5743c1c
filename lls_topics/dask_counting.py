"""Counting ``(domain, token)`` samples held in a Dask collection.

Each partition is reduced to its (domain, token, count) triples where it lives, the
triples are summed in a tree on the active Dask scheduler (threads, a
``LocalCluster`` or a remote ``distributed`` cluster), and only the coalesced
triples, as many as the nonzeros of the count matrix, come back.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Iterator

import numpy as np

__all__ = ["DaskCountError", "count_dask", "import_dask", "dask_client"]

_EXTRA = 'pip install "lls-topics[dask]"'


class DaskCountError(RuntimeError):
    """A Dask task failed (or its worker died) while counting; no counts are returned."""


def import_dask() -> Any:
    """Import ``dask``, or raise an ``ImportError`` naming the extra to install."""
    try:
        import dask
        import dask.bag  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"Dask is not installed; counting on Dask needs the optional "
                          f"[dask] extra: {_EXTRA}") from exc
    return dask


def dask_client(address: str) -> Any:
    """A ``distributed.Client`` for ``address``, or for a new local cluster of N
    single-threaded worker processes when ``address`` is ``"local:N"``."""
    import_dask()
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise ImportError(f"dask.distributed is not installed; it comes with the [dask] "
                          f"extra: {_EXTRA}") from exc
    if address.startswith("local:"):
        n = address.split(":", 1)[1]
        if not n.isdigit() or int(n) < 1:
            raise ValueError(f"--dask local:N needs a worker count N >= 1, got {address!r}")
        cluster = LocalCluster(n_workers=int(n), threads_per_worker=1,
                               dashboard_address=None)
        return Client(cluster)
    return Client(address)


def _frame_triples(ddf: Any, domain: str, token: str, count: str | None) -> Any:
    """The lazy per-(domain, token) sums of a dask data frame (a tree reduction)."""
    for col, what in ((domain, "domain"), (token, "token"), (count, "count")):
        if col is not None and col not in ddf.columns:
            raise ValueError(f"the data frame has no {what} column {col!r}; its columns are "
                             f"{list(ddf.columns)}")
    # dropna=False: missing ids must raise, not silently drop samples
    grouped = ddf.groupby([domain, token], dropna=False, sort=False)
    return grouped.size() if count is None else grouped[count].sum()


def _bag_partition(pairs: Any) -> Counter:
    counts: Counter = Counter()
    for item in pairs:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ValueError(f"bag items must be (domain, tokens) pairs, got {item!r:.80}")
        d, toks = item
        counts.update((d, t) for t in toks)
    return counts


def _bag_merge(parts: Any) -> Counter:
    total: Counter = Counter()
    for part in parts:
        total.update(part)
    return total


def count_dask(collection: Any, *, domain: str = "domain", token: str = "token",
               count: str | None = None) -> Iterator[tuple]:
    """Count ``collection`` on the active Dask scheduler.

    Returns
    -------
    list of one ``(tokens, domains, counts)`` chunk, the coalesced triples, ready for
    :meth:`lls_topics.corpus.DomainCorpus.from_chunks`.

    Raises
    ------
    ImportError
        Dask is not installed (the message names the extra).
    ValueError
        ``collection`` is not a Dask data frame or bag, or lacks the named columns.
    DaskCountError
        A task failed or a worker died; nothing partial is returned.
    """
    dask = import_dask()
    import dask.bag as db

    try:
        import dask.dataframe as dd
    except ImportError:
        dd = None
    if dd is not None and isinstance(collection, dd.DataFrame):
        lazy, kind = _frame_triples(collection, domain, token, count), "frame"
    elif isinstance(collection, db.Bag):
        if count is not None:
            raise ValueError("count applies to data frames; bag items are (domain, tokens)")
        lazy, kind = collection.reduction(_bag_partition, _bag_merge, split_every=8), "bag"
    else:
        raise ValueError("collection must be a dask.dataframe.DataFrame with columns "
                         f"{domain!r} and {token!r}, or a dask.bag.Bag of (domain, tokens) "
                         f"pairs; got {type(collection).__name__}")
    try:
        (result,) = dask.compute(lazy)
    except ValueError as exc:  # bad bag items, re-raised from the worker
        raise ValueError(f"counting on Dask: {exc}") from exc
    except Exception as exc:  # worker errors and deaths: never a partial matrix
        raise DaskCountError(f"counting on Dask failed ({type(exc).__name__}: {exc}); "
                             "no counts were returned") from exc
    if kind == "bag":
        if not result:
            return []
        keys = list(result)
        doms = _object_array([k[0] for k in keys])
        toks = np.asarray([k[1] for k in keys])
        return [(toks, doms, np.fromiter(result.values(), dtype=np.int64,
                                         count=len(keys)))]
    if len(result) == 0:
        return []
    import pandas as pd

    doms = result.index.get_level_values(0)
    toks = result.index.get_level_values(1)
    if pd.isna(doms).any() or pd.isna(toks).any():
        raise ValueError(f"the {domain!r} or {token!r} column holds missing values")
    return [(toks.to_numpy(), doms.to_numpy(), result.to_numpy())]


def _object_array(values: list) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        arr = np.empty(len(values), dtype=object)
        arr[:] = values
    return arr

