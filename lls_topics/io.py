"""Reading and writing LLS data and results: the library side of the command line.

Readers turn files (token tables, Matrix Market, ``.npz`` counts, gensim ``MmCorpus``,
text folders, feature arrays) into a :class:`~lls_topics.corpus.DomainCorpus` or arrays;
writers put fitted distributions into CSV and text files. Every problem with a file
raises a ``ValueError`` whose message names the file and says what was expected; the
CLI prints it as its one-line error.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp

__all__ = ["FORMATS", "detect_format", "read_discrete", "read_discrete_dask", "text_files",
           "read_vocab", "load_array", "format_table", "jsonable", "write_matrix_csv",
           "write_top", "write_anchors", "anchor_lists", "one_line", "shared_top_words"]

#: ``--format`` names of discrete inputs and the file suffixes that select them
FORMATS = {"csv": (".csv",), "tsv": (".tsv", ".tab"), "mtx": (".mtx",),
           "npz": (".npz",), "mmcorpus": (".mm",), "textdir": ()}


def format_value(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            return str(v)
        return f"{v:.4g}"
    if v is None:
        return "-"
    return str(v)


def format_table(rows: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    """Plain-text table of a list of dicts (scalar values only)."""
    if columns is None:
        columns = []
        for r in rows:
            for k, v in r.items():
                if k not in columns and (v is None or np.isscalar(v)):
                    columns.append(k)
    cells = [[str(c) for c in columns]] + [[format_value(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = []
    for j, row in enumerate(cells):
        lines.append("  ".join(s.rjust(w) if j and i else s.ljust(w)
                               for i, (s, w) in enumerate(zip(row, widths))))
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist() if value.size <= 1000 else f"<array {value.shape}>"
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "get_params"):
        return {"class": type(value).__name__,
                "params": jsonable(value.get_params(deep=False))}
    return repr(value)


# ------------------------------------------------------------------------------ readers
def require_file(path: str, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise ValueError(f"{what} {path!r} does not exist")
    return p


def detect_format(path: Path) -> str:
    """The ``--format`` of a discrete input, from its suffix (or directory-ness)."""
    if path.is_dir():
        return "textdir"
    suffix = path.suffix.lower()
    for name, suffixes in FORMATS.items():
        if suffix in suffixes:
            return name
    if suffix == ".txt":
        raise ValueError(f"cannot tell the format of {str(path)!r}: for a text corpus pass the "
                       "directory holding one text file per domain; otherwise pass --format")
    raise ValueError(f"cannot tell the format of {str(path)!r} from its suffix "
                   f"{suffix or '(none)'!r}; pass --format {{{','.join(FORMATS)}}}")


def read_vocab(path: str | None, n_words: int) -> list | None:
    """One word per line, or gensim's ``Dictionary.save_as_text`` (id<TAB>word<TAB>df)."""
    if path is None:
        return None
    p = require_file(path, "vocabulary file")
    if p.is_dir():
        raise ValueError(f"vocabulary file {path!r} is a directory")
    raw = p.read_bytes()
    # a gensim Dictionary.save() file is a pickle (protocol 2+ starts with 0x80)
    if raw[:1] == b"\x80" or b"\x00" in raw[:4096]:
        raise ValueError(f"vocabulary file {path!r} is binary (a gensim Dictionary.save() "
                         "file?); write it as text with dictionary.save_as_text('vocab.txt') "
                         "and pass that file")
    lines = raw.decode("utf-8", errors="replace").splitlines()
    parts = [ln.split("\t") for ln in lines if ln.strip()]
    if parts and all(len(x) == 3 and x[0].strip().isdigit() for x in parts[1:]) and \
            len(parts[0]) == 1 and parts[0][0].strip().isdigit():
        # save_as_text: first line is the number of documents
        vocab: list = [str(i) for i in range(n_words)]
        for x in parts[1:]:
            i = int(x[0])
            if i < n_words:
                vocab[i] = x[1]
        return vocab
    words = [ln.rstrip("\n") for ln in lines]
    while words and not words[-1].strip():
        words.pop()
    if len(words) != n_words:
        raise ValueError(f"vocabulary file {path!r} has {len(words)} lines but the counts have "
                       f"{n_words} columns")
    return words


