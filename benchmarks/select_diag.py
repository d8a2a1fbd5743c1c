"""Issue 18's acceptance figures: choosing k, identifiability diagnostics, bootstrap intervals.

Parts (run one at a time; each prints a table and, with --jsonl, appends one JSON line per
problem so that long runs can be split and resumed):

- ``select``: ``select_n_topics`` (defaults: anchor solver, cv=5, candidates 2..25 for every
  problem, capped at the number of domains) on the protocol's settings with k overridden;
  prints the hit rate and lists the misses.
- ``diagnostics``: warnings after ``fit`` on the protocol grid (should be none) and on a
  planted problem where two labels share one p_d(y) column (should name that pair).
- ``coverage``: nominal 90% bootstrap intervals for p_d(y) against the truth, pooled over
  entries and seeds, per small setting and resampling scheme; mean width.
- ``cost``: 200 replicates on the small setting against one fit, single-threaded, and the
  time with 2 jobs.

Run with OMP_NUM_THREADS=1 MKL_NUM_THREADS=1, e.g.::

    python benchmarks/select_diag.py select --settings small-a3 --seeds 0-4
    python benchmarks/select_diag.py select --settings large --seeds 0-4 --jsonl large.jsonl
    python benchmarks/select_diag.py select --summary small.jsonl large.jsonl
    python benchmarks/select_diag.py diagnostics
    python benchmarks/select_diag.py coverage --seeds 0-9
    python benchmarks/select_diag.py cost
"""
from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

from lls_topics import AnchorSolver, IdentifiabilityWarning, make_discrete_lls
from lls_topics.datasets import DISCRETE_SETTINGS, draw_domain_priors

TRUE_KS = (3, 5, 8, 12, 20)
CANDIDATES = range(2, 26)
SMALL = ("small-a0.5", "small-a3", "small-a10")


def _seeds(text: str) -> list[int]:
    if "-" in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",")]


def _problem(setting: str, k: int, seed: int):
    params = dict(DISCRETE_SETTINGS[setting], n_topics=k)
    return make_discrete_lls(**params, random_state=seed)


def _drawable(setting: str, k: int) -> bool:
    """Whether the protocol's p_d(y) (condition number <= kappa_max) can be drawn."""
    s = DISCRETE_SETTINGS[setting]
    try:
        draw_domain_priors(s["n_domains"], k, s["alpha"], s["max_condition"],
                           np.random.default_rng(0), max_tries=20000)
    except ValueError:
        return False
    return True


def _emit(row: dict, path: str | None) -> None:
    print(json.dumps(row), flush=True)
    if path:
        with open(path, "a") as fh:
            fh.write(json.dumps(row) + "\n")


# ----------------------------------------------------------------------------- select
def run_select(args: argparse.Namespace) -> None:
    from lls_topics import select_n_topics

    for seed in _seeds(args.seeds):
        for setting in args.settings:
            for k in args.ks:
                if not _drawable(setting, k):
                    _emit({"part": "select", "setting": setting, "k": k, "seed": seed,
                           "skipped": "p_d(y) with the protocol's kappa_max cannot be drawn"},
                          args.jsonl)
                    continue
                prob = _problem(setting, k, seed)
                t0 = time.perf_counter()
                res = select_n_topics(prob.corpus, CANDIDATES, cv=args.cv, random_state=seed)
                _emit({"part": "select", "setting": setting, "k": k, "seed": seed,
                       "best": res.best_, "best_by_likelihood": res.best_by_likelihood_,
                       "best_by_residual": res.best_by_residual_,
                       "near_ties": res.near_ties_.tolist(),
                       "seconds": round(time.perf_counter() - t0, 2)}, args.jsonl)


