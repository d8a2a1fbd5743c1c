"""Shared helpers of the benchmark scripts: peers, limits, metrics, tables.

Every method is run through :func:`run_method`, which times the fit and turns any
failure (a missing package, a solver not merged yet, an exception while fitting)
into an ``"n/a: reason"`` entry, so that a table never silently drops a row.

A fitted method is described by a :class:`Fit`: the estimated p_d(y) (D, k), the
estimated p(x|y) (k, V) when the method has one, the wall seconds of the fit, and
optionally a ``predict(tokens, domains)`` callable (our solvers' own ``predict``).

Methods (names used by ``--methods``):

- ``anchor``, ``nmf``, ``lda``: our :class:`AnchorSolver`, :class:`NMFSolver`,
  :class:`LDASolver` with default options;
- ``ref-nmf``: the protocol's reference NMF step (scikit-learn Frobenius NMF on the
  column-normalized V x D matrix p(x|d));
- ``tomotopy``: ``tomotopy.LDAModel(k)``, 500 iterations, 1 worker, one document
  per domain;
- ``gensim``: gensim ``LdaModel`` with honest settings and its own random start
  (``LDASolver(init="gensim")`` when available, else :data:`GENSIM_OPTIONS`);
- ``gensim-direct``: gensim ``LdaModel`` with :data:`GENSIM_OPTIONS` always (learned
  asymmetric alpha); on the large setting it beats ``LDASolver(init="gensim")``
  (1.5x vs 6.4x the oracle, seed 0), so both are shown to keep the peer honest;
- ``oracle``: p_d(y) by maximum likelihood with the true p(x|y) held fixed;
- ``ml-limit``: the likelihood limit, PLSA EM on the counts started at the truth.
"""
from __future__ import annotations

import platform
import time
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment

from lls_topics.solvers.registry import SOLVERS

__all__ = ["Fit", "Failure", "Problem", "METHODS", "OURS", "PEERS", "LIMITS", "run_method",
           "ANCHOR_VARIANTS", "anchor_method", "fit_anchor", "fit_nmf_ours", "fit_lda_ours",
           "fit_ref_nmf", "fit_tomotopy",
           "fit_gensim", "fit_oracle", "fit_ml_limit", "bayes_accuracy", "evaluate",
           "machine_description", "format_table", "run_and_report", "median_row", "fmt"]

OURS = ("anchor", "anchor-cooc", "anchor-text", "nmf", "lda")
PEERS = ("ref-nmf", "tomotopy", "gensim", "gensim-direct")
LIMITS = ("oracle", "ml-limit")


@dataclass
class Fit:
    """What a fitted method hands to the evaluation.

    domain_topic : (D, k) estimated p_d(y), rows sum to 1.
    topic_word : (k, V) estimated p(x|y), rows sum to 1, or None.
    seconds : wall seconds of the fit.
    predict : optional callable(tokens, domains) -> labels (argmax p_d(y|x)).
    """

    domain_topic: np.ndarray
    topic_word: np.ndarray | None
    seconds: float
    predict: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
    info: dict = field(default_factory=dict)


@dataclass
class Failure:
    """A method that could not be imported or run; ``reason`` is shown in the table."""

    reason: str
    seconds: float = float("nan")


