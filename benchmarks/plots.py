"""Draw the benchmark figures of ``docs/benchmarks.md`` from the scripts' JSON output.

- ``error_vs_alpha.png``: L1(P) as a multiple of the oracle's (median over seeds)
  against alpha, one line per method, from ``discrete.py --json``;
- ``time_vs_V.png`` (and ``time_vs_D.png``): fit seconds against V (D) on log-log
  axes, one line per method, from ``scaling.py --json``.

Usage::

    python benchmarks/discrete.py --json discrete.json
    python benchmarks/scaling.py --json scaling.json
    python benchmarks/plots.py --discrete discrete.json --scaling scaling.json --out docs
"""
from __future__ import annotations

import argparse
import json
import os
import sys

# ours first, then peers, then the limits; a stable colour per method across figures
ORDER = ["anchor", "nmf", "lda", "ref-nmf", "tomotopy", "gensim", "gensim-direct", "ml-limit",
         "oracle"]
STYLE = {"anchor": ("C0", "o", "-"), "nmf": ("C1", "s", "-"), "lda": ("C2", "^", "-"),
         "ref-nmf": ("C3", "v", "--"), "tomotopy": ("C4", "D", "--"),
         "gensim": ("C5", "P", "--"), "gensim-direct": ("C6", "*", "--"),
         "ml-limit": ("0.4", "x", ":"),
         "oracle": ("k", "", ":")}


def _methods(names: set) -> list[str]:
    return [m for m in ORDER if m in names] + sorted(names - set(ORDER))


def _style(m: str) -> dict:
    c, mk, ls = STYLE.get(m, (None, ".", "-"))
    return dict(color=c, marker=mk or None, linestyle=ls, label=m)


def _loglog_figure(pts: dict, path: str, xlabel: str, ylabel: str, title: str, *,
                   xticks: list | None = None, ncol: int = 1) -> str:
    """One line per method through its (x, y) points, log-log axes, saved to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for m in _methods(set(pts)):
        xy = sorted(pts[m])
        ax.plot([x for x, _ in xy], [y for _, y in xy], **_style(m))
    ax.set_xscale("log")
    ax.set_yscale("log")
    if xticks is not None:
        ax.set_xticks(xticks)
        ax.set_xticklabels([f"{a:g}" for a in xticks])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=ncol)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_error_vs_alpha(summary: list[dict], path: str) -> str | None:
    """Oracle ratio against alpha on the small settings (names ``small-a<alpha>``)."""
    pts: dict = {}
    for r in summary:
        s = r["setting"]
        if not s.startswith("small-a") or r.get("oracle_ratio") is None:
            continue
        pts.setdefault(r["method"], []).append((float(s[len("small-a"):]), r["oracle_ratio"]))
    if not pts:
        return None
    return _loglog_figure(pts, path, "alpha (Dirichlet concentration of p_d(y))",
                          "L1(P) / oracle L1(P), median over seeds",
                          "Prior error on the small discrete settings (k=5, V=200, D=20)",
                          xticks=sorted({x for v in pts.values() for x, _ in v}), ncol=2)


def plot_time_vs(records: list[dict], sweep: str, path: str) -> str | None:
    """Fit seconds against V (``sweep='V'``) or D (``sweep='D'``), log-log."""
    key = "n_words" if sweep == "V" else "n_domains"
    pts: dict = {}
    fixed = None
    for r in records:
        if r["sweep"] != sweep or "seconds" not in r:
            continue
        pts.setdefault(r["method"], []).append((r[key], r["seconds"]))
        fixed = r["n_domains"] if sweep == "V" else r["n_words"]
    if not pts:
        return None
    other = f"D = {fixed}" if sweep == "V" else f"V = {fixed}"
    return _loglog_figure(pts, path, "V (inputs)" if sweep == "V" else "D (domains)",
                          "fit seconds", f"Fit time as {sweep} grows ({other}, "
                          f"k = {records[0].get('k', '?')})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--discrete", help="JSON written by discrete.py --json")
    ap.add_argument("--scaling", help="JSON written by scaling.py --json")
    ap.add_argument("--out", default="docs", help="output folder (default docs)")
    args = ap.parse_args(argv)
    if not args.discrete and not args.scaling:
        ap.error("give --discrete and/or --scaling")
    os.makedirs(args.out, exist_ok=True)
    written = []
    if args.discrete:
        with open(args.discrete) as fh:
            summary = json.load(fh)["summary"]
        written.append(plot_error_vs_alpha(summary, os.path.join(args.out,
                                                                 "error_vs_alpha.png")))
    if args.scaling:
        with open(args.scaling) as fh:
            records = json.load(fh)["records"]
        written.append(plot_time_vs(records, "V", os.path.join(args.out, "time_vs_V.png")))
        written.append(plot_time_vs(records, "D", os.path.join(args.out, "time_vs_D.png")))
    for w in written:
        if w:
            print(f"wrote {w}")
    if not any(written):
        print("nothing to plot (no successful runs in the JSON)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
