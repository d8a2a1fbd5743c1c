"""The ``lls-topics demo``: DDFA on semi-synthetic digits, beside its reference and ceiling.

The data is scikit-learn's bundled digits split into 20 domains whose label mixes
p_d(y) are drawn by the benchmark protocol (alpha = 3, condition number <= 4). Three
models are fitted on the same training split and scored on the same test split:

* **DDFA** (this library's defaults, with the chosen topic solver);
* **the reference DDFA pipeline** -- k-means with 3k clusters on p(d|x), the paper's
  NMF step, pseudo-inverse adjustment with uniform p(d) -- reached through DDFA's
  options;
* **the supervised oracle** -- the same network trained on the true labels and adjusted
  with the true p_d(y); the ceiling no unsupervised method should pass.
"""
from __future__ import annotations

import contextlib
import sys
import time
import warnings
from typing import Any

import numpy as np

__all__ = ["run_demo", "reference_ddfa", "supervised_oracle"]


def reference_ddfa(n_topics: int, *, random_state: Any = None, verbose: bool = False,
                   discriminator: Any = None) -> Any:
    """The reference DDFA pipeline of the protocol, expressed as DDFA options."""
    from .continuous.ddfa import DDFA
    from .solvers.nmf import NMFSolver

    # no label-network rounds, no bagged clusterings and the adjust step's posterior:
    # the reference has none of them
    return DDFA(n_topics, solver=NMFSolver(n_topics, reference=True),
                n_clusters=3 * n_topics, space="discriminator", adjust="pinv-uniform",
                refine_rounds=0, posterior="adjust", n_clusterings=1,
                discriminator=discriminator, random_state=random_state, verbose=verbose)


def supervised_oracle(X: np.ndarray, y: np.ndarray, X_test: np.ndarray, d_test: np.ndarray,
                      domain_topic: np.ndarray, *, random_state: Any = None,
                      verbose: bool = False, **disc_params: Any) -> np.ndarray:
    """Labels predicted by a supervised classifier adjusted to each test domain's mix.

    The classifier is the DDFA discriminator's network trained on the true labels; its
    p(y|x) under the training label mix is reweighted by p_d(y) / p_train(y).

    Returns
    -------
    ndarray of int, shape (n_test,)
    """
    from .continuous.discriminator import DomainDiscriminator

    clf = DomainDiscriminator(random_state=random_state, verbose=verbose, **disc_params)
    clf.fit(X, y)
    proba = clf.predict_proba(X_test)
    classes = np.asarray(clf.classes_)
    train_prior = np.bincount(np.searchsorted(classes, y), minlength=len(classes)) / len(y)
    weights = domain_topic[d_test][:, classes] / np.maximum(train_prior, 1e-12)
    return classes[np.argmax(proba * weights, axis=1)]


def _print_priors(P_true: np.ndarray, P_hat: np.ndarray, n_show: int, out: Any) -> None:
    k = P_true.shape[1]
    print(f"recovered p_d(y) beside the truth (first {n_show} of {P_true.shape[0]} domains; "
          "labels aligned by the Hungarian matching):", file=out)
    head = "domain      " + " ".join(f"{f'y={j}':>5}" for j in range(k))
    print(head, file=out)
    for d in range(n_show):
        print(f"{d:>4} true  " + " ".join(f"{v:5.2f}" for v in P_true[d]), file=out)
        print(f"{'':>4} ddfa  " + " ".join(f"{v:5.2f}" for v in P_hat[d]), file=out)


#: discriminator epochs of the demo: early stopping ends DDFA's training before this on
#: digits; the cap keeps the supervised oracle (which trains longer) within the minute
DEMO_EPOCHS = 40


