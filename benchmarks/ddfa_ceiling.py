"""Where DDFA loses accuracy: ceilings of each stage on one trained discriminator.

For every setting and seed (``docs/protocol.md`` construction), one domain
discriminator is trained (the network of ``benchmarks/continuous.py``: the 1-D CNN on
mnist1d, the default MLP elsewhere) and these are measured on the test split:

- ``reference``, ``ours``: the reference pipeline and DDFA's default (see
  ``benchmarks/continuous.py``);
- ``adjust-trueP``: the adjust step on the discriminator with the *true* p_d(y): the
  best any estimate of p_d(y) can do with this discriminator's p(d|x);
- ``labelnet-trueP``: a label network trained on the domain labels through the true
  p(d|y) (:func:`lls_topics.continuous.relabel.fit_label_network`, trained to its
  early stop): what better p(d|y) estimates could reach by refinement;
- ``purity``: the share of samples in the majority label of their cluster, for 3k
  k-means clusters of p(d|x) (the anchor condition needs pure clusters);
- ``L1 clusters-oracle``: L1(P) per entry when p(cluster|y) is known (counted from the
  labels) and only p_d(y) is fitted: what the cluster counts hold, against the L1 of
  the reference's and our solvers;
- ``labelnet-ourP``: the same label network through *our* final p(d|y);
- ``labelnet-noisyP``: the same label network through the true p_d(y) with random
  multiplicative noise, scaled until its L1(P) per entry equals ours: whether our
  estimate loses accuracy by how far it is from the truth or by the direction of its
  error;
- ``ours labels covered``: the share of the true labels that some estimated label is
  mostly made of (each estimated p(d|y) column fitted as a non-negative combination of
  the true columns; its largest coefficient names its owner). Below 1 when two
  estimated labels collapse onto one true label and another true label is lost;
- ``oracle``: the supervised oracle of ``benchmarks/continuous.py``.

After each family, the share of the reference-to-oracle gap that ``ours``,
``adjust-trueP`` and the three label networks close (means over the settings of the medians
over seeds, as issue 14's acceptance measures it).

Usage::

    python benchmarks/ddfa_ceiling.py --datasets mnist1d --settings a0.5-r2k a3-r2k
    python benchmarks/ddfa_ceiling.py --datasets digits --json a.json   # all 9 settings
    python benchmarks/ddfa_ceiling.py --merge a.json b.json
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict

import numpy as np

from continuous import GRID, family, load, members, network_kind, oracle, reference_ddfa, \
    train_discriminator
from lls_topics.continuous.adjust import adjust_posterior, domain_given_label
from lls_topics.continuous.ddfa import DDFA
from lls_topics.solvers.em import fit_domain_topic
from lls_topics.metrics import matched_accuracy, prior_l1
from lls_topics.continuous.relabel import fit_label_network, label_proba

GAP_COLUMNS = ("ours acc", "adjust-trueP acc", "labelnet-trueP acc", "labelnet-ourP acc",
               "labelnet-noisyP acc")


def labels_covered(P_true: np.ndarray, P_hat: np.ndarray, sizes: np.ndarray) -> float:
    """Share of the true labels that own an estimated label (see the module docstring)."""
    from scipy.optimize import nnls

    M_true = domain_given_label(P_true, sizes)[0]
    # the set of owners does not depend on the order of the estimated labels
    M_hat = domain_given_label(P_hat, sizes)[0]
    owners = {int(np.argmax(nnls(M_true, M_hat[:, j])[0])) for j in range(M_hat.shape[1])}
    return len(owners) / M_true.shape[1]


def noisy_like(P_true: np.ndarray, l1: float, seed: int) -> np.ndarray:
    """The true p_d(y) with random log-normal noise whose L1 per entry is ``l1``."""
    Z = np.random.default_rng(1000 + seed).standard_normal(P_true.shape)

    def noisy(sigma: float) -> np.ndarray:
        P = P_true * np.exp(sigma * Z)
        return P / P.sum(axis=1, keepdims=True)

    lo, hi = 0.0, 8.0
    for _ in range(40):  # L1 grows with sigma: bisect on it
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if prior_l1(P_true, noisy(mid), per_entry=True) < l1 else (lo, mid)
    return noisy(0.5 * (lo + hi))


def labelnet_acc(disc, P: np.ndarray, b, seed: int) -> float:
    """Accuracy of a label network trained to its early stop through p(d|y) of ``P``."""
    M = domain_given_label(P, disc.class_counts_)[0]
    net = fit_label_network(disc, M, b.X_train, b.d_train, b.X_val, b.d_val,
                            random_state=seed)
    return matched_accuracy(b.y_test, (label_proba(net, b.X_test) * M[b.d_test]).argmax(1))


def measure(ds: str, b, seed: int, epochs: int) -> dict:
    k = b.n_topics
    kind = network_kind("auto", ds)
    disc = train_discriminator(kind, b, seed, epochs)
    out = {}
    pred, P_ref, _ = reference_ddfa(disc, b, k, seed)
    out["reference acc"] = matched_accuracy(b.y_test, pred)
    out["reference L1"] = prior_l1(b.domain_topic, P_ref, per_entry=True)
    est = DDFA(k, random_state=seed, verbose=False)
    est.fit_with_discriminator(disc, b.X_train, b.d_train, b.X_val, b.d_val)
    out["ours acc"] = matched_accuracy(b.y_test, est.predict(b.X_test, b.d_test))
    out["ours L1"] = prior_l1(b.domain_topic, est.domain_topic_, per_entry=True)
    sizes = disc.class_counts_
    Y = adjust_posterior(disc.predict_proba(b.X_test), b.domain_topic, sizes, b.d_test)
    out["adjust-trueP acc"] = matched_accuracy(b.y_test, Y.argmax(1))
    out["labelnet-trueP acc"] = labelnet_acc(disc, b.domain_topic, b, seed)
    out["labelnet-ourP acc"] = labelnet_acc(disc, est.domain_topic_, b, seed)
    out["labelnet-noisyP acc"] = labelnet_acc(
        disc, noisy_like(b.domain_topic, out["ours L1"], seed), b, seed)
    out["ours labels covered"] = labels_covered(b.domain_topic, est.domain_topic_, sizes)

    from sklearn.cluster import KMeans

    X_fit = np.concatenate([b.X_train, b.X_val])
    d_fit = np.concatenate([b.d_train, b.d_val])
    y_fit = np.concatenate([b.y_train, b.y_val])
    m = 3 * k
    clusters = KMeans(m, n_init=3, random_state=seed).fit_predict(disc.predict_proba(X_fit))
    joint = np.zeros((m, k))
    np.add.at(joint, (clusters, y_fit), 1.0)
    out["purity"] = joint.max(axis=1).sum() / joint.sum()
    counts = np.zeros((b.domain_topic.shape[0], m))
    np.add.at(counts, (d_fit, clusters), 1.0)
    cluster_given_label = (joint / np.maximum(joint.sum(axis=0), 1)).T
    out["L1 clusters-oracle"] = prior_l1(b.domain_topic,
                                         fit_domain_topic(counts, cluster_given_label),
                                         per_entry=True)
    out["oracle acc"] = matched_accuracy(b.y_test, oracle(b, k, seed, epochs, kind)[0])
    return out


def table(records: list[dict]) -> None:
    """Print the per-setting medians and each family's gap shares."""
    runs: dict = defaultdict(lambda: defaultdict(list))
    for r in records:
        for key, v in r["values"].items():
            runs[(r["data"], r["setting"])][key].append(v)
    cols = list(next(iter(runs.values())))
    print("| data | setting | " + " | ".join(cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    for (ds, name), v in runs.items():
        print(f"| {ds} | {name} | " + " | ".join(f"{np.median(v[c]):.3f}" for c in cols)
              + " |")
    fams: dict = defaultdict(list)
    for (ds, _), v in runs.items():
        fams[family(ds)].append({c: np.median(v[c]) for c in cols})
    for fam, rows in fams.items():
        mean = {c: np.mean([r[c] for r in rows]) for c in cols}
        gap = mean["oracle acc"] - mean["reference acc"]
        shares = ", ".join(f"{c.split()[0]} {100 * (mean[c] - mean['reference acc']) / gap:.0f}%"
                           for c in GAP_COLUMNS if c in mean)  # older records lack some
        print(f"\n{fam} ({len(rows)} settings): share of the reference-to-oracle gap closed: "
              f"{shares}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=["mnist1d"],
                    help="families or data sets as in benchmarks/continuous.py "
                    "(procedural: the quick grid's procedural:0, :1 and :11)")
    ap.add_argument("--settings", nargs="+", default=[g[0] for g in GRID])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--json", help="also write every run's values here")
    ap.add_argument("--merge", nargs="+", metavar="JSON",
                    help="run nothing: one table from the records of earlier --json runs")
    args = ap.parse_args(argv)
    if args.merge:
        table([r for path in args.merge for r in json.load(open(path))])
        return
    records = []
    for ds in members(args.datasets, quick=True):
        for name in args.settings:
            for seed in range(args.seeds):
                records.append({"data": ds, "setting": name, "seed": seed,
                                "values": measure(ds, load(ds, name, seed), seed,
                                                  args.epochs)})
                print(f"# {ds} {name} seed={seed} done", file=sys.stderr, flush=True)
                if args.json:
                    with open(args.json, "w") as fh:
                        json.dump(records, fh, indent=1)
    table(records)


if __name__ == "__main__":
    main()
