"""Pictures of LLS fits (matplotlib, an optional dependency: ``pip install lls-topics[plot]``).

matplotlib is imported inside each function, so ``import lls_topics.plotting`` costs
nothing and works without it. Each function returns the matplotlib ``Figure``.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ._simplex import normalize_rows
from ._validation import check_distribution_matrix

__all__ = ["plot_domain_topics", "plot_simplex", "plot_comparison", "plot_select_k",
           "label_vertices", "use_file_backend", "savefig"]


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("lls_topics.plotting needs matplotlib: "
                          "pip install 'lls-topics[plot]'") from exc
    return plt


def use_file_backend() -> None:
    """Draw to files only (matplotlib's Agg backend) unless pyplot is already in use.

    Command-line tools call this so that no window ever opens. Raises a ``ValueError``
    with the install command when matplotlib is missing.
    """
    import sys

    try:
        import matplotlib
    except ImportError:
        raise ValueError("plotting needs matplotlib: pip install 'lls-topics[plot]'") from None
    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")


def savefig(fig: Any, path: Any, *, dpi: int = 110) -> None:
    """Save ``fig`` to ``path`` (creating its folder) and close it.

    Raises
    ------
    ValueError
        When the file cannot be written, naming the path.
    """
    from pathlib import Path

    plt = _pyplot()
    parent = Path(path).parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=dpi)
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot write the plot {str(path)!r}: {exc}") from None
    finally:
        plt.close(fig)


def plot_domain_topics(true: Any, estimated: Any, *, domain_ids: Sequence[Any] | None = None,
                       titles: tuple[str, str] = ("true $p_d(y)$", "estimated $p_d(y)$"),
                       cmap: str = "viridis", axes: Any = None) -> Any:
    """Heatmaps of the true and estimated p_d(y), side by side, labels aligned.

    The estimated labels are permuted by :func:`lls_topics.metrics.align_labels` (the
    Hungarian matching that minimizes the L1 error), so matching columns are the same
    label. The L1 error per entry after alignment (``prior_l1(..., per_entry=True)``)
    is shown in the figure title.

    Parameters
    ----------
    true : array-like of shape (n_domains, k), or None
        True p_d(y); rows sum to 1. ``None`` draws the estimate alone, unaligned.
    estimated : array-like of shape (n_domains, k_hat), k_hat >= k
        Estimated p_d(y).
    domain_ids : sequence, optional
        Row labels (ticks are thinned out beyond 30 domains).
    titles : (str, str)
    cmap : str
    axes : pair of matplotlib Axes, optional
        Draw into these instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _pyplot()
    B = check_distribution_matrix(estimated, "estimated")
    panels: list[tuple[np.ndarray, str]] = []
    suptitle = None
    if true is not None:
        from .metrics import align_labels

        A = check_distribution_matrix(true, "true")
        if A.shape[0] != B.shape[0]:
            raise ValueError(f"true and estimated must have one row per domain, got shapes "
                             f"{A.shape} and {B.shape}")
        perm = align_labels(A, B)
        rest = np.setdiff1d(np.arange(B.shape[1]), perm)  # extra estimated labels last
        B = B[:, np.concatenate([perm, rest]).astype(np.int64)]
        # per entry, as the demo's and the comparison's tables report it
        suptitle = (f"L1 error per entry after alignment: "
                    f"{np.abs(A - B[:, :A.shape[1]]).mean():.3g}")
        panels.append((A, titles[0]))
    panels.append((B, titles[1] if true is not None else "$p_d(y)$"))
    if axes is None:
        width = 1.2 + 0.45 * max(p[0].shape[1] for p in panels)
        height = 1.5 + 0.18 * min(B.shape[0], 60)
        fig, axes = plt.subplots(1, len(panels), figsize=(2.2 + width * len(panels), height),
                                 squeeze=False, constrained_layout=True)
        axes = axes[0]
    else:
        axes = np.atleast_1d(axes)
        if len(axes) < len(panels):
            raise ValueError(f"axes must hold {len(panels)} Axes, got {len(axes)}")
        fig = axes[0].figure
    vmax = max(float(p[0].max()) for p in panels)
    image = None
    for ax, (M, title) in zip(axes, panels):
        image = ax.imshow(M, aspect="auto", cmap=cmap, vmin=0.0, vmax=vmax,
                          interpolation="nearest")
        ax.set_title(title)
        ax.set_xlabel("label y")
        ax.set_xticks(np.arange(M.shape[1]))
        _domain_ticks(ax, M.shape[0], domain_ids)
    axes[0].set_ylabel("domain d")
    fig.colorbar(image, ax=list(axes[:len(panels)]), shrink=0.9)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def _domain_ticks(ax: Any, n: int, ids: Sequence[Any] | None) -> None:
    step = max(1, int(np.ceil(n / 30)))
    pos = np.arange(0, n, step)
    ax.set_yticks(pos)
    if ids is not None:
        ids = list(ids)
        if len(ids) != n:
            raise ValueError(f"domain_ids must have {n} entries, got {len(ids)}")
        ax.set_yticklabels([str(ids[i]) for i in pos])


def label_vertices(domain_topic: Any, domain_sizes: Any = None) -> np.ndarray:
    """The vertices of the p(d|x) simplex: p(d|y) for each label, shape (k, n_domains).

    An input that only label y emits (an anchor) has p(d|x) = p(d|y), with
    p(d|y) ∝ p_d(y) p(d); every other p(d|x) is a convex combination of these rows.

    Parameters
    ----------
    domain_topic : array-like of shape (n_domains, k)
        p_d(y); rows sum to 1.
    domain_sizes : array-like of shape (n_domains,), optional
        Samples per domain, giving p(d); uniform by default.

    Returns
    -------
    ndarray of shape (k, n_domains); rows sum to 1.
    """
    P = check_distribution_matrix(domain_topic, "domain_topic")
    w = np.ones(P.shape[0]) if domain_sizes is None else \
        np.asarray(domain_sizes, dtype=np.float64).ravel()
    if w.shape != (P.shape[0],) or np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError(f"domain_sizes must hold {P.shape[0]} non-negative finite numbers")
    return normalize_rows((P * w[:, None]).T)


def _project(Q: np.ndarray, vertices: np.ndarray | None, method: str
             ) -> tuple[np.ndarray, np.ndarray | None, str, Any]:
    """2-D coordinates of the rows of Q (and of the vertices) and axis names."""
    D = Q.shape[1]
    if method == "auto":
        method = "barycentric" if D == 3 else "pca"
    if method == "barycentric":
        if D != 3:
            raise ValueError(f"method='barycentric' needs 3 domains, got {D}")
        corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]])
        proj = (lambda M: M @ corners)
        return proj(Q), None if vertices is None else proj(vertices), method, corners
    if method != "pca":
        raise ValueError(f"method must be 'auto', 'pca' or 'barycentric', got {method!r}")
    # the principal plane of the cloud (and its vertices, which span the same simplex)
    pool = Q if vertices is None else np.vstack([Q, vertices])
    mean = pool.mean(axis=0)
    _, _, Vt = np.linalg.svd(pool - mean, full_matrices=False)
    basis = Vt[:2].T
    if basis.shape[1] < 2:
        basis = np.hstack([basis, np.zeros((D, 2 - basis.shape[1]))])
    proj = (lambda M: (M - mean) @ basis)
    return proj(Q), None if vertices is None else proj(vertices), method, None


