"""Streamed counting of ``(domain, token)`` samples into a sparse count matrix.

:class:`ChunkCounter` consumes chunks of samples one at a time and keeps only the
coalesced counts seen so far plus one chunk, so that data far larger than memory
can be counted. Domain ids and string tokens are mapped to rows and columns as they
first appear; at the end rows (and string columns) are put in sorted order where the
ids are mutually comparable, exactly as :meth:`DomainCorpus.from_tokens` orders them.
"""
from __future__ import annotations

from typing import Any, Hashable, Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from ._validation import check_int, check_tokens

__all__ = ["ChunkCounter", "count_chunks", "unique_ids"]

# pending chunks are merged into the running total once they hold at least this many
# entries (and at least as many as the total), so merging costs amortized O(entries)
_MIN_MERGE = 1 << 20
#: the counts stay a dense (domains x inputs) array while it has at most this many cells
#: (32 MiB of int64): one bincount per chunk, 5x faster than coalescing sparse entries
_DENSE_CELLS = 1 << 22


class _Accumulator:
    """Running sum of (row, col, value) entries: a dense array while it is small,
    then coalesced sorted ``row << 32 | col`` keys with their values."""

    def __init__(self) -> None:
        self.dense: np.ndarray | None = None
        self.keys: np.ndarray | None = None
        self.vals: np.ndarray | None = None
        self.pending: list[tuple[np.ndarray, np.ndarray]] = []
        self.pending_size = 0
        self.n_cols = 0
        self.float = False

    def add(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray | None,
            n_rows: int) -> None:
        if rows.size == 0:
            return
        self.n_cols = max(self.n_cols, int(cols.max()) + 1)
        if vals is not None and vals.dtype.kind == "f" and not self.float:
            self.float = True
            if self.dense is not None:
                self.dense = self.dense.astype(np.float64)
        if self.keys is None and n_rows * self.n_cols <= _DENSE_CELLS:
            self._add_dense(rows, cols, vals, n_rows)
            return
        if self.dense is not None:
            d = self.dense
            r, c = np.nonzero(d)
            self.keys, self.vals, self.dense = (r.astype(np.int64) << 32) | c, d[r, c], None
        self._add_sparse(rows, cols, vals)

    def _add_dense(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray | None,
                   n_rows: int) -> None:
        d = self.dense
        D, W = (0, 0) if d is None else d.shape
        if n_rows > D or self.n_cols > W:
            # grow geometrically, within the dense budget
            newD = max(n_rows, 2 * D) if n_rows > D else D
            newW = max(self.n_cols, 2 * W) if self.n_cols > W else W
            if newD * newW > _DENSE_CELLS:
                newD, newW = n_rows, self.n_cols
            grown = np.zeros((newD, newW), dtype=np.float64 if self.float else np.int64)
            if d is not None:
                grown[:D, :W] = d
            self.dense = d = grown
        D, W = d.shape
        flat = np.bincount(rows * W + cols, weights=vals, minlength=D * W)
        d += flat.reshape(D, W).astype(d.dtype, copy=False)

    def _add_sparse(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray | None) -> None:
        keys, vals = _coalesce((rows << 32) | cols, vals, self.float)
        self.pending.append((keys, vals))
        self.pending_size += keys.size
        if self.pending_size >= max(0 if self.keys is None else self.keys.size, _MIN_MERGE):
            self._merge()

    def _merge(self) -> None:
        parts = self.pending + ([] if self.keys is None else [(self.keys, self.vals)])
        if parts:
            self.keys, self.vals = _coalesce(np.concatenate([p[0] for p in parts]),
                                             np.concatenate([p[1] for p in parts]),
                                             self.float)
        self.pending, self.pending_size = [], 0

    def matrix(self, n_rows: int) -> sp.csr_matrix | None:
        """The (n_rows, n_cols) CSR sum, or None when nothing was added."""
        if self.dense is not None:
            M = sp.csr_matrix(self.dense[:n_rows, :self.n_cols])
            M.resize((n_rows, self.n_cols))  # domains of empty chunks: rows of zeros
            return M
        self._merge()
        if self.keys is None:
            return None
        rows = (self.keys >> 32).astype(np.int64)
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_rows))])
        return sp.csr_matrix((self.vals, (self.keys & 0xFFFFFFFF).astype(np.int64), indptr),
                             shape=(n_rows, self.n_cols))


