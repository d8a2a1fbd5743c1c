"""Fit time and peak memory of each solver as V grows and as D grows (issue 8).

Two sweeps of planted problems from ``make_discrete_lls`` (k = 5, alpha = 3, two
anchors of mass 0.05 per label, beta = 0.1, 1000 samples per domain):

- **V sweep:** V in 1e3, 1e4, 1e5 inputs with D = 100 domains;
- **D sweep:** D in 10, 100, 1000 domains with V = 2000 inputs.

Each fit runs in its own subprocess, so that its peak memory is its own: the child
loads the counts, imports the method's packages, records its resident set size,
fits, and reports ``peak RSS during the fit - RSS before the fit`` (on Linux the
peak is reset just before the fit through ``/proc/self/clear_refs`` and read from
``VmHWM``; elsewhere ``resource.getrusage`` ``ru_maxrss`` gives an upper bound). It
includes C++ allocations such as tomotopy's. With ``--traced``
the child also reruns the fit under ``tracemalloc`` and reports the peak of
Python-side allocations (numpy arrays included), which does not depend on what the
process touched before. Fit time is measured without ``tracemalloc``.

The table also gives L1(P) as a multiple of the oracle's on the same counts, and
the ratio of each fit time to tomotopy's on the same problem in this run.

Usage::

    python benchmarks/scaling.py                 # both sweeps, default methods
    python benchmarks/scaling.py --quick         # V up to 1e4, D up to 100, fewer samples
    python benchmarks/scaling.py --methods anchor,tomotopy --json scaling.json --markdown

Streamed counting, Dask counting and streamed DDFA (issue 15; see
``benchmarks/_scaling_stream.py``)::

    OMP_NUM_THREADS=1 python benchmarks/scaling.py --streaming count,dask,ddfa
    python benchmarks/scaling.py --streaming count --rows 1e7   # smaller CSV
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

from _rss import maxrss_mb, status_mb  # noqa: E402

DEFAULT_METHODS = ["anchor", "nmf", "lda", "ref-nmf", "tomotopy"]
KNOWN_METHODS = DEFAULT_METHODS + ["gensim", "gensim-direct"]
# packages each method imports, loaded before the memory baseline is taken
_PRELOAD = {"anchor": ["lls_topics.solvers.anchor"], "nmf": ["lls_topics.solvers.nmf"],
            "lda": ["lls_topics.solvers.lda"], "ref-nmf": ["sklearn.decomposition"],
            "tomotopy": ["tomotopy"], "gensim": ["gensim.models"],
            "gensim-direct": ["gensim.models"]}


def _reset_peak() -> bool:
    """Reset the process's peak RSS (Linux >= 4.0: write 5 to clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def child(path: str, method: str, k: int, seed: int, traced: bool) -> dict:
    """Fit one method on the counts in ``path`` and measure it (runs in a subprocess)."""
    import importlib
    import warnings

    import scipy.sparse as sp

    from _peers import METHODS, Failure, run_method

    out: dict = {}
    for mod in _PRELOAD.get(method, []):
        try:
            importlib.import_module(mod)
        except ImportError as exc:
            return {"error": f"n/a: cannot import {getattr(exc, 'name', None) or mod}"}
    counts = sp.load_npz(path).tocsr()

    class _Pb:  # the minimal Problem the METHODS callables read
        pass

    pb = _Pb()
    pb.counts = counts
    pb.k = k
    from lls_topics.corpus import DomainCorpus

    pb.corpus = DomainCorpus(counts, allow_fractional=True)
    rss0 = status_mb("VmRSS:")
    reset = rss0 is not None and _reset_peak()
    max0 = maxrss_mb()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = run_method(method, METHODS[method], pb, seed)
    if isinstance(fit, Failure):
        return {"error": fit.reason}
    out["seconds"] = fit.seconds
    if reset:
        # the high-water mark was reset just before the fit: its peak is the fit's own
        out["peak_rss_mb"] = max(status_mb("VmHWM:") - rss0, 0.0)
        out["peak_rss_bound"] = False
    else:
        # without /proc: ru_maxrss cannot be reset, so if the fit never rose above
        # the earlier high-water mark, its peak is at most that (an upper bound)
        max1 = maxrss_mb()
        rss0 = rss0 or 0.0
        out["peak_rss_mb"] = max(max1 - rss0, 0.0)
        out["peak_rss_bound"] = max1 <= max0
    out["domain_topic"] = np.asarray(fit.domain_topic).tolist()
    if traced:
        import tracemalloc

        del fit
        tracemalloc.start()
        fit2 = run_method(method, METHODS[method], pb, seed)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        if not isinstance(fit2, Failure):
            out["traced_peak_mb"] = peak / 2**20
    return out


