"""The protocol's discrete benchmark grid (``docs/protocol.md``, issue 8).

For each setting of ``lls_topics.datasets.DISCRETE_SETTINGS`` and each seed, one
planted problem is drawn and every method is fit on the same counts, one after the
other in this process. The table gives, per (setting, method), medians over seeds:

- ``L1(P)``: summed |p_d(y) - p^_d(y)| after Hungarian matching, and per entry;
- ``x oracle``: median of the per-seed ratios L1(P) / L1(P) of the oracle;
- ``acc``: matched accuracy of argmax p_d(y|x) on the planted samples, using each
  sample's true domain; ``Bayes`` is that of the true posterior;
- ``fit s``: wall seconds of the fit; ``x tomotopy``: median of the per-seed ratios
  of fit time to tomotopy's, measured side by side in this run.

A method that cannot be imported or fails is shown as ``n/a: reason``.

Usage::

    python benchmarks/discrete.py              # full grid: 3 seeds small, 1 seed large
    python benchmarks/discrete.py --quick      # small settings, 2 seeds (< 2 minutes)
    python benchmarks/discrete.py --settings large --methods anchor,tomotopy,oracle
    python benchmarks/discrete.py --markdown --json discrete.json
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _peers import (METHODS, OURS, PEERS, Failure, Problem,  # noqa: E402
                    bayes_accuracy, evaluate, fmt, format_table, median_row,
                    run_and_report, run_method)

ALL_METHODS = list(OURS) + list(PEERS) + ["ml-limit", "oracle"]
QUICK_SETTINGS = ["small-a0.5", "small-a3", "small-a10"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from lls_topics.datasets import DISCRETE_SETTINGS

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="reduced grid: the small settings with 2 seeds, no large setting")
    ap.add_argument("--settings", default=None,
                    help=f"comma-separated subset of {','.join(DISCRETE_SETTINGS)}")
    ap.add_argument("--seeds", type=int, default=None,
                    help="seeds per small setting (default 3, or 2 with --quick)")
    ap.add_argument("--large-seeds", type=int, default=1,
                    help="seeds for settings named 'large*' (default 1)")
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--methods", default=",".join(ALL_METHODS),
                    help="comma-separated subset of " + ",".join(ALL_METHODS))
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    ap.add_argument("--json", default=None, metavar="OUT", help="write raw results as JSON")
    args = ap.parse_args(argv)
    if args.settings is None:
        args.settings = QUICK_SETTINGS if args.quick else list(DISCRETE_SETTINGS)
    else:
        args.settings = [s.strip() for s in args.settings.split(",") if s.strip()]
    bad = [s for s in args.settings if s not in DISCRETE_SETTINGS]
    if bad:
        ap.error(f"unknown settings {bad}; choose from {list(DISCRETE_SETTINGS)}")
    if args.seeds is None:
        args.seeds = 2 if args.quick else 3
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = [m for m in args.methods if m not in METHODS]
    if bad:
        ap.error(f"unknown methods {bad}; choose from {ALL_METHODS}")
    return args


def run(args: argparse.Namespace) -> list[dict]:
    """Fit every method on every (setting, seed); one record per fit."""
    from lls_topics.datasets import DISCRETE_SETTINGS, make_discrete_lls

    records = []
    for name in args.settings:
        params = DISCRETE_SETTINGS[name]
        n_seeds = args.large_seeds if name.startswith("large") else args.seeds
        for seed in range(args.first_seed, args.first_seed + n_seeds):
            problem = Problem(make_discrete_lls(**params, random_state=seed))
            bayes = bayes_accuracy(problem)
            # the oracle is always run: every ratio is relative to it
            fits = {"oracle": run_method("oracle", METHODS["oracle"], problem, seed)}
            for m in args.methods:
                if m != "oracle":
                    t0 = time.perf_counter()
                    fits[m] = run_method(m, METHODS[m], problem, seed)
                    _log(f"{name} seed {seed} {m}: {time.perf_counter() - t0:.1f}s"
                         + (f" ({fits[m].reason})" if isinstance(fits[m], Failure) else ""))
            oracle = evaluate(problem, fits["oracle"])
            tomo = fits.get("tomotopy")
            for m in args.methods:
                fit = fits[m]
                rec = {"setting": name, "seed": seed, "method": m, "bayes": bayes}
                if isinstance(fit, Failure):
                    rec["error"] = fit.reason
                else:
                    rec.update(evaluate(problem, fit))
                    if "variant" in fit.info:
                        rec["variant"] = fit.info["variant"]
                    rec["oracle_ratio"] = rec["l1"] / oracle["l1"]
                    if tomo is not None and not isinstance(tomo, Failure):
                        rec["time_ratio_tomotopy"] = rec["seconds"] / tomo.seconds
                records.append(rec)
    return records


def summarize(records: list[dict], methods: list[str]) -> list[dict]:
    """Medians over seeds per (setting, method)."""
    rows = []
    settings = list(dict.fromkeys(r["setting"] for r in records))
    for s in settings:
        for m in methods:
            rs = [r for r in records if r["setting"] == s and r["method"] == m]
            if not rs:
                continue
            row = {"setting": s, "method": m,
                   "bayes": float(np.median([r["bayes"] for r in rs]))}
            row.update(median_row(rs, ("l1", "l1_entry", "oracle_ratio", "acc", "seconds",
                                       "time_ratio_tomotopy")))
            rows.append(row)
    return rows


def render(rows: list[dict], markdown: bool) -> str:
    header = ["setting", "method", "L1(P)", "per entry", "x oracle", "acc", "Bayes",
              "fit s", "x tomotopy"]
    out = []
    for r in rows:
        if r["n_ok"] == 0:
            out.append([r["setting"], r["method"], r["error"], "", "", "",
                        fmt(r["bayes"], ".4f"), "", ""])
            continue
        method = r["method"]
        if r["n_ok"] < r["n_seeds"]:
            method += f" ({r['n_ok']}/{r['n_seeds']} seeds; {r['error']})"
        out.append([r["setting"], method, fmt(r["l1"], ".4f"), fmt(r["l1_entry"], ".5f"),
                    fmt(r["oracle_ratio"], ".2f"), fmt(r["acc"], ".4f"),
                    fmt(r["bayes"], ".4f"), fmt(r["seconds"], ".3g"),
                    fmt(r["time_ratio_tomotopy"], ".3g")])
    return format_table(header, out, markdown)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    return run_and_report("discrete.py", argv, parse_args(argv), run, summarize, render)


if __name__ == "__main__":
    sys.exit(main())
