"""The ``lls-topics`` command line.

Subcommands: ``demo``, ``fit`` (discrete data from files), ``select-k`` (choose the
number of labels), ``fit-continuous`` (features and domain ids, through DDFA) and
``compare`` (solvers side by side). Every command takes ``--help``.

Exit codes: 0 on success; 2 for a usage or input error (missing file, unreadable
format, impossible parameters), reported as one line on stderr; 1 for any other
failure (also one line; ``--debug`` shows the traceback).
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import shutil
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from .io import (FORMATS, anchor_lists, detect_format, format_table, jsonable, load_array,
                 one_line, read_discrete, require_file, shared_top_words, write_anchors,
                 write_matrix_csv,
                 write_top)
from .solvers.registry import make_solver, solver_names

__all__ = ["main", "build_parser", "CLIError"]

PROG = "lls-topics"

#: the ``--solver`` choices: every solver of the registry
SOLVERS = solver_names()


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


def _check_topics(k: int, n_domains: int) -> None:
    if k < 1:
        raise CLIError(f"--topics must be at least 1, got {k}")
    if k > n_domains:
        raise CLIError(f"--topics {k} is larger than the number of domains ({n_domains}): "
                       "LLS needs at least as many domains as labels")


def _int_option(minimum: int) -> Any:
    """An argparse type: an int of at least ``minimum`` (a usage error otherwise)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


def _fraction(text: str) -> float:
    """An argparse type: a number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


#: what each command writes into --out (files, and the saved model's folder)
OUTPUTS = {
    "fit": ("domain_topic.csv", "domain_topic_lo.csv", "domain_topic_hi.csv",
            "topic_word.csv", "top_words.csv", "top_words.txt", "anchors.txt",
            "summary.json", "model"),
    "fit-continuous": ("domain_topic.csv", "topic_word.csv", "top_clusters.csv",
                       "top_clusters.txt", "top_samples.csv", "anchors.txt", "posterior.csv",
                       "summary.json", "model"),
}


def _check_out(path: str, overwrite: bool) -> None:
    """Reject an --out that cannot take this run's outputs, before any work is done: a
    file, or a folder that already holds files (unless ``overwrite``)."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {path!r} exists and is not a directory")
    if out.is_dir() and not overwrite:
        held = sorted(p.name for p in out.iterdir())
        if held:
            shown = ", ".join(held[:5]) + (", ..." if len(held) > 5 else "")
            raise CLIError(f"--out {path!r} already holds files ({shown}); pass --overwrite "
                           "to replace this command's outputs there, or choose another folder")


def _prepare_out(path: str, command: str) -> Path:
    """Create --out and remove what an earlier run of ``command`` wrote there, so that
    no stale output (an old anchors.txt) is mixed with this run's."""
    out = Path(path)
    _check_out(path, overwrite=True)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name in OUTPUTS[command]:
            old = out / name
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old)
            elif old.exists() or old.is_symlink():
                old.unlink()
    except OSError as exc:
        raise CLIError(f"cannot prepare --out {path!r}: {exc.strerror}") from None
    return out


def _written(out: Path, command: str) -> list[str]:
    """This run's outputs in ``out`` (other files there are not ours to list)."""
    return sorted(name for name in OUTPUTS[command] if (out / name).exists()
                  or name == "summary.json")


def _summary(out: Path, payload: dict) -> None:
    from . import __version__

    payload = {"lls_topics_version": __version__, **payload}
    with open(out / "summary.json", "w", encoding="utf-8") as fh:
        json.dump(jsonable(payload), fh, indent=2)


def _save_model(est: Any, out: Path, log: _Log) -> str | None:
    from .persistence import save_estimator

    try:
        save_estimator(est, out / "model")
    except (TypeError, ValueError) as exc:
        log(f"note: the model was not saved ({one_line(exc)})")
        return None
    return "model"


@contextlib.contextmanager
def _logged_identifiability(log: _Log) -> Iterator[None]:
    """Show a fit's identifiability warnings as log lines (summary.json keeps them too)."""
    from .solvers.base import IdentifiabilityWarning

    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always", IdentifiabilityWarning)
        yield
    for w in records:
        if issubclass(w.category, IdentifiabilityWarning):
            log(f"warning: {w.message}")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


