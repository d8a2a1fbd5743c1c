"""The ``lls-topics`` command line.

Subcommands: ``demo``, ``fit`` (discrete data from files), ``fit-continuous`` (features
and domain ids, through DDFA) and ``compare`` (solvers side by side). Every command
takes ``--help``.

Exit codes: 0 on success; 2 for a usage or input error (missing file, unreadable
format, impossible parameters), reported as one line on stderr; 1 for any other
failure (also one line; ``--debug`` shows the traceback).
"""
from __future__ import annotations

import argparse
import csv
import importlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp

__all__ = ["main", "read_discrete", "CLIError"]

PROG = "lls-topics"

#: solver name -> (module, class) for ``--solver``
SOLVERS = {"anchor": ("lls_topics.solvers.anchor", "AnchorSolver"),
           "nmf": ("lls_topics.solvers.nmf", "NMFSolver"),
           "lda": ("lls_topics.solvers.lda", "LDASolver")}

#: ``--format`` names of discrete inputs and the file suffixes that select them
FORMATS = {"csv": (".csv",), "tsv": (".tsv", ".tab"), "mtx": (".mtx",),
           "npz": (".npz",), "mmcorpus": (".mm",), "textdir": ()}


class CLIError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit code 2) instead of the usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ------------------------------------------------------------------------------ output
class _Log:
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)


