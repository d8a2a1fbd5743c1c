"""Streamed DDFA: p(d|x), clustering and counting batch by batch.

For inputs larger than memory (a ``numpy.memmap`` or a torch ``Dataset``) DDFA never
holds p(d|x) for all samples: one pass in random order feeds the discriminator's
outputs to ``MiniBatchKMeans.partial_fit``, a second pass in file order assigns
clusters and adds them to the (domains x clusters) counts. Peak memory is one chunk
plus O(N) integers (domain rows, a permutation); the data's own pages are the rest.
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from .._validation import check_random_state

__all__ = ["RowView", "is_streamable", "check_memmap", "stream_chunks", "read_rows",
           "streamed_kmeans", "streamed_counts", "kmeans_discretizer", "predict_streamed",
           "STREAM_ABOVE", "CHUNK"]

#: samples per chunk of p(d|x): the unit of memory of the streamed passes
CHUNK = 65536
#: MiniBatchKMeans batch (scikit-learn's default for ``fit`` is 1024; DDFA uses 4096)
KMEANS_BATCH = 4096
#: ``stream="auto"`` streams memmaps and Datasets above this many samples (where the
#: in-memory path switches to MiniBatchKMeans as well)
STREAM_ABOVE = 50_000


class RowView:
    """Rows ``positions`` of a 2-D+ array (a memmap), read a batch at a time."""

    def __init__(self, array: np.ndarray, positions: np.ndarray) -> None:
        self.array = array
        self.positions = np.asarray(positions, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.positions)

    def take(self, pos: np.ndarray) -> np.ndarray:
        """float32 rows at view positions ``pos``, in that order."""
        return read_rows(self.array, self.positions[pos])

    @property
    def shape(self) -> tuple:
        return (len(self.positions),) + tuple(self.array.shape[1:])

    def subset(self, pos: np.ndarray) -> "RowView":
        """The rows at view positions ``pos`` (no data read)."""
        return RowView(self.array, self.positions[np.asarray(pos, dtype=np.int64)])


def read_rows(array: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``array[idx]`` as float32, read in file order (sequential pages)."""
    order = np.argsort(idx, kind="stable")
    out = np.empty((len(idx),) + array.shape[1:], dtype=np.float32)
    out[order] = array[idx[order]]
    return out


def is_streamable(X: Any) -> bool:
    """Whether ``X`` is a memmap or a torch Dataset (data that need not fit in memory)."""
    if isinstance(X, np.memmap):
        return True
    try:
        from torch.utils.data import Dataset
    except ImportError:  # pragma: no cover
        return False
    return isinstance(X, Dataset)


def check_memmap(X: np.memmap, name: str = "X") -> np.memmap:
    """Validate a memmap of features block by block (no full-size temporaries)."""
    from .._validation import check_features

    check_features(X[:CHUNK], name)  # dtype, shape, emptiness, the first block's values
    if X.dtype.kind == "f":
        for s in range(CHUNK, X.shape[0], CHUNK):
            if not np.all(np.isfinite(X[s:s + CHUNK])):
                raise ValueError(f"{name} contains NaN or infinite values; expected finite "
                                 "features")
    return X


def _chunk_input(X: Any, idx: np.ndarray) -> Any:
    """The samples ``idx`` (sorted) of X as something the discriminator predicts on."""
    if isinstance(X, np.ndarray):
        return read_rows(X, idx)
    if isinstance(X, RowView):
        return X.take(idx)
    from torch.utils.data import Subset

    return Subset(X, idx.tolist())


def stream_chunks(X: Any, n: int, order: np.ndarray | None = None, chunk: int = CHUNK
                  ) -> Iterator[tuple[np.ndarray, Any]]:
    """Yield ``(positions, inputs)`` chunks of X, in ``order`` (default: file order)."""
    for s in range(0, n, chunk):
        idx = np.arange(s, min(s + chunk, n)) if order is None else np.sort(order[s:s + chunk])
        yield idx, _chunk_input(X, idx)


def _sources(X: Any, X_val: Any) -> list[Any]:
    return [X] if X_val is None else [X, X_val]


def _bar(total: int, desc: str, verbose: bool) -> Any:
    if not verbose:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False)


