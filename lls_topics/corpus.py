"""The latent-label-shift / topic-model dictionary.

In latent label shift (LLS), inputs ``x`` play the role of *words*, domains ``d``
the role of *documents* and latent labels ``y`` the role of *topics*. The data of
a finite LLS problem is therefore a domain-by-input count matrix, which is what
:class:`DomainCorpus` holds (scikit-learn's document-term orientation).
"""
from __future__ import annotations

from typing import Any, Hashable, Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from ._validation import check_count_matrix, check_int, check_same_length, check_tokens
from .counting import unique_ids

__all__ = ["DomainCorpus", "encode_domains"]


def encode_domains(domains: Any, name: str = "domains") -> tuple[np.ndarray, np.ndarray]:
    """Map arbitrary hashable domain ids to row indices.

    Ids are sorted when they are mutually comparable (as ``np.unique`` and
    scikit-learn's ``LabelEncoder`` do) so that the row order does not depend on
    the order of the samples; otherwise the order of first appearance is kept.

    Returns
    -------
    ids : ndarray of shape (n_domains,)
        The distinct domain ids, in row order.
    rows : ndarray of int64, shape (n_samples,)
        The row of each sample.
    """
    arr = as_id_array(domains, name)
    if arr.size == 0:
        return arr[:0], np.zeros(0, dtype=np.int64)
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite ids")
    return unique_ids(arr)