def summarize_select(paths: list[str]) -> None:
    rows = [json.loads(line) for p in paths for line in open(p) if line.strip()]
    rows = [r for r in rows if r.get("part") == "select"]
    done = [r for r in rows if "best" in r]
    skipped = {(r["setting"], r["k"]) for r in rows if "skipped" in r}
    print("| setting | k | problems | chosen exactly | likelihood argmax | residual drop | "
          "median s |")
    print("|---|---|---|---|---|---|---|")
    keys = sorted({(r["setting"], r["k"]) for r in done})
    for setting, k in keys:
        rs = [r for r in done if r["setting"] == setting and r["k"] == k]
        print(f"| {setting} | {k} | {len(rs)} | {sum(r['best'] == k for r in rs)} | "
              f"{sum(r['best_by_likelihood'] == k for r in rs)} | "
              f"{sum(r['best_by_residual'] == k for r in rs)} | "
              f"{np.median([r['seconds'] for r in rs]):.0f} |")
    hits = sum(r["best"] == r["k"] for r in done)
    print(f"\nexact: {hits}/{len(done)} = {hits / max(len(done), 1):.1%}")
    for r in done:
        if r["best"] != r["k"]:
            print(f"miss: {r['setting']} k={r['k']} seed={r['seed']}: chose {r['best']} "
                  f"(likelihood {r['best_by_likelihood']}, residual {r['best_by_residual']})")
    for setting, k in sorted(skipped):
        print(f"not drawable: {setting} k={k}")


# ------------------------------------------------------------------------ diagnostics
def _warnings_of(solver: AnchorSolver, corpus) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        solver.fit(corpus)
    return [str(w.message) for w in caught if issubclass(w.category, IdentifiabilityWarning)]


def shared_column_problem(seed: int, k: int = 5, pair: tuple[int, int] = (1, 3)):
    """A small-a3 problem whose labels ``pair`` share one p_d(y) column (half each)."""
    from lls_topics.datasets import DiscreteLLS

    s = DISCRETE_SETTINGS["small-a3"]
    rng = np.random.default_rng(seed)
    base = _problem("small-a3", k, seed)
    P = draw_domain_priors(s["n_domains"], k - 1, s["alpha"], s["max_condition"], rng)
    cols = [c for c in range(k) if c != pair[1]]
    full = np.zeros((s["n_domains"], k))
    full[:, cols] = P
    full[:, pair[0]] /= 2
    full[:, pair[1]] = full[:, pair[0]]
    A = base.topic_word
    sizes = np.full(s["n_domains"], s["n_per_domain"])
    domains = np.repeat(np.arange(s["n_domains"]), sizes)
    labels = np.concatenate([rng.choice(k, size=n, p=full[d]) for d, n in enumerate(sizes)])
    cdf = np.cumsum(A, axis=1)
    cdf[:, -1] = 1.0
    u = rng.random(labels.size)
    tokens = np.empty(labels.size, dtype=np.int64)
    for y in range(k):
        idx = np.flatnonzero(labels == y)
        tokens[idx] = np.searchsorted(cdf[y], u[idx], side="right")
    return DiscreteLLS(tokens, domains, labels, full, A)


def run_diagnostics(args: argparse.Namespace) -> None:
    print("protocol grid (false warnings):")
    n_false = n_fits = 0
    for setting in DISCRETE_SETTINGS:
        seeds = _seeds(args.seeds) if setting != "large" else _seeds(args.seeds)[:args.large_seeds]
        for seed in seeds:
            prob = make_discrete_lls(**DISCRETE_SETTINGS[setting], random_state=seed)
            msgs = _warnings_of(AnchorSolver(DISCRETE_SETTINGS[setting]["n_topics"],
                                             random_state=0), prob.corpus)
            n_fits += 1
            n_false += bool(msgs)
            print(f"  {setting} seed {seed}: {len(msgs)} warning(s) {msgs}")
    print(f"false warnings: {n_false}/{n_fits} fits")
    print("shared p_d(y) column (true labels 1 and 3 share it):")
    warned = on_shared = 0
    seeds = _seeds(args.seeds)
    for seed in seeds:
        prob = shared_column_problem(seed)
        solver = AnchorSolver(5, random_state=0)
        msgs = _warnings_of(solver, prob.corpus)
        pairs = [tuple(p["labels"]) for p in solver.diagnostics()["collinear_pairs"]]
        # the estimated labels that follow the shared column
        r = [np.corrcoef(solver.domain_topic_[:, j], prob.domain_topic[:, 1])[0, 1]
             for j in range(5)]
        shared = {j for j in range(5) if r[j] > 0.9}
        warned += bool(pairs)
        hit = bool(pairs) and set(pairs[0]) == shared
        on_shared += hit
        print(f"  seed {seed}: named {pairs}; estimated labels on the shared column "
              f"{sorted(shared)}; {msgs}")
    print(f"a collinear pair named: {warned}/{len(seeds)}; the named pair is the two estimated "
          f"labels on the shared column: {on_shared}/{len(seeds)}")