def streamed_kmeans(disc: Any, sources: list[Any], m: int, seed: int, *,
                    verbose: bool = False) -> Any:
    """Fit ``MiniBatchKMeans`` on p(d|x) of every sample of ``sources``, one pass.

    Chunks of samples drawn without replacement in random order (so that the first
    batch, which seeds k-means++, mixes every domain even in files sorted by domain)
    are pushed through the discriminator and fed in batches to ``partial_fit``.
    """
    from sklearn.cluster import MiniBatchKMeans

    rng = check_random_state(seed)
    km = MiniBatchKMeans(n_clusters=m, random_state=int(rng.integers(0, 2**31 - 1)),
                         batch_size=KMEANS_BATCH, n_init=3)
    total = sum(len(S) for S in sources)
    bar = _bar(total, "clustering p(d|x)", verbose)
    carry = None  # partial_fit's first call needs at least m samples
    try:
        for S in sources:
            order = rng.permutation(len(S))
            for idx, inputs in stream_chunks(S, len(S), order):
                P = disc.predict_proba(inputs)
                P = P[rng.permutation(len(P))]
                if carry is not None:
                    P, carry = np.vstack([carry, P]), None
                for s in range(0, len(P), KMEANS_BATCH):
                    batch = P[s:s + KMEANS_BATCH]
                    if not hasattr(km, "cluster_centers_") and len(batch) < max(
                            m, min(len(P), KMEANS_BATCH)):
                        carry = batch
                        continue
                    km.partial_fit(batch)
                if bar is not None:
                    bar.update(len(idx))
        if carry is not None:
            if not hasattr(km, "cluster_centers_") and len(carry) < m:
                raise ValueError(f"n_clusters={m} exceeds the number of samples "
                                 f"({len(carry)})")
            km.partial_fit(carry)
    finally:
        if bar is not None:
            bar.close()
    return km


def streamed_counts(disc: Any, km: Any, sources: list[Any], rows: list[np.ndarray],
                    n_domains: int, *, verbose: bool = False) -> np.ndarray:
    """(n_domains, n_clusters) counts of the k-means clusters of every sample's p(d|x)."""
    m = km.n_clusters
    counts = np.zeros(n_domains * m, dtype=np.int64)
    total = sum(len(S) for S in sources)
    bar = _bar(total, "counting clusters", verbose)
    try:
        for S, r in zip(sources, rows):
            for idx, inputs in stream_chunks(S, len(S)):
                labels = km.predict(disc.predict_proba(inputs)).astype(np.int64)
                counts += np.bincount(r[idx] * m + labels, minlength=n_domains * m)
                if bar is not None:
                    bar.update(len(idx))
    finally:
        if bar is not None:
            bar.close()
    return counts.reshape(n_domains, m)


def kmeans_discretizer(km: Any, cluster_sizes: np.ndarray, seed: int) -> Any:
    """A fitted :class:`Discretizer` in p(d|x) space around a streamed k-means, for
    predicting clusters of new samples (it keeps no per-sample labels)."""
    from .discretize import Discretizer

    clu = Discretizer(km.n_clusters, space="discriminator", method="minibatch",
                      random_state=seed)
    clu.kmeans_ = km
    clu.cluster_centers_ = km.cluster_centers_
    clu.cluster_sizes_ = np.asarray(cluster_sizes)
    clu.n_features_in_ = km.cluster_centers_.shape[1]
    clu.labels_ = None
    return clu


def predict_streamed(predict: Any, X: Any, domains: Any, n_out: int, out: Any = None,
                     *, chunk: int = CHUNK) -> np.ndarray:
    """Apply ``predict(X_chunk, domains_chunk)`` chunk by chunk, writing into ``out``.

    ``out`` (e.g. a writable ``numpy.memmap``) must have shape ``(len(X), n_out)``; by
    default a new float64 array is returned.
    """
    n = len(X)
    if out is None:
        out = np.empty((n, n_out))
    elif not isinstance(out, np.ndarray) or out.shape != (n, n_out) or \
            out.dtype.kind != "f" or not out.flags.writeable:
        raise ValueError(f"out must be a writable float array of shape ({n}, {n_out}), got "
                         f"{type(out).__name__}"
                         + (f" of shape {out.shape} and dtype {out.dtype}"
                            if isinstance(out, np.ndarray) else ""))
    per_sample = domains is not None and not np.isscalar(domains)
    if per_sample:
        domains = np.asarray(domains)
        if len(domains) != n:
            raise ValueError(f"X and domains must have the same length, got {n} and "
                             f"{len(domains)}")
    for idx, inputs in stream_chunks(X, n, chunk=chunk):
        d = domains[idx] if per_sample else domains
        out[idx[0]:idx[-1] + 1] = predict(inputs, d)
    if isinstance(out, np.memmap):
        out.flush()
    return out
