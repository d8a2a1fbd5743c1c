"""Protocol grid for the topic solvers: NMF (KL, anchor start), LDA (gensim, seeded),
the reference NMF step, tomotopy LDA, the oracle and the likelihood limit.

Run from the repository root::

    PYTHONPATH=$PWD python benchmarks/solvers.py                # full grid (slow: tomotopy)
    PYTHONPATH=$PWD python benchmarks/solvers.py --settings small-a3 --seeds 1
    PYTHONPATH=$PWD python benchmarks/solvers.py --kl-backends  # em_fit vs sklearn MU

Prints one row per (setting, method): median L1(P) (summed and per entry), the median
of the per-seed ratios to the oracle, to the likelihood limit and to tomotopy, and
median fit seconds. Every method of a seed runs in the same process on the same data.
"""
from __future__ import annotations

import argparse
import time
import warnings
from collections import defaultdict

import numpy as np

from lls_topics.datasets import DISCRETE_SETTINGS, make_discrete_lls
from lls_topics.solvers.em import em_fit, fit_domain_topic
from lls_topics.metrics import prior_l1


def tomotopy_lda(counts, k: int, seed: int, iters: int = 500) -> np.ndarray:
    import tomotopy as tp

    model = tp.LDAModel(k=k, seed=seed)
    words = np.array([str(i) for i in range(counts.shape[1])], dtype=object)
    for d in range(counts.shape[0]):
        row = counts[d]
        model.add_doc(list(words[np.repeat(row.indices, row.data.astype(np.int64))]))
    model.train(iters, workers=1)
    return np.array([doc.get_topic_dist() for doc in model.docs])


def gensim_default(counts, k: int, seed: int) -> np.ndarray:
    """gensim as a user would first try it (the issue's passes=20, alpha="auto")."""
    from gensim.models import LdaModel

    from lls_topics.solvers.lda import _bow

    corpus = _bow(counts)
    model = LdaModel(corpus, num_topics=k, id2word={i: str(i) for i in range(counts.shape[1])},
                     passes=20, alpha="auto", random_state=seed, eval_every=None)
    gamma, _ = model.inference(corpus)
    return gamma / gamma.sum(axis=1, keepdims=True)


def methods(include_tomotopy: bool, include_gensim_default: bool, init: str = "anchor"):
    from lls_topics.solvers.lda import LDASolver
    from lls_topics.solvers.nmf import NMFSolver

    from lls_topics.solvers.anchor import AnchorSolver

    out = {
        "anchor": lambda C, k, s: AnchorSolver(k, random_state=s).fit(C).domain_topic_,
        f"nmf-kl ML ({init})": lambda C, k, s: NMFSolver(k, init=init, topic_word_prior=0.0,
                                                         random_state=s).fit(C).domain_topic_,
        f"nmf-kl ({init})": lambda C, k, s: NMFSolver(k, init=init,
                                                      random_state=s).fit(C).domain_topic_,
        f"lda ({init})": lambda C, k, s: LDASolver(k, init=init,
                                                   random_state=s).fit(C).domain_topic_,
        "nmf-reference": lambda C, k, s: NMFSolver(k, reference=True,
                                                   random_state=s).fit(C).domain_topic_,
    }
    if include_gensim_default:
        out["gensim passes=20 auto"] = gensim_default
    if include_tomotopy:
        out["tomotopy lda"] = tomotopy_lda
    return out


def run_grid(settings, n_seeds: int, include_tomotopy: bool, include_gensim_default: bool,
             init: str = "anchor"):
    results = defaultdict(lambda: defaultdict(list))  # setting -> method -> [(l1, secs)]
    for name in settings:
        seeds = range(1 if name == "large" else n_seeds)
        for seed in seeds:
            prob = make_discrete_lls(**DISCRETE_SETTINGS[name], random_state=seed)
            C = prob.corpus.counts.astype(np.float64)
            P0, A0 = prob.domain_topic, prob.topic_word
            k = P0.shape[1]
            t = time.perf_counter()
            l1 = prior_l1(P0, fit_domain_topic(C, A0))
            results[name]["oracle"].append((l1, time.perf_counter() - t))
            t = time.perf_counter()
            P, _, _, _ = em_fit(C, P0, A0, max_iter=500)
            results[name]["likelihood limit"].append((prior_l1(P0, P),
                                                      time.perf_counter() - t))
            for label, fn in methods(include_tomotopy, include_gensim_default, init).items():
                t = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    P = fn(C, k, seed)
                secs = time.perf_counter() - t
                results[name][label].append((prior_l1(P0, P), secs))
                print(f"  {name} seed={seed} {label:24s} L1={results[name][label][-1][0]:.3f}"
                      f" {secs:.2f}s", flush=True)
    return results


