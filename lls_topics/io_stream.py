"""Streamed readers: token tables, text folders and ``MmCorpus`` files counted chunk by
chunk through :meth:`DomainCorpus.from_chunks`, in O(nnz + one chunk) memory.

They give the same corpus as the whole-file readers of :mod:`lls_topics.io`: integer
domain ids sort numerically, a token column of digits becomes integer input ids, and
labels sort as strings. Bad content raises ``ValueError`` naming the file.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import scipy.sparse as sp

__all__ = ["token_table_chunks", "read_token_table_chunked", "read_text_dir_chunked",
           "read_mmcorpus_chunked", "file_words", "table_columns", "table_layout",
           "numeric_ids", "drop_rare_words"]

_DOMAIN_NAMES = ("domain", "doc", "document", "d", "domain_id")
_TOKEN_NAMES = ("token", "word", "input", "x", "token_id", "word_id")
_COUNT_NAMES = ("count", "n", "weight")


def table_layout(first: list[str], path: Any, delimiter: str
                 ) -> tuple[int, int, int | None, bool]:
    """(domain column, token column, count column or None, whether ``first`` - the
    table's first non-empty row - is a header) of a token table."""
    head = [c.strip().lower() for c in first]
    if any(h in _DOMAIN_NAMES for h in head) or any(h in _TOKEN_NAMES for h in head):
        try:
            dom = next(i for i, h in enumerate(head) if h in _DOMAIN_NAMES)
            tok = next(i for i, h in enumerate(head) if h in _TOKEN_NAMES)
        except StopIteration:
            raise ValueError(f"{str(path)!r}: the header {first} needs a 'domain' and a "
                             "'token' column") from None
        cnt = next((i for i, h in enumerate(head) if h in _COUNT_NAMES), None)
        return dom, tok, cnt, True
    return 0, 1, (2 if len(head) >= 3 else None), False


def _first_row(path: Path, delimiter: str) -> tuple[list[str], int]:
    """The first non-empty row and its line index."""
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        for lineno, row in enumerate(csv.reader(fh, delimiter=delimiter)):
            if row and any(c.strip() for c in row):
                return row, lineno
    raise ValueError(f"{str(path)!r} is empty: expected rows of domain{delimiter}token")


def _layout(path: Path, delimiter: str) -> tuple[int, int, int | None, int]:
    """(domain column, token column, count column or None, lines before the data)."""
    first, lineno = _first_row(path, delimiter)
    dom, tok, cnt, header = table_layout(first, path, delimiter)
    if not header and len(first) < 2:
        raise ValueError(f"{str(path)!r}: row 1 has {len(first)} column(s), expected at least "
                         f"2 (domain{delimiter}token); wrong --format?")
    return dom, tok, cnt, lineno + 1 if header else lineno


def table_columns(path: Any, delimiter: str) -> tuple[list[str], bool]:
    """Column names for a token table, ``domain``, ``token`` and ``count`` where the
    reader finds them (others ``column<i>``), and whether its first row is a header."""
    first, _ = _first_row(Path(path), delimiter)
    dom, tok, cnt, header = table_layout(first, path, delimiter)
    names = [f"column{i}" for i in range(len(first))]
    names[dom], names[tok] = "domain", "token"
    if cnt is not None:
        names[cnt] = "count"
    return names, header


def file_words(path: Any, keep_stopwords: bool = False) -> list[str]:
    """The words of one text file (gensim's ``simple_preprocess``, stop words removed
    unless ``keep_stopwords``); ``ValueError`` for unreadable or binary files."""
    from gensim.parsing.preprocessing import STOPWORDS
    from gensim.utils import simple_preprocess

    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ValueError(f"cannot read {str(path)!r}: {exc.strerror}") from None
    if "\x00" in text[:4096]:
        raise ValueError(f"{str(path)!r} looks binary; the directory must hold text files")
    words = simple_preprocess(text)
    return words if keep_stopwords else [w for w in words if w not in STOPWORDS]


def token_table_chunks(path: Any, delimiter: str, chunksize: int) -> Iterator[tuple]:
    """``(tokens, domains[, counts])`` chunks of a CSV/TSV token table.

    Tokens and domains come as strings (pandas ``Categorical`` when pandas is
    installed, whose C parser is several times faster than the csv module).
    """
    path = Path(path)
    dom, tok, cnt, skip = _layout(path, delimiter)
    try:
        import pandas as pd
    except ImportError:
        yield from _csv_chunks(path, delimiter, chunksize, dom, tok, cnt, skip)
        return
    cols = [dom, tok] + ([cnt] if cnt is not None else [])
    dtype = {dom: "category", tok: "category"}
    if cnt is not None:
        dtype[cnt] = "float64"
    try:
        reader = pd.read_csv(path, sep=delimiter, header=None, skiprows=skip, usecols=cols,
                             dtype=dtype, chunksize=int(chunksize), skipinitialspace=True,
                             keep_default_na=False, na_values=[""], encoding="utf-8",
                             encoding_errors="replace")
        for i, frame in enumerate(reader):
            if frame[dom].isna().any() or frame[tok].isna().any():
                raise ValueError(f"{str(path)!r}: a row of chunk {i} lacks its domain or "
                                 f"token (expected at least {max(cols) + 1} columns; wrong "
                                 "--format?)")
            chunk = (frame[tok].array, frame[dom].array)
            if cnt is not None:
                chunk += (frame[cnt].to_numpy(),)
            yield chunk
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"cannot parse {str(path)!r}: {str(exc).strip()}") from None
    except ValueError as exc:
        if str(path) in str(exc):
            raise
        raise ValueError(f"{str(path)!r}: {exc}") from None