# ------------------------------------------------------------------------------ commands
def cmd_select_k(args: argparse.Namespace) -> int:
    from .selection import select_n_topics

    log = _Log(args.quiet)
    if args.plot:
        from .plotting import use_file_backend

        use_file_backend()   # fail on a missing matplotlib before the long part
    if not 1 <= args.min_topics <= args.max_topics:
        raise CLIError(f"--min-topics ({args.min_topics}) must be between 1 and --max-topics "
                       f"({args.max_topics})")
    corpus = read_discrete(args.input, args.format, vocab=args.vocab, log=log)
    log(f"trying k = {args.min_topics}..{args.max_topics} with {args.cv}-fold document "
        f"completion on {corpus.n_domains} domains x {corpus.n_words} inputs ...")
    res = select_n_topics(corpus, range(args.min_topics, args.max_topics + 1),
                          solver=args.solver, cv=args.cv, random_state=args.seed,
                          verbose=not args.quiet)
    rows = [{"k": int(k), "heldout_loglik": float(s), "se": float(e), "residual": float(r),
             "near_tie": bool(k in res.near_ties_)}
            for k, s, e, r in zip(res.candidates_, res.scores_, res.score_se_,
                                  res.residuals_)]
    print(format_table(rows))
    print(f"best k: {res.best_} (held-out likelihood argmax {res.best_by_likelihood_}, "
          f"largest anchor residual drop {res.best_by_residual_})")
    if args.plot:
        from .plotting import plot_select_k, savefig

        savefig(plot_select_k(res), args.plot)
        print(f"wrote {args.plot}")
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    log = _Log(args.quiet)
    _check_report_path(args.report)
    _check_out(args.out, args.overwrite)
    t0 = time.perf_counter()
    if args.chunksize is not None and args.chunksize < 1:
        raise CLIError(f"--chunksize must be >= 1, got {args.chunksize}")
    if args.dask:
        corpus = _read_on_dask(args, log)
    else:
        corpus = read_discrete(args.input, args.format, vocab=args.vocab,
                               keep_stopwords=args.keep_stopwords, min_count=args.min_count,
                               log=log, chunksize=args.chunksize, domains=args.domains,
                               no_below=args.no_below, no_above=args.no_above,
                               keep_n=args.keep_n)
    t_read = time.perf_counter() - t0
    nonempty = int(np.count_nonzero(corpus.domain_sizes))
    _check_topics(args.topics, nonempty)
    solver = make_solver(args.solver, args.topics, random_state=args.seed,
                         verbose=not args.quiet)
    log(f"fitting {type(solver).__name__} with {args.topics} labels on {corpus.n_domains} "
        f"domains x {corpus.n_words} inputs ({corpus.n_samples:g} samples) ...")
    t1 = time.perf_counter()
    boot = None
    try:
        with _logged_identifiability(log):
            if args.bootstrap:
                from .uncertainty import bootstrap

                boot = bootstrap(solver, corpus, args.bootstrap, confidence=args.confidence,
                                 random_state=args.seed, n_jobs=args.jobs)
                solver = boot.estimator_
            else:
                solver.fit(corpus)
    except ValueError as exc:
        raise CLIError(one_line(exc)) from None
    t_fit = time.perf_counter() - t1
    log(f"fitted in {t_fit:.2f} s{' (with the bootstrap)' if boot else ''}; "
        f"log-likelihood per sample {solver.log_likelihood_:.4f}")

    out = _prepare_out(args.out, "fit")
    vocab = corpus.vocabulary
    P = np.asarray(solver.domain_topic_)
    A = np.asarray(solver.topic_word_)
    write_matrix_csv(out / "domain_topic.csv", "domain", solver.domain_ids_.tolist(), P)
    if boot is not None:
        write_matrix_csv(out / "domain_topic_lo.csv", "domain", solver.domain_ids_.tolist(),
                         boot.domain_topic_low_)
        write_matrix_csv(out / "domain_topic_hi.csv", "domain", solver.domain_ids_.tolist(),
                         boot.domain_topic_high_)
    write_matrix_csv(out / "topic_word.csv", "input", vocab, A.T)
    tops = write_top(out, A, vocab, args.top, "word")
    anchors = anchor_lists(solver)
    if anchors is not None:
        write_anchors(out, anchors, vocab)
    model_dir = _save_model(solver, out, log)
    files = _written(out, "fit")
    _summary(out, {
        "command": "fit", "input": str(args.input), "format": args.format or
        detect_format(Path(args.input)), "solver": args.solver,
        "params": solver.get_params(deep=False), "n_topics": args.topics,
        "n_domains": int(P.shape[0]), "n_words": int(A.shape[1]),
        "n_samples": float(corpus.n_samples),
        "log_likelihood_per_sample": float(solver.log_likelihood_),
        "timings_seconds": {"read": t_read, "fit": t_fit},
        "pooled_prior": solver.pooled_prior(), "diagnostics": solver.diagnostics(),
        "bootstrap": None if boot is None else {
            "n_resamples": args.bootstrap, "confidence": args.confidence,
            "method": boot.method_, "mean_interval_width": float(
                np.mean(boot.domain_topic_high_ - boot.domain_topic_low_))},
        "model": model_dir, "files": files})
    _write_report(solver, corpus, args.report, t_fit, args.top, bootstrap=boot)
    if not args.quiet:
        for y, words in enumerate(tops):
            print(f"label {y}: {' '.join(words[:10])}")
    shared = shared_top_words(tops)
    if shared:
        print(f"hint: every label's top words include {' '.join(shared[:8])}: words frequent "
              "in every domain dominate the labels; remove them before fitting (stop words, "
              "or words found in most domains)", file=sys.stderr)
    print(f"wrote {', '.join(files)} to {out}")
    return 0