class Problem:
    """A planted discrete problem plus the per-cell label counts used for accuracy.

    Accuracy is computed over the distinct (domain, input) cells weighted by how
    many samples of each true label fall in them. This equals the accuracy of
    predicting every planted sample (the prediction depends only on the cell) at a
    fraction of the cost on the large setting (2M samples).
    """

    def __init__(self, data: Any) -> None:
        self.data = data
        self.P = np.asarray(data.domain_topic, dtype=np.float64)
        self.A = np.asarray(data.topic_word, dtype=np.float64)
        self.k, self.V = self.A.shape
        self.D = self.P.shape[0]
        self.corpus = data.corpus
        self.counts = sp.csr_matrix(self.corpus.counts, dtype=np.float64)
        # rows of the counts are the domain ids in sorted order (0..D-1 here)
        self.domain_ids = np.asarray(self.corpus.domain_ids)
        from lls_topics.corpus import row_lookup

        row_of = row_lookup(self.domain_ids)
        rows = np.asarray([row_of[d] for d in range(self.D)])[data.domains]
        cell = rows.astype(np.int64) * self.V + data.tokens
        uniq, inv = np.unique(cell, return_inverse=True)
        self.cell_rows = uniq // self.V
        self.cell_tokens = uniq % self.V
        self.cell_domains = self.domain_ids[self.cell_rows]
        self.cell_labels = np.bincount(inv.ravel() * self.k + data.labels,
                                       minlength=uniq.size * self.k
                                       ).reshape(uniq.size, self.k).astype(np.float64)
        self.n_samples = float(data.tokens.size)

    def matched_accuracy_cells(self, pred: np.ndarray) -> float:
        """Matched accuracy of per-cell predicted labels (Hungarian on the confusion)."""
        pred = np.asarray(pred, dtype=np.int64).ravel()
        n_pred = int(max(pred.max() + 1, self.k))
        C = np.zeros((n_pred, self.k))
        np.add.at(C, pred, self.cell_labels)
        r, c = linear_sum_assignment(-C)
        return float(C[r, c].sum() / self.n_samples)

    def accuracy_from_factors(self, P: np.ndarray, A: np.ndarray) -> float:
        """Matched accuracy of argmax_y p(x|y) p_d(y) on the planted samples."""
        joint = A[:, self.cell_tokens].T * P[self.cell_rows]
        return self.matched_accuracy_cells(np.argmax(joint, axis=1))


# ------------------------------------------------------------------ running methods
def run_method(name: str, fn: Callable[..., Fit], *args: Any, **kwargs: Any) -> Fit | Failure:
    """Run ``fn``; turn any import error or exception into a :class:`Failure`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    except ImportError as exc:
        missing = getattr(exc, "name", None)
        return Failure(f"n/a: cannot import {missing}" if missing
                       else f"n/a: import failed ({_short(exc)})")
    except NotImplementedError as exc:
        return Failure(f"n/a: not implemented ({_short(exc)})")
    except Exception as exc:  # noqa: BLE001 - a benchmark reports, never crashes
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" at {tb[-1].name}:{tb[-1].lineno}" if tb else ""
        return Failure(f"n/a: {type(exc).__name__}: {_short(exc)}{where}")


def _short(exc: BaseException, n: int = 80) -> str:
    s = str(exc).replace("\n", " ").replace("|", "/")
    return s if len(s) <= n else s[:n - 3] + "..."


def _our_solver(cls_name: str, module: str, counts: Any, k: int, seed: int,
                **options: Any) -> Fit:
    import importlib

    mod = importlib.import_module(f"lls_topics.solvers.{module}")
    cls = getattr(mod, cls_name)
    est = cls(k, random_state=seed, **options)
    if "verbose" in est.get_params() and "verbose" not in options:
        est.set_params(verbose=False)
    t0 = time.perf_counter()
    est.fit(counts)
    sec = time.perf_counter() - t0
    return Fit(est.domain_topic_, est.topic_word_, sec, predict=est.predict,
               info={"estimator": est})


def fit_anchor(counts: Any, k: int, seed: int, **options: Any) -> Fit:
    """Our :class:`AnchorSolver` (defaults)."""
    return _our_solver("AnchorSolver", "anchor", counts, k, seed, **options)


#: our anchor-solver variants that the benchmarks measure: name -> AnchorSolver options.
#: ``anchor-cooc`` and ``anchor-text`` read the registry's presets, so their rows are what
#: ``--solver anchor-cooccurrence`` and ``--solver anchor-text`` give
ANCHOR_VARIANTS: dict[str, dict] = {
    "anchor": {},
    "anchor-plain": {"accelerate": False},
    "anchor-cooc": dict(SOLVERS["anchor-cooccurrence"].params),
    "anchor-heldout": {"priors": "heldout"},
    "anchor-cooc-heldout": {"space": "cooccurrence", "priors": "heldout"},
    "anchor-cvb0": {"refine": "collapsed"},
    "anchor-cooc-cvb0": {"space": "cooccurrence", "refine": "collapsed"},
    "anchor-text": dict(SOLVERS["anchor-text"].params),
    # the anchor step alone: the floor under any refinement's time (issue 16's speed bar)
    "anchor-raw": {"refine": "none"},
}


def anchor_method(name: str, data: str) -> Callable[[Any, int], Fit]:
    """The benchmark method ``name`` of :data:`ANCHOR_VARIANTS`: fits our
    :class:`AnchorSolver` on the problem's attribute ``data`` (a corpus or counts)."""
    options = ANCHOR_VARIANTS[name]
    return lambda pb, s: fit_anchor(getattr(pb, data), pb.k, s, **options)