def _coalesce(keys: np.ndarray, vals: np.ndarray | None, as_float: bool
              ) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct keys with the sum of their values (ones where ``vals`` is None)."""
    uniq, inv = np.unique(keys, return_inverse=True)
    sums = np.bincount(inv.reshape(-1), weights=vals, minlength=uniq.size)
    return uniq, sums.astype(np.float64 if as_float else np.int64, copy=False)


class _Codebook:
    """Incremental map from hashable labels to consecutive codes."""

    def __init__(self, labels: Sequence[Hashable] | None = None, *, frozen: bool = False,
                 name: str = "labels") -> None:
        self.table: dict[Hashable, int] = {}
        self.frozen = frozen
        self.name = name
        for lab in labels or []:
            self.table.setdefault(lab, len(self.table))

    def __len__(self) -> int:
        return len(self.table)

    def encode(self, values: Any) -> np.ndarray:
        """Codes of ``values`` (an array, or a pandas Categorical), adding new labels."""
        if hasattr(values, "categories") and hasattr(values, "codes"):
            uniq = np.asarray(values.categories, dtype=object)
            inv = np.asarray(values.codes, dtype=np.int64)
            if inv.size and inv.min() < 0:
                raise ValueError(f"{self.name} contains missing values")
        else:
            if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
                raise ValueError(f"{self.name} contain NaN or infinite values")
            uniq, inv = unique_ids(values)
        # one dictionary look-up per distinct value of the chunk, not per sample
        codes = np.empty(len(uniq), dtype=np.int64)
        for i, u in enumerate(uniq.tolist()):
            c = self.table.get(u)
            if c is None:
                if self.frozen:
                    raise ValueError(f"{self.name} contains {u!r}, which is not in the "
                                     "vocabulary")
                c = self.table[u] = len(self.table)
            codes[i] = c
        return codes[inv.reshape(-1)]

    def labels(self) -> np.ndarray:
        out = np.empty(len(self.table), dtype=object)
        out[:] = list(self.table)
        return out


def unique_ids(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values and the index of each value among them.

    Sorted where the values are mutually comparable (an O(n) bincount for small
    non-negative integers, no sort), in order of first appearance otherwise.

    Returns
    -------
    uniq : ndarray of shape (n_distinct,)
    inverse : ndarray of int64, shape (n,)
    """
    if values.dtype.kind in "iu" and values.size:
        lo, hi = int(values.min()), int(values.max())
        if lo >= 0 and hi <= 4 * values.size + 1024:
            present = np.bincount(values, minlength=hi + 1) > 0
            lookup = np.cumsum(present) - 1
            return np.flatnonzero(present).astype(values.dtype), lookup[values].astype(np.int64)
    try:
        uniq, inv = np.unique(values, return_inverse=True)
        return uniq, inv.reshape(-1).astype(np.int64)
    except TypeError:  # mixed, unorderable ids
        table: dict = {}
        inv = np.fromiter((table.setdefault(v, len(table)) for v in values.tolist()),
                          dtype=np.int64, count=values.size)
        uniq = np.empty(len(table), dtype=object)
        uniq[:] = list(table)
        return uniq, inv


def _sorted_order(labels: np.ndarray) -> np.ndarray | None:
    """The permutation that sorts ``labels``, or None where they are not comparable
    (mixed types keep their order of first appearance, as :func:`encode_domains` does)."""
    vals = labels.tolist()
    kinds = {type(v) for v in vals}
    if not (kinds <= {int, float, bool} or len(kinds) == 1):
        return None
    try:
        return np.asarray(sorted(range(len(vals)), key=vals.__getitem__), dtype=np.int64)
    except TypeError:
        return None


