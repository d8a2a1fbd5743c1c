"""`lls-topics fit-continuous` on the digits with and without a busy core (issue 17).

Writes the digits problem of ``load_digits_lls(random_state=0)`` (train, validation and
test rows) to ``features.npy`` / ``domains.txt`` in a scratch folder, then times the whole
command (Python start and torch import included) in interleaved pairs:

- ``idle`` against ``busy``: the same command while a second process spins
  (``python -c "while True: pass"``) on one core;
- ``default`` against ``omp1``: the default thread choice against ``OMP_NUM_THREADS=1``.

Prints each run and the medians with their ratios. Run it on an otherwise quiet machine:
other jobs keep the cores busy and then the busy-core ratio measures the scheduler.

    python benchmarks/busy_core.py --runs 5
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def write_problem(folder: str) -> tuple[str, str]:
    from lls_topics.datasets import load_digits_lls

    d = load_digits_lls(random_state=0)
    X = np.concatenate([d.X_train, d.X_val, d.X_test])
    dom = np.concatenate([d.d_train, d.d_val, d.d_test])
    feats, doms = os.path.join(folder, "features.npy"), os.path.join(folder, "domains.txt")
    np.save(feats, X)
    np.savetxt(doms, dom, fmt="%d")
    return feats, doms


def timed(cmd: list[str], env: dict, busy: bool) -> float:
    spinner = None
    if busy:
        spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.5)
    try:
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        return time.perf_counter() - t0
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="pairs per comparison (default 5)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        feats, doms = write_problem(tmp)
        base = [sys.executable, "-m", "lls_topics", "fit-continuous", feats, doms,
                "--topics", "10", "-q", "--overwrite", "--out"]
        env = dict(os.environ)
        env_omp1 = dict(env, OMP_NUM_THREADS="1")
        times: dict[str, list[float]] = {k: [] for k in ("idle", "busy", "default", "omp1")}
        for i in range(args.runs):
            out = os.path.join(tmp, "out")
            times["idle"].append(timed(base + [out], env, busy=False))
            times["busy"].append(timed(base + [out], env, busy=True))
            times["default"].append(timed(base + [out], env, busy=False))
            times["omp1"].append(timed(base + [out], env_omp1, busy=False))
            print(f"pair {i + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()),
                  flush=True)
    med = {k: float(np.median(v)) for k, v in times.items()}
    print(f"median wall: idle {med['idle']:.2f} s, busy core {med['busy']:.2f} s "
          f"(busy/idle {med['busy'] / med['idle']:.2f}; issue 17 asks <= 1.5)")
    print(f"median wall: default {med['default']:.2f} s, OMP_NUM_THREADS=1 {med['omp1']:.2f} s "
          f"(default/omp1 {med['default'] / med['omp1']:.2f}; issue 17 asks <= 1)")


if __name__ == "__main__":
    main()