def read_token_table(path: Path, delimiter: str) -> Any:
    from .corpus import DomainCorpus

    from .io_stream import table_layout

    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        rows = [r for r in reader if r and any(c.strip() for c in r)]
    if not rows:
        raise ValueError(f"{str(path)!r} is empty: expected rows of domain{delimiter}token")
    dom_col, tok_col, cnt_col, header = table_layout(rows[0], path, delimiter)
    if header:
        rows = rows[1:]
    need = max(dom_col, tok_col, cnt_col or 0) + 1
    bad = next((i for i, r in enumerate(rows) if len(r) < need), None)
    if bad is not None:
        raise ValueError(f"{str(path)!r}: row {bad + 1} has {len(rows[bad])} column(s), expected "
                       f"at least {need} (domain{delimiter}token); wrong --format?")
    if not rows:
        raise ValueError(f"{str(path)!r} has a header but no data rows")
    domains = np.array([r[dom_col].strip() for r in rows])
    tokens_raw = np.array([r[tok_col].strip() for r in rows])
    weights = None
    if cnt_col is not None:
        try:
            weights = np.array([float(r[cnt_col]) for r in rows])
        except ValueError:
            raise ValueError(f"{str(path)!r}: the count column holds non-numbers") from None
        if np.any(~np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError(f"{str(path)!r}: counts must be finite and non-negative")
    # integer domain ids sort numerically, not as strings
    if all(s.lstrip("-").isdigit() for s in domains):
        domains = domains.astype(np.int64)
    if all(s.isdigit() for s in tokens_raw):
        tok = tokens_raw.astype(np.int64)
        vocab = None
        n_words = int(tok.max()) + 1
    else:
        vocab, tok = np.unique(tokens_raw, return_inverse=True)
        vocab = vocab.tolist()
        n_words = len(vocab)
    if weights is None:
        return DomainCorpus.from_tokens(tok, domains, n_words=n_words, vocabulary=vocab)
    from .corpus import encode_domains

    ids, rows_i = encode_domains(domains)
    M = sp.coo_matrix((weights, (rows_i, tok)), shape=(len(ids), n_words)).tocsr()
    return DomainCorpus(M, domain_ids=ids, vocabulary=vocab, allow_fractional=True)


def text_files(path: Path) -> tuple[list[Path], list[str]]:
    """The text files of a directory (one per domain) and their domain names."""
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise ValueError(f"directory {str(path)!r} holds no files: expected one text file per "
                         "domain")
    names = [f.stem if f.stem else f.name for f in files]
    if len(set(names)) != len(names):
        names = [f.name for f in files]
    return files, names


def read_text_dir(path: Path, *, keep_stopwords: bool, min_count: int, log: Any,
                  chunksize: int | None = None, domains: str | None = None,
                  no_below: int = 1, no_above: float = 1.0, keep_n: int | None = None) -> Any:
    """A directory of text files, one domain per file; with ``chunksize`` counted file by
    file (memory O(counts + one file)).

    With ``domains`` (a ``document,domain`` CSV grouping the files) or any document
    frequency filter (``no_below``, ``no_above`` or ``keep_n`` other than the defaults,
    which keep every word; out-of-range values are refused there), the folder is read
    by :func:`lls_topics.text.read_text_corpus` instead: each file is a document, words
    of 2+ letters are kept when in at least ``no_below`` and at most a ``no_above`` share
    of the documents and seen ``min_count`` times, then the ``keep_n`` most frequent.
    """
    from .corpus import DomainCorpus
    from .io_stream import file_words, read_text_dir_chunked

    # any value but the no-op defaults goes through read_text_corpus, whose checks then
    # refuse out-of-range ones (a no_below of -3 used to pass as "no filter")
    if domains is not None or no_below != 1 or no_above != 1 or keep_n is not None:
        if chunksize:
            raise ValueError("--chunksize cannot be combined with --domains, --no-below, "
                             "--no-above or --keep-n")
        return _read_text_documents(path, keep_stopwords=keep_stopwords,
                                    min_count=min_count, log=log, domains=domains,
                                    no_below=no_below, no_above=no_above, keep_n=keep_n)

    files, names = text_files(path)
    if chunksize:
        corpus = read_text_dir_chunked(files, names,
                                       lambda f: file_words(f, keep_stopwords), min_count)
        log(f"read {len(files)} text files file by file: {corpus.n_samples:g} words, "
            f"vocabulary of {corpus.n_words} (min count {min_count})")
        return corpus
    docs = [file_words(f, keep_stopwords) for f in files]
    vocab_all, inv = np.unique(np.concatenate([np.asarray(d, dtype=object) for d in docs])
                               .astype(str), return_inverse=True) if any(docs) else \
        (np.array([]), np.array([], dtype=np.int64))
    if vocab_all.size == 0:
        raise ValueError(f"no words found in the files of {str(path)!r}")
    doc_of = np.repeat(np.arange(len(docs)), [len(d) for d in docs])
    counts = np.bincount(inv, minlength=vocab_all.size)
    keep = counts >= min_count
    if not keep.any():
        raise ValueError(f"no word occurs at least --min-count={min_count} times")
    new_id = np.cumsum(keep) - 1
    sel = keep[inv]
    corpus = DomainCorpus.from_tokens(new_id[inv[sel]], np.asarray(names)[doc_of[sel]],
                                      n_words=int(keep.sum()),
                                      vocabulary=vocab_all[keep].tolist())
    log(f"read {len(files)} text files: {int(sel.sum())} words, vocabulary of "
        f"{corpus.n_words} (min count {min_count}"
        f"{', stop words kept' if keep_stopwords else ', stop words removed'})")
    return corpus


def _read_text_documents(path: Path, *, keep_stopwords: bool, min_count: int, log: Any,
                         domains: str | None, no_below: int, no_above: float,
                         keep_n: int | None) -> Any:
    from .text import STOP_WORDS, read_text_corpus

    corpus = read_text_corpus(path, domains, no_below=no_below, no_above=no_above,
                              keep_n=keep_n, min_count=min_count, min_len=2,
                              stop_words=None if keep_stopwords else STOP_WORDS)
    log(f"read the text files of {str(path)!r} into {corpus.n_domains} domains: "
        f"{corpus.n_samples:g} words, vocabulary of {corpus.n_words} (in >= {no_below} and "
        f"<= {no_above:g} of the documents, >= {min_count} times"
        f"{', stop words kept' if keep_stopwords else ', stop words removed'})")
    return corpus


def read_discrete(path: str, fmt: str | None = None, *, vocab: str | None = None,
                  keep_stopwords: bool = False, min_count: int = 1,
                  log: Any = None, chunksize: int | None = None,
                  **text_options: Any) -> Any:
    """Read a discrete LLS data set into a :class:`~lls_topics.corpus.DomainCorpus`.

    Parameters
    ----------
    path : str
        A token table (CSV/TSV with columns ``domain,token`` and an optional ``count``),
        a Matrix Market file or ``.npz`` of (domains x inputs) counts, a gensim
        ``MmCorpus`` file, or a directory of text files (one domain per file).
    fmt : str, optional
        One of ``csv, tsv, mtx, npz, mmcorpus, textdir``; detected from the path if
        omitted.
    vocab : str, optional
        Vocabulary file for count-matrix formats (one word per line, or gensim's
        ``Dictionary.save_as_text`` output).
    chunksize : int, optional
        Stream the file through :meth:`DomainCorpus.from_chunks`: token tables
        ``chunksize`` rows at a time, text folders file by file, ``MmCorpus`` files
        document by document; memory O(counts + one chunk). The same corpus results.
    **text_options
        textdir only: ``domains`` (a ``document,domain`` CSV), ``no_below``,
        ``no_above``, ``keep_n`` (see :func:`read_text_dir`).

    Raises
    ------
    ValueError
        Missing file or unreadable content, with a one-line message.
    """
    from .corpus import DomainCorpus

    log = log or (lambda message: None)
    p = require_file(path, "input")
    fmt = fmt or detect_format(p)
    if fmt not in FORMATS:
        raise ValueError(f"unknown --format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if vocab is not None and fmt in ("csv", "tsv", "textdir"):
        raise ValueError(f"--vocab applies to count matrices (mtx, npz, mmcorpus); a "
                         f"{'text folder' if fmt == 'textdir' else 'token table'} names its "
                         "words itself: drop --vocab, or write the words in the token column")
    if fmt == "textdir":
        if not p.is_dir():
            raise ValueError(f"--format textdir needs a directory, got the file {path!r}")
        return read_text_dir(p, keep_stopwords=keep_stopwords, min_count=min_count, log=log,
                             chunksize=chunksize,
                             **text_options)
    if text_options.get("domains"):
        raise ValueError("--domains groups the files of a text folder; the input is not one")
    if p.is_dir():
        raise ValueError(f"{path!r} is a directory; --format {fmt} needs a file")
    try:
        if fmt in ("csv", "tsv") and chunksize:
            from .io_stream import read_token_table_chunked

            return read_token_table_chunked(p, "," if fmt == "csv" else "\t", chunksize)
        if fmt in ("csv", "tsv"):
            return read_token_table(p, "," if fmt == "csv" else "\t")
        if fmt == "mtx":
            from scipy.io import mmread

            M = mmread(str(p))
            M = sp.csr_matrix(M) if sp.issparse(M) else np.asarray(M)
        elif fmt == "npz":
            M = read_npz_counts(p)
        else:  # mmcorpus
            from gensim.corpora import MmCorpus

            mm = MmCorpus(str(p))
            if chunksize:
                from .io_stream import read_mmcorpus_chunked

                corpus = read_mmcorpus_chunked(mm)
            else:
                corpus = DomainCorpus.from_gensim(mm, num_terms=mm.num_terms)
            voc = read_vocab(vocab or companion_vocab(p), corpus.n_words)
            return DomainCorpus(corpus.counts, vocabulary=voc, allow_fractional=True)
    except (ValueError, OSError, IndexError, EOFError, TypeError) as exc:
        raise ValueError(f"cannot read {path!r} as {fmt}: {one_line(exc)}") from None
    n_words = M.shape[1] if M.ndim == 2 else 0
    return DomainCorpus(M, vocabulary=read_vocab(vocab, n_words), allow_fractional=True)


def read_discrete_dask(path: str, fmt: str | None = None, *, keep_stopwords: bool = False,
                       min_count: int = 1) -> Any:
    """Count a CSV/TSV token-table glob (``"parts/*.csv"``) or a directory of text files on
    the active Dask scheduler; the same corpus as :func:`read_discrete`.

    Raises
    ------
    ImportError
        Dask is missing (the message names the ``[dask]`` extra).
    ValueError
        No file matches, an unsupported format, or unreadable content.
    """
    import glob

    from .corpus import DomainCorpus
    from .dask_counting import import_dask
    from .io_stream import drop_rare_words, file_words, numeric_ids, table_columns

    import_dask()
    p = Path(path)
    if fmt is None:
        fmt = "textdir" if p.is_dir() else detect_format(Path(path.replace("*", "x")))
    if fmt == "textdir":
        import dask.bag as db

        files, names = text_files(p)
        bag = db.from_sequence(list(zip(names, files)), npartitions=min(len(files), 256))
        corpus = DomainCorpus.from_dask(bag.map(lambda item: (item[0], file_words(
            item[1], keep_stopwords))))
        return drop_rare_words(corpus, min_count)
    if fmt not in ("csv", "tsv"):
        raise ValueError(f"--dask reads token tables (csv, tsv) and text folders, not {fmt}")
    import dask.dataframe as dd

    files = sorted(glob.glob(path))
    if not files:
        raise ValueError(f"no file matches {path!r}")
    sep = "," if fmt == "csv" else "\t"
    columns, header = table_columns(files[0], sep)
    ddf = dd.read_csv(files, sep=sep, header=0 if header else None, names=columns,
                      usecols=[c for c in columns if c in ("domain", "token", "count")],
                      dtype={"domain": str, "token": str}, skipinitialspace=True,
                      blocksize="64MB")
    corpus = DomainCorpus.from_dask(ddf, count="count" if "count" in columns else None)
    return numeric_ids(corpus)


def companion_vocab(p: Path) -> str | None:
    for cand in (p.with_suffix(p.suffix + ".vocab"), p.with_suffix(".vocab"),
                 p.with_suffix(".dict.txt")):
        if cand.is_file():
            return str(cand)
    return None


def read_npz_counts(p: Path) -> Any:
    with np.load(p, allow_pickle=False) as npz:
        keys = set(npz.files)
        if {"data", "indices", "indptr", "shape", "format"} <= keys or \
                {"row", "col", "data", "shape", "format"} <= keys:
            return sp.load_npz(p)
        if len(keys) == 1:
            return npz[next(iter(keys))]
        for key in ("counts", "X", "arr_0"):
            if key in keys:
                return npz[key]
    raise ValueError(f"{str(p)!r} holds arrays {sorted(keys)}; expected a scipy.sparse.save_npz "
                   "file or a single (domains x inputs) array")


def shared_top_words(tops: Sequence[Sequence[str]], n: int = 10) -> list[str]:
    """The words among the first ``n`` of every label's list, when they make up at least
    half of them (the labels then say the same thing, usually because very frequent
    words were kept); otherwise an empty list. Fewer than two labels: empty."""
    if len(tops) < 2:
        return []
    heads = [list(t[:n]) for t in tops]
    common = set(heads[0]).intersection(*map(set, heads[1:]))
    if not common or 2 * len(common) < min(len(h) for h in heads):
        return []
    return [w for w in heads[0] if w in common]


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# ------------------------------------------------------------------------------ writers
def write_matrix_csv(path: Path, row_name: str, row_ids: Sequence[Any], M: np.ndarray,
                      col_prefix: str = "label_") -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([row_name] + [f"{col_prefix}{j}" for j in range(M.shape[1])])
        for rid, row in zip(row_ids, M):
            w.writerow([rid] + [f"{v:.6g}" for v in row])


def write_top(out: Path, topic_word: np.ndarray, vocab: Sequence[Any], n_top: int,
               noun: str = "input") -> list[list[str]]:
    k, V = topic_word.shape
    n_top = min(n_top, V)
    order = np.argsort(-topic_word, axis=1, kind="stable")[:, :n_top]
    tops = []
    with open(out / f"top_{noun}s.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["label", "rank", noun, f"p({noun}|label)"])
        for y in range(k):
            tops.append([str(vocab[i]) for i in order[y]])
            for r, i in enumerate(order[y]):
                w.writerow([y, r + 1, vocab[i], f"{topic_word[y, i]:.6g}"])
    with open(out / f"top_{noun}s.txt", "w", encoding="utf-8") as fh:
        for y, words in enumerate(tops):
            fh.write(f"label {y}: {' '.join(words)}\n")
    return tops


def anchor_lists(solver: Any) -> list[list[int]] | None:
    anchors = getattr(solver, "anchors_", None)
    if anchors is None:
        return None
    out = []
    for a in list(anchors):
        out.append([int(i) for i in np.atleast_1d(np.asarray(a)).ravel()])
    return out


def write_anchors(out: Path, anchors: list[list[int]], vocab: Sequence[Any]) -> None:
    with open(out / "anchors.txt", "w", encoding="utf-8") as fh:
        for y, ids in enumerate(anchors):
            fh.write(f"label {y}: {' '.join(str(vocab[i]) for i in ids)}\n")


def load_array(path: str, what: str, *, one_d: bool = False, mmap: bool = False
               ) -> np.ndarray:
    """A .npy, .npz (one array) or CSV array; with ``mmap`` a .npy file is memory-mapped
    read-only (a ``numpy.memmap``) instead of read."""
    p = require_file(path, what)
    if p.is_dir():
        raise ValueError(f"{what} {path!r} is a directory; expected a .npy, .npz or CSV file")
    suffix = p.suffix.lower()
    try:
        if suffix == ".npy":
            arr = np.load(p, allow_pickle=False, mmap_mode="r" if mmap else None)
        elif suffix == ".npz":
            with np.load(p, allow_pickle=False) as npz:
                keys = npz.files
                key = keys[0] if len(keys) == 1 else next(
                    (k for k in ("X", "features", "domains", "d", "arr_0") if k in keys), None)
                if key is None:
                    raise ValueError(f"{what} {path!r} holds arrays {keys}; expected one array")
                arr = npz[key]
        else:
            arr = read_csv_array(p, one_d=one_d)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"cannot read {what} {path!r}: {one_line(exc)}") from None
    return arr


def read_csv_array(p: Path, *, one_d: bool) -> np.ndarray:
    delim = "\t" if p.suffix.lower() in (".tsv", ".tab") else ","
    with open(p, newline="", encoding="utf-8", errors="replace") as fh:
        rows = [r for r in csv.reader(fh, delimiter=delim) if r and any(c.strip() for c in r)]
    if not rows:
        raise ValueError(f"{str(p)!r} is empty")

    def numeric(row: list) -> bool:
        try:
            [float(c) for c in row]
            return True
        except ValueError:
            return False

    if one_d:
        vals = [r[0].strip() for r in rows]
        if vals[0].lower() in ("domain", "domains", "d", "domain_id", "id"):
            vals = vals[1:]
        if all(v.lstrip("-").isdigit() for v in vals):
            return np.array(vals, dtype=np.int64)
        return np.array(vals)
    if not numeric(rows[0]):
        rows = rows[1:]  # a header
    width = len(rows[0]) if rows else 0
    if not rows or any(len(r) != width for r in rows):
        raise ValueError(f"{str(p)!r}: every row must have the same number of columns")
    try:
        return np.array([[float(c) for c in r] for r in rows], dtype=np.float32)
    except ValueError:
        raise ValueError(f"{str(p)!r}: features must be numbers") from None