def _is_label_array(arr: np.ndarray) -> bool:
    return arr.dtype.kind in "USO"


class ChunkCounter:
    """Accumulate a (domains x inputs) count matrix from chunks of samples.

    Parameters
    ----------
    vocabulary : sequence, optional
        Labels of the inputs. String (or other non-numeric) tokens are then looked up
        in it, and integer tokens must be below its length.
    n_words : int, optional
        Number of inputs for integer tokens; defaults to ``len(vocabulary)`` or the
        largest token + 1.

    Notes
    -----
    Memory is O(nnz of the count matrix + one chunk): each chunk is coalesced on
    arrival and the coalesced chunks are merged into the running total once they
    hold as many entries as it does.
    """

    def __init__(self, *, vocabulary: Sequence[Any] | None = None,
                 n_words: int | None = None) -> None:
        self.vocabulary = None if vocabulary is None else list(vocabulary)
        if n_words is not None:
            n_words = check_int(n_words, "n_words", minimum=1)
            if self.vocabulary is not None and n_words != len(self.vocabulary):
                raise ValueError(f"n_words={n_words} differs from len(vocabulary)="
                                 f"{len(self.vocabulary)}")
        self.n_words = n_words
        self._domains = _Codebook(name="domains")
        self._words: _Codebook | None = None  # set when tokens are labels
        self._int_tokens: bool | None = None
        self._max_token = -1
        self._acc = _Accumulator()
        self.n_chunks = 0

    # ---------------------------------------------------------------- feeding
    def add(self, tokens: Any, domains: Any, counts: Any = None) -> "ChunkCounter":
        """Count one chunk of samples.

        Parameters
        ----------
        tokens : array-like of shape (n,)
            Integer input ids, or labels (strings) mapped through the vocabulary.
            A pandas ``Categorical`` is mapped category by category.
        domains : hashable or array-like of shape (n,)
            The domain of each sample; a single id applies to the whole chunk.
        counts : array-like of shape (n,), optional
            Non-negative weight of each sample (default 1).
        """
        cols = self._encode_tokens(tokens)
        n = cols.size
        if _is_scalar_id(domains):
            rows = np.full(n, self._domains.encode(np.asarray([domains], dtype=object))[0],
                           dtype=np.int64)
        else:
            if not hasattr(domains, "__len__") or len(domains) != n:
                got = len(domains) if hasattr(domains, "__len__") else type(domains).__name__
                raise ValueError(f"chunk {self.n_chunks}: tokens and domains must have the "
                                 f"same length, got {n} and {got}")
            dom = domains if hasattr(domains, "codes") else _as_1d(domains, "domains")
            rows = self._domains.encode(dom)
        if counts is None:
            vals = None
        else:
            vals = np.asarray(counts)
            if vals.ndim != 1 or vals.size != n or vals.dtype.kind not in "biuf":
                raise ValueError(f"chunk {self.n_chunks}: counts must be {n} numbers, one "
                                 f"per token, got shape {vals.shape} of {vals.dtype}")
            if not np.all(np.isfinite(vals)) or (vals.size and vals.min() < 0):
                raise ValueError(f"chunk {self.n_chunks}: counts must be finite and "
                                 "non-negative")
            vals = vals.astype(np.float64 if vals.dtype.kind == "f" else np.int64)
        if cols.size and cols.max() >= 2**32:
            raise ValueError(f"chunk {self.n_chunks}: token ids must be below 2**32")
        self.n_chunks += 1
        self._acc.add(rows, cols, vals, len(self._domains))
        return self

    def _encode_tokens(self, tokens: Any) -> np.ndarray:
        if hasattr(tokens, "codes") and hasattr(tokens, "categories"):
            labels = True
            arr = tokens
        else:
            arr = _as_1d(tokens, "tokens")
            labels = _is_label_array(arr)
        if labels:
            if self._int_tokens:
                raise ValueError(f"chunk {self.n_chunks}: tokens are labels but earlier "
                                 "chunks held integer ids; use one kind throughout")
            self._int_tokens = False
            if self._words is None:
                if self.n_words is not None and self.vocabulary is None:
                    raise ValueError("n_words applies to integer token ids; for string "
                                     "tokens pass vocabulary (or neither)")
                self._words = _Codebook(self.vocabulary, frozen=self.vocabulary is not None,
                                        name="tokens")
            return self._words.encode(arr)
        if self._int_tokens is False:
            raise ValueError(f"chunk {self.n_chunks}: tokens are integer ids but earlier "
                             "chunks held labels; use one kind throughout")
        self._int_tokens = True
        limit = self.n_words if self.n_words is not None else \
            (len(self.vocabulary) if self.vocabulary is not None else None)
        cols = check_tokens(arr, "tokens", n_words=limit)
        if cols.size:
            self._max_token = max(self._max_token, int(cols.max()))
        return cols

    # ---------------------------------------------------------------- result
    def result(self) -> tuple[sp.csr_matrix, np.ndarray, list | None]:
        """The counts so far, with rows and columns in their final order.

        Returns
        -------
        counts : scipy.sparse.csr_matrix of shape (n_domains, n_words)
        domain_ids : ndarray of shape (n_domains,)
        vocabulary : list of length n_words, or None for integer tokens without one
        """
        M = self._acc.matrix(len(self._domains))
        if M is None:
            raise ValueError("chunks is empty: expected at least one (tokens, domains) "
                             "chunk with at least one token")
        ids = self._domains.labels()
        order = _sorted_order(ids)
        if order is not None:
            ids = np.asarray(ids.tolist())[order]
            M = M[order]
        else:
            ids = _compact(ids)
        vocab = self.vocabulary
        if self._int_tokens:
            width = self.n_words or (len(vocab) if vocab is not None else self._max_token + 1)
        elif vocab is not None:
            width = len(vocab)
        else:
            labels = self._words.labels()
            width = len(labels)
            word_order = _sorted_order(labels)
            if word_order is not None:
                M.resize((M.shape[0], width))
                M = M[:, word_order]
                labels = labels[word_order]
            vocab = labels.tolist()
        M = sp.csr_matrix(M)
        M.resize((M.shape[0], width))
        M.sort_indices()
        return M, ids, vocab