def fit_nmf_ours(counts: Any, k: int, seed: int, **options: Any) -> Fit:
    """Our :class:`NMFSolver` (defaults)."""
    return _our_solver("NMFSolver", "nmf", counts, k, seed, **options)


def fit_lda_ours(counts: Any, k: int, seed: int, **options: Any) -> Fit:
    """Our :class:`LDASolver` (defaults)."""
    return _our_solver("LDASolver", "lda", counts, k, seed, **options)


def _as_csr(counts: Any) -> sp.csr_matrix:
    M = counts.counts if hasattr(counts, "counts") else counts
    return sp.csr_matrix(M, dtype=np.float64)


def _normalize_rows(X: np.ndarray) -> np.ndarray:
    X = np.clip(np.asarray(X, dtype=np.float64), 0.0, None)
    s = X.sum(axis=1, keepdims=True)
    return np.divide(X, s, out=np.full_like(X, 1.0 / X.shape[1]), where=s > 0)


def fit_ref_nmf(counts: Any, k: int, seed: int) -> Fit:
    """The protocol's reference NMF step.

    scikit-learn ``NMF(n_components=k, init='random')`` (Frobenius loss) on the V x D
    matrix whose columns are p(x|d). The topic-word factor W (V x k) is rescaled so
    its columns sum to 1 and H takes the inverse scale; p_d(y) is then the
    normalized columns of H.
    """
    from sklearn.decomposition import NMF

    M = _as_csr(counts)
    sizes = np.asarray(M.sum(axis=1)).ravel()
    t0 = time.perf_counter()
    X = (sp.diags(1.0 / np.maximum(sizes, 1e-300)) @ M).T.tocsr()  # V x D, columns p(x|d)
    model = NMF(n_components=k, init="random", random_state=seed)
    W = model.fit_transform(X)  # V x k
    H = model.components_  # k x D
    s = W.sum(axis=0)
    s = np.where(s > 0, s, 1.0)
    W = W / s
    H = H * s[:, None]
    P = _normalize_rows(H.T)
    A = _normalize_rows(W.T)
    sec = time.perf_counter() - t0
    return Fit(P, A, sec, info={"n_iter": int(model.n_iter_)})


def fit_tomotopy(counts: Any, k: int, seed: int, iterations: int = 500) -> Fit:
    """tomotopy ``LDAModel(k)``: each domain one document, ``train(500, workers=1)``.

    The time covers adding the documents and training; building the token lists
    from the counts is data conversion and is not timed.
    """
    import tomotopy as tp

    M = _as_csr(counts)
    D, V = M.shape
    docs = []
    for d in range(D):
        lo, hi = M.indptr[d], M.indptr[d + 1]
        ids = np.repeat(M.indices[lo:hi], np.rint(M.data[lo:hi]).astype(np.int64))
        docs.append([str(i) for i in ids.tolist()])
    t0 = time.perf_counter()
    mdl = tp.LDAModel(k=k, seed=seed)
    for words in docs:
        mdl.add_doc(words)
    mdl.train(iterations, workers=1)
    sec = time.perf_counter() - t0
    P = _normalize_rows(np.array([doc.get_topic_dist() for doc in mdl.docs]))
    vocab = np.array([int(w) for w in mdl.used_vocabs], dtype=np.int64)
    A = np.zeros((k, V))
    for t in range(k):
        A[t, vocab] = mdl.get_topic_word_dist(t)
    return Fit(P, _normalize_rows(A), sec)


#: Direct gensim configuration, used when :class:`LDASolver` is not available:
#: full-batch variational EM (``update_every=0`` with one chunk holding every domain,
#: and ``decay=0`` so each M-step takes the full batch estimate instead of gensim's
#: online step size, which with few documents stalls far from convergence), learned
#: asymmetric alpha, tomotopy's eta, and enough passes / per-document iterations for
#: the bound to settle on these sizes. Tried on small-a3, seeds 0-2: the online
#: default and ``alpha='symmetric'`` were worse; more passes changed little.
GENSIM_OPTIONS = dict(passes=100, iterations=200, alpha="auto", eta=0.01, update_every=0,
                      decay=0.0, eval_every=None, gamma_threshold=1e-4,
                      minimum_probability=0.0)


