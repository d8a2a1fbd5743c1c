"""Where DDFA loses accuracy: ceilings of each stage on one trained discriminator.

For every setting and seed (``docs/protocol.md`` construction), one domain
discriminator is trained and these are measured on the test split:

- ``reference``, ``ours``, ``ours-refine2``: the reference pipeline, DDFA's default and
  DDFA with two label-network rounds (see ``benchmarks/continuous.py``);
- ``adjust-trueP``: the adjust step on the discriminator with the *true* p_d(y): the
  best any estimate of p_d(y) can do with this discriminator's p(d|x);
- ``labelnet-trueP``: a label network trained on the domain labels through the true
  p(d|y) (:func:`lls_topics.continuous.relabel.fit_label_network`): what better p(d|y) estimates
  could reach by refinement;
- ``purity``: the share of samples in the majority label of their cluster, for 3k
  k-means clusters of p(d|x) (the anchor condition needs pure clusters);
- ``L1 clusters-oracle``: L1(P) per entry when p(cluster|y) is known (counted from the
  labels) and only p_d(y) is fitted: what the cluster counts hold, against the L1 of
  the reference's and our solvers.

Usage::

    python benchmarks/ddfa_ceiling.py --datasets mnist1d --settings a0.5-r2k a3-r2k
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict

import numpy as np

from continuous import load, reference_ddfa
from lls_topics.continuous.adjust import adjust_posterior, domain_given_label
from lls_topics.continuous.ddfa import DDFA
from lls_topics.continuous.discriminator import DomainDiscriminator
from lls_topics.solvers.em import fit_domain_topic
from lls_topics.metrics import matched_accuracy, prior_l1
from lls_topics.continuous.relabel import fit_label_network, label_proba


def measure(b, seed: int, epochs: int) -> dict:
    k = b.n_topics
    disc = DomainDiscriminator(random_state=seed, epochs=epochs, verbose=False)
    disc.fit(b.X_train, b.d_train, b.X_val, b.d_val)
    out = {}
    pred, P_ref, _ = reference_ddfa(disc, b, k, seed)
    out["reference acc"] = matched_accuracy(b.y_test, pred)
    out["reference L1"] = prior_l1(b.domain_topic, P_ref, per_entry=True)
    for name, rounds in (("ours", 0), ("ours-refine2", 2)):
        est = DDFA(k, refine_rounds=rounds, random_state=seed, verbose=False)
        est.fit_with_discriminator(disc, b.X_train, b.d_train, b.X_val, b.d_val)
        out[f"{name} acc"] = matched_accuracy(b.y_test, est.predict(b.X_test, b.d_test))
        out[f"{name} L1"] = prior_l1(b.domain_topic, est.domain_topic_, per_entry=True)
    sizes = disc.class_counts_
    Y = adjust_posterior(disc.predict_proba(b.X_test), b.domain_topic, sizes, b.d_test)
    out["adjust-trueP acc"] = matched_accuracy(b.y_test, Y.argmax(1))
    M = domain_given_label(b.domain_topic, sizes)[0]
    net = fit_label_network(disc, M, b.X_train, b.d_train, b.X_val, b.d_val,
                            random_state=seed)
    G = label_proba(net, b.X_test) * M[b.d_test]
    out["labelnet-trueP acc"] = matched_accuracy(b.y_test, G.argmax(1))

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
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=["mnist1d"])
    ap.add_argument("--settings", nargs="+", default=["a0.5-r2k", "a3-r2k", "a0.5-r2k-uneq10"])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=100)
    args = ap.parse_args(argv)
    cols = None
    for ds in args.datasets:
        for name in args.settings:
            runs = defaultdict(list)
            for seed in range(args.seeds):
                for key, v in measure(load(ds, name, seed), seed, args.epochs).items():
                    runs[key].append(v)
                print(f"# {ds} {name} seed={seed} done", file=sys.stderr, flush=True)
            if cols is None:
                cols = list(runs)
                print("| data | setting | " + " | ".join(cols) + " |")
                print("|---|---|" + "---|" * len(cols))
            print(f"| {ds} | {name} | " +
                  " | ".join(f"{np.median(runs[c]):.3f}" for c in cols) + " |", flush=True)


if __name__ == "__main__":
    main()
