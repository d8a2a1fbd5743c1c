"""Continuous (semi-synthetic) LLS benchmark: our DDFA against the reference pipeline.

Follows ``docs/protocol.md`` ("Semi-synthetic continuous problems"). For every
setting and seed, one domain discriminator is trained and shared by

- ``ours-<solver>``: :class:`lls_topics.DDFA` with its default configuration;
- ``reference``: the reference DDFA pipeline (k-means with m = 3k on the discriminator
  outputs of validation + train, scikit-learn NMF(init='random') on the per-domain
  normalized cluster counts, p(y|x) = pinv(P(d|y)) p(d|x) with uniform p(d));
- ``ours-anchor-refine<N>`` (with ``--refine-rounds N``): the same with N rounds of
  label-network refinement (``DDFA(refine_rounds=N)``, :mod:`lls_topics.continuous.relabel`);
- ``kmeans-raw``: k-means on the raw features with k clusters;
- ``oracle``: the same network trained on the true labels, adjusted with the true p_d(y).

The network is the discriminator's default MLP, or with ``--model cnn1d`` a small 1-D
convolutional network (for mnist1d's signals), freshly seeded for every discriminator
and oracle.

Prints one row per (setting, method): medians over seeds of matched accuracy, L1(P)
per entry and seconds (fit + predict, discriminator training included), and the ratio
to the reference measured in the same run.

Usage::

    python benchmarks/continuous.py --quick                 # digits, 1 seed, 3 settings
    python benchmarks/continuous.py --datasets digits mnist1d --seeds 3
    python benchmarks/continuous.py --datasets mnist1d --solvers anchor --model cnn1d
    python benchmarks/continuous.py --merge a.json b.json --json all.json  # report together
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from typing import Any

import numpy as np

from lls_topics.corpus import row_lookup
from lls_topics.datasets import load_digits_lls, load_mnist1d_lls
from lls_topics.continuous.discriminator import DomainDiscriminator
from lls_topics.metrics import matched_accuracy, prior_l1

K = 10
#: (name, alpha, n_domains r, kappa_max, unequal sizes)
GRID = [("a0.5-r2k", 0.5, 2 * K, 4.0, False), ("a3-r2k", 3.0, 2 * K, 4.0, False),
        ("a10-r2k", 10.0, 2 * K, 8.0, False), ("a0.5-rk", 0.5, K, 4.0, False),
        ("a3-rk", 3.0, K, 12.0, False), ("a10-rk", 10.0, K, 20.0, False),
        ("a0.5-r2k-uneq", 0.5, 2 * K, 4.0, True), ("a3-r2k-uneq", 3.0, 2 * K, 4.0, True),
        ("a10-r2k-uneq", 10.0, 2 * K, 8.0, True)]
QUICK = ["a3-r2k", "a10-r2k", "a3-r2k-uneq"]


def make_network(kind: str, n_features: int, n_outputs: int, seed: int) -> Any:
    """The network of every discriminator and oracle: None (the default MLP) for
    ``"mlp"``; for ``"cnn1d"``, three 1-D convolutions (32 channels, kernel 5, the last
    two with stride 2) and a linear layer, with weights drawn from ``seed``."""
    if kind == "mlp":
        return None
    if kind != "cnn1d":
        raise ValueError(f"model must be 'mlp' or 'cnn1d', got {kind!r}")
    import torch
    from torch import nn

    length = int(n_features)
    for _ in range(2):
        length = (length + 2 * 2 - 5) // 2 + 1

    class Conv1dNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv1d(1, 32, 5, padding=2), nn.ReLU(),
                nn.Conv1d(32, 32, 5, padding=2, stride=2), nn.ReLU(),
                nn.Conv1d(32, 32, 5, padding=2, stride=2), nn.ReLU(), nn.Flatten())
            self.head = nn.Sequential(nn.Dropout(0.1), nn.Linear(32 * length, n_outputs))

        def forward(self, x: Any) -> Any:
            return self.head(self.features(x.reshape(len(x), 1, -1)))

    # torch's default layer init draws from the global RNG: seed a forked copy of it,
    # so the weights follow ``seed`` and the caller's RNG state is left as it was
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        net = Conv1dNet()
    return net


def load(dataset: str, alpha: float, r: int, kappa: float, unequal: bool, seed: int) -> Any:
    if dataset == "digits":
        return load_digits_lls(r, alpha, kappa, unequal_sizes=unequal, random_state=seed)
    if dataset == "mnist1d":
        return load_mnist1d_lls(r, alpha, kappa, unequal_sizes=unequal, random_state=seed)
    raise ValueError(f"unknown dataset {dataset!r}")


def _l1(P_true: np.ndarray, P_hat: np.ndarray) -> float:
    return prior_l1(P_true, P_hat, per_entry=True)


def reference_ddfa(disc: DomainDiscriminator, b: Any, k: int, seed: int) -> tuple:
    """The reference DDFA pipeline on a trained discriminator; returns (pred, P, secs)."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import NMF

    t0 = time.perf_counter()
    X_fit = np.concatenate([b.X_val, b.X_train])
    d_fit = np.concatenate([b.d_val, b.d_train])
    proba = disc.predict_proba(X_fit)
    m = 3 * k
    clusters = KMeans(n_clusters=m, n_init=10, random_state=seed).fit_predict(proba)
    D = disc.n_classes_
    col = row_lookup(disc.classes_)
    rows = np.array([col[d] for d in d_fit.tolist()])
    counts = np.zeros((m, D))
    np.add.at(counts, (clusters, rows), 1.0)
    Q = counts / counts.sum(axis=0, keepdims=True)  # p(c|d), columns are domains
    nmf = NMF(n_components=k, init="random", random_state=seed, max_iter=1000)
    W = nmf.fit_transform(Q)  # (m, k) ~ p(c|y)
    H = nmf.components_  # (k, D) ~ p_d(y)
    scale = W.sum(axis=0)
    scale[scale == 0] = 1.0
    H = H * scale[:, None]
    P = H.T / np.maximum(H.T.sum(axis=1, keepdims=True), 1e-300)  # (D, k)
    M = P / np.maximum(P.sum(axis=0, keepdims=True), 1e-300)  # p(d|y) with uniform p(d)
    pdx = disc.predict_proba(b.X_test)
    py = pdx @ np.linalg.pinv(M).T
    t_rows = np.array([col[d] for d in b.d_test.tolist()])
    pred = np.argmax(py * M[t_rows], axis=1)
    return pred, P, time.perf_counter() - t0