def _compact(ids: np.ndarray) -> np.ndarray:
    """An object array of ids as a plain numpy array where numpy keeps them intact."""
    try:
        arr = np.asarray(ids.tolist())
        if arr.ndim == 1 and arr.tolist() == ids.tolist():
            return arr
    except (ValueError, TypeError):
        pass
    return ids


def _is_scalar_id(domains: Any) -> bool:
    return np.isscalar(domains) or (isinstance(domains, np.ndarray) and domains.ndim == 0)


def _as_1d(values: Any, name: str) -> np.ndarray:
    arr = values if isinstance(values, np.ndarray) else np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} of a chunk must be 1-D, got shape {arr.shape}")
    return arr


def count_chunks(chunks: Iterable[Any], *, vocabulary: Sequence[Any] | None = None,
                 n_words: int | None = None) -> tuple[sp.csr_matrix, np.ndarray, list | None]:
    """Count an iterable of ``(tokens, domains[, counts])`` chunks; see :class:`ChunkCounter`."""
    counter = ChunkCounter(vocabulary=vocabulary, n_words=n_words)
    for i, chunk in enumerate(chunks):
        if not isinstance(chunk, (tuple, list)) or len(chunk) not in (2, 3):
            raise ValueError(f"chunk {i} must be a (tokens, domains) pair or a (tokens, "
                             f"domains, counts) triple, got {type(chunk).__name__}")
        counter.add(*chunk)
    return counter.result()