def plot_simplex(p_d_given_x: Any, anchors: Any = None, *, labels: Any = None,
                 method: str = "auto", max_points: int = 5000, random_state: Any = 0,
                 ax: Any = None, title: str | None = None) -> Any:
    """The p(d|x) cloud in 2-D, with the label vertices (anchors) marked.

    Under LLS every p(d|x) is a convex combination of the k vertices p(d|y): the cloud
    fills a k-vertex simplex inside the domain simplex, and anchor inputs sit at its
    corners. This is why the labels can be recovered without supervision.

    Parameters
    ----------
    p_d_given_x : array-like of shape (n_samples, n_domains)
        Rows are p(d|x), e.g. a domain discriminator's output or the normalized columns
        of the domain-by-input counts.
    anchors : array-like, optional
        Either the vertices, shape (k, n_domains) (see :func:`label_vertices`), or
        integer row indices into ``p_d_given_x`` of anchor samples.
    labels : array-like of shape (n_samples,), optional
        Colors the points (e.g. the true labels).
    method : {"auto", "pca", "barycentric"}
        ``"barycentric"`` draws the exact domain triangle (3 domains only);
        ``"pca"`` projects on the principal plane of the cloud. ``"auto"`` picks
        barycentric for 3 domains.
    max_points : int
        A random subset of this many rows is drawn (all anchors are kept).
    random_state : int or None
        Seed of the subset.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _pyplot()
    Q = check_distribution_matrix(p_d_given_x, "p_d_given_x")
    n, D = Q.shape
    if D < 2:
        raise ValueError(f"p_d_given_x must have at least 2 domains (columns), got {D}")
    vertices = None
    if anchors is not None:
        a = np.asarray(anchors)
        if a.ndim == 1 and a.dtype.kind in "iu":
            if a.size and (a.min() < 0 or a.max() >= n):
                raise ValueError(f"anchors holds row indices outside [0, {n})")
            vertices = Q[a]
        else:
            vertices = check_distribution_matrix(a, "anchors")
            if vertices.shape[1] != D:
                raise ValueError(f"anchors must have {D} columns (one per domain), got "
                                 f"shape {vertices.shape}")
    lab = None
    if labels is not None:
        lab = np.asarray(labels).ravel()
        if lab.size != n:
            raise ValueError(f"labels must have one entry per row ({n}), got {lab.size}")
    if n > max_points:
        keep = np.random.default_rng(random_state).choice(n, size=max_points, replace=False)
        Q = Q[keep]
        lab = None if lab is None else lab[keep]
    xy, vxy, method, corners = _project(Q, vertices, method)

    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 5.5), constrained_layout=True)
    else:
        fig = ax.figure
    if corners is not None:
        tri = np.vstack([corners, corners[:1]])
        ax.plot(tri[:, 0], tri[:, 1], color="0.6", lw=1)
        for d, (cx, cy) in enumerate(corners):
            ax.annotate(f"domain {d}", (cx, cy), textcoords="offset points",
                        xytext=(0, -12 if cy == 0 else 6), ha="center", fontsize=9,
                        color="0.35")
    if lab is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=6, alpha=0.35, color="tab:blue", linewidths=0,
                   label="p(d|x)")
    else:
        classes = np.unique(lab)
        cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
        for i, c in enumerate(classes):
            m = lab == c
            ax.scatter(xy[m, 0], xy[m, 1], s=6, alpha=0.4, color=cmap(i % cmap.N),
                       linewidths=0, label=f"y={c}")
    if vxy is not None and len(vxy):
        if len(vxy) >= 3:
            from scipy.spatial import ConvexHull, QhullError

            try:
                hull = ConvexHull(vxy)
                loop = np.append(hull.vertices, hull.vertices[0])
                ax.plot(vxy[loop, 0], vxy[loop, 1], color="black", lw=1.2, ls="--")
            except QhullError:  # collinear vertices: no hull to draw
                pass
        elif len(vxy) == 2:
            ax.plot(vxy[:, 0], vxy[:, 1], color="black", lw=1.2, ls="--")
        ax.scatter(vxy[:, 0], vxy[:, 1], marker="*", s=220, color="black",
                   edgecolors="white", linewidths=0.8, zorder=5, label="label vertices")
        # each label points away from the vertices' center and from its nearest other
        # vertex, so that neighbouring vertices' labels go to different sides
        def unit(v: np.ndarray) -> np.ndarray:
            n = np.linalg.norm(v, axis=1, keepdims=True)
            return np.divide(v, n, out=np.zeros_like(v), where=n > 0)

        gaps = np.linalg.norm(vxy[:, None] - vxy[None], axis=2)
        np.fill_diagonal(gaps, np.inf)
        nearest = vxy[np.argmin(gaps, axis=1)] if len(vxy) > 1 else vxy
        away = unit(unit(vxy - vxy.mean(axis=0)) + unit(vxy - nearest))
        away[np.all(away == 0, axis=1)] = (0.7, 0.7)
        for i, ((vx, vy), (ux, uy)) in enumerate(zip(vxy, away)):
            ax.annotate(str(i), (vx, vy), textcoords="offset points",
                        xytext=(13 * ux, 13 * uy), ha="center", va="center",
                        fontsize=10, weight="bold")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title or (f"p(d|x) of {n} samples, {D} domains "
                           f"({'barycentric' if method == 'barycentric' else 'PCA'} view)"))
    handles, names = ax.get_legend_handles_labels()
    if lab is not None and len(np.unique(lab)) > 12:
        keep = [i for i, s in enumerate(names) if not s.startswith("y=")]
        handles, names = [handles[i] for i in keep], [names[i] for i in keep]
    if handles:
        legend = ax.legend(handles, names, fontsize=7, ncol=2 if len(handles) > 6 else 1,
                           loc="best", framealpha=0.8)
        for h in legend.legend_handles:
            if hasattr(h, "set_sizes"):
                h.set_sizes([25])  # equal legend markers, whatever the plotted sizes
            if hasattr(h, "set_alpha"):
                h.set_alpha(1.0)
    return fig


#: (key, axis label, lower is better) of the bars drawn by plot_comparison, in order
_COMPARISON_PANELS = (
    ("l1_P", "L1 error of $p_d(y)$", True),
    ("oracle_ratio", "L1 / oracle L1", True),
    ("matched_accuracy", "matched accuracy", False),
    ("topic_l1", "L1 error of $p(x|y)$", True),
    ("log_likelihood", "log-likelihood per sample", False),
    ("fit_seconds", "fit time (s)", True),
)


def _as_rows(table: Any) -> list[Mapping[str, Any]]:
    if hasattr(table, "to_dict"):  # a pandas DataFrame
        return list(table.to_dict("records"))
    if isinstance(table, Mapping):
        return [table]
    rows = list(table)
    if not all(isinstance(r, Mapping) for r in rows):
        raise ValueError("table must be a list of dicts (one per solver) or a DataFrame")
    return rows


def _number(value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return v


def plot_comparison(table: Any, *, metrics: Sequence[str] | None = None,
                    label_key: str = "solver", log_time: bool = False) -> Any:
    """Bars of error and time per solver, from :func:`lls_topics.comparison`'s table.

    Parameters
    ----------
    table : list of dict or pandas DataFrame
        One row per solver. Recognized keys: ``l1_P``, ``oracle_ratio``,
        ``matched_accuracy``, ``topic_l1``, ``log_likelihood``, ``fit_seconds``; missing
        keys or values are tolerated (a metric that no row has gets no panel, a missing
        value gets no bar and is marked "n/a"). Rows with a ``setting`` key are labeled
        ``solver (setting)``.
    metrics : sequence of str, optional
        Which keys to draw; defaults to every recognized key present.
    label_key : str
        The key naming each row.
    log_time : bool
        Log scale for ``fit_seconds``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _pyplot()
    rows = _as_rows(table)
    if not rows:
        raise ValueError("table is empty: expected one row per solver")
    known = {k: (name, low) for k, name, low in _COMPARISON_PANELS}
    if metrics is None:
        metrics = [k for k, _, _ in _COMPARISON_PANELS
                   if any(np.isfinite(_number(r.get(k))) for r in rows)]
    else:
        metrics = list(metrics)
    if not metrics:
        raise ValueError("table has none of the keys "
                         f"{[k for k, _, _ in _COMPARISON_PANELS]}: nothing to plot")
    names = []
    for i, r in enumerate(rows):
        name = str(r.get(label_key, f"row {i}"))
        if r.get("setting") is not None:
            name = f"{name} ({r['setting']})"
        names.append(name)
    fig, axes = plt.subplots(1, len(metrics), figsize=(1.2 + 2.6 * len(metrics),
                                                       1.6 + 0.32 * len(rows)),
                             squeeze=False, constrained_layout=True)
    colors = plt.get_cmap("tab10")
    y = np.arange(len(rows))
    for ax, key in zip(axes[0], metrics):
        label, lower_better = known.get(key, (key, True))
        vals = np.array([_number(r.get(key)) for r in rows])
        ok = np.isfinite(vals)
        ax.barh(y[ok], vals[ok], color=[colors(i % 10) for i in np.flatnonzero(ok)])
        for i in np.flatnonzero(~ok):
            ax.text(0, i, " n/a", va="center", ha="left", fontsize=8, color="0.4")
        for i in np.flatnonzero(ok):
            ax.text(vals[i], i, f" {vals[i]:.3g}", va="center",
                    ha="left" if vals[i] >= 0 else "right", fontsize=8)
        if key == "fit_seconds" and log_time and ok.any() and np.all(vals[ok] > 0):
            ax.set_xscale("log")
            ax.set_xlim(0.5 * vals[ok].min(), 3 * vals[ok].max())
        elif ok.any():
            # room beyond the longest bar for its value label, on the side it points to:
            # negative bars (log-likelihoods) put their labels left of their ends
            lo, hi = min(float(vals[ok].min()), 0.0), max(float(vals[ok].max()), 0.0)
            span = (hi - lo) or 1.0
            ax.set_xlim(lo - 0.45 * span * (lo < 0), hi + 0.3 * span * (hi > 0 or lo == 0))
        ax.set_title(label + ("\n(lower is better)" if lower_better else "\n(higher is better)"),
                     fontsize=9)
        ax.set_yticks(y)
        ax.set_yticklabels(names if ax is axes[0][0] else [])
        ax.set_ylim(len(rows) - 0.5, -0.5)  # first row on top, every row keeps its slot
    return fig


