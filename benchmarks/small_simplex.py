"""AnchorSolver fits on DDFA-sized vocabularies, with and without the exact simplex
regression of ``lls_topics._simplex`` (the cold start's batched KKT solve), side by side.

Planted problems of k labels, D domains and V clusters (the vocabulary sizes DDFA's first
pass and rounds produce); each fit is timed 7 times per path, interleaved, and the
median is printed, with the largest difference between the two paths' p_d(y).

Usage (``OMP_NUM_THREADS=1``)::

    python benchmarks/small_simplex.py
"""
from __future__ import annotations

import statistics
import time
import warnings

import numpy as np

import lls_topics._simplex as simplex
from lls_topics.corpus import DomainCorpus
from lls_topics.solvers.anchor import AnchorSolver

#: (k, D, V, tokens per domain)
PROBLEMS = [(6, 6, 18, 600), (10, 20, 30, 300), (20, 40, 60, 200), (10, 20, 15, 300)]


def main() -> None:
    warnings.filterwarnings("ignore")
    rng = np.random.default_rng(0)
    exact_rows = simplex._EXACT_ROWS
    print("| k | D | V | FISTA ms | exact ms | ratio | max diff p_d(y) |")
    print("|---|---|---|---|---|---|---|")
    for k, D, V, n in PROBLEMS:
        P = rng.dirichlet(np.full(k, 3.0), size=D)
        T = rng.dirichlet(np.full(V, 0.3), size=k)
        counts = np.vstack([rng.multinomial(n, P[d] @ T) for d in range(D)])
        corpus = DomainCorpus(counts, domain_ids=np.arange(D))
        times: dict = {"fista": [], "exact": []}
        fits = {}
        for _ in range(8):  # the first round warms up and is not timed
            for name, rows in (("fista", 0), ("exact", exact_rows)):
                simplex._EXACT_ROWS = rows
                t0 = time.perf_counter()
                fits[name] = AnchorSolver(k, random_state=0).fit(corpus)
                times[name].append(time.perf_counter() - t0)
        simplex._EXACT_ROWS = exact_rows
        med = {name: statistics.median(t[1:]) * 1e3 for name, t in times.items()}
        diff = np.abs(fits["fista"].domain_topic_ - fits["exact"].domain_topic_).max()
        print(f"| {k} | {D} | {V} | {med['fista']:.1f} | {med['exact']:.1f} | "
              f"{med['fista'] / med['exact']:.1f} | {diff:.1e} |")


if __name__ == "__main__":
    main()