def fit_gensim(counts: Any, k: int, seed: int, **options: Any) -> Fit:
    """gensim ``LdaModel`` with honest settings and gensim's own random start.

    When our :class:`LDASolver` is importable, this is ``LDASolver(k,
    init="gensim")``: the settings its authors measured as best for LLS corpora
    (batch EM, long E-steps, sparse priors), without our anchor seeding, so the row
    stays a peer. Otherwise it is :data:`GENSIM_OPTIONS` on gensim directly. The
    variant used is recorded in ``Fit.info["variant"]``.
    """
    try:
        from lls_topics.solvers.lda import LDASolver  # noqa: F401
    except ImportError:
        return _fit_gensim_direct(counts, k, seed, **options)
    fit = _our_solver("LDASolver", "lda", counts, k, seed, init="gensim", **options)
    fit.predict = None  # evaluated from its factors, like the other peers
    fit.info = {"variant": "LDASolver(init='gensim')"}
    return fit


def _fit_gensim_direct(counts: Any, k: int, seed: int, **options: Any) -> Fit:
    """gensim ``LdaModel`` with :data:`GENSIM_OPTIONS`.

    The time covers the bag-of-words conversion, training and the final inference
    of p_d(y).
    """
    import logging

    from gensim.models import LdaModel

    logging.getLogger("gensim").setLevel(logging.ERROR)
    M = _as_csr(counts)
    D, V = M.shape
    opts = dict(GENSIM_OPTIONS)
    opts.update(options)
    t0 = time.perf_counter()
    bow = [list(zip(M.indices[M.indptr[d]:M.indptr[d + 1]].tolist(),
                    M.data[M.indptr[d]:M.indptr[d + 1]].tolist())) for d in range(D)]
    id2word = {i: str(i) for i in range(V)}
    lda = LdaModel(corpus=bow, num_topics=k, id2word=id2word, chunksize=D,
                   random_state=seed, dtype=np.float64, **opts)
    P = np.zeros((D, k))
    for d, doc in enumerate(bow):
        for t, p in lda.get_document_topics(doc, minimum_probability=0.0):
            P[d, t] = p
    sec = time.perf_counter() - t0
    return Fit(_normalize_rows(P), _normalize_rows(lda.get_topics()), sec,
               info={"variant": "gensim LdaModel(GENSIM_OPTIONS)"})


def fit_oracle(counts: Any, A_true: np.ndarray) -> Fit:
    """The oracle: maximum-likelihood p_d(y) with the true p(x|y) held fixed."""
    from lls_topics.solvers.em import fit_domain_topic

    M = _as_csr(counts)
    t0 = time.perf_counter()
    P = fit_domain_topic(M, np.asarray(A_true, dtype=np.float64))
    return Fit(P, np.asarray(A_true, dtype=np.float64), time.perf_counter() - t0)


def fit_ml_limit(counts: Any, P_true: np.ndarray, A_true: np.ndarray,
                 max_iter: int = 500) -> Fit:
    """The likelihood limit: PLSA / KL-NMF EM for 500 sweeps, started at the truth."""
    from lls_topics.solvers.em import em_fit

    M = _as_csr(counts)
    t0 = time.perf_counter()
    P, A, _, _ = em_fit(M, np.asarray(P_true, float), np.asarray(A_true, float),
                        max_iter=max_iter)
    return Fit(P, A, time.perf_counter() - t0)


def bayes_accuracy(problem: Problem) -> float:
    """Matched accuracy of the true posterior p_d(y|x) ∝ p(x|y) p_d(y)."""
    return problem.accuracy_from_factors(problem.P, problem.A)