def _fmt(v: Any) -> str:
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
    cells = [[str(c) for c in columns]] + [[_fmt(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = []
    for j, row in enumerate(cells):
        lines.append("  ".join(s.rjust(w) if j and i else s.ljust(w)
                               for i, (s, w) in enumerate(zip(row, widths))))
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist() if value.size <= 1000 else f"<array {value.shape}>"
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "get_params"):
        return {"class": type(value).__name__,
                "params": _jsonable(value.get_params(deep=False))}
    return repr(value)


# ------------------------------------------------------------------------------ readers
def _require_file(path: str, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise CLIError(f"{what} {path!r} does not exist")
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
        raise CLIError(f"cannot tell the format of {str(path)!r}: for a text corpus pass the "
                       "directory holding one text file per domain; otherwise pass --format")
    raise CLIError(f"cannot tell the format of {str(path)!r} from its suffix "
                   f"{suffix or '(none)'!r}; pass --format {{{','.join(FORMATS)}}}")


def _read_vocab(path: str | None, n_words: int) -> list | None:
    """One word per line, or gensim's ``Dictionary.save_as_text`` (id<TAB>word<TAB>df)."""
    if path is None:
        return None
    p = _require_file(path, "vocabulary file")
    lines = p.read_text(encoding="utf-8", errors="replace").splitlines()
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
        raise CLIError(f"vocabulary file {path!r} has {len(words)} lines but the counts have "
                       f"{n_words} columns")
    return words


def _read_token_table(path: Path, delimiter: str) -> Any:
    from .corpus import DomainCorpus

    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        rows = [r for r in reader if r and any(c.strip() for c in r)]
    if not rows:
        raise CLIError(f"{str(path)!r} is empty: expected rows of domain{delimiter}token")
    head = [c.strip().lower() for c in rows[0]]
    dom_col, tok_col, cnt_col = 0, 1, None
    domain_names = ("domain", "doc", "document", "d", "domain_id")
    token_names = ("token", "word", "input", "x", "token_id", "word_id")
    if any(h in domain_names for h in head) or any(h in token_names for h in head):
        try:
            dom_col = next(i for i, h in enumerate(head) if h in domain_names)
            tok_col = next(i for i, h in enumerate(head) if h in token_names)
        except StopIteration:
            raise CLIError(f"{str(path)!r}: the header {rows[0]} needs a 'domain' and a "
                           "'token' column") from None
        cnt_col = next((i for i, h in enumerate(head) if h in ("count", "n", "weight")), None)
        rows = rows[1:]
    elif len(head) >= 3:
        cnt_col = 2
    need = max(dom_col, tok_col, cnt_col or 0) + 1
    bad = next((i for i, r in enumerate(rows) if len(r) < need), None)
    if bad is not None:
        raise CLIError(f"{str(path)!r}: row {bad + 1} has {len(rows[bad])} column(s), expected "
                       f"at least {need} (domain{delimiter}token); wrong --format?")
    if not rows:
        raise CLIError(f"{str(path)!r} has a header but no data rows")
    domains = np.array([r[dom_col].strip() for r in rows])
    tokens_raw = np.array([r[tok_col].strip() for r in rows])
    weights = None
    if cnt_col is not None:
        try:
            weights = np.array([float(r[cnt_col]) for r in rows])
        except ValueError:
            raise CLIError(f"{str(path)!r}: the count column holds non-numbers") from None
        if np.any(~np.isfinite(weights)) or np.any(weights < 0):
            raise CLIError(f"{str(path)!r}: counts must be finite and non-negative")
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


def _read_text_dir(path: Path, *, keep_stopwords: bool, min_count: int, log: _Log) -> Any:
    from gensim.parsing.preprocessing import STOPWORDS
    from gensim.utils import simple_preprocess

    from .corpus import DomainCorpus

    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise CLIError(f"directory {str(path)!r} holds no files: expected one text file per "
                       "domain")
    docs, names = [], []
    for f in files:
        try:
            text = f.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise CLIError(f"cannot read {str(f)!r}: {exc.strerror}") from None
        if "\x00" in text[:4096]:
            raise CLIError(f"{str(f)!r} looks binary; the directory must hold text files")
        words = simple_preprocess(text)
        if not keep_stopwords:
            words = [w for w in words if w not in STOPWORDS]
        docs.append(words)
        names.append(f.stem if f.stem else f.name)
    if len(set(names)) != len(names):
        names = [f.name for f in files]
    vocab_all, inv = np.unique(np.concatenate([np.asarray(d, dtype=object) for d in docs])
                               .astype(str), return_inverse=True) if any(docs) else \
        (np.array([]), np.array([], dtype=np.int64))
    if vocab_all.size == 0:
        raise CLIError(f"no words found in the files of {str(path)!r}")
    doc_of = np.repeat(np.arange(len(docs)), [len(d) for d in docs])
    counts = np.bincount(inv, minlength=vocab_all.size)
    keep = counts >= min_count
    if not keep.any():
        raise CLIError(f"no word occurs at least --min-count={min_count} times")
    new_id = np.cumsum(keep) - 1
    sel = keep[inv]
    corpus = DomainCorpus.from_tokens(new_id[inv[sel]], np.asarray(names)[doc_of[sel]],
                                      n_words=int(keep.sum()),
                                      vocabulary=vocab_all[keep].tolist())
    log(f"read {len(files)} text files: {int(sel.sum())} words, vocabulary of "
        f"{corpus.n_words} (min count {min_count}"
        f"{', stop words kept' if keep_stopwords else ', stop words removed'})")
    return corpus


def read_discrete(path: str, fmt: str | None = None, *, vocab: str | None = None,
                  keep_stopwords: bool = False, min_count: int = 1,
                  log: Any = None) -> Any:
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

    Raises
    ------
    CLIError
        Missing file or unreadable content, with a one-line message.
    """
    from .corpus import DomainCorpus

    log = log or _Log(True)
    p = _require_file(path, "input")
    fmt = fmt or detect_format(p)
    if fmt not in FORMATS:
        raise CLIError(f"unknown --format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "textdir":
        if not p.is_dir():
            raise CLIError(f"--format textdir needs a directory, got the file {path!r}")
        return _read_text_dir(p, keep_stopwords=keep_stopwords, min_count=min_count, log=log)
    if p.is_dir():
        raise CLIError(f"{path!r} is a directory; --format {fmt} needs a file")
    try:
        if fmt in ("csv", "tsv"):
            return _read_token_table(p, "," if fmt == "csv" else "\t")
        if fmt == "mtx":
            from scipy.io import mmread

            M = mmread(str(p))
            M = sp.csr_matrix(M) if sp.issparse(M) else np.asarray(M)
        elif fmt == "npz":
            M = _read_npz_counts(p)
        else:  # mmcorpus
            from gensim.corpora import MmCorpus

            mm = MmCorpus(str(p))
            corpus = DomainCorpus.from_gensim(mm, num_terms=mm.num_terms)
            voc = _read_vocab(vocab or _companion_vocab(p), corpus.n_words)
            return DomainCorpus(corpus.counts, vocabulary=voc, allow_fractional=True)
    except CLIError:
        raise
    except (ValueError, OSError, IndexError, EOFError, TypeError) as exc:
        raise CLIError(f"cannot read {path!r} as {fmt}: {_one_line(exc)}") from None
    n_words = M.shape[1] if M.ndim == 2 else 0
    return DomainCorpus(M, vocabulary=_read_vocab(vocab, n_words), allow_fractional=True)


def _companion_vocab(p: Path) -> str | None:
    for cand in (p.with_suffix(p.suffix + ".vocab"), p.with_suffix(".vocab"),
                 p.with_suffix(".dict.txt")):
        if cand.is_file():
            return str(cand)
    return None


def _read_npz_counts(p: Path) -> Any:
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
    raise CLIError(f"{str(p)!r} holds arrays {sorted(keys)}; expected a scipy.sparse.save_npz "
                   "file or a single (domains x inputs) array")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# ------------------------------------------------------------------------------ solvers
def _solver_class(name: str) -> type:
    try:
        module_name, cls_name = SOLVERS[name]
    except KeyError:
        raise CLIError(f"unknown solver {name!r}; expected one of {', '.join(SOLVERS)}") \
            from None
    try:
        return getattr(importlib.import_module(module_name), cls_name)
    except (ImportError, AttributeError) as exc:
        raise CLIError(f"solver {name!r} is not available in this installation ({exc})") \
            from None


def make_solver(name: str, n_topics: int, *, random_state: Any, verbose: bool) -> Any:
    """Build a solver by its ``--solver`` name, passing only the options it accepts."""
    cls = _solver_class(name)
    est = cls(n_topics)
    params = est.get_params(deep=False)
    extra = {k: v for k, v in (("random_state", random_state), ("verbose", verbose))
             if k in params}
    return est.set_params(**extra)


def _check_topics(k: int, n_domains: int) -> None:
    if k < 1:
        raise CLIError(f"--topics must be at least 1, got {k}")
    if k > n_domains:
        raise CLIError(f"--topics {k} is larger than the number of domains ({n_domains}): "
                       "LLS needs at least as many domains as labels")


# ------------------------------------------------------------------------------ writers
def _write_matrix_csv(path: Path, row_name: str, row_ids: Sequence[Any], M: np.ndarray,
                      col_prefix: str = "label_") -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([row_name] + [f"{col_prefix}{j}" for j in range(M.shape[1])])
        for rid, row in zip(row_ids, M):
            w.writerow([rid] + [f"{v:.6g}" for v in row])


def _write_top(out: Path, topic_word: np.ndarray, vocab: Sequence[Any], n_top: int,
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


def _anchor_lists(solver: Any) -> list[list[int]] | None:
    anchors = getattr(solver, "anchors_", None)
    if anchors is None:
        return None
    out = []
    for a in list(anchors):
        out.append([int(i) for i in np.atleast_1d(np.asarray(a)).ravel()])
    return out


def _write_anchors(out: Path, anchors: list[list[int]], vocab: Sequence[Any]) -> None:
    with open(out / "anchors.txt", "w", encoding="utf-8") as fh:
        for y, ids in enumerate(anchors):
            fh.write(f"label {y}: {' '.join(str(vocab[i]) for i in ids)}\n")


def _prepare_out(path: str) -> Path:
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {path!r} exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"cannot create --out {path!r}: {exc.strerror}") from None
    return out


def _summary(out: Path, payload: dict) -> None:
    from . import __version__

    payload = {"lls_topics_version": __version__, **payload}
    with open(out / "summary.json", "w", encoding="utf-8") as fh:
        json.dump(_jsonable(payload), fh, indent=2)


def _save_model(est: Any, out: Path, log: _Log) -> str | None:
    from .persistence import save_estimator

    try:
        save_estimator(est, out / "model")
    except (TypeError, ValueError) as exc:
        log(f"note: the model was not saved ({_one_line(exc)})")
        return None
    return "model"


# ------------------------------------------------------------------------------ commands
def cmd_fit(args: argparse.Namespace) -> int:
    log = _Log(args.quiet)
    t0 = time.perf_counter()
    corpus = read_discrete(args.input, args.format, vocab=args.vocab,
                           keep_stopwords=args.keep_stopwords, min_count=args.min_count,
                           log=log)
    t_read = time.perf_counter() - t0
    nonempty = int(np.count_nonzero(corpus.domain_sizes))
    _check_topics(args.topics, nonempty)
    solver = make_solver(args.solver, args.topics, random_state=args.seed,
                         verbose=not args.quiet)
    log(f"fitting {type(solver).__name__} with {args.topics} labels on {corpus.n_domains} "
        f"domains x {corpus.n_words} inputs ({corpus.n_samples:g} samples) ...")
    t1 = time.perf_counter()
    try:
        solver.fit(corpus)
    except ValueError as exc:
        raise CLIError(_one_line(exc)) from None
    t_fit = time.perf_counter() - t1
    log(f"fitted in {t_fit:.2f} s; log-likelihood per sample {solver.log_likelihood_:.4f}")

    out = _prepare_out(args.out)
    vocab = corpus.vocabulary
    P = np.asarray(solver.domain_topic_)
    A = np.asarray(solver.topic_word_)
    _write_matrix_csv(out / "domain_topic.csv", "domain", solver.domain_ids_.tolist(), P)
    _write_matrix_csv(out / "topic_word.csv", "input", vocab, A.T)
    tops = _write_top(out, A, vocab, args.top, "word")
    anchors = _anchor_lists(solver)
    if anchors is not None:
        _write_anchors(out, anchors, vocab)
    model_dir = _save_model(solver, out, log)
    files = sorted([p.name for p in out.iterdir()] + ["summary.json"])
    _summary(out, {
        "command": "fit", "input": str(args.input), "format": args.format or
        detect_format(Path(args.input)), "solver": args.solver,
        "params": solver.get_params(deep=False), "n_topics": args.topics,
        "n_domains": int(P.shape[0]), "n_words": int(A.shape[1]),
        "n_samples": float(corpus.n_samples),
        "log_likelihood_per_sample": float(solver.log_likelihood_),
        "timings_seconds": {"read": t_read, "fit": t_fit},
        "pooled_prior": solver.pooled_prior(), "model": model_dir, "files": files})
    if not args.quiet:
        for y, words in enumerate(tops):
            print(f"label {y}: {' '.join(words[:10])}")
    print(f"wrote {', '.join(files)} to {out}")
    return 0


def _load_array(path: str, what: str, *, one_d: bool = False) -> np.ndarray:
    p = _require_file(path, what)
    if p.is_dir():
        raise CLIError(f"{what} {path!r} is a directory; expected a .npy, .npz or CSV file")
    suffix = p.suffix.lower()
    try:
        if suffix == ".npy":
            arr = np.load(p, allow_pickle=False)
        elif suffix == ".npz":
            with np.load(p, allow_pickle=False) as npz:
                keys = npz.files
                key = keys[0] if len(keys) == 1 else next(
                    (k for k in ("X", "features", "domains", "d", "arr_0") if k in keys), None)
                if key is None:
                    raise CLIError(f"{what} {path!r} holds arrays {keys}; expected one array")
                arr = npz[key]
        else:
            arr = _read_csv_array(p, one_d=one_d)
    except CLIError:
        raise
    except (ValueError, OSError, EOFError) as exc:
        raise CLIError(f"cannot read {what} {path!r}: {_one_line(exc)}") from None
    return arr


def _read_csv_array(p: Path, *, one_d: bool) -> np.ndarray:
    delim = "\t" if p.suffix.lower() in (".tsv", ".tab") else ","
    with open(p, newline="", encoding="utf-8", errors="replace") as fh:
        rows = [r for r in csv.reader(fh, delimiter=delim) if r and any(c.strip() for c in r)]
    if not rows:
        raise CLIError(f"{str(p)!r} is empty")

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
        raise CLIError(f"{str(p)!r}: every row must have the same number of columns")
    try:
        return np.array([[float(c) for c in r] for r in rows], dtype=np.float32)
    except ValueError:
        raise CLIError(f"{str(p)!r}: features must be numbers") from None


def _make_ddfa(k: int, solver: str, args: argparse.Namespace, seed: int, verbose: bool,
               **extra: Any) -> Any:
    try:
        from .ddfa import DDFA
    except ImportError as exc:
        raise CLIError(f"DDFA is not available in this installation ({exc})") from None
    kwargs: dict[str, Any] = dict(solver=solver, random_state=seed, verbose=verbose)
    if getattr(args, "clusters", None):
        kwargs["n_clusters"] = args.clusters
    if getattr(args, "refine_rounds", None) is not None:
        if args.refine_rounds < 0:
            raise CLIError(f"--refine-rounds must be >= 0, got {args.refine_rounds}")
        kwargs["refine_rounds"] = args.refine_rounds
    if getattr(args, "epochs", None):
        from .discriminator import DomainDiscriminator

        kwargs["discriminator"] = DomainDiscriminator(epochs=args.epochs, random_state=seed,
                                                      verbose=verbose)
    kwargs.update(extra)
    return DDFA(k, **kwargs)


def cmd_fit_continuous(args: argparse.Namespace) -> int:
    log = _Log(args.quiet)
    X = _load_array(args.features, "features file")
    d = _load_array(args.domains, "domains file", one_d=True)
    if X.ndim == 1:
        raise CLIError(f"features {args.features!r} is 1-D; expected (n_samples, n_features)")
    if d.ndim != 1:
        if d.ndim == 2 and 1 in d.shape:
            d = d.ravel()
        else:
            raise CLIError(f"domains {args.domains!r} must be one column of ids, got shape "
                           f"{d.shape}")
    if len(d) != len(X):
        raise CLIError(f"features has {len(X)} rows but domains has {len(d)} ids")
    n_dom = len(np.unique(d))
    _check_topics(args.topics, n_dom)
    ddfa = _make_ddfa(args.topics, args.solver, args, args.seed, not args.quiet)
    log(f"fitting DDFA ({args.solver}) with {args.topics} labels on {len(X)} samples, "
        f"{X.shape[1] if X.ndim > 1 else 1} features, {n_dom} domains ...")
    t1 = time.perf_counter()
    try:
        ddfa.fit(X, d)
    except ValueError as exc:
        raise CLIError(_one_line(exc)) from None
    t_fit = time.perf_counter() - t1
    t2 = time.perf_counter()
    post = ddfa.predict_proba(X, d)
    t_pred = time.perf_counter() - t2
    log(f"fitted in {t_fit:.1f} s")

    out = _prepare_out(args.out)
    P = np.asarray(ddfa.domain_topic_)
    C = np.asarray(ddfa.cluster_topic_)
    ids = getattr(ddfa, "domain_ids_", np.unique(d))
    _write_matrix_csv(out / "domain_topic.csv", "domain", list(ids), P)
    _write_matrix_csv(out / "topic_word.csv", "cluster", list(range(C.shape[1])), C.T)
    _write_top(out, C, list(range(C.shape[1])), args.top, "cluster")
    # the most typical samples of each label: highest posterior in their own domain
    n_top = min(args.top, len(X))
    order = np.argsort(-post, axis=0, kind="stable")[:n_top].T
    with open(out / "top_samples.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["label", "rank", "row", "domain", "posterior"])
        for y, rows in enumerate(order):
            for r, i in enumerate(rows):
                w.writerow([y, r + 1, int(i), d[i], f"{post[i, y]:.6g}"])
    anchors = _anchor_lists(getattr(ddfa, "solver_", None))
    if anchors is not None:
        _write_anchors(out, anchors, list(range(C.shape[1])))
    with open(out / "posterior.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["row", "domain"] + [f"label_{j}" for j in range(post.shape[1])])
        for i in range(len(post)):
            w.writerow([i, d[i]] + [f"{v:.6g}" for v in post[i]])
    model_dir = _save_model(ddfa, out, log)
    files = sorted([p.name for p in out.iterdir()] + ["summary.json"])
    _summary(out, {
        "command": "fit-continuous", "features": str(args.features),
        "domains": str(args.domains), "solver": args.solver,
        "params": ddfa.get_params(deep=False), "n_topics": args.topics,
        "n_samples": int(len(X)), "n_domains": int(P.shape[0]),
        "n_clusters": int(C.shape[1]),
        "log_likelihood_per_sample": _maybe_float(getattr(ddfa.solver_, "log_likelihood_",
                                                          None)),
        "timings_seconds": {"fit": t_fit, "predict": t_pred}, "model": model_dir,
        "files": files})
    print(f"wrote {', '.join(files)} to {out}")
    return 0


def _maybe_float(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def cmd_compare(args: argparse.Namespace) -> int:
    from . import datasets

    log = _Log(args.quiet)
    try:
        from .compare import compare
    except ImportError as exc:
        raise CLIError(f"compare is not available in this installation ({exc})") from None
    solvers = tuple(s.strip() for s in args.solvers.split(",") if s.strip())
    for s in solvers:
        if s not in SOLVERS:
            raise CLIError(f"unknown solver {s!r} in --solvers; expected names from "
                           f"{', '.join(SOLVERS)}")
    truth = None
    if args.input is not None:
        data = read_discrete(args.input, args.format, vocab=args.vocab, log=log)
        label = args.input
        if args.topics is None:
            raise CLIError("--topics is required when comparing on a file")
        _check_topics(args.topics, int(np.count_nonzero(data.domain_sizes)))
    else:
        name = args.problem or "small-a3"
        if name not in datasets.DISCRETE_SETTINGS:
            raise CLIError(f"unknown --problem {name!r}; expected one of "
                           f"{', '.join(datasets.DISCRETE_SETTINGS)}")
        setting = dict(datasets.DISCRETE_SETTINGS[name])
        if args.n_per_domain:
            setting["n_per_domain"] = args.n_per_domain
        truth = datasets.make_discrete_lls(**setting, random_state=args.seed)
        data = truth
        label = f"planted problem {name!r} (seed {args.seed})"
    log(f"comparing {', '.join(solvers)} on {label} ...")
    kwargs: dict[str, Any] = dict(solvers=solvers, random_state=args.seed)
    if truth is not None:
        kwargs["truth"] = truth
    if args.topics is not None:
        kwargs["n_topics"] = args.topics
    try:
        table = _call_compare(compare, data, kwargs)
    except ValueError as exc:
        raise CLIError(_one_line(exc)) from None
    rows = _rows(table)
    print(format_table(rows))
    if args.plot:
        _save_compare_plot(rows, truth, args.plot)
        print(f"wrote {args.plot}")
    return 0


def _call_compare(compare: Any, data: Any, kwargs: dict) -> Any:
    import inspect

    accepted = inspect.signature(compare).parameters
    if not any(p.kind == p.VAR_KEYWORD for p in accepted.values()):
        kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    return compare(data, **kwargs)


def _rows(table: Any) -> list[dict]:
    if hasattr(table, "to_dict"):
        return list(table.to_dict("records"))
    return [dict(r) for r in table]


def _save_compare_plot(rows: list[dict], truth: Any, path: str) -> None:
    plotting = _plotting()
    fig = plotting.plot_comparison(rows)
    _savefig(fig, path)
    estimates = [r for r in rows if isinstance(r.get("domain_topic"), np.ndarray)]
    if truth is not None and estimates:
        base, ext = os.path.splitext(path)
        best = min(estimates, key=lambda r: float(r.get("prior_l1", np.inf) or np.inf))
        fig = plotting.plot_domain_topics(truth.domain_topic, best["domain_topic"],
                                          titles=("true $p_d(y)$",
                                                  f"{best.get('solver', '')} $p_d(y)$"))
        _savefig(fig, f"{base}_heatmaps{ext or '.png'}")


def _plotting() -> Any:
    try:
        import matplotlib

        if "matplotlib.pyplot" not in sys.modules:
            matplotlib.use("Agg")  # files only: never open a window from the CLI
    except ImportError:
        raise CLIError("--plot needs matplotlib: pip install 'lls-topics[plot]'") from None
    from . import plotting

    return plotting


def _savefig(fig: Any, path: str) -> None:
    import matplotlib.pyplot as plt

    parent = Path(path).parent
    if str(parent) and not parent.exists():
        parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(path, dpi=110)
    except (OSError, ValueError) as exc:
        raise CLIError(f"cannot write the plot {path!r}: {_one_line(exc)}") from None
    finally:
        plt.close(fig)


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(solver=args.solver, plot=args.plot, seed=args.seed, quiet=args.quiet,
                    epochs=args.epochs, reference=not args.no_reference,
                    oracle=not args.no_oracle)


# ------------------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of ``lls-topics`` (all subcommands)."""
    parser = _Parser(prog=PROG, description="Unsupervised learning under latent label shift "
                     "as topic modeling: inputs are words, domains are documents, labels are "
                     "topics.", epilog="Exit codes: 0 success, 1 failure, 2 bad input or "
                     "usage. Run 'lls-topics COMMAND --help' for each command.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
        p.add_argument("-q", "--quiet", action="store_true",
                       help="no progress messages or bars")
        p.add_argument("--debug", action="store_true",
                       help="show the full traceback on errors")

    p = sub.add_parser("demo", help="DDFA on semi-synthetic digits, end to end",
                       description="Semi-synthetic latent label shift on scikit-learn's "
                       "digits (10 labels, 20 domains): fit DDFA, print the recovered p_d(y) "
                       "beside the truth, and the matched accuracy beside the reference DDFA "
                       "pipeline's and the supervised oracle's. Under a minute on 2 cores.")
    p.add_argument("--solver", choices=list(SOLVERS), default="anchor",
                   help="topic solver inside DDFA (default anchor)")
    p.add_argument("--plot", metavar="OUT.png", help="also save a figure: true vs recovered "
                   "p_d(y) and the p(d|x) simplex")
    p.add_argument("--epochs", type=int, default=None,
                   help="discriminator epochs (default: the demo's setting)")
    p.add_argument("--no-reference", action="store_true",
                   help="skip the reference DDFA pipeline")
    p.add_argument("--no-oracle", action="store_true", help="skip the supervised oracle")
    common(p)
    p.set_defaults(func=cmd_demo)

    fmt_help = ("input format (default: from the suffix): csv/tsv = token table with "
                "columns domain,token[,count] (header optional; string tokens get a "
                "vocabulary); mtx = Matrix Market (domains x inputs); npz = "
                "scipy.sparse.save_npz counts; mmcorpus = gensim MmCorpus (.mm); textdir = "
                "a directory with one text file per domain")

    p = sub.add_parser("fit", help="fit a topic solver to discrete data from a file",
                       description="Fit p(x|d) = sum_y p(x|y) p_d(y) to discrete data and "
                       "write domain_topic.csv (p_d(y), one row per domain), topic_word.csv "
                       "(p(x|y), one row per input), top_words.csv/.txt, anchors.txt (anchor "
                       "solver), summary.json and the saved model (model/).")
    p.add_argument("input", help="input file or directory")
    p.add_argument("-k", "--topics", type=int, required=True, help="number of labels k")
    p.add_argument("--solver", choices=list(SOLVERS), default="anchor",
                   help="topic solver (default anchor)")
    p.add_argument("--format", choices=list(FORMATS), help=fmt_help)
    p.add_argument("--out", default="lls_out", help="output directory (default lls_out)")
    p.add_argument("--top", type=int, default=10, help="top inputs listed per label")
    p.add_argument("--vocab", help="vocabulary for count-matrix inputs: one word per line, "
                   "or a gensim Dictionary.save_as_text file")
    p.add_argument("--min-count", type=int, default=1,
                   help="textdir: drop words seen fewer times (default 1)")
    p.add_argument("--keep-stopwords", action="store_true",
                   help="textdir: keep gensim's English stop words")
    common(p)
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("fit-continuous", help="fit DDFA to continuous features",
                       description="Fit DDFA (domain discriminator, clustering, topic "
                       "solver, adjustment) and write the outputs of 'fit' for the cluster "
                       "vocabulary, top_samples.csv (most typical rows per label) and "
                       "posterior.csv (p_d(y|x) for every row).")
    p.add_argument("features", help="features: .npy, .npz (one array) or CSV (one row per "
                   "sample; a header row is skipped)")
    p.add_argument("domains", help="domain ids, one per row: .npy, .npz or a one-column "
                   "text/CSV file")
    p.add_argument("-k", "--topics", type=int, required=True, help="number of labels k")
    p.add_argument("--solver", choices=list(SOLVERS), default="anchor",
                   help="topic solver (default anchor)")
    p.add_argument("--clusters", type=int, help="vocabulary size (default: DDFA's)")
    p.add_argument("--epochs", type=int, help="discriminator epochs (default: DDFA's)")
    p.add_argument("--refine-rounds", type=int, default=None, metavar="N",
                   help="exactly N label-network refinement rounds (0: none; default: "
                   "DDFA's 'auto', rounds kept only when they predict held-out domains "
                   "better, within half the discriminator's epochs)")
    p.add_argument("--out", default="lls_out", help="output directory (default lls_out)")
    p.add_argument("--top", type=int, default=10, help="top clusters and rows per label")
    common(p)
    p.set_defaults(func=cmd_fit_continuous)

    p = sub.add_parser("compare", help="compare solvers on a file or a planted problem",
                       description="Fit several solvers on the same data and print one row "
                       "per solver (time, log-likelihood; errors against the truth on a "
                       "planted problem).")
    src = p.add_mutually_exclusive_group()
    src.add_argument("input", nargs="?", help="discrete data file or directory (as for fit)")
    src.add_argument("--problem", help="a planted problem of the benchmark grid: " +
                     ", ".join(_setting_names()) + " (default small-a3)")
    p.add_argument("-k", "--topics", type=int, help="number of labels (required with a file)")
    p.add_argument("--solvers", default="anchor,nmf,lda",
                   help="comma-separated solvers (default anchor,nmf,lda)")
    p.add_argument("--format", choices=list(FORMATS), help=fmt_help)
    p.add_argument("--vocab", help="vocabulary for count-matrix inputs")
    p.add_argument("--n-per-domain", type=int, help="planted problem: samples per domain")
    p.add_argument("--plot", metavar="OUT.png", help="also save a bar chart of error and time")
    common(p)
    p.set_defaults(func=cmd_compare)
    return parser


def _setting_names() -> list[str]:
    from .datasets import DISCRETE_SETTINGS

    return list(DISCRETE_SETTINGS)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``lls-topics`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    debug = getattr(args, "debug", False) or bool(os.environ.get("LLS_TOPICS_DEBUG"))
    prog = f"{PROG} {args.command}"
    try:
        return int(args.func(args) or 0)
    except CLIError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 1
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        if debug:
            raise
        print(f"{prog}: error: {exc.strerror or exc}: {exc.filename}", file=sys.stderr)
        return 2
    except Exception as exc:  # one line, never a traceback, unless --debug
        if debug:
            raise
        print(f"{prog}: failed: {type(exc).__name__}: {_one_line(exc)} (rerun with --debug "
              "for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
