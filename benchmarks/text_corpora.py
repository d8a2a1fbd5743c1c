"""Real labeled text corpora available offline, for benchmarks only.

Two corpora, each returned as a :class:`LabeledText` ``(documents, labels,
label_names)`` that unpacks like a tuple:

- :func:`load_manpages`: Debian manual pages (``apt-get install manpages
  manpages-dev`` adds sections 2, 3, 4, 5, 7), label = the man section directory
  (``man1`` .. ``man8``). Roff markup is stripped; ``.so`` redirects and pages with
  fewer than ``min_lines`` text lines are dropped.
- :func:`load_docstrings`: docstrings (module, class, function) of installed Python
  packages, label = the package (:func:`lls_topics.datasets.load_docstring_texts`:
  sources read with :mod:`ast`, never imported; test and vendored folders skipped).

Preprocessing follows ``PROTOCOL.md`` "Real-text problems" (:func:`preprocess`):
lowercase word tokens of 3+ letters, English stop words (gensim's list) removed,
exact duplicate documents kept once, words kept when they occur in at least 5
documents, documents with fewer than 5 kept words dropped. ``tokenized=False``
returns the raw text of exactly the kept documents instead (same order, same
labels), e.g. for TF-IDF embeddings.

No test depends on these corpora: they exist only where the Debian packages or the
Python packages are installed. Loading is cached per process.

Usage::

    from text_corpora import load_corpus
    docs, labels, names = load_corpus("manpages")          # token lists
    raw, labels, names = load_corpus("docstrings", tokenized=False)

    python benchmarks/text_corpora.py          # prints a summary of both corpora
"""
from __future__ import annotations

import functools
import gzip
import os
import re
import sys
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

__all__ = ["LabeledText", "load_corpus", "load_manpages", "load_docstrings", "preprocess",
           "tokenize", "strip_roff", "CORPORA", "MAN_SECTIONS", "DOC_PACKAGES"]

MAN_ROOT = Path("/usr/share/man")
#: man section directory -> short name; sections with too few pages are left out
MAN_SECTIONS = {
    "man1": "user commands",
    "man2": "system calls",
    "man3": "library functions",
    "man4": "special files",
    "man5": "file formats",
    "man7": "overviews",
    "man8": "administration",
}
#: packages whose docstrings form the docstring corpus (those not installed are skipped)
DOC_PACKAGES = ("numpy", "scipy", "sklearn", "torch", "gensim", "matplotlib", "sympy",
                "networkx")

MIN_DOC_FREQ = 5
MIN_DOC_WORDS = 5
_WORD = re.compile(r"[a-z]{3,}")


class LabeledText(NamedTuple):
    """A labeled corpus: ``documents`` (token lists, or raw strings), ``labels`` (int64
    array, one per document, indexing ``label_names``) and ``label_names``."""

    documents: list
    labels: np.ndarray
    label_names: list


# --------------------------------------------------------------------- preprocessing
@functools.lru_cache(maxsize=1)
def _stop_words() -> frozenset:
    from gensim.parsing.preprocessing import STOPWORDS

    return frozenset(STOPWORDS)


def tokenize(text: str) -> list[str]:
    """Lowercase runs of 3+ ASCII letters, English stop words removed."""
    stop = _stop_words()
    return [w for w in _WORD.findall(text.lower()) if w not in stop]


def preprocess(texts: Sequence[str], labels: Sequence[int],
               min_doc_freq: int = MIN_DOC_FREQ, min_doc_words: int = MIN_DOC_WORDS
               ) -> tuple[list[list[str]], np.ndarray, np.ndarray]:
    """The protocol's preprocessing.

    Returns the kept token lists, their labels and the indices of the kept
    documents in ``texts``. Duplicates are judged on the stop-word-free token
    sequence, so that documents differing only in markup or punctuation count once.
    """
    seen: set = set()
    toks, keep = [], []
    for i, text in enumerate(texts):
        t = tokenize(text)
        key = " ".join(t)
        if not t or key in seen:
            continue
        seen.add(key)
        toks.append(t)
        keep.append(i)
    df: dict[str, int] = {}
    for t in toks:
        for w in set(t):
            df[w] = df.get(w, 0) + 1
    vocab = {w for w, c in df.items() if c >= min_doc_freq}
    out, kept = [], []
    for t, i in zip(toks, keep):
        f = [w for w in t if w in vocab]
        if len(f) >= min_doc_words:
            out.append(f)
            kept.append(i)
    kept_idx = np.asarray(kept, dtype=np.int64)
    return out, np.asarray(labels, dtype=np.int64)[kept_idx], kept_idx