@contextlib.contextmanager
def _one_torch_thread() -> Any:
    """Run torch on one thread, restoring the caller's setting afterwards.

    The demo's networks are tiny; with two intra-op threads on a busy 2-core machine
    the discriminator trained about 10x slower (28 s against 3 s).
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_demo(*, solver: str = "auto", plot: str | None = None, seed: int = 0,
             quiet: bool = False, epochs: int | None = None, reference: bool = True,
             oracle: bool = True, out: Any = None) -> int:
    """Run the demo, print its report to ``out`` (stdout) and return 0."""
    if plot:
        from .plotting import use_file_backend

        use_file_backend()  # Agg backend, or a one-line error before minutes of fitting
    with _one_torch_thread():
        return _run_demo(solver=solver, plot=plot, seed=seed, quiet=quiet, epochs=epochs,
                         reference=reference, oracle=oracle, out=out)


def _run_demo(*, solver: str, plot: str | None, seed: int, quiet: bool, epochs: int | None,
              reference: bool, oracle: bool, out: Any) -> int:
    from .datasets import load_digits_lls
    from .continuous.ddfa import DDFA
    from .continuous.discriminator import DomainDiscriminator
    from .solvers.base import IdentifiabilityWarning
    from .metrics import align_labels, matched_accuracy, prior_l1

    out = out or sys.stdout

    def log(msg: str) -> None:
        if not quiet:
            print(msg, file=sys.stderr, flush=True)

    data = load_digits_lls(random_state=seed)
    k = int(data.n_topics)
    X = np.concatenate([data.X_train, data.X_val])
    d = np.concatenate([data.d_train, data.d_val])
    y = np.concatenate([data.y_train, data.y_val])
    print(f"semi-synthetic digits: {k} labels, {data.n_domains} domains, {len(X)} training "
          f"and {len(data.X_test)} test samples (seed {seed})", file=out)
    disc_params: dict[str, Any] = {"epochs": DEMO_EPOCHS if epochs is None else epochs}

    def discriminator() -> Any:
        return DomainDiscriminator(random_state=seed, verbose=not quiet, **disc_params)

    # one-time costs (torch's first optimizer step imports its compiler stack, about a
    # second; k-means' first call sets up its thread pools) would otherwise all land on
    # the first method timed: pay them on a tiny fit first (a one-epoch network
    # identifies nothing, so its identifiability warnings would only mislead)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IdentifiabilityWarning)
        DDFA(k, n_clusters=k, random_state=0, verbose=False).fit_with_discriminator(
            DomainDiscriminator(hidden=(4,), epochs=1, random_state=0, verbose=False).fit(X, d),
            X, d)

    rows = []
    log(f"fitting DDFA (solver={solver}) ...")
    t0 = time.perf_counter()
    model = DDFA(k, solver=solver, discriminator=discriminator(), random_state=seed,
                 verbose=not quiet).fit(X, d)
    t_fit = time.perf_counter() - t0
    P_hat = np.asarray(model.domain_topic_)
    acc = matched_accuracy(data.y_test, model.predict(data.X_test, data.d_test))
    rows.append(("DDFA (lls_topics, " + solver + ")", acc,
                 prior_l1(data.domain_topic, P_hat, per_entry=True), t_fit))
    if reference:
        log("fitting the reference DDFA pipeline ...")
        t0 = time.perf_counter()
        ref = reference_ddfa(k, random_state=seed, verbose=not quiet,
                             discriminator=discriminator()).fit(X, d)
        t_ref = time.perf_counter() - t0
        rows.append(("reference DDFA pipeline",
                     matched_accuracy(data.y_test, ref.predict(data.X_test, data.d_test)),
                     prior_l1(data.domain_topic, ref.domain_topic_, per_entry=True), t_ref))
    if oracle:
        log("training the supervised oracle ...")
        t0 = time.perf_counter()
        pred = supervised_oracle(X, y, data.X_test, data.d_test, data.domain_topic,
                                 random_state=seed, verbose=not quiet, **disc_params)
        rows.append(("supervised oracle (true labels)", matched_accuracy(data.y_test, pred),
                     float("nan"), time.perf_counter() - t0))

    perm = align_labels(data.domain_topic, P_hat)
    print(file=out)
    _print_priors(data.domain_topic, P_hat[:, perm], min(5, P_hat.shape[0]), out)
    print(file=out)
    print(f"{'method':<34}{'matched acc.':>13}{'L1(P)/entry':>13}{'fit (s)':>9}", file=out)
    for name, a, err, t in rows:
        err_s = f"{err:13.4f}" if np.isfinite(err) else f"{'-':>13}"
        print(f"{name:<34}{a:13.3f}{err_s}{t:9.1f}", file=out)

    if plot:
        from .plotting import savefig

        savefig(demo_figure(data, model, perm), plot)
        print(f"\nwrote {plot}", file=out)
    return 0


def demo_figure(data: Any, model: Any, perm: np.ndarray) -> Any:
    """True vs recovered p_d(y), and the test samples' p(d|x) simplex with label vertices."""
    import matplotlib.pyplot as plt

    from .plotting import label_vertices, plot_domain_topics, plot_simplex

    fig = plt.figure(figsize=(14, 5.2), constrained_layout=True)
    gs = fig.add_gridspec(1, 3, width_ratios=[1, 1, 1.25])
    ax_true, ax_hat, ax_s = (fig.add_subplot(gs[0, i]) for i in range(3))
    plot_domain_topics(data.domain_topic, model.domain_topic_, axes=[ax_true, ax_hat],
                       titles=("true $p_d(y)$", "DDFA estimate $p_d(y)$"))
    Q = model.discriminator_.predict_proba(data.X_test)
    sizes = getattr(model, "domain_sizes_", None)
    vertices = label_vertices(np.asarray(model.domain_topic_)[:, perm], sizes)
    plot_simplex(Q, anchors=vertices, labels=data.y_test, ax=ax_s,
                 title="test samples' p(d|x) (PCA) and estimated label vertices p(d|y)")
    ax_s.title.set_fontsize(9)
    return fig