def _read_on_dask(args: argparse.Namespace, log: _Log) -> Any:
    """Count the input (a CSV/TSV glob or a text folder) on a Dask cluster."""
    from .dask_counting import dask_client
    from .io import read_discrete_dask

    try:
        client = dask_client(args.dask)
    except ImportError as exc:
        raise CLIError(one_line(exc)) from None
    except OSError as exc:
        raise CLIError(f"cannot reach the Dask scheduler {args.dask!r}: {one_line(exc)}") \
            from None
    log(f"counting on Dask ({args.dask}: {len(client.scheduler_info()['workers'])} workers)")
    try:
        return read_discrete_dask(args.input, args.format, keep_stopwords=args.keep_stopwords,
                                  min_count=args.min_count)
    finally:
        cluster = client.cluster
        client.close()
        if cluster is not None and args.dask.startswith("local:"):
            cluster.close()


def _make_ddfa(k: int, solver: str, args: argparse.Namespace, seed: int, verbose: bool,
               **extra: Any) -> Any:
    try:
        from .continuous.ddfa import DDFA
    except ImportError as exc:
        raise CLIError(f"DDFA is not available in this installation ({exc})") from None
    kwargs: dict[str, Any] = dict(solver=solver, random_state=seed, verbose=verbose)
    if getattr(args, "clusters", None):
        kwargs["n_clusters"] = args.clusters
    if getattr(args, "refine_rounds", None) is not None:
        kwargs["refine_rounds"] = args.refine_rounds
    if getattr(args, "epochs", None):
        from .continuous.discriminator import DomainDiscriminator

        kwargs["discriminator"] = DomainDiscriminator(epochs=args.epochs, random_state=seed,
                                                      verbose=verbose)
    kwargs.update(extra)
    return DDFA(k, **kwargs)