def kmeans_raw(b: Any, k: int, seed: int) -> tuple:
    from sklearn.cluster import KMeans

    t0 = time.perf_counter()
    X_fit = np.concatenate([b.X_val, b.X_train]).reshape(len(b.X_val) + len(b.X_train), -1)
    d_fit = np.concatenate([b.d_val, b.d_train])
    km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(X_fit)
    pred = km.predict(b.X_test.reshape(len(b.X_test), -1))
    D = b.domain_topic.shape[0]
    C = np.zeros((D, k))
    np.add.at(C, (d_fit, km.labels_), 1.0)
    P = C / C.sum(axis=1, keepdims=True)
    return pred, P, time.perf_counter() - t0


def oracle(b: Any, k: int, seed: int, epochs: int, model: str = "mlp") -> tuple:
    t0 = time.perf_counter()
    net = make_network(model, b.X_train.shape[1], k, seed)
    clf = DomainDiscriminator(net, random_state=seed, epochs=epochs, verbose=False)
    clf.fit(b.X_train, b.y_train, b.X_val, b.y_val)
    p = clf.predict_proba(b.X_test)  # columns are the label ids 0..k-1
    prior = clf.class_counts_ / clf.class_counts_.sum()
    w = b.domain_topic[b.d_test][:, clf.classes_] / np.maximum(prior, 1e-12)
    pred = clf.classes_[np.argmax(p * w, axis=1)]
    return pred, time.perf_counter() - t0


def ours(disc: DomainDiscriminator, b: Any, k: int, seed: int, **params: Any) -> tuple:
    from lls_topics.continuous.ddfa import DDFA

    t0 = time.perf_counter()
    est = DDFA(k, random_state=seed, verbose=False, **params)
    est.fit_with_discriminator(disc, b.X_train, b.d_train, b.X_val, b.d_val)
    pred = est.predict(b.X_test, b.d_test)
    return pred, est.domain_topic_, time.perf_counter() - t0


def available_solvers(names: list[str]) -> list[str]:
    import importlib

    out = []
    for s in names:
        cls = {"anchor": "AnchorSolver", "nmf": "NMFSolver", "lda": "LDASolver"}[s]
        try:
            getattr(importlib.import_module(f"lls_topics.solvers.{s}"), cls)
            out.append(s)
        except (ImportError, AttributeError):
            print(f"# solver {s!r} not available yet: skipped", file=sys.stderr)
    return out