def _csv_chunks(path: Path, delimiter: str, chunksize: int, dom: int, tok: int,
                cnt: int | None, skip: int) -> Iterator[tuple]:
    need = max(dom, tok, cnt or 0) + 1
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        for _ in range(skip):
            next(reader, None)
        buf: list[list[str]] = []
        for lineno, row in enumerate(reader, start=skip + 1):
            if not row or not any(c.strip() for c in row):
                continue
            if len(row) < need:
                raise ValueError(f"{str(path)!r}: row {lineno} has {len(row)} column(s), "
                                 f"expected at least {need}; wrong --format?")
            buf.append(row)
            if len(buf) >= chunksize:
                yield _csv_chunk(path, buf, dom, tok, cnt)
                buf = []
        if buf:
            yield _csv_chunk(path, buf, dom, tok, cnt)


def _csv_chunk(path: Path, rows: list, dom: int, tok: int, cnt: int | None) -> tuple:
    chunk: tuple = (np.array([r[tok].strip() for r in rows]),
                    np.array([r[dom].strip() for r in rows]))
    if cnt is not None:
        try:
            chunk += (np.array([float(r[cnt]) for r in rows]),)
        except ValueError:
            raise ValueError(f"{str(path)!r}: the count column holds non-numbers") from None
    return chunk


def numeric_ids(corpus: Any) -> Any:
    """Digit-string domain ids become ints (sorted numerically) and digit-string tokens
    become the input ids themselves, as the whole-file token-table reader does."""
    from .corpus import DomainCorpus

    M = corpus.counts
    ids = corpus.domain_ids
    vocab = corpus.vocabulary
    changed = False
    if all(isinstance(v, str) and v.isdigit() for v in vocab):
        cols = np.asarray([int(v) for v in vocab], dtype=np.int64)
        C = M.tocoo()
        M = sp.coo_matrix((C.data, (C.row, cols[C.col])),
                          shape=(M.shape[0], int(cols.max()) + 1)).tocsr()
        vocab, changed = None, True
    if all(isinstance(v, str) and v.lstrip("-").isdigit() for v in ids.tolist()):
        as_int = np.asarray([int(v) for v in ids.tolist()], dtype=np.int64)
        uniq, inv = np.unique(as_int, return_inverse=True)
        if len(uniq) != len(as_int):  # "07" and "7": one domain, as the file reader has it
            M = sp.coo_matrix((np.ones(len(inv)), (inv, np.arange(len(inv)))),
                              shape=(len(uniq), len(inv))).tocsr() @ M
        else:
            M = M[np.argsort(as_int)]
        ids, changed = uniq, True
    if not changed:
        return corpus
    return DomainCorpus(M, domain_ids=ids, vocabulary=vocab,
                        allow_fractional=M.dtype.kind == "f")


def read_token_table_chunked(path: Any, delimiter: str, chunksize: int) -> Any:
    """A CSV/TSV token table counted ``chunksize`` rows at a time."""
    from .corpus import DomainCorpus

    corpus = DomainCorpus.from_chunks(token_table_chunks(path, delimiter, chunksize))
    return numeric_ids(corpus)


def read_text_dir_chunked(files: list[Path], names: list[str], words_of: Callable,
                          min_count: int) -> Any:
    """One text file at a time: ``words_of(path)`` gives its (filtered) words."""
    from .corpus import DomainCorpus

    corpus = DomainCorpus.from_chunks((np.asarray(words_of(f), dtype=str), name)
                                      for f, name in zip(files, names))
    return drop_rare_words(corpus, min_count)


def drop_rare_words(corpus: Any, min_count: int) -> Any:
    """Keep the words seen at least ``min_count`` times, and the domains left with words."""
    from .corpus import DomainCorpus

    M = corpus.counts
    keep = corpus.word_counts >= min_count
    if not keep.any():
        raise ValueError(f"no word occurs at least --min-count={min_count} times")
    M = M[:, keep]
    rows = np.asarray(M.sum(axis=1)).ravel() > 0  # files left without words drop out
    vocab = [w for w, k in zip(corpus.vocabulary, keep) if k]
    return DomainCorpus(M[rows], domain_ids=corpus.domain_ids[rows], vocabulary=vocab)


def read_mmcorpus_chunked(mm: Any, docs_per_chunk: int = 4096) -> Any:
    """A gensim ``MmCorpus`` read document by document, one row per document."""
    from .corpus import DomainCorpus

    n_terms = int(mm.num_terms)

    def chunks() -> Iterator[tuple]:
        ids: list = []
        rows: list = []
        vals: list = []
        for d, doc in enumerate(mm):
            for w, c in doc:
                ids.append(w)
                rows.append(d)
                vals.append(c)
            if len(ids) >= docs_per_chunk * 64 or (d + 1) % docs_per_chunk == 0:
                if ids:
                    yield (np.asarray(ids, dtype=np.int64), np.asarray(rows, dtype=np.int64),
                           np.asarray(vals, dtype=np.float64))
                ids, rows, vals = [], [], []
        if ids:
            yield (np.asarray(ids, dtype=np.int64), np.asarray(rows, dtype=np.int64),
                   np.asarray(vals, dtype=np.float64))

    part = DomainCorpus.from_chunks(chunks(), n_words=max(n_terms, 1))
    n_docs = int(mm.num_docs)
    # documents without entries are rows of zeros, as in the whole-file reader
    C = part.counts.tocoo()
    M = sp.coo_matrix((C.data, (np.asarray(part.domain_ids)[C.row], C.col)),
                      shape=(n_docs, part.n_words)).tocsr()
    return DomainCorpus(M, allow_fractional=True)