def cmd_fit_continuous(args: argparse.Namespace) -> int:
    log = _Log(args.quiet)
    _check_report_path(args.report)
    _check_out(args.out, args.overwrite)
    X = load_array(args.features, "features file", mmap=args.mmap)
    d = load_array(args.domains, "domains file", one_d=True)
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
        raise CLIError(one_line(exc)) from None
    t_fit = time.perf_counter() - t1
    from .continuous.distributed import is_main_process

    if not is_main_process():
        return 0  # under torchrun, rank 0 writes the outputs
    t2 = time.perf_counter()
    post = ddfa.predict_proba(X, d)
    t_pred = time.perf_counter() - t2
    log(f"fitted in {t_fit:.1f} s")

    out = _prepare_out(args.out, "fit-continuous")
    P = np.asarray(ddfa.domain_topic_)
    C = np.asarray(ddfa.cluster_topic_)
    ids = getattr(ddfa, "domain_ids_", np.unique(d))
    write_matrix_csv(out / "domain_topic.csv", "domain", list(ids), P)
    write_matrix_csv(out / "topic_word.csv", "cluster", list(range(C.shape[1])), C.T)
    write_top(out, C, list(range(C.shape[1])), args.top, "cluster")
    # the most typical samples of each label: highest posterior in their own domain
    n_top = min(args.top, len(X))
    order = np.argsort(-post, axis=0, kind="stable")[:n_top].T
    with open(out / "top_samples.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["label", "rank", "row", "domain", "posterior"])
        for y, rows in enumerate(order):
            for r, i in enumerate(rows):
                w.writerow([y, r + 1, int(i), d[i], f"{post[i, y]:.6g}"])
    anchors = anchor_lists(getattr(ddfa, "solver_", None))
    if anchors is not None:
        write_anchors(out, anchors, list(range(C.shape[1])))
    with open(out / "posterior.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["row", "domain"] + [f"label_{j}" for j in range(post.shape[1])])
        for i in range(len(post)):
            w.writerow([i, d[i]] + [f"{v:.6g}" for v in post[i]])
    model_dir = _save_model(ddfa, out, log)
    files = _written(out, "fit-continuous")
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
    _write_report(ddfa, (X, d), args.report, t_fit, args.top)
    print(f"wrote {', '.join(files)} to {out}")
    return 0


def _maybe_float(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _check_report_path(path: str | None, option: str = "--report") -> None:
    """Fail before any work when the report cannot be written at ``path``."""
    if path is not None:
        from .reporting import check_report_path

        try:
            check_report_path(path)
        except ValueError as exc:
            raise CLIError(f"{option}: {one_line(exc)}") from None


def _write_report(model: Any, data: Any, path: str | None, fit_seconds: float | None,
                  n_top: int, bootstrap: Any = None) -> None:
    if path is None:
        return
    from . import plotting
    from .reporting import report

    plotting.use_file_backend()

    # a ValueError (data that does not match the model) is an input error: exit 2
    out = report(model, data, path, fit_seconds=fit_seconds, n_top=max(1, n_top),
                 bootstrap=bootstrap)
    print(f"wrote the report {out}")


def _recorded_fit_seconds(model_dir: Path) -> float | None:
    """The fit time in the summary.json that 'fit' wrote beside the model, if any."""
    try:
        with open(model_dir.parent / "summary.json", encoding="utf-8") as fh:
            return _maybe_float(json.load(fh).get("timings_seconds", {}).get("fit"))
    except (OSError, ValueError, AttributeError):
        return None


def cmd_report(args: argparse.Namespace) -> int:
    from .persistence import load_estimator

    log = _Log(args.quiet)
    _check_report_path(args.out, "--out")
    model_dir = require_file(args.model, "MODEL_DIR")
    try:
        model = load_estimator(model_dir)
    except (ValueError, TypeError, KeyError, OSError) as exc:
        raise CLIError(f"cannot load a model from {args.model!r}: {one_line(exc)}") from None
    if hasattr(model, "discriminator_"):
        if args.domains is None:
            raise CLIError("a DDFA model needs --domains (one domain id per row of DATA)")
        X = load_array(args.data, "DATA")
        d = load_array(args.domains, "--domains file", one_d=True).ravel()
        data: Any = (X, d)
    else:
        data = read_discrete(args.data, args.format, vocab=args.vocab,
                             keep_stopwords=args.keep_stopwords, min_count=args.min_count,
                             log=log)
    _write_report(model, data, args.out, _recorded_fit_seconds(model_dir), args.top)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from . import datasets

    log = _Log(args.quiet)
    try:
        from .comparison import compare
    except ImportError as exc:
        raise CLIError(f"compare is not available in this installation ({exc})") from None
    solvers = tuple(s.strip() for s in args.solvers.split(",") if s.strip())
    for s in solvers:
        if s not in SOLVERS:
            raise CLIError(f"unknown solver {s!r} in --solvers; expected names from "
                           f"{', '.join(SOLVERS)}")
    truth = None
    if args.input is not None:
        if args.topics is None:
            raise CLIError("--topics is required when comparing on a file")
        data = read_discrete(args.input, args.format, vocab=args.vocab, log=log)
        label = args.input
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
    kwargs: dict[str, Any] = dict(solvers=solvers, random_state=args.seed, return_fitted=True)
    if truth is not None:
        kwargs["truth"] = truth
    if args.topics is not None:
        kwargs["n_topics"] = args.topics
    table, fitted = compare(data, **kwargs)
    rows = [dict(r) for r in (table.to_dict("records") if hasattr(table, "to_dict")
                              else table)]
    # a column no row has a value for (errors without a truth, say) is noise
    columns = [c for c in dict.fromkeys(k for r in rows for k in r)
               if any(_has_value(r.get(c)) for r in rows)]
    print(format_table(rows, columns))
    if args.plot:
        written = _save_compare_plot(rows, fitted, truth, args.plot)
        print(f"wrote {', '.join(written)}")
    return 0


def _has_value(v: Any) -> bool:
    if isinstance(v, (float, np.floating)):
        return bool(np.isfinite(v))
    return v is not None and np.isscalar(v)


def _save_compare_plot(rows: list[dict], fitted: dict, truth: Any, path: str) -> list[str]:
    """The comparison bars, and on a planted problem the truth beside the most accurate
    solver's p_d(y); returns the paths written."""
    from . import plotting

    plotting.use_file_backend()
    plotting.savefig(plotting.plot_comparison(rows), path)
    written = [path]
    scored = [r for r in rows if r["solver"] in fitted and np.isfinite(r.get("l1_P", np.nan))]
    if truth is not None and scored:
        best = min(scored, key=lambda r: float(r["l1_P"]))
        est = fitted[best["solver"]]
        P_true = np.asarray(truth.domain_topic)[truth.corpus.domain_index(est.domain_ids_)]
        base, ext = os.path.splitext(path)
        heat = f"{base}_heatmaps{ext or '.png'}"
        plotting.savefig(plotting.plot_domain_topics(
            P_true, est.domain_topic_,
            titles=("true $p_d(y)$", f"{best['solver']} $p_d(y)$")), heat)
        written.append(heat)
    return written


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
        p.add_argument("--seed", type=_int_option(0), default=0,
                       help="random seed (default 0)")
        p.add_argument("-q", "--quiet", action="store_true",
                       help="no progress messages or bars")
        p.add_argument("--debug", action="store_true",
                       help="show the full traceback on errors")

    p = sub.add_parser("demo", help="DDFA on semi-synthetic digits, end to end",
                       description="Semi-synthetic latent label shift on scikit-learn's "
                       "digits (10 labels, 20 domains): fit DDFA, print the recovered p_d(y) "
                       "beside the truth, and the matched accuracy beside the reference DDFA "
                       "pipeline's and the supervised oracle's. Under a minute on 2 cores.")
    p.add_argument("--solver", choices=["auto", *SOLVERS], default="auto",
                   help="topic solver inside DDFA (default auto: DDFA's held-out choice "
                   "between the anchor solver and the reference NMF step)")
    p.add_argument("--plot", metavar="OUT.png", help="also save a figure: true vs recovered "
                   "p_d(y) and the p(d|x) simplex")
    p.add_argument("--epochs", type=_int_option(1), default=None,
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
    p.add_argument("-k", "--topics", type=_int_option(1), required=True,
                   help="number of labels k")
    p.add_argument("--solver", choices=list(SOLVERS), default="anchor",
                   help="topic solver (default anchor)")
    p.add_argument("--format", choices=list(FORMATS), help=fmt_help)
    p.add_argument("--out", default="lls_out", help="output directory (default lls_out)")
    p.add_argument("--overwrite", action="store_true", help="write into an --out folder "
                   "that already holds files, replacing this command's earlier outputs")
    p.add_argument("--top", type=_int_option(1), default=10,
                   help="top inputs listed per label")
    p.add_argument("--vocab", help="vocabulary for count-matrix inputs: one word per line, "
                   "or a gensim Dictionary.save_as_text file")
    p.add_argument("--min-count", type=_int_option(1), default=1,
                   help="textdir: drop words seen fewer times (default 1)")
    p.add_argument("--keep-stopwords", action="store_true",
                   help="textdir: keep gensim's English stop words")
    p.add_argument("--bootstrap", type=_int_option(0), default=0, metavar="N",
                   help="also write domain_topic_lo.csv / domain_topic_hi.csv: bootstrap "
                   "intervals for p_d(y) from N resamples (e.g. 200)")
    p.add_argument("--confidence", type=_fraction, default=0.9,
                   help="nominal coverage of the bootstrap intervals (default 0.9)")
    p.add_argument("--jobs", type=_int_option(1), default=1,
                   help="parallel bootstrap jobs (default 1)")
    p.add_argument("--chunksize", type=int, metavar="N",
                   help="stream the input: token tables N rows at a time, text folders file "
                   "by file, MmCorpus document by document (memory: the counts + one chunk)")
    p.add_argument("--dask", metavar="ADDRESS",
                   help="count on Dask: a scheduler address (tcp://host:8786) or local:N for "
                   "N local worker processes; the input is then a CSV/TSV glob "
                   "('parts/*.csv') or a text folder (needs pip install \"lls-topics[dask]\")")
    p.add_argument("--report", metavar="OUT.html", help="also write the HTML report of the fit")
    p.add_argument("--domains", metavar="CSV",
                   help="textdir: a 'document,domain' CSV grouping the files (documents) into "
                   "domains (default: each file is a domain)")
    p.add_argument("--no-below", type=_int_option(1), default=1, metavar="N",
                   help="textdir: drop words in fewer than N documents (default 1)")
    p.add_argument("--no-above", type=float, default=1.0, metavar="SHARE",
                   help="textdir: drop words in more than this share of the documents, e.g. "
                   "0.5 (default 1: keep)")
    p.add_argument("--keep-n", type=_int_option(1), default=None, metavar="N",
                   help="textdir: then keep the N most frequent words (default all)")
    common(p)
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("select-k", help="choose the number of labels k for discrete data",
                       description="Fit every k in --min-topics..--max-topics on random "
                       "folds of each domain's samples and score the held-out samples "
                       "(document completion); print the held-out log-likelihood, its "
                       "standard error and the anchor residual per k, and the chosen k.")
    p.add_argument("input", help="input file or directory (as for fit)")
    p.add_argument("--max-topics", type=_int_option(1), default=20,
                   help="largest k tried (default 20)")
    p.add_argument("--min-topics", type=_int_option(1), default=2,
                   help="smallest k tried (default 2)")
    p.add_argument("--cv", type=_int_option(2), default=5, help="folds per domain (default 5)")
    p.add_argument("--solver", choices=list(SOLVERS), default="anchor",
                   help="topic solver (default anchor)")
    p.add_argument("--format", choices=list(FORMATS), help=fmt_help)
    p.add_argument("--vocab", help="vocabulary for count-matrix inputs")
    p.add_argument("--plot", metavar="K.png", help="also save the two curves")
    common(p)
    p.set_defaults(func=cmd_select_k)

    p = sub.add_parser("fit-continuous", help="fit DDFA to continuous features",
                       description="Fit DDFA (domain discriminator, clustering, topic "
                       "solver, adjustment) and write the outputs of 'fit' for the cluster "
                       "vocabulary, top_samples.csv (most typical rows per label) and "
                       "posterior.csv (p_d(y|x) for every row).")
    p.add_argument("features", help="features: .npy, .npz (one array) or CSV (one row per "
                   "sample; a header row is skipped)")
    p.add_argument("domains", help="domain ids, one per row: .npy, .npz or a one-column "
                   "text/CSV file")
    p.add_argument("-k", "--topics", type=_int_option(1), required=True,
                   help="number of labels k")
    p.add_argument("--solver", choices=["auto", *SOLVERS], default="auto",
                   help="topic solver inside DDFA (default auto: DDFA's held-out choice "
                   "between the anchor solver and the reference NMF step)")
    p.add_argument("--clusters", type=_int_option(1), help="vocabulary size (default: DDFA's)")
    p.add_argument("--epochs", type=_int_option(1),
                   help="discriminator epochs (default: DDFA's)")
    p.add_argument("--refine-rounds", type=_int_option(0), default=None, metavar="N",
                   help="exactly N label-network refinement rounds (0: none; default: "
                   "DDFA's 'auto', rounds kept only when they predict held-out domains "
                   "better, within 0.3 of the discriminator's epochs)")
    p.add_argument("--out", default="lls_out", help="output directory (default lls_out)")
    p.add_argument("--overwrite", action="store_true", help="write into an --out folder "
                   "that already holds files, replacing this command's earlier outputs")
    p.add_argument("--top", type=_int_option(1), default=10,
                   help="top clusters and rows per label")
    p.add_argument("--mmap", action="store_true",
                   help="read .npy features as a memory map: DDFA then streams them in chunks "
                   "(for features larger than memory)")
    p.add_argument("--report", metavar="OUT.html", help="also write the HTML report of the fit")
    common(p)
    p.set_defaults(func=cmd_fit_continuous)

    p = sub.add_parser("report", help="write the HTML report of a saved model",
                       description="Write one self-contained HTML page about a saved model "
                       "and the data it was fitted on: summary, p_d(y) heatmap, top inputs "
                       "and anchors per label, diagnostics (DDFA: the p(d|x) simplex).")
    p.add_argument("model", help="a saved model directory, e.g. the model/ that fit writes")
    p.add_argument("data", help="the data the model was fitted on, read as 'fit' reads it "
                   "(same --format/--vocab/--min-count); for DDFA the features file")
    p.add_argument("--domains", help="DDFA: domain ids, one per row of DATA")
    p.add_argument("--out", default="report.html", help="the HTML file (default report.html)")
    p.add_argument("--top", type=_int_option(1), default=15, help="top inputs listed per label")
    p.add_argument("--format", choices=list(FORMATS), help=fmt_help)
    p.add_argument("--vocab", help="vocabulary for count-matrix inputs")
    p.add_argument("--min-count", type=_int_option(1), default=1,
                   help="textdir: drop words seen fewer times (default 1)")
    p.add_argument("--keep-stopwords", action="store_true",
                   help="textdir: keep gensim's English stop words")
    common(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("compare", help="compare solvers on a file or a planted problem",
                       description="Fit several solvers on the same data and print one row "
                       "per solver (time, log-likelihood; errors against the truth on a "
                       "planted problem).")
    src = p.add_mutually_exclusive_group()
    src.add_argument("input", nargs="?", help="discrete data file or directory (as for fit)")
    src.add_argument("--problem", help="a planted problem of the benchmark grid: " +
                     ", ".join(_setting_names()) + " (default small-a3)")
    p.add_argument("-k", "--topics", type=_int_option(1),
                   help="number of labels (required with a file)")
    p.add_argument("--solvers", default="anchor,nmf,lda",
                   help="comma-separated solvers (default anchor,nmf,lda)")
    p.add_argument("--format", choices=list(FORMATS), help=fmt_help)
    p.add_argument("--vocab", help="vocabulary for count-matrix inputs")
    p.add_argument("--n-per-domain", type=_int_option(1),
                   help="planted problem: samples per domain")
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
    except (CLIError, ValueError) as exc:
        # library functions raise ValueError for bad input (see lls_topics.io): a user
        # error, reported as one line with exit code 2
        if debug and not isinstance(exc, CLIError):
            raise
        print(f"{prog}: error: {one_line(exc)}", file=sys.stderr)
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
        print(f"{prog}: failed: {type(exc).__name__}: {one_line(exc)} (rerun with --debug "
              "for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
