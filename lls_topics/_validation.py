"""Input checks shared by every public entry point.

Each check raises a ``ValueError`` (or ``TypeError``) that names the offending
argument and says what was expected, so that users never see a numpy traceback
from deep inside a solver.
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import scipy.sparse as sp


def check_int(value: Any, name: str, *, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """Return ``value`` as a Python int, or raise naming ``name``.

    ``TypeError`` for a value that is not a number (bools included), ``ValueError``
    for a number that is not integral or lies out of range: the same rule as the
    estimators' parameter checks (:mod:`lls_topics._params`).
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if not isinstance(value, numbers.Integral):
        if not (np.isfinite(float(value)) and float(value).is_integer()):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_count_matrix(X: Any, name: str = "X", *, allow_fractional: bool = True,
                       ) -> sp.csr_matrix:
    """Validate a non-negative, finite 2-D count matrix and return it as CSR.

    Parameters
    ----------
    X : array-like or scipy sparse matrix of shape (n_domains, n_words)
    name : str
        Argument name used in error messages.
    allow_fractional : bool
        Whether non-integer entries (expected counts, weights) are accepted.

    Returns
    -------
    scipy.sparse.csr_matrix of float64, with explicit zeros removed.
    """
    if sp.issparse(X):
        M = sp.csr_matrix(X)
        if M.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold numbers, got dtype {M.dtype}")
        M = M.astype(np.float64, copy=True)
    else:
        try:
            arr = np.asarray(X)
        except Exception as exc:  # ragged lists and the like
            raise ValueError(f"{name} must be a 2-D array of counts: {exc}") from None
        if arr.dtype == object:
            raise ValueError(f"{name} must be a 2-D numeric array of counts, got a ragged "
                             "or object array")
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
        if arr.ndim != 2:
            raise ValueError(f"{name} must be 2-D (n_domains, n_words), got shape {arr.shape}")
        M = sp.csr_matrix(arr.astype(np.float64))
    if M.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_domains, n_words), got shape {M.shape}")
    if M.shape[0] == 0 or M.shape[1] == 0:
        raise ValueError(f"{name} is empty: got shape {M.shape}, expected at least one "
                         "domain and one word")
    data = M.data
    if not np.all(np.isfinite(data)):
        raise ValueError(f"{name} contains NaN or infinite values; expected finite counts")
    if np.any(data < 0):
        raise ValueError(f"{name} contains negative values; expected non-negative counts")
    if not allow_fractional and np.any(data != np.round(data)):
        raise ValueError(f"{name} contains fractional values; expected whole-number counts "
                         "(pass allow_fractional=True for expected counts or weights)")
    M.eliminate_zeros()
    M.sum_duplicates()
    M.sort_indices()
    if M.nnz == 0:
        raise ValueError(f"{name} has no non-zero counts; expected at least one observation")
    return M


def check_tokens(tokens: Any, name: str = "tokens", *, n_words: int | None = None,
                 ) -> np.ndarray:
    """Validate a 1-D array of non-negative integer input ids."""
    arr = np.asarray(tokens)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be non-negative integer input ids, got dtype "
                         f"{arr.dtype}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or infinite values; expected integer ids")
        if np.any(arr != np.round(arr)):
            raise ValueError(f"{name} contains non-integer values; expected integer ids")
    if arr.dtype.kind == "b":
        raise ValueError(f"{name} must be integer input ids, got booleans")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} contains negative ids; expected ids >= 0")
    if n_words is not None and arr.size and arr.max() >= n_words:
        raise ValueError(f"{name} contains id {int(arr.max())}, beyond the vocabulary of "
                         f"{n_words} inputs (expected ids in [0, {n_words - 1}])")
    return arr


def check_identifiable(n_topics: int, n_domains: int, what: str = "domains") -> None:
    """Raise unless there are at least as many domains as labels."""
    if n_topics > n_domains:
        raise ValueError(f"n_topics={n_topics} exceeds the number of {what} ({n_domains}): "
                         "the labels are not identifiable with fewer domains than labels")


def check_features(X: Any, name: str = "X") -> np.ndarray:
    """Validate a finite 2-D (or higher) float feature array; returns float32."""
    arr = np.asarray(X)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if arr.ndim < 2:
        raise ValueError(f"{name} must have shape (n_samples, n_features, ...), got shape "
                         f"{arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty; expected at least one sample")
    arr = arr.astype(np.float32, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values; expected finite features")
    return arr


def check_same_length(a: Any, b: Any, name_a: str, name_b: str) -> None:
    """Raise if the two sequences have different lengths."""
    if len(a) != len(b):
        raise ValueError(f"{name_a} and {name_b} must have the same length, got "
                         f"{len(a)} and {len(b)}")


def check_random_state(seed: Any) -> np.random.Generator:
    """Turn ``None``, an int, a ``Generator`` or a ``RandomState`` into a Generator.

    A fresh generator is returned for ints so that no global state is touched.
    """
    if seed is None or isinstance(seed, (numbers.Integral, np.integer)):
        return np.random.default_rng(None if seed is None else int(seed))
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.RandomState):
        return np.random.default_rng(seed.randint(0, 2**31 - 1))
    raise TypeError(f"random_state must be None, an int or a numpy Generator, got {seed!r}")


def check_distribution_matrix(P: Any, name: str, *, axis: int = 1) -> np.ndarray:
    """Validate a matrix of non-negative finite entries (rows are distributions)."""
    arr = np.asarray(P, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if np.any(arr < 0):
        raise ValueError(f"{name} contains negative entries; expected probabilities")
    return arr