def _finish(texts: list[str], labels: list[int], names: list[str], tokenized: bool,
            max_words: int | None, min_label_docs: int) -> LabeledText:
    docs, y, idx = preprocess(texts, labels)
    # drop labels with too few documents to resample from, renumber the others densely
    sizes = np.bincount(y, minlength=len(names))
    present = np.flatnonzero(sizes >= max(int(min_label_docs), 1))
    if present.size < len(names):
        # preprocess again without them, so the document frequencies are the kept corpus's
        sub = np.flatnonzero(np.isin(np.asarray(labels), present))
        docs, y, idx = preprocess([texts[i] for i in sub.tolist()],
                                  np.asarray(labels)[sub])
        idx = sub[idx]
    remap = np.full(len(names), -1, dtype=np.int64)
    remap[present] = np.arange(present.size)
    y = remap[y]
    names = [names[i] for i in present.tolist()]
    if not tokenized:
        docs = [texts[i] for i in idx.tolist()]
    elif max_words is not None:
        docs = [d[:int(max_words)] for d in docs]
    return LabeledText(docs, y, names)


def _subsample(items: list, cap: int | None, seed: int) -> list:
    if cap is None or len(items) <= cap:
        return items
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(items), size=cap, replace=False))
    return [items[i] for i in pick.tolist()]


# ------------------------------------------------------------------------- man pages
_ROFF_FONT = re.compile(r"\\f(\[[^\]]*\]|\(..|.)")
_ROFF_STRING = re.compile(r"\\\*(\[[^\]]*\]|\(..|.)")
_ROFF_SPECIAL = re.compile(r"\\(\(..|\[[^\]]*\])")
_ROFF_SIZE = re.compile(r"\\s[+-]?\d+")
_ROFF_OTHER = re.compile(r"\\[a-zA-Z&|^%:/,~0 ]?")
#: macros whose arguments are running text (font changes, headings, list tags)
_TEXT_MACROS = {"SH", "SS", "B", "I", "BR", "RB", "BI", "IB", "IR", "RI", "SM", "SB", "TP",
                "IP", "TQ", "UR", "MT", "Nm", "Nd", "Sh", "Ss", "Fn", "Fa", "Ar", "Fl",
                "Pa", "Xr", "Dv", "Er", "Ev", "Cm", "Li", "Em", "Sy", "Dl", "Va", "Ft",
                "It", "Op", "Ql", "Dq", "Sq", "Pq"}


def strip_roff(source: str) -> list[str]:
    """Plain text lines of a roff (man / mdoc) page.

    Comments, macro definitions (``.de`` .. ``..``) and request lines are dropped;
    the arguments of text macros (``.B``, ``.SH``, ``.IP``...) are kept; font,
    string, size and special-character escapes are removed.
    """
    lines = []
    in_def = False
    for raw in source.splitlines():
        line = raw.rstrip()
        if in_def:
            if line.startswith(".."):
                in_def = False
            continue
        if line.startswith((".\\\"", "'\\\"", '.\\"', "\\\"")):
            continue
        if line[:1] in (".", "'"):
            parts = line[1:].strip().split(None, 1)
            if not parts:
                continue
            macro = parts[0]
            if macro in ("de", "de1", "am", "ig"):
                in_def = True
                continue
            if macro not in _TEXT_MACROS or len(parts) < 2:
                continue
            line = parts[1].replace('"', " ")
        line = line.replace("\\-", "-").replace("\\e", "\\")
        line = _ROFF_FONT.sub("", line)
        line = _ROFF_STRING.sub("", line)
        line = _ROFF_SPECIAL.sub(" ", line)
        line = _ROFF_SIZE.sub("", line)
        line = _ROFF_OTHER.sub(" ", line)
        line = line.strip()
        if line:
            lines.append(line)
    return lines


def _read_manpage(path: Path, min_lines: int) -> str | None:
    try:
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as fh:
            src = fh.read()
    except (OSError, EOFError):
        return None
    if src.lstrip().startswith(".so "):
        return None
    lines = strip_roff(src)
    return "\n".join(lines) if len(lines) >= min_lines else None


@functools.lru_cache(maxsize=8)
def _manpages_raw(root: str, min_lines: int, max_per_label: int | None, seed: int
                  ) -> tuple[tuple[str, ...], tuple[int, ...], tuple[str, ...]]:
    texts, labels, names = [], [], []
    for section, title in MAN_SECTIONS.items():
        folder = Path(root) / section
        if not folder.is_dir():
            continue
        files = sorted(p for p in folder.iterdir() if p.name.endswith(".gz"))
        # subsample files before reading: man1 alone holds ~18,000 pages; read twice
        # the cap so that the .so stubs and short pages dropped later leave enough
        files = _subsample(files, None if max_per_label is None else 2 * max_per_label,
                           seed)
        page_texts = [t for t in (_read_manpage(p, min_lines) for p in files) if t]
        page_texts = _subsample(page_texts, max_per_label, seed)
        if not page_texts:
            continue
        texts += page_texts
        labels += [len(names)] * len(page_texts)
        names.append(f"{section} ({title})")
    return tuple(texts), tuple(labels), tuple(names)