#: name -> callable(problem, seed) -> Fit
METHODS: dict[str, Callable[[Problem, int], Fit]] = {
    **{name: anchor_method(name, "corpus") for name in ANCHOR_VARIANTS},
    "nmf": lambda pb, s: fit_nmf_ours(pb.corpus, pb.k, s),
    "lda": lambda pb, s: fit_lda_ours(pb.corpus, pb.k, s),
    "ref-nmf": lambda pb, s: fit_ref_nmf(pb.counts, pb.k, s),
    "tomotopy": lambda pb, s: fit_tomotopy(pb.counts, pb.k, s),
    "gensim": lambda pb, s: fit_gensim(pb.counts, pb.k, s),
    "gensim-direct": lambda pb, s: _fit_gensim_direct(pb.counts, pb.k, s),
    "oracle": lambda pb, s: fit_oracle(pb.counts, pb.A),
    "ml-limit": lambda pb, s: fit_ml_limit(pb.counts, pb.P, pb.A),
}


def evaluate(problem: Problem, fit: Fit) -> dict:
    """L1(P), per-entry L1 and matched accuracy of a fit on a planted problem.

    Accuracy uses the method's own ``predict`` when it has one, otherwise
    argmax_y p(x|y) p_d(y) from its factors (labels are matched by the Hungarian
    permutation that maximizes accuracy, so the factors' label order is irrelevant
    as long as p_d(y) and p(x|y) share it).
    """
    from lls_topics.metrics import prior_l1

    P = np.asarray(fit.domain_topic, dtype=np.float64)
    l1 = prior_l1(problem.P, P)
    out = {"l1": l1, "l1_entry": l1 / problem.P.size, "seconds": fit.seconds}
    if fit.predict is not None:
        pred = fit.predict(problem.cell_tokens, problem.cell_domains)
        out["acc"] = problem.matched_accuracy_cells(pred)
    elif fit.topic_word is not None:
        out["acc"] = problem.accuracy_from_factors(P, np.asarray(fit.topic_word))
    else:
        out["acc"] = float("nan")
    return out


# ------------------------------------------------------------------------ reporting
def machine_description() -> str:
    """Cores, CPU model and Python/numpy versions, one line."""
    import os

    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"{ncpu} cores ({model}), no GPU; Python {platform.python_version()}, "
            f"numpy {np.__version__}")


def package_versions() -> dict:
    """Versions of the peers' packages (or 'missing')."""
    import importlib

    out = {}
    for name in ("sklearn", "tomotopy", "gensim", "scipy"):
        try:
            out[name] = importlib.import_module(name).__version__
        except Exception:  # noqa: BLE001
            out[name] = "missing"
    return out


def median_row(records: list[dict], keys: tuple[str, ...]) -> dict:
    """Seed counts, the first error and the median of each key over the records that
    ran (non-finite values left out; None where no record has the key)."""
    ok = [r for r in records if "error" not in r]
    row: dict = {"n_seeds": len(records), "n_ok": len(ok)}
    errors = sorted({r["error"] for r in records if "error" in r})
    if errors:
        row["error"] = errors[0]
    for key in keys:
        vals = [r[key] for r in ok if key in r and np.isfinite(r[key])]
        row[key] = float(np.median(vals)) if vals else None
    return row


def fmt(x: float | None, spec: str) -> str:
    """``format(x, spec)``, or an empty cell for None / non-finite values."""
    return "" if x is None or not np.isfinite(x) else format(x, spec)


def run_and_report(script: str, argv: list[str] | None, args: Any,
                   run: Callable[[Any], list[dict]],
                   summarize: Callable[[list[dict], list[str]], list[dict]],
                   render: Callable[[list[dict], bool], str]) -> int:
    """A benchmark script's main: run, print the machine, command and table, write JSON."""
    import json
    import sys

    command = f"python benchmarks/{script} " + " ".join(sys.argv[1:] if argv is None
                                                         else argv)
    t0 = time.perf_counter()
    records = run(args)
    rows = summarize(records, args.methods)
    total = time.perf_counter() - t0
    machine = machine_description()
    if args.markdown:
        print(f"Machine: {machine}. Command: `{command.strip()}` ({total:.0f} s in all).\n")
    else:
        print(f"# {machine}\n# {command.strip()}  ({total:.0f} s)")
    print(render(rows, args.markdown))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"machine": machine, "versions": package_versions(),
                       "command": command.strip(), "seconds": total, "records": records,
                       "summary": rows}, fh, indent=1)
    return 0


def format_table(header: list[str], rows: list[list[str]], markdown: bool) -> str:
    """Plain fixed-width or markdown table."""
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" if i < 2 else f"{{:>{w}}}" for i, w in enumerate(widths))
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*r) for r in rows]
    return "\n".join(lines)