class DomainCorpus:
    """Domain-by-input count matrix of a finite latent-label-shift problem.

    Rows are domains (documents), columns are inputs (words). Labels are the
    topics that a solver recovers from it.

    Parameters
    ----------
    counts : array-like or scipy sparse matrix of shape (n_domains, n_words)
        Non-negative whole-number counts.
    domain_ids : sequence of hashable, optional
        The id of each row. Defaults to ``0 .. n_domains - 1``.
    vocabulary : sequence, optional
        A label for each input (column), e.g. the word strings.
    allow_fractional : bool, default=False
        Accept non-integer entries (expected counts or weights).

    Attributes
    ----------
    counts : scipy.sparse.csr_matrix of shape (n_domains, n_words)
    domain_ids : ndarray of shape (n_domains,)
    vocabulary : list of length n_words

    Examples
    --------
    >>> C = DomainCorpus([[3, 0, 1], [0, 2, 2]], domain_ids=["north", "south"])
    >>> C.n_domains, C.n_words, C.domain_sizes.tolist()
    (2, 3, [4, 4])
    >>> C.domain_index(["south", "north", "south"]).tolist()
    [1, 0, 1]
    """

    def __init__(self, counts: Any, domain_ids: Sequence[Hashable] | None = None,
                 vocabulary: Sequence[Any] | None = None, *,
                 allow_fractional: bool = False) -> None:
        M = check_count_matrix(counts, "counts", allow_fractional=allow_fractional)
        if np.all(M.data == np.round(M.data)) and M.data.max() < 2**53:
            M = M.astype(np.int64)
        self._counts = M
        n_domains, n_words = M.shape
        if domain_ids is None:
            ids = np.arange(n_domains)
        else:
            ids = np.asarray(domain_ids)
            if ids.ndim != 1 or ids.shape[0] != n_domains:
                raise ValueError(f"domain_ids must have one id per row of counts "
                                 f"({n_domains}), got shape {ids.shape}")
            if len(set(ids.tolist())) != n_domains:
                raise ValueError("domain_ids must be unique")
        self._domain_ids = ids
        self._row_of = row_lookup(ids)
        if vocabulary is not None:
            vocabulary = list(vocabulary)
            if len(vocabulary) != n_words:
                raise ValueError(f"vocabulary must have one entry per input ({n_words}), "
                                 f"got {len(vocabulary)}")
        self._vocabulary = vocabulary

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_tokens(cls, tokens: Any, domains: Any, n_words: int | None = None,
                    vocabulary: Sequence[Any] | None = None) -> "DomainCorpus":
        """Count samples ``(domain, input)`` into a corpus.

        Parameters
        ----------
        tokens : array-like of int, shape (n_samples,)
            Non-negative input ids (the discretized inputs, or word ids).
        domains : array-like of hashable, shape (n_samples,)
            The domain of each sample: ints, strings or any hashable ids.
        n_words : int, optional
            Vocabulary size; defaults to ``max(tokens) + 1``.
        vocabulary : sequence, optional
            Labels of the inputs.

        Returns
        -------
        DomainCorpus

        Examples
        --------
        >>> C = DomainCorpus.from_tokens([0, 2, 2, 1], ["a", "b", "b", "a"])
        >>> C.counts.toarray().tolist()
        [[1, 1, 0], [0, 0, 2]]
        """
        tok = check_tokens(tokens, "tokens")
        if not hasattr(domains, "__len__"):
            raise ValueError("domains must be a sequence with one domain id per token")
        check_same_length(tok, domains, "tokens", "domains")
        if tok.size == 0:
            raise ValueError("tokens is empty: expected at least one (token, domain) sample")
        top = int(tok.max()) + 1
        if n_words is None:
            n_words = len(vocabulary) if vocabulary is not None else top
        n_words = check_int(n_words, "n_words", minimum=1)
        if n_words < top:
            raise ValueError(f"n_words={n_words} is smaller than max(tokens) + 1 = {top}")
        ids, rows = encode_domains(domains, "domains")
        n_domains = len(ids)
        if n_domains * n_words <= max(4 * tok.size, 1 << 22):
            # one bincount over flat cell codes beats a sort for dense-ish tables
            flat = np.bincount(rows * n_words + tok, minlength=n_domains * n_words)
            M = sp.csr_matrix(flat.reshape(n_domains, n_words))
        else:
            M = sp.coo_matrix((np.ones(tok.size, dtype=np.int64), (rows, tok)),
                              shape=(n_domains, n_words)).tocsr()
        return cls(M, domain_ids=ids, vocabulary=vocabulary)

    @classmethod
    def from_chunks(cls, chunks: Iterable[Any], *, vocabulary: Sequence[Any] | None = None,
                    n_words: int | None = None) -> "DomainCorpus":
        """Count a stream of samples chunk by chunk, for data larger than memory.

        Parameters
        ----------
        chunks : iterable of (tokens, domains) or (tokens, domains, counts)
            ``tokens``: integer input ids, or labels such as strings (a pandas
            ``Categorical`` too), mapped to columns as they first appear.
            ``domains``: one id per token, or a single id for the whole chunk.
            ``counts``: optional non-negative weight of each token.
        vocabulary : sequence, optional
            Labels of the inputs; label tokens are looked up in it (unknown labels
            raise ``ValueError``).
        n_words : int, optional
            Vocabulary size for integer tokens; defaults to ``max(tokens) + 1``.

        Returns
        -------
        DomainCorpus
            The same corpus as :meth:`from_tokens` on the concatenated chunks: rows in
            sorted domain order (first appearance for mutually unorderable ids), label
            columns in sorted order. Memory is O(nnz of the counts + one chunk).
        """
        from .counting import count_chunks

        M, ids, vocab = count_chunks(chunks, vocabulary=vocabulary, n_words=n_words)
        return cls(M, domain_ids=ids, vocabulary=vocab,
                   allow_fractional=M.dtype.kind == "f")

    @classmethod
    def from_dask(cls, collection: Any, *, domain: str = "domain", token: str = "token",
                  count: str | None = None, vocabulary: Sequence[Any] | None = None,
                  n_words: int | None = None) -> "DomainCorpus":
        """Count a Dask collection on the active Dask scheduler (``pip install
        "lls-topics[dask]"``).

        Parameters
        ----------
        collection : dask.dataframe.DataFrame or dask.bag.Bag
            A data frame with one sample per row in columns ``domain`` and ``token``
            (and an optional weight column ``count``), or a bag of
            ``(domain, tokens)`` pairs, ``tokens`` being a sequence of tokens.
        vocabulary, n_words
            As in :meth:`from_chunks`.

        Returns
        -------
        DomainCorpus
            Identical to :meth:`from_tokens` on the same samples. Each partition is
            counted where it lives and only sparse (domain, token, count) triples travel
            back; a failed task raises :class:`lls_topics.dask_counting.DaskCountError`
            and no partial counts are returned.
        """
        from .dask_counting import count_dask

        return cls.from_chunks(count_dask(collection, domain=domain, token=token,
                                          count=count),
                               vocabulary=vocabulary, n_words=n_words)

    @classmethod
    def from_gensim(cls, bow_corpus: Iterable[Iterable[tuple[int, float]]],
                    num_terms: int | None = None,
                    domain_ids: Sequence[Hashable] | None = None,
                    vocabulary: Sequence[Any] | None = None) -> "DomainCorpus":
        """Build from a gensim bag-of-words corpus, one document per domain.

        Parameters
        ----------
        bow_corpus : iterable of list of (word_id, count)
        num_terms : int, optional
            Vocabulary size; defaults to the largest id + 1 (or ``len(vocabulary)``,
            which may be a gensim ``Dictionary``).
        """
        rows, cols, vals = [], [], []
        n_docs = 0
        for d, doc in enumerate(bow_corpus):
            n_docs += 1
            for entry in doc:
                if len(entry) != 2:
                    raise ValueError(f"bow_corpus document {d} holds {entry!r}; expected "
                                     "(word_id, count) pairs")
                rows.append(d)
                cols.append(entry[0])
                vals.append(entry[1])
        if n_docs == 0:
            raise ValueError("bow_corpus is empty: expected at least one document")
        cols_a = check_tokens(np.asarray(cols, dtype=np.float64) if cols else
                              np.zeros(0, np.int64), "bow_corpus word ids")
        if num_terms is None:
            if vocabulary is not None:
                num_terms = len(vocabulary)
            else:
                num_terms = int(cols_a.max()) + 1 if cols_a.size else 1
        num_terms = check_int(num_terms, "num_terms", minimum=1)
        if cols_a.size and cols_a.max() >= num_terms:
            raise ValueError(f"num_terms={num_terms} is smaller than the largest word id "
                             f"+ 1 = {int(cols_a.max()) + 1}")
        M = sp.coo_matrix((np.asarray(vals, dtype=np.float64), (np.asarray(rows), cols_a)),
                          shape=(n_docs, num_terms)).tocsr()
        if vocabulary is not None and not isinstance(vocabulary, (list, tuple, np.ndarray)):
            # a gensim Dictionary maps id -> token
            vocabulary = [vocabulary[i] for i in range(num_terms)]
        return cls(M, domain_ids=domain_ids, vocabulary=vocabulary)

    @classmethod
    def from_sklearn(cls, X: Any, vectorizer: Any = None,
                     domain_ids: Sequence[Hashable] | None = None) -> "DomainCorpus":
        """Build from a ``CountVectorizer``-style (n_documents, n_features) matrix.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_domains, n_words)
        vectorizer : fitted vectorizer, optional
            Its ``get_feature_names_out()`` becomes the vocabulary.
        """
        vocab = None
        if vectorizer is not None:
            vocab = list(vectorizer.get_feature_names_out())
        return cls(X, domain_ids=domain_ids, vocabulary=vocab)

    # ------------------------------------------------------------------ conversions
    def to_gensim(self) -> list[list[tuple[int, int]]]:
        """Return a gensim bag-of-words corpus: one list of (word_id, count) per domain."""
        M = self._counts
        out = []
        for d in range(M.shape[0]):
            lo, hi = M.indptr[d], M.indptr[d + 1]
            vals = M.data[lo:hi]
            vals = vals.tolist()
            out.append(list(zip(M.indices[lo:hi].tolist(), vals)))
        return out

    def to_sklearn(self) -> sp.csr_matrix:
        """Return the (n_domains, n_words) CSR count matrix, as scikit-learn expects."""
        return self._counts.copy()

    # ------------------------------------------------------------------ properties
    @property
    def counts(self) -> sp.csr_matrix:
        """scipy.sparse.csr_matrix of shape (n_domains, n_words): the counts."""
        return self._counts

    @property
    def n_domains(self) -> int:
        """Number of domains (rows)."""
        return self._counts.shape[0]

    @property
    def n_words(self) -> int:
        """Number of inputs (columns), the vocabulary size."""
        return self._counts.shape[1]

    @property
    def n_samples(self) -> float:
        """Total number of samples (tokens)."""
        return self._counts.sum()

    @property
    def domain_sizes(self) -> np.ndarray:
        """ndarray of shape (n_domains,): number of samples in each domain."""
        return np.asarray(self._counts.sum(axis=1)).ravel()

    @property
    def word_counts(self) -> np.ndarray:
        """ndarray of shape (n_words,): number of samples of each input."""
        return np.asarray(self._counts.sum(axis=0)).ravel()

    @property
    def domain_ids(self) -> np.ndarray:
        """ndarray of shape (n_domains,): the domain id of each row."""
        return self._domain_ids

    @property
    def vocabulary(self) -> list:
        """list of length n_words: the label of each input (ids when none was given)."""
        if self._vocabulary is None:
            return list(range(self.n_words))
        return list(self._vocabulary)

    def domain_index(self, domains: Any, name: str = "domains") -> np.ndarray:
        """Map domain ids to row indices, raising ``ValueError`` on unknown ids."""
        return map_domain_ids(domains, self._row_of, name)

    def __repr__(self) -> str:
        return (f"DomainCorpus(n_domains={self.n_domains}, n_words={self.n_words}, "
                f"n_samples={self.n_samples:g})")