def run(datasets: list[str], settings: list[str], seeds: list[int], solvers: list[Any],
        epochs: int, variants: dict | None = None, model: str = "mlp") -> dict:
    """Return results[(dataset, setting)][method] -> list of (acc, l1, secs)."""
    results: dict = defaultdict(lambda: defaultdict(list))
    grid = {g[0]: g for g in GRID}
    variants = variants or {}
    for ds in datasets:
        for name in settings:
            _, alpha, r, kappa, uneq = grid[name]
            for seed in seeds:
                b = load(ds, alpha, r, kappa, uneq, seed)
                k = b.n_topics
                t0 = time.perf_counter()
                net = make_network(model, b.X_train.shape[1], b.domain_topic.shape[0], seed)
                disc = DomainDiscriminator(net, random_state=seed, epochs=epochs,
                                           verbose=False)
                disc.fit(b.X_train, b.d_train, b.X_val, b.d_val)
                t_disc = time.perf_counter() - t0
                res = results[(ds, name)]
                pred, P, t = reference_ddfa(disc, b, k, seed)
                res["reference"].append((matched_accuracy(b.y_test, pred),
                                         _l1(b.domain_topic, P), t_disc + t))
                for s in solvers:
                    label = s if isinstance(s, str) else type(s).__name__
                    pred, P, t = ours(disc, b, k, seed, solver=s)
                    res[f"ours-{label}"].append((matched_accuracy(b.y_test, pred),
                                                 _l1(b.domain_topic, P), t_disc + t))
                for vname, params in variants.items():
                    pred, P, t = ours(disc, b, k, seed, **params)
                    res[vname].append((matched_accuracy(b.y_test, pred),
                                       _l1(b.domain_topic, P), t_disc + t))
                pred, P, t = kmeans_raw(b, k, seed)
                res["kmeans-raw"].append((matched_accuracy(b.y_test, pred),
                                          _l1(b.domain_topic, P), t))
                pred, t = oracle(b, k, seed, epochs, model)
                res["oracle"].append((matched_accuracy(b.y_test, pred), np.nan, t))
                print(f"# {ds} {name} seed={seed} done", file=sys.stderr, flush=True)
    return results


def acceptance(results: dict, method: str = "ours-anchor") -> None:
    """Print issue 5's acceptance checks for ``method`` (medians over seeds)."""
    by_ds: dict = defaultdict(dict)
    for (ds, name), res in results.items():
        if method in res:
            by_ds[ds][name] = {m: np.median(np.array(v, dtype=float), axis=0)
                               for m, v in res.items()}
    for ds, sets in by_ds.items():
        ours_acc = np.mean([r[method][0] for r in sets.values()])
        ref_acc = np.mean([r["reference"][0] for r in sets.values()])
        orc_acc = np.mean([r["oracle"][0] for r in sets.values()])
        gap = (ours_acc - ref_acc) / (orc_acc - ref_acc) if orc_acc != ref_acc else np.nan
        checks = [("closes >= 1/2 of the reference-oracle gap (grid mean)", gap >= 0.5,
                   f"{gap:.0%}")]
        def worst(names: list, value: Any, pick: Any = min) -> tuple:
            name = pick(names, key=value)
            return name, value(name)

        def acc_minus(peer: str) -> Any:
            return lambda n: sets[n][method][0] - sets[n][peer][0]

        def ratio(col: int) -> Any:
            return lambda n: sets[n][method][col] / sets[n]["reference"][col]

        name, d = worst(list(sets), acc_minus("reference"))
        checks.append(("never > 1 point below the reference", d >= -0.01,
                       f"worst {d:+.3f} ({name})"))
        name, q = worst(list(sets), ratio(1), max)
        checks.append(("L1(P)/entry below the reference everywhere", q < 1,
                       f"worst ratio {q:.2f} ({name})"))
        uneq = [n for n in sets if n.endswith("uneq")]
        if uneq:
            name, d = worst(uneq, acc_minus("reference"))
            checks.append(("unequal sizes: >= 3 points above the reference", d >= 0.03,
                           f"worst {d:+.3f} ({name})"))
        name, d = worst(list(sets), acc_minus("kmeans-raw"))
        checks.append(("at most 2 points below k-means on raw features", d >= -0.02,
                       f"worst {d:+.3f} ({name})"))
        name, q = worst(list(sets), ratio(2), max)
        checks.append(("fit + predict time <= 1.2x the reference", q <= 1.2,
                       f"worst ratio {q:.2f} ({name})"))
        for text, ok, detail in checks:
            print(f"# {ds} {method}: [{'x' if ok else ' '}] {text}: {detail}")


