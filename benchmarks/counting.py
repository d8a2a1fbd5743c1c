"""Time of ``DomainCorpus.from_tokens`` on ten million samples (issue 13).

This measurement used to be a wall-clock assertion in ``tests/test_corpus.py``; the
test now checks the counts themselves. Each configuration draws uniform token ids and
domain ids with a fixed seed and times the count, median over ``--repeats`` runs:

- ``dense``: V = 2,000 inputs and D = 100 domains (one ``bincount`` over cell codes);
- ``sparse``: V = 1,000,000 inputs and D = 1,000 domains (COO to CSR).

Usage::

    python benchmarks/counting.py              # 10M samples, 3 repeats
    python benchmarks/counting.py --samples 1000000 --repeats 5
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lls_topics import DomainCorpus  # noqa: E402

CONFIGS = {"dense": (2_000, 100), "sparse": (1_000_000, 1_000)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=10_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    print(f"{'config':<8} {'V':>9} {'D':>6} {'samples':>11} {'median s':>9} {'M samples/s':>12}")
    for name, (V, D) in CONFIGS.items():
        rng = np.random.default_rng(args.seed)
        tokens = rng.integers(0, V, args.samples)
        domains = rng.integers(0, D, args.samples)
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            C = DomainCorpus.from_tokens(tokens, domains, n_words=V)
            times.append(time.perf_counter() - t)
        assert C.counts.sum() == args.samples
        med = float(np.median(times))
        print(f"{name:<8} {V:>9} {D:>6} {args.samples:>11} {med:>9.2f} "
              f"{args.samples / med / 1e6:>12.1f}")


if __name__ == "__main__":
    main()