def plot_select_k(result: Any, *, axes: Any = None) -> Any:
    """The two curves behind :func:`lls_topics.select_n_topics`, with the chosen k.

    Left: held-out log-likelihood per sample against k, relative to the best,
    with one standard error (paired over domains); near-ties are filled. Right:
    the anchor residual curve (log scale). The chosen k is marked on both.

    Parameters
    ----------
    result : SelectionResult
        What :func:`lls_topics.select_n_topics` returned.
    axes : pair of matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _pyplot()
    needed = ("candidates_", "scores_", "score_se_", "residuals_", "best_", "near_ties_")
    if not all(hasattr(result, name) for name in needed):
        raise ValueError("result must be the SelectionResult of lls_topics.select_n_topics")
    k = np.asarray(result.candidates_)
    rel = np.asarray(result.scores_) - np.max(result.scores_)
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), constrained_layout=True)
    else:
        axes = np.atleast_1d(axes)
        if len(axes) < 2:
            raise ValueError(f"axes must hold 2 Axes, got {len(axes)}")
        fig = axes[0].figure
    ax = axes[0]
    ax.errorbar(k, rel, yerr=result.score_se_, fmt="-", color="C0", ecolor="0.6", capsize=2)
    tie = np.isin(k, result.near_ties_)
    ax.plot(k[~tie], rel[~tie], "o", mfc="white", color="C0")
    ax.plot(k[tie], rel[tie], "o", color="C0", label="within 1 s.e. of the best")
    ax.set_xlabel("k")
    ax.set_ylabel("held-out log-lik. per sample\n(minus the best)")
    ax.set_title("document completion")
    ax.legend(loc="lower right", fontsize=8)
    ax = axes[1]
    res = np.asarray(result.residuals_, dtype=np.float64)
    ok = res > 0
    ax.semilogy(k[ok], res[ok], "o-", color="C1")
    ax.set_xlabel("k")
    ax.set_ylabel("residual of the k-th anchor pick")
    ax.set_title("anchor residual curve")
    for a in axes[:2]:
        a.axvline(result.best_, color="C3", ls="--", lw=1)
        a.text(result.best_, 0.03, f" k = {result.best_}", color="C3", va="bottom",
               transform=a.get_xaxis_transform(), fontsize=8)
    return fig