def load_manpages(tokenized: bool = True, min_lines: int = 5,
                  max_per_label: int | None = 2000, seed: int = 0,
                  max_words: int | None = None, min_label_docs: int = 50,
                  root: str | os.PathLike = MAN_ROOT) -> LabeledText:
    """Debian manual pages labeled by their section.

    Parameters
    ----------
    tokenized : bool
        Token lists (True) or the roff-stripped raw text (False) of the kept pages.
    min_lines : int
        Pages with fewer plain-text lines are dropped (stubs, redirects).
    max_per_label : int or None
        At most this many pages per section, a seeded uniform subsample (section 1
        alone has ~18,000 pages, which take minutes to read). None keeps all.
    seed : int
        Seed of that subsample.
    max_words : int or None
        Keep only the first ``max_words`` kept words of each page (tokenized only;
        pages average ~460 words, which makes the protocol's 9,000-document domains
        slow for the sampling peers). None keeps all.
    min_label_docs : int
        Sections with fewer kept pages are dropped (section 4 has ~30).
    root : path
        The man page tree (``/usr/share/man``).

    Raises
    ------
    FileNotFoundError
        If no page can be read (install ``manpages manpages-dev`` with apt).
    """
    texts, labels, names = _manpages_raw(str(root), int(min_lines), max_per_label, int(seed))
    if not texts:
        raise FileNotFoundError(f"no manual pages under {root}; "
                                "run `apt-get install manpages manpages-dev`")
    return _finish(list(texts), list(labels), list(names), tokenized, max_words,
                   min_label_docs)


# ------------------------------------------------------------------------ docstrings
@functools.lru_cache(maxsize=8)
def _docstrings_raw(packages: tuple[str, ...], max_per_label: int | None, seed: int
                    ) -> tuple[tuple[str, ...], tuple[int, ...], tuple[str, ...]]:
    from lls_topics.datasets import load_docstring_texts

    texts, labels, names = [], [], []
    for pkg in packages:
        try:
            docs, _, _ = load_docstring_texts([pkg])
        except ValueError:  # not installed
            continue
        docs = _subsample(docs, max_per_label, seed)
        texts += docs
        labels += [len(names)] * len(docs)
        names.append(pkg)
    return tuple(texts), tuple(labels), tuple(names)


def load_docstrings(tokenized: bool = True, packages: Sequence[str] = DOC_PACKAGES,
                    max_per_label: int | None = 4000, seed: int = 0,
                    max_words: int | None = None, min_label_docs: int = 50) -> LabeledText:
    """Docstrings of installed Python packages labeled by their package.

    Parameters
    ----------
    tokenized : bool
        Token lists (True) or the raw docstrings (False) of the kept documents.
    packages : sequence of str
        Top-level packages; those not installed are skipped.
    max_per_label : int or None
        At most this many docstrings per package (seeded uniform subsample, taken
        before preprocessing). None keeps all.
    seed : int
        Seed of that subsample.
    max_words : int or None
        Keep only the first ``max_words`` kept words of each docstring (tokenized
        only). None keeps all.
    min_label_docs : int
        Packages with fewer kept docstrings are dropped.

    Raises
    ------
    FileNotFoundError
        If none of the packages is installed.
    """
    texts, labels, names = _docstrings_raw(tuple(packages), max_per_label, int(seed))
    if not texts:
        raise FileNotFoundError(f"none of the packages {list(packages)} is installed")
    return _finish(list(texts), list(labels), list(names), tokenized, max_words,
                   min_label_docs)


CORPORA = {"manpages": load_manpages, "docstrings": load_docstrings}


def load_corpus(name: str, **kwargs) -> LabeledText:
    """``load_manpages`` or ``load_docstrings`` by name (see :data:`CORPORA`)."""
    if name not in CORPORA:
        raise ValueError(f"corpus must be one of {sorted(CORPORA)}, got {name!r}")
    return CORPORA[name](**kwargs)


def _summary(name: str) -> str:
    import time

    t0 = time.perf_counter()
    docs, y, names = load_corpus(name)
    sec = time.perf_counter() - t0
    vocab = {w for d in docs for w in d}
    n_tok = sum(len(d) for d in docs)
    counts = np.bincount(y, minlength=len(names))
    per = ", ".join(f"{n}: {c}" for n, c in zip(names, counts.tolist()))
    return (f"{name}: {len(docs)} documents, {len(names)} labels, {len(vocab)} words, "
            f"{n_tok} tokens (median {int(np.median([len(d) for d in docs]))} per document), "
            f"loaded in {sec:.1f} s\n  {per}")


if __name__ == "__main__":
    for corpus in (sys.argv[1:] or list(CORPORA)):
        print(_summary(corpus))