def print_table(results, init: str = "anchor") -> None:
    head = (f"{'setting':11s} {'method':24s} {'L1(P)':>7s} {'/entry':>7s} {'/oracle':>8s} "
            f"{'/limit':>7s} {'/tomo':>6s} {'secs':>7s}")
    print(head)
    print("-" * len(head))
    for name, rows in results.items():
        ref = {key: np.array([v[0] for v in rows[key]]) for key in rows}
        D, k = DISCRETE_SETTINGS[name]["n_domains"], DISCRETE_SETTINGS[name]["n_topics"]
        for label, vals in rows.items():
            l1 = np.array([v[0] for v in vals])
            secs = np.median([v[1] for v in vals])

            def ratio(key):
                return f"{np.median(l1 / ref[key]):.2f}" if key in ref else "-"

            print(f"{name:11s} {label:24s} {np.median(l1):7.3f} {np.median(l1) / (D * k):7.4f} "
                  f"{ratio('oracle'):>8s} {ratio('likelihood limit'):>7s} "
                  f"{ratio('tomotopy lda'):>6s} {secs:7.2f}")
    print()
    for name, rows in results.items():
        ref = {key: np.array([v[0] for v in rows[key]]) for key in rows}
        checks = []
        if f"nmf-kl ({init})" in ref:
            r = np.median(ref[f"nmf-kl ({init})"] / ref["likelihood limit"])
            checks.append(f"nmf-kl/limit={r:.2f} ({'ok' if r <= 1.1 else 'FAIL'} <= 1.1)")
        if "tomotopy lda" in ref:
            r = np.median(ref[f"lda ({init})"] / ref["tomotopy lda"])
            checks.append(f"lda/tomotopy={r:.2f} ({'ok' if r <= 1.5 else 'FAIL'} <= 1.5)")
        print(f"acceptance {name}: " + "; ".join(checks))


def kl_backends(settings, n_seeds: int) -> None:
    """em_fit against scikit-learn's KL multiplicative updates from the same start."""
    from sklearn.decomposition import NMF

    from lls_topics.solvers.em import log_likelihood
    from lls_topics.solvers._init import init_nndsvda

    print(f"{'setting':11s} {'backend':10s} {'L1(P)':>7s} {'loglik/tok':>11s} {'secs':>7s}")
    for name in settings:
        for seed in range(1 if name == "large" else n_seeds):
            prob = make_discrete_lls(**DISCRETE_SETTINGS[name], random_state=seed)
            C = prob.corpus.counts.astype(np.float64)
            k = prob.domain_topic.shape[1]
            P0, A0 = init_nndsvda(C, k, np.random.default_rng(seed))
            n = np.asarray(C.sum(axis=1)).ravel()
            t = time.perf_counter()
            P, A, _, ll = em_fit(C, P0, A0, max_iter=500)
            te = time.perf_counter() - t
            model = NMF(k, init="custom", beta_loss="kullback-leibler", solver="mu",
                        max_iter=500, tol=0)
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                W = model.fit_transform(C, W=P0 * n[:, None], H=A0.copy())
            ts = time.perf_counter() - t
            s = model.components_.sum(axis=1)
            A2 = model.components_ / s[:, None]
            P2 = W * s
            P2 /= P2.sum(axis=1, keepdims=True)
            tot = C.sum()
            print(f"{name:11s} {'em_fit':10s} {prior_l1(prob.domain_topic, P):7.3f} "
                  f"{ll / tot:11.6f} {te:7.2f}")
            print(f"{name:11s} {'sklearn-mu':10s} {prior_l1(prob.domain_topic, P2):7.3f} "
                  f"{log_likelihood(C, P2, A2) / tot:11.6f} {ts:7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", nargs="+", default=list(DISCRETE_SETTINGS),
                        choices=list(DISCRETE_SETTINGS))
    parser.add_argument("--seeds", type=int, default=3, help="seeds per small setting")
    parser.add_argument("--no-tomotopy", action="store_true")
    parser.add_argument("--gensim-default", action="store_true",
                        help="also run gensim as first tried (passes=20, alpha='auto')")
    parser.add_argument("--init", default="anchor", choices=["anchor", "nndsvda", "random"],
                        help="start of NMF-KL and LDA (the acceptance is stated for anchor)")
    parser.add_argument("--kl-backends", action="store_true",
                        help="time em_fit against sklearn's KL NMF instead of the grid")
    args = parser.parse_args()
    if args.kl_backends:
        kl_backends(args.settings, args.seeds)
        return
    results = run_grid(args.settings, args.seeds, not args.no_tomotopy, args.gensim_default,
                       args.init)
    print()
    print_table(results, args.init)


if __name__ == "__main__":
    main()