def run_child(path: str, method: str, k: int, seed: int, traced: bool, timeout: float
              ) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", path, "--child-method",
           method, "--child-k", str(k), "--first-seed", str(seed)]
    if traced:
        cmd.append("--traced")
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    # one thread per fit: the peers run single-threaded too (tomotopy workers=1)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"n/a: timeout after {timeout:.0f} s"}
    if res.returncode != 0:
        last = (res.stderr.strip().splitlines() or ["?"])[-1][:80].replace("|", "/")
        return {"error": f"n/a: child exited {res.returncode} ({last})"}
    try:
        return json.loads(res.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": "n/a: no result from child"}


def grid(quick: bool) -> list[dict]:
    n = 1000  # samples per domain: moderate, so the D = 1000 point stays at 1M samples
    Vs = [1000, 10000] if quick else [1000, 10000, 100000]
    Ds = [10, 100] if quick else [10, 100, 1000]
    pts = [dict(sweep="V", n_words=V, n_domains=100, n_per_domain=n) for V in Vs]
    pts += [dict(sweep="D", n_words=2000, n_domains=D, n_per_domain=n) for D in Ds]
    return pts


def run(args: argparse.Namespace) -> list[dict]:
    import scipy.sparse as sp

    from _peers import fit_oracle
    from lls_topics.datasets import make_discrete_lls
    from lls_topics.metrics import prior_l1

    records = []
    k = args.k
    with tempfile.TemporaryDirectory(prefix="lls_scaling_") as tmp:
        for i, pt in enumerate(grid(args.quick)):
            seed = args.first_seed
            data = make_discrete_lls(n_topics=k, n_words=pt["n_words"],
                                     n_domains=pt["n_domains"],
                                     n_per_domain=pt["n_per_domain"], alpha=3.0,
                                     max_condition=8.0, n_anchors=2, anchor_mass=0.05,
                                     beta=0.1, random_state=seed)
            counts = data.corpus.counts.tocsr()
            path = os.path.join(tmp, f"counts{i}.npz")
            sp.save_npz(path, counts)
            oracle_l1 = prior_l1(data.domain_topic, fit_oracle(counts, data.topic_word)
                                 .domain_topic)
            base = {**pt, "k": k, "n_samples": int(data.tokens.size), "nnz": int(counts.nnz),
                    "seed": seed}
            per = {}
            for m in args.methods:
                t0 = time.perf_counter()
                r = run_child(path, m, k, seed, args.traced, args.timeout)
                _log(f"{pt['sweep']} V={pt['n_words']} D={pt['n_domains']} {m}: "
                     f"{time.perf_counter() - t0:.1f}s wall {r.get('error', '')}")
                P = r.pop("domain_topic", None)
                if P is not None:
                    r["oracle_ratio"] = prior_l1(data.domain_topic, np.asarray(P)) / oracle_l1
                per[m] = r
            tomo = per.get("tomotopy", {}).get("seconds")
            for m, r in per.items():
                rec = {**base, "method": m, **r}
                if tomo and "seconds" in r:
                    rec["time_ratio_tomotopy"] = r["seconds"] / tomo
                records.append(rec)
    return records


def render(records: list[dict], markdown: bool, traced: bool) -> str:
    from _peers import format_table

    header = ["sweep", "method", "V", "D", "nnz", "fit s", "peak MB", "x tomotopy",
              "L1 x oracle"]
    if traced:
        header.insert(7, "traced MB")
    rows = []
    for r in records:
        if "error" in r:
            row = [r["sweep"], r["method"], str(r["n_words"]), str(r["n_domains"]),
                   str(r["nnz"]), r["error"], "", "", ""]
            if traced:
                row.insert(7, "")
        else:
            peak = f"{r['peak_rss_mb']:.0f}" + ("*" if r.get("peak_rss_bound") else "")
            row = [r["sweep"], r["method"], str(r["n_words"]), str(r["n_domains"]),
                   str(r["nnz"]), f"{r['seconds']:.3g}", peak,
                   _f(r.get("time_ratio_tomotopy"), ".3g"), _f(r.get("oracle_ratio"), ".2f")]
            if traced:
                row.insert(7, _f(r.get("traced_peak_mb"), ".0f"))
        rows.append(row)
    return format_table(header, rows, markdown)


def _f(x, spec: str) -> str:
    return "" if x is None else format(x, spec)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="only V in 1e3, 1e4 and D in 10, 100")
    ap.add_argument("--methods", default=",".join(DEFAULT_METHODS),
                    help="comma-separated subset of " + ",".join(KNOWN_METHODS))
    ap.add_argument("--k", type=int, default=5, help="number of labels (default 5)")
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds per fit before it is reported as a timeout "
                         "(default 180, or 30 with --quick)")
    ap.add_argument("--traced", action="store_true",
                    help="also report the tracemalloc peak (reruns each fit once)")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--json", default=None, metavar="OUT")
    ap.add_argument("--streaming", default=None, metavar="PARTS",
                    help="instead of the solver sweeps: comma list of count, dask, ddfa "
                         "(streamed counting, Dask counting, streamed DDFA)")
    ap.add_argument("--rows", type=float, default=1e8,
                    help="rows of the token CSV for --streaming count/dask (default 1e8)")
    ap.add_argument("--files", type=int, default=10, help="CSV parts (default 10)")
    ap.add_argument("--chunksize", type=int, default=1_000_000,
                    help="rows per chunk of streamed counting (default 1e6)")
    ap.add_argument("--memory-rows", type=float, default=2e7,
                    help="tokens of the in-memory counting comparison (default 2e7)")
    ap.add_argument("--ddfa-rows", type=float, default=2e6,
                    help="samples of the DDFA memmap, 64 float32 each (default 2e6)")
    ap.add_argument("--epochs", type=int, default=3,
                    help="discriminator epochs of the DDFA runs (default 3)")
    ap.add_argument("--seeds", type=int, default=1, help="DDFA seeds (default 1)")
    ap.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(),
                                                       "lls_scaling_stream"))
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--child-method", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--child-k", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.child_method, args.child_k, args.first_seed,
                               args.traced)))
        return 0
    if args.streaming:
        return _main_streaming(args, argv)
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = [m for m in args.methods if m not in KNOWN_METHODS]
    if bad:
        ap.error(f"unknown methods {bad}; choose from {KNOWN_METHODS}")
    if args.timeout is None:
        args.timeout = 30.0 if args.quick else 180.0
    from _peers import machine_description, package_versions

    command = "python benchmarks/scaling.py " + " ".join(sys.argv[1:] if argv is None
                                                          else argv)
    t0 = time.perf_counter()
    records = run(args)
    total = time.perf_counter() - t0
    machine = machine_description()
    if args.markdown:
        print(f"Machine: {machine}. Command: `{command.strip()}` ({total:.0f} s in all). "
              "Peak MB: peak RSS during the fit above the RSS before it, in a fresh "
              "process per fit (* = an upper bound, where the peak could not be reset).\n")
    else:
        print(f"# {machine}\n# {command.strip()}  ({total:.0f} s)")
    print(render(records, args.markdown, args.traced))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"machine": machine, "versions": package_versions(),
                       "command": command.strip(), "seconds": total, "records": records},
                      fh, indent=1)
    return 0


def _main_streaming(args: argparse.Namespace, argv: list[str] | None) -> int:
    import _scaling_stream as stream
    from _peers import machine_description, package_versions

    args.rows, args.memory_rows = int(args.rows), int(args.memory_rows)
    args.ddfa_rows = int(args.ddfa_rows)
    if args.timeout is None:
        args.timeout = 3600.0
    command = "python benchmarks/scaling.py " + " ".join(sys.argv[1:] if argv is None
                                                          else argv)
    t0 = time.perf_counter()
    res = stream.run(args)
    machine = machine_description()
    print(f"# {machine}\n# {command.strip()}  ({time.perf_counter() - t0:.0f} s)")
    print(stream.render(res))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"machine": machine, "versions": package_versions(),
                       "command": command.strip(), "results": res}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
