"""Text front end: documents -> filtered vocabulary -> domain-by-word counts.

Real corpora need more than splitting on spaces. Frequent function words ("said",
"says", "also") otherwise lead every label, and words seen in one or two documents
add thousands of parameters that the data cannot determine. This module tokenizes
with gensim (lowercase words of ``min_len`` letters or more, English stop words
removed) and prunes the vocabulary with gensim's ``Dictionary.filter_extremes``:
words in fewer than ``no_below`` documents or in more than a ``no_above`` share of
them are dropped, then only the ``keep_n`` most frequent are kept.

In LLS text data a domain (a source, a period, a site) usually holds many
documents. Document frequencies are counted over documents, and the counts of the
documents of one domain are then summed into that domain's row.
:func:`read_domain_map` reads the ``document,domain`` CSV that groups the files of
a folder (:func:`read_documents`) into domains.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from ._validation import check_int

__all__ = ["tokenize", "text_corpus", "read_documents", "read_domain_map",
           "read_text_corpus", "STOP_WORDS"]


def _gensim_stop_words() -> frozenset:
    from gensim.parsing.preprocessing import STOPWORDS

    return frozenset(STOPWORDS)


#: gensim's English stop words (337 words)
STOP_WORDS: frozenset = _gensim_stop_words()


def tokenize(text: str, *, min_len: int = 3, max_len: int = 30,
             stop_words: Iterable[str] | None = STOP_WORDS) -> list[str]:
    """Lowercase word tokens of ``min_len`` to ``max_len`` letters, stop words removed.

    Uses gensim's ``simple_preprocess`` (accents removed, digits and punctuation
    split off). ``stop_words=None`` keeps every word.
    """
    from gensim.utils import simple_preprocess

    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    words = simple_preprocess(text, min_len=min_len, max_len=max_len)
    if stop_words:
        stop = stop_words if isinstance(stop_words, (set, frozenset)) else set(stop_words)
        words = [w for w in words if w not in stop]
    return words


def text_corpus(documents: Sequence[Any], domains: Sequence[Any] | None = None, *,
                no_below: int = 5, no_above: float = 0.5, keep_n: int | None = 100000,
                stop_words: Iterable[str] | None = STOP_WORDS, min_len: int = 3,
                min_count: int = 1) -> Any:
    """Domain-by-word counts of a text corpus, with gensim's vocabulary filtering.

    Parameters
    ----------
    documents : sequence of str or of token lists
        Raw texts (tokenized with :func:`tokenize`) or already tokenized documents.
    domains : sequence, optional
        The domain of each document (any hashable ids). Default: each document is
        its own domain.
    no_below : int, default=5
        Drop words that occur in fewer documents.
    no_above : float, default=0.5
        Drop words that occur in more than this share of the documents (in (0, 1]).
    keep_n : int or None, default=100000
        Then keep only this many most frequent words (None: all).
    stop_words : iterable of str or None
        Removed from raw texts before counting (default gensim's English list).
    min_len : int, default=3
        Shortest word kept from raw texts.
    min_count : int, default=1
        Then drop words seen fewer times in all (occurrences, not documents).

    Returns
    -------
    DomainCorpus
        One row per domain (the summed counts of its documents), the kept words as
        its vocabulary (in gensim's id order).

    Raises
    ------
    ValueError
        Empty input, mismatched lengths, out-of-range options, or no word left
        after filtering (the message says which filter to relax).
    """
    from gensim.corpora import Dictionary

    from .corpus import DomainCorpus, encode_domains

    docs = _tokenized(documents, stop_words=stop_words, min_len=min_len)
    no_below = _positive_int(no_below, "no_below")
    if not (isinstance(no_above, (int, float, np.floating)) and 0 < no_above <= 1):
        raise ValueError(f"no_above must be a share of the documents in (0, 1], got "
                         f"{no_above!r}")
    if keep_n is not None:
        keep_n = _positive_int(keep_n, "keep_n")
    if domains is None:
        domains = np.arange(len(docs))
    elif len(domains) != len(docs):
        raise ValueError(f"domains must give one domain per document: got {len(domains)} "
                         f"domains for {len(docs)} documents")
    dictionary = Dictionary(docs)
    if len(dictionary) == 0:
        raise ValueError("documents hold no words (after tokenizing and removing stop "
                         "words)")
    dictionary.filter_extremes(no_below=no_below, no_above=float(no_above), keep_n=keep_n)
    min_count = _positive_int(min_count, "min_count")
    if min_count > 1:
        dictionary.filter_tokens(bad_ids=[i for i, c in dictionary.cfs.items()
                                          if c < min_count])
    if len(dictionary) == 0:
        raise ValueError(f"no word is left after filtering: no word occurs in at least "
                         f"no_below={no_below} and at most no_above={no_above} of the "
                         f"{len(docs)} documents (and at least min_count={min_count} "
                         "times); lower no_below or min_count, or raise no_above")
    ids, rows = encode_domains(domains)
    doc_ids = [dictionary.doc2idx(d) for d in docs]
    lengths = np.array([len(d) for d in doc_ids])
    words = np.concatenate([np.asarray(d, dtype=np.int64) for d in doc_ids]) \
        if doc_ids else np.zeros(0, dtype=np.int64)
    doc_rows = np.repeat(rows, lengths)
    kept = words >= 0
    M = sp.csr_matrix((np.ones(int(kept.sum())), (doc_rows[kept], words[kept])),
                      shape=(len(ids), len(dictionary)))
    M.sum_duplicates()
    vocabulary = [dictionary[i] for i in range(len(dictionary))]
    return DomainCorpus(M, domain_ids=ids, vocabulary=vocabulary)


def _positive_int(value: Any, name: str) -> int:
    try:
        return check_int(value, name, minimum=1)
    except TypeError as exc:
        raise ValueError(str(exc)) from None


def _tokenized(documents: Any, *, stop_words: Any, min_len: int) -> list[list[str]]:
    if isinstance(documents, (str, bytes)) or not hasattr(documents, "__len__"):
        raise ValueError("documents must be a sequence of texts or of token lists, got "
                         f"{type(documents).__name__}")
    if len(documents) == 0:
        raise ValueError("documents is empty: expected at least one document")
    min_len = _positive_int(min_len, "min_len")
    out = []
    for i, doc in enumerate(documents):
        if isinstance(doc, str):
            out.append(tokenize(doc, min_len=min_len, stop_words=stop_words))
        elif isinstance(doc, (list, tuple)) and all(isinstance(w, str) for w in doc):
            out.append(list(doc))
        else:
            raise ValueError(f"documents[{i}] must be a str or a list of str, got "
                             f"{type(doc).__name__}")
    return out


def read_documents(folder: str | Path) -> tuple[list[str], list[str]]:
    """The text files of a folder: their names (file names) and contents, sorted by name.

    Hidden files are skipped. Raises ``ValueError`` for a missing or empty folder
    or a binary file.
    """
    path = Path(folder)
    if not path.is_dir():
        raise ValueError(f"folder {str(folder)!r} is not a directory")
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise ValueError(f"folder {str(folder)!r} holds no files: expected one text file per "
                         "document")
    texts = []
    for f in files:
        try:
            text = f.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise ValueError(f"cannot read {str(f)!r}: {exc.strerror}") from None
        if "\x00" in text[:4096]:
            raise ValueError(f"{str(f)!r} looks binary; the folder must hold text files")
        texts.append(text)
    return [f.name for f in files], texts


def read_domain_map(path: str | Path) -> dict[str, str]:
    """A ``document,domain`` CSV (with that header) as a dict document -> domain.

    Raises ``ValueError`` for a missing file, a missing column, an empty table, or
    a document listed twice with different domains.
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"domain map {str(path)!r} is not a file")
    with open(p, newline="", encoding="utf-8", errors="replace") as fh:
        rows = [r for r in csv.reader(fh) if r and any(c.strip() for c in r)]
    if not rows:
        raise ValueError(f"domain map {str(path)!r} is empty: expected a header "
                         "'document,domain' and one row per document")
    head = [c.strip().lower() for c in rows[0]]
    if "document" not in head or "domain" not in head:
        raise ValueError(f"domain map {str(path)!r} needs the header columns 'document' and "
                         f"'domain', got {rows[0]}")
    i_doc, i_dom = head.index("document"), head.index("domain")
    out: dict[str, str] = {}
    for n, r in enumerate(rows[1:], start=2):
        if len(r) <= max(i_doc, i_dom):
            raise ValueError(f"domain map {str(path)!r}: line {n} has {len(r)} column(s), "
                             f"expected {len(head)}")
        doc, dom = r[i_doc].strip(), r[i_dom].strip()
        if not doc or not dom:
            raise ValueError(f"domain map {str(path)!r}: line {n} has an empty document or "
                             "domain")
        if out.get(doc, dom) != dom:
            raise ValueError(f"domain map {str(path)!r}: document {doc!r} is given two "
                             f"domains, {out[doc]!r} and {dom!r}")
        out[doc] = dom
    if not out:
        raise ValueError(f"domain map {str(path)!r} has a header but no rows")
    return out


def read_text_corpus(folder: str | Path, domain_map: str | Path | None = None,
                     **options: Any) -> Any:
    """:func:`text_corpus` of a folder of text files.

    Parameters
    ----------
    folder : path
        One text file per document.
    domain_map : path, optional
        A ``document,domain`` CSV (:func:`read_domain_map`); a document is named by
        its file name or its file name without the extension. Every file must be
        listed, and every listed document must exist. Default: each file is its
        own domain, named by the file name without the extension.
    **options
        ``no_below``, ``no_above``, ``keep_n``, ``stop_words``, ``min_len``,
        ``min_count`` of :func:`text_corpus`.

    Returns
    -------
    DomainCorpus
    """
    names, texts = read_documents(folder)
    stems = [Path(n).stem or n for n in names]
    if domain_map is None:
        ids = stems if len(set(stems)) == len(stems) else names
        return text_corpus(texts, ids, **options)
    mapping = read_domain_map(domain_map)
    domains, missing = [], []
    for name, stem in zip(names, stems):
        dom = mapping.get(name, mapping.get(stem))
        if dom is None:
            missing.append(name)
        domains.append(dom)
    if missing:
        raise ValueError(f"domain map {str(domain_map)!r} gives no domain for {len(missing)} "
                         f"file(s) of {str(folder)!r}, e.g. {missing[:3]}")
    known = set(names) | set(stems)
    absent = [d for d in mapping if d not in known]
    if absent:
        raise ValueError(f"domain map {str(domain_map)!r} lists {len(absent)} document(s) not "
                         f"in {str(folder)!r}, e.g. {absent[:3]}")
    return text_corpus(texts, domains, **options)