# --------------------------------------------------------------------------- coverage
def run_coverage(args: argparse.Namespace) -> None:
    from lls_topics import bootstrap
    from lls_topics.metrics import align_labels

    print("| setting | method | coverage | mean width | seeds |")
    print("|---|---|---|---|---|")
    for setting in args.settings:
        for method in args.methods:
            hits, widths = [], []
            for seed in _seeds(args.seeds):
                prob = make_discrete_lls(**DISCRETE_SETTINGS[setting], random_state=seed)
                solver = AnchorSolver(DISCRETE_SETTINGS[setting]["n_topics"], random_state=0)
                res = bootstrap(solver, prob.corpus, args.n_resamples, confidence=0.9,
                                method=method, random_state=seed, n_jobs=args.n_jobs)
                perm = align_labels(prob.domain_topic, res.estimator_.domain_topic_)
                lo = res.domain_topic_low_[:, perm]
                hi = res.domain_topic_high_[:, perm]
                hits.append(((prob.domain_topic >= lo) & (prob.domain_topic <= hi)).ravel())
                widths.append((hi - lo).ravel())
            cov = np.concatenate(hits).mean()
            print(f"| {setting} | {method} | {cov:.3f} | {np.concatenate(widths).mean():.4f} | "
                  f"{len(hits)} |", flush=True)


# ------------------------------------------------------------------------------- cost
def run_cost(args: argparse.Namespace) -> None:
    from lls_topics import bootstrap

    prob = make_discrete_lls(**DISCRETE_SETTINGS["small-a3"], random_state=0)
    corpus = prob.corpus
    AnchorSolver(5, random_state=0).fit(corpus)   # warm-up: imports and caches
    # wall clock, and this process's CPU time: on a shared machine other processes
    # stretch the first, not the second (one job runs in this process alone)
    fits, cpu_fits = [], []
    for _ in range(5):
        t0, c0 = time.perf_counter(), time.process_time()
        AnchorSolver(5, random_state=0).fit(corpus)
        fits.append(time.perf_counter() - t0)
        cpu_fits.append(time.process_time() - c0)
    one, cpu_one = float(np.median(fits)), float(np.median(cpu_fits))
    out = {}
    # the second 2-job run reuses the worker processes the first one started
    for run, jobs in (("1 job", 1), ("2 jobs, workers started", 2),
                      ("2 jobs, workers reused", 2)):
        t0, c0 = time.perf_counter(), time.process_time()
        bootstrap(AnchorSolver(5, random_state=0), corpus, 200, random_state=0, n_jobs=jobs)
        out[run] = (time.perf_counter() - t0, time.process_time() - c0)
    print(f"one fit (median of 5): {one:.3f} s wall, {cpu_one:.3f} s CPU")
    sec, cpu = out.pop("1 job")
    print(f"200 replicates, 1 job: {sec:.2f} s = {sec / one:.1f}x one fit (wall); "
          f"CPU {cpu:.2f} s = {cpu / cpu_one:.1f}x")
    for run, (sec, _) in out.items():
        print(f"200 replicates, {run}: {sec:.2f} s = {sec / one:.1f}x one fit (wall)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="part", required=True)
    s = sub.add_parser("select")
    s.add_argument("--settings", nargs="+", default=["small-a3", "large"])
    s.add_argument("--ks", type=lambda t: [int(x) for x in t.split(",")], default=TRUE_KS)
    s.add_argument("--seeds", default="0-4")
    s.add_argument("--cv", type=int, default=5)
    s.add_argument("--jsonl")
    s.add_argument("--summary", nargs="+", help="summarize these --jsonl files instead")
    d = sub.add_parser("diagnostics")
    d.add_argument("--seeds", default="0-4")
    d.add_argument("--large-seeds", type=int, default=1)
    c = sub.add_parser("coverage")
    c.add_argument("--settings", nargs="+", default=list(SMALL))
    c.add_argument("--methods", nargs="+", default=["parametric", "nonparametric"])
    c.add_argument("--seeds", default="0-9")
    c.add_argument("--n-resamples", type=int, default=200)
    c.add_argument("--n-jobs", type=int, default=1)
    sub.add_parser("cost")
    args = ap.parse_args()
    if args.part == "select":
        if args.summary:
            summarize_select(args.summary)
        else:
            run_select(args)
    elif args.part == "diagnostics":
        run_diagnostics(args)
    elif args.part == "coverage":
        run_coverage(args)
    else:
        run_cost(args)


if __name__ == "__main__":
    main()