def row_lookup(ids: Any) -> dict:
    """``{id: row}`` for distinct domain ids given in row order (the inverse of ``ids``).

    Examples
    --------
    >>> row_lookup(np.array(["north", "south"]))
    {'north': 0, 'south': 1}
    """
    return {d: i for i, d in enumerate(np.asarray(ids).tolist())}


def map_domain_ids(domains: Any, row_of: dict, name: str = "domains") -> np.ndarray:
    """Vectorized lookup of domain ids in ``row_of``; unknown ids raise ``ValueError``."""
    arr = as_id_array(domains, name)
    uniq, inv = unique_ids(arr)
    rows_u = np.empty(len(uniq), dtype=np.int64)
    for i, d in enumerate(uniq.tolist()):  # loop over distinct ids only
        r = row_of.get(d)
        if r is None:
            known = list(row_of)[:10]
            raise ValueError(f"{name} contains id {d!r}, which was not seen at fit; "
                             f"known ids start with {known}")
        rows_u[i] = r
    return rows_u[inv.reshape(-1)]


def sample_rows(domains: Any, row_of: dict, n: int, other: str) -> np.ndarray:
    """Rows of ``n`` samples' domains; a single id applies to every sample.

    ``other`` names the argument whose length ``domains`` must match.
    """
    rows = map_domain_ids(domains, row_of, "domains")
    if rows.size == 1 and n != 1:
        rows = np.repeat(rows, n)
    if rows.size != n:
        raise ValueError(f"{other} and domains must have the same length, got {n} and "
                         f"{rows.size}")
    return rows


def as_id_array(domains: Any, name: str = "domains") -> np.ndarray:
    """A 1-D array of ids; tuples and mixed types become an object array."""
    if isinstance(domains, np.ndarray) and domains.ndim == 1:
        return domains
    if np.isscalar(domains) or isinstance(domains, tuple) and not hasattr(domains, "__len__"):
        return np.asarray([domains])
    try:
        arr = np.asarray(domains)
    except ValueError:
        arr = None
    if arr is not None and arr.ndim == 0:
        return arr.reshape(1)
    if arr is None or (arr.ndim > 1 and not isinstance(domains, np.ndarray)):
        items = list(domains)
        arr = np.empty(len(items), dtype=object)
        arr[:] = [tuple(d) if isinstance(d, list) else d for d in items]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D with one id per sample, got shape {arr.shape}")
    return arr