def report(results: dict) -> None:
    print("| data | setting | method | acc | L1(P)/entry | sec | acc - ref | L1 ratio | "
          "time ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    summary: dict = defaultdict(lambda: defaultdict(list))
    for (ds, name), res in results.items():
        med = {m: np.nanmedian(np.array(v, dtype=float), axis=0) if not
               np.all(np.isnan(np.array(v, dtype=float)[:, 1])) else
               np.array([np.median([x[0] for x in v]), np.nan, np.median([x[2] for x in v])])
               for m, v in res.items()}
        ref = med["reference"]
        for m, (acc, l1, sec) in med.items():
            summary[ds][m].append(acc)
            l1s = "-" if np.isnan(l1) else f"{l1:.4f}"
            ratio = "-" if np.isnan(l1) else f"{l1 / ref[1]:.2f}"
            print(f"| {ds} | {name} | {m} | {acc:.3f} | {l1s} | {sec:.1f} | "
                  f"{acc - ref[0]:+.3f} | {ratio} | {sec / ref[2]:.2f} |")
    print()
    for ds, accs in summary.items():
        ref = np.mean(accs["reference"])
        orc = np.mean(accs["oracle"])
        for m, a in accs.items():
            if m.startswith("ours") or m not in ("reference", "oracle", "kmeans-raw"):
                gap = (np.mean(a) - ref) / (orc - ref) if orc != ref else np.nan
                print(f"# {ds}: {m} mean acc {np.mean(a):.3f}, reference {ref:.3f}, oracle "
                      f"{orc:.3f}: closes {gap:.0%} of the reference-oracle gap")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=["digits", "mnist1d"])
    ap.add_argument("--settings", nargs="+", default=[g[0] for g in GRID])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--solvers", nargs="+", default=["anchor", "nmf", "lda"])
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--model", choices=["mlp", "cnn1d"], default="mlp",
                    help="network of the discriminator and the oracle (default: the MLP)")
    ap.add_argument("--refine-rounds", type=int, nargs="*", default=[], metavar="N",
                    help="also run DDFA(refine_rounds=N) with the anchor solver")
    ap.add_argument("--markdown", action="store_true",
                    help="accepted for update_docs.py; the table is always markdown")
    ap.add_argument("--json", default=None, metavar="OUT",
                    help="write the raw per-seed results as JSON")
    ap.add_argument("--quick", action="store_true",
                    help="digits only, 1 seed, settings " + " ".join(QUICK))
    ap.add_argument("--merge", nargs="+", default=None, metavar="JSON",
                    help="run nothing: report the results of earlier --json runs together "
                         "(e.g. the settings split between processes)")
    args = ap.parse_args(argv)
    if args.merge:
        results, meta = merge_results(args.merge)
        args.epochs, args.seeds, args.model = meta["epochs"], meta["seeds"], meta["model"]
        methods = sorted({m for res in results.values() for m in res if m.startswith("ours")})
    else:
        if args.quick:
            args.datasets, args.settings, args.seeds = ["digits"], QUICK, 1
        solvers = available_solvers(args.solvers)
        variants = {f"ours-anchor-refine{n}": {"refine_rounds": n}
                    for n in args.refine_rounds}
        results = run(args.datasets, args.settings, list(range(args.seeds)), solvers,
                      args.epochs, variants, args.model)
        methods = [f"ours-{s}" for s in solvers] + list(variants)
    report(results)
    print()
    for name in methods:
        acceptance(results, name)
    if args.json:
        import json

        raw = {f"{ds}/{name}": {m: [list(map(float, r)) for r in v] for m, v in res.items()}
               for (ds, name), res in results.items()}
        with open(args.json, "w") as fh:
            json.dump({"epochs": args.epochs, "seeds": args.seeds, "model": args.model,
                       "results": raw}, fh, indent=1)


def merge_results(paths: list[str]) -> tuple[dict, dict]:
    """Results of several ``--json`` files as one ``run`` result (grid order), and the
    run settings, which must agree."""
    import json

    order = [g[0] for g in GRID]
    merged: dict = {}
    meta: dict | None = None
    for path in paths:
        with open(path) as fh:
            data = json.load(fh)
        this = {"epochs": data["epochs"], "seeds": data["seeds"],
                "model": data.get("model", "mlp")}
        if meta is not None and this != meta:
            raise SystemExit(f"{path} was run with {this}, the others with {meta}")
        meta = this
        for key, res in data["results"].items():
            ds, name = key.split("/")
            merged[(ds, name)] = {m: [tuple(r) for r in v] for m, v in res.items()}
    keys = sorted(merged, key=lambda k: (k[0], order.index(k[1])))
    return {k: merged[k] for k in keys}, meta

if __name__ == "__main__":
    main()
