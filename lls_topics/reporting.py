"""A fit you can look at: one self-contained HTML page per fitted model.

:func:`report` writes the page: a summary, the p_d(y) heatmap with domains clustered by
their label mix, per label the top inputs by p(x|y) and by relevance (pyLDAvis's
``lambda log p(x|y) + (1 - lambda) log lift``), the anchors and how exclusive they are,
identifiability diagnostics, DDFA's p(d|x) simplex and choices, and, given the truth,
the aligned truth and the errors. Figures are inline PNGs; the page needs no network.
It shows the top inputs only: the full tables belong in the CSV files of
``lls-topics fit``.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Mapping, NamedTuple

import numpy as np
import scipy.sparse as sp

from . import _report_html as H
from ._validation import check_count_matrix, check_distribution_matrix

__all__ = ["report", "check_report_path", "fitted_view", "FittedView", "domain_order",
           "relevance"]

#: at most this many samples are drawn in DDFA's p(d|x) simplex
_SIMPLEX_POINTS = 2000
#: condition number of p_d(y) above which the labels are barely identifiable (as the
#: solvers' IdentifiabilityWarning)
_MAX_CONDITION = 1e4
#: the top lists leave out inputs with p(x|y) below this fraction of the label's largest
_NEGLIGIBLE = 1e-6
#: an anchor whose label owns less than this share of it, p(y|anchor), is flagged
_MIN_EXCLUSIVITY = 0.9


class FittedView(NamedTuple):
    """The model's factors and the data they were checked against."""

    kind: str                  # "discrete" or "ddfa"
    domain_topic: np.ndarray   # (D, k) p_d(y)
    topic_word: np.ndarray     # (k, V) p(x|y); DDFA: p(cluster|y)
    domain_ids: np.ndarray     # (D,)
    domain_sizes: np.ndarray   # (D,) samples per domain at fit
    vocab: list                # V names
    input_counts: np.ndarray | None  # (V,) occurrences in the data (discrete)
    shape_text: str
    n_samples: float
    X: Any = None              # DDFA features
    rows: np.ndarray | None = None   # DDFA: row of each sample's domain


def report(model: Any, data: Any, path: str | os.PathLike, *, truth: Any = None,
           title: str | None = None, bootstrap: Any = None, fit_seconds: float | None = None,
           n_top: int = 15, relevance_lambda: float = 0.6) -> Path:
    """Write a self-contained HTML report of a fitted model.

    Parameters
    ----------
    model : fitted AnchorSolver, NMFSolver, LDASolver or DDFA
    data : DomainCorpus or count matrix of shape (n_domains, n_words), or for DDFA a pair
        ``(X, domains)``
        The data the model describes (usually its training data).
    path : str or path-like
        The ``.html`` file to write. It is written to a temporary file beside it and
        renamed, so an error leaves no partial file.
    truth : optional
        The planted truth: an array of p_d(y) (one row per domain of ``data``), or an
        object or mapping with ``domain_topic`` and optionally ``topic_word`` (p(x|y)) and
        ``labels`` (per-sample labels: of ``tokens``/``domains`` given beside them, as in
        :class:`~lls_topics.datasets.DiscreteLLS`, or of the rows of DDFA's ``X``).
    title : str, optional
    bootstrap : optional
        Any object with ``domain_topic_low_`` and ``domain_topic_high_`` of shape
        (n_domains, n_topics), e.g. from ``lls_topics.bootstrap``: drawn as interval bars.
    fit_seconds : float, optional
        Fit time to show (default: the model's ``fit_seconds_`` if it has one).
    n_top : int, default=15
        Inputs listed per label and table.
    relevance_lambda : float in [0, 1], default=0.6
        pyLDAvis's lambda: 1 ranks by p(x|y), 0 by lift p(x|y) / p(x).

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    ValueError
        For an unfitted model, data whose shape disagrees with the model, a truth or
        bootstrap of the wrong shape, or a path that cannot be written.

    Examples
    --------
    >>> import tempfile
    >>> from lls_topics import AnchorSolver, make_discrete_lls, report
    >>> prob = make_discrete_lls(n_topics=3, n_words=40, n_domains=6, random_state=0)
    >>> model = AnchorSolver(3, random_state=0).fit(prob.corpus)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     page = report(model, prob.corpus, f"{tmp}/model.html", truth=prob)
    ...     page.name, page.read_text().startswith("<!DOCTYPE html>")
    ('model.html', True)
    """
    out = check_report_path(path)
    if not isinstance(n_top, (int, np.integer)) or isinstance(n_top, bool) or n_top < 1:
        raise ValueError(f"n_top must be an int >= 1, got {n_top!r}")
    lam = float(relevance_lambda)
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"relevance_lambda must be in [0, 1], got {relevance_lambda!r}")
    view = fitted_view(model, data)
    parsed_truth = None if truth is None else _parse_truth(truth, view)
    try:
        import matplotlib  # noqa: F401  (every figure needs it)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("lls_topics.report needs matplotlib: pip install "
                          "'lls-topics[plot]'") from exc
    band = None if bootstrap is None else _parse_bootstrap(bootstrap, view)
    fd, tmp = _open_temp(out)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(_build(model, view, parsed_truth, band, title, fit_seconds,
                            int(n_top), lam))
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return out


# ---------------------------------------------------------------------------- checks
def check_report_path(path: Any) -> Path:
    """``path`` as a Path, or a ValueError when its folder is missing or it is a folder."""
    try:
        out = Path(os.fspath(path))
    except TypeError:
        raise ValueError(f"path must be a file name, got {type(path).__name__}") from None
    if out.is_dir():
        raise ValueError(f"path {str(out)!r} is a directory; expected a file such as "
                         "report.html")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"path {str(out)!r}: the directory {str(parent)!r} does not exist")
    return out


def _open_temp(out: Path) -> tuple[int, str]:
    try:
        return tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    except OSError as exc:
        raise ValueError(f"path {str(out)!r} cannot be written: {exc.strerror}") from None


def _is_ddfa(model: Any) -> bool:
    return hasattr(model, "cluster_topic_") or hasattr(model, "discriminator_")


def fitted_view(model: Any, data: Any) -> FittedView:
    """Check that ``model`` is fitted and ``data`` matches it; gather what the page shows.

    Raises
    ------
    ValueError
        For an unfitted model or data whose shape or domains disagree with it.
    """
    if not hasattr(model, "get_params") or not hasattr(model, "fit"):
        raise ValueError(f"model must be a fitted lls_topics solver or DDFA, got "
                         f"{type(model).__name__}")
    needed = ("domain_topic_", "cluster_topic_", "discriminator_") if _is_ddfa(model) \
        else ("domain_topic_", "topic_word_", "domain_ids_")
    missing = [a for a in needed if getattr(model, a, None) is None]
    if missing:
        raise ValueError(f"model is not fitted ({type(model).__name__} has no "
                         f"{missing[0]}); call fit before report")
    return _ddfa_view(model, data) if _is_ddfa(model) else _discrete_view(model, data)


def _discrete_view(model: Any, data: Any) -> FittedView:
    from .corpus import DomainCorpus

    A = np.asarray(model.topic_word_, dtype=np.float64)
    P = np.asarray(model.domain_topic_, dtype=np.float64)
    ids = np.asarray(model.domain_ids_)
    vocab = None
    if isinstance(data, DomainCorpus):
        counts, data_ids, vocab = data.counts, list(np.asarray(data.domain_ids).tolist()), \
            data.vocabulary
    else:
        if isinstance(data, tuple):
            raise ValueError(f"data must be a DomainCorpus or a count matrix for a "
                             f"{type(model).__name__}, got a tuple")
        counts = check_count_matrix(data, "data", allow_fractional=True)
        data_ids = list(range(counts.shape[0]))
    counts = sp.csr_matrix(counts, dtype=np.float64)
    if counts.shape[1] != A.shape[1]:
        raise ValueError(f"data has {counts.shape[1]} inputs (columns), but the model was "
                         f"fitted on {A.shape[1]}")
    row_of = {d: i for i, d in enumerate(data_ids)}
    missing = [d for d in ids.tolist() if d not in row_of]
    if missing:
        raise ValueError(f"data has {counts.shape[0]} domains (rows) and lacks the fitted "
                         f"domain {missing[0]!r}; expected the data the model was fitted on")
    counts = counts[[row_of[d] for d in ids.tolist()]]
    if vocab is None:
        vocab = getattr(model, "vocabulary_", None)
    vocab = [str(v) for v in vocab] if vocab is not None else [str(i) for i in
                                                               range(A.shape[1])]
    n = float(counts.sum())
    return FittedView("discrete", P, A, ids, np.asarray(counts.sum(axis=1)).ravel(), vocab,
                 np.asarray(counts.sum(axis=0)).ravel(),
                 f"{P.shape[0]:,} domains x {A.shape[1]:,} inputs", n)


def _ddfa_view(model: Any, data: Any) -> FittedView:
    from .corpus import map_domain_ids, row_lookup

    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ValueError("data must be a pair (X, domains) for a DDFA model")
    X, domains = data
    X = np.asarray(X)
    shape = getattr(model.discriminator_, "input_shape_", None)
    if X.ndim < 2 or (shape is not None and list(X.shape[1:]) != list(shape)):
        raise ValueError(f"data's X has shape {X.shape}, but the model's discriminator "
                         f"expects (n_samples, {', '.join(map(str, shape or ['...']))})")
    ids = np.asarray(model.domain_ids_)
    rows = map_domain_ids(domains, row_lookup(ids), "data's domains")
    if rows.size != X.shape[0]:
        raise ValueError(f"data's X and domains must have the same length, got {X.shape[0]} "
                         f"and {rows.size}")
    A = np.asarray(model.cluster_topic_, dtype=np.float64)
    P = np.asarray(model.domain_topic_, dtype=np.float64)
    vocab = [f"cluster {c}" for c in range(A.shape[1])]
    return FittedView("ddfa", P, A, ids, np.asarray(model.domain_sizes_, dtype=np.float64), vocab,
                 None, f"{X.shape[0]:,} samples x {int(np.prod(X.shape[1:])):,} features, "
                 f"{P.shape[0]:,} domains", float(X.shape[0]), X, rows)


class _Truth(NamedTuple):
    domain_topic: np.ndarray        # (D, k_true), rows of the model's domains
    topic_word: np.ndarray | None   # (k_true, V)
    labels: np.ndarray | None       # per sample
    tokens: Any = None
    domains: Any = None


def _parse_truth(truth: Any, view: FittedView) -> _Truth:
    if isinstance(truth, Mapping):
        get = truth.get
    elif hasattr(truth, "domain_topic"):
        def get(key: str) -> Any:
            return getattr(truth, key, None)
    else:
        def get(key: str) -> Any:
            return truth if key == "domain_topic" else None
    P = get("domain_topic")
    if P is None:
        raise ValueError("truth must be an array of p_d(y) or have a domain_topic entry")
    P = check_distribution_matrix(P, "truth's domain_topic")
    D = view.domain_topic.shape[0]
    if P.shape[0] != D:
        ids = view.domain_ids
        if ids.dtype.kind in "iu" and ids.size and ids.min() >= 0 and ids.max() < P.shape[0]:
            P = P[ids]  # empty domains were dropped at fit: keep the fitted ones
        else:
            raise ValueError(f"truth's domain_topic has {P.shape[0]} rows, expected one per "
                             f"fitted domain ({D})")
    if P.shape[1] > view.domain_topic.shape[1]:
        raise ValueError(f"truth has {P.shape[1]} labels, more than the model's "
                         f"{view.domain_topic.shape[1]}")
    A = get("topic_word")
    if A is not None:
        A = check_distribution_matrix(A, "truth's topic_word")
        if A.shape != (P.shape[1], view.topic_word.shape[1]) or view.kind != "discrete":
            A = None  # a truth over other inputs (e.g. DDFA's raw features) is not compared
    labels = get("labels")
    tokens, domains = get("tokens"), get("domains")
    if labels is not None:
        labels = np.asarray(labels).ravel()
        n = len(tokens) if view.kind == "discrete" and tokens is not None else \
            (view.X.shape[0] if view.kind == "ddfa" else None)
        if n is None:
            labels = None  # no samples to predict for
        elif labels.size != n:
            raise ValueError(f"truth's labels has {labels.size} entries, expected one per "
                             f"sample ({n})")
    return _Truth(P, A, labels, tokens, domains)


def _parse_bootstrap(bootstrap: Any, view: FittedView) -> tuple[np.ndarray, np.ndarray]:
    try:
        low = np.asarray(bootstrap.domain_topic_low_, dtype=np.float64)
        high = np.asarray(bootstrap.domain_topic_high_, dtype=np.float64)
    except AttributeError:
        raise ValueError("bootstrap must have domain_topic_low_ and domain_topic_high_ "
                         f"(got {type(bootstrap).__name__})") from None
    if low.shape != view.domain_topic.shape or high.shape != low.shape:
        raise ValueError(f"bootstrap's intervals must have the model's p_d(y) shape "
                         f"{view.domain_topic.shape}, got {low.shape} and {high.shape}")
    return low, high


# ---------------------------------------------------------------------------- numbers
def domain_order(domain_topic: np.ndarray) -> np.ndarray:
    """Domains ordered by an average-linkage clustering of their label mixes (L1)."""
    P = np.asarray(domain_topic, dtype=np.float64)
    if P.shape[0] < 3:
        return np.arange(P.shape[0])
    from scipy.cluster.hierarchy import leaves_list, linkage

    return leaves_list(linkage(P, method="average", metric="cityblock"))


def relevance(topic_word: np.ndarray, prior: np.ndarray, lam: float
              ) -> tuple[np.ndarray, np.ndarray]:
    """Lift ``p(x|y) / p(x)`` and pyLDAvis relevance, both of shape (k, V).

    ``p(x) = sum_y p(y) p(x|y)`` under the pooled prior; inputs no label emits get lift 0
    and relevance -inf.
    """
    A = np.asarray(topic_word, dtype=np.float64)
    px = np.asarray(prior, dtype=np.float64) @ A
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(px > 0, A / np.where(px > 0, px, 1.0), 0.0)
        rel = np.where(A > 0, lam * np.log(np.where(A > 0, A, 1.0)) +
                       (1 - lam) * np.log(np.where(lift > 0, lift, 1.0)), -np.inf)
    return lift, rel


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` largest finite scores, largest first (ties by index)."""
    n = min(n, scores.size)
    cand = np.argpartition(-scores, n - 1)[:n] if n < scores.size else np.arange(scores.size)
    cand = cand[np.isfinite(scores[cand])]
    return cand[np.lexsort((cand, -scores[cand]))]


def _anchors(model: Any, view: FittedView) -> list[np.ndarray] | None:
    """Anchor inputs of each of the model's labels, or None."""
    if view.kind == "ddfa":
        solver = getattr(model, "solver_", None)
        anchors = getattr(solver, "anchors_", None)
        if anchors is None:
            return None
        order = np.asarray(getattr(model, "solver_label_order_",
                                   np.arange(len(anchors))), dtype=np.int64)
        anchors = [anchors[i] for i in order]
    else:
        anchors = getattr(model, "anchors_", None)
        if anchors is None:
            return None
    return [np.atleast_1d(np.asarray(a, dtype=np.int64)).ravel() for a in anchors]


def _condition(P: np.ndarray) -> float:
    sv = np.linalg.svd(P, compute_uv=False)
    return float("inf") if sv[-1] <= 0 else float(sv[0] / sv[-1])


# ---------------------------------------------------------------------------- sections
def _build(model: Any, view: FittedView, truth: _Truth | None, band: Any, title: str | None,
           fit_seconds: float | None, n_top: int, lam: float) -> str:
    from . import __version__

    P = view.domain_topic
    k = P.shape[1]
    w = view.domain_sizes / view.domain_sizes.sum()
    prior = w @ P
    order = domain_order(P)
    name = type(model).__name__
    title = title or f"{name}: {k} labels, {view.shape_text}"
    body = [_summary(model, view, fit_seconds, __version__),
            _mix_section(view, order, band),
            _label_section(model, view, prior, n_top, lam),
            _diagnostics_section(model, view, prior)]
    if view.kind == "ddfa":
        body.append(_ddfa_section(model, view, truth))
    if truth is not None:
        body.append(_truth_section(model, view, truth, order))
    return H.page(title, f"{name} fitted to {view.shape_text}; "
                  f"{view.n_samples:,.0f} samples", "\n".join(body), __version__)


def _section(sid: str, heading: str, content: str) -> str:
    return f'<section id="{sid}"><h2>{H.esc(heading)}</h2>{content}</section>'


def _param_text(v: Any) -> str:
    if v is None or isinstance(v, (bool, int, float, str, np.integer, np.floating)):
        return H.fmt(v)
    return type(v).__name__


def _summary(model: Any, view: FittedView, fit_seconds: float | None, version: str) -> str:
    if fit_seconds is None:
        fit_seconds = getattr(model, "fit_seconds_", None)
    ll = getattr(model, "log_likelihood_", None)
    ll_note = ""
    if ll is None and view.kind == "ddfa":
        ll = getattr(getattr(model, "solver_", None), "log_likelihood_", None)
        ll_note = " (of the domain-by-cluster counts)"
    items = [("model", type(model).__name__), ("data", view.shape_text),
             ("samples", f"{view.n_samples:,.0f}"), ("labels", view.domain_topic.shape[1]),
             ("log-likelihood per sample" + ll_note, "n/a" if ll is None else H.fmt(ll)),
             ("fit time", "not recorded" if fit_seconds is None else
              f"{float(fit_seconds):.3g} s"),
             ("lls_topics version", version)]
    params = sorted(model.get_params(deep=False).items())
    content = ('<div class="cols"><div>' + H.key_values(items) + "</div><div><h3>parameters"
               '</h3><p class="params">' + " ".join(f"<code>{H.esc(k)}={H.esc(_param_text(v))}"
                                                    "</code>" for k, v in params) +
               "</p></div></div>")
    return _section("summary", "Summary", content)


def _mix_section(view: FittedView, order: np.ndarray, band: Any) -> str:
    P = view.domain_topic
    fig = _heatmaps(None, P, view, order)
    fig.axes[0].set_title("$p_d(y)$, domains ordered by a clustering of their label mix")
    content = ('<p class="sub">Each row is a domain, each column a label; domains with '
               "similar label mixes sit together.</p>" + H.figure(fig, "p_d(y) heatmap"))
    if band is not None:
        content += ("<h3>Bootstrap intervals</h3>" +
                    H.figure(_interval_figure(P, band, order), "p_d(y) intervals"))
    return _section("mix", "Label mix across domains", content)


def _heatmaps(true: np.ndarray | None, P: np.ndarray, view: FittedView, order: np.ndarray) -> Any:
    """p_d(y) (beside the aligned truth), domains in ``order``, at most 6 inches high."""
    import matplotlib.pyplot as plt

    from .plotting import plot_domain_topics

    n = 1 if true is None else 2
    width = 1.2 + 0.45 * P.shape[1]
    fig, axes = plt.subplots(1, n, figsize=(2.2 + width * n, 1.5 + 0.18 * min(len(P), 25)),
                             squeeze=False, constrained_layout=True)
    return plot_domain_topics(None if true is None else true[order], P[order],
                              domain_ids=[str(d) for d in view.domain_ids[order]],
                              axes=axes[0])


def _interval_figure(P: np.ndarray, band: tuple[np.ndarray, np.ndarray],
                     order: np.ndarray) -> Any:
    import matplotlib.pyplot as plt

    low, high = band
    D, k = P.shape
    cols = min(k, 4)
    nrows = int(np.ceil(k / cols))
    fig, axes = plt.subplots(nrows, cols, figsize=(3.2 * cols, 2.1 * nrows), squeeze=False,
                             sharey=True, constrained_layout=True)
    x = np.arange(D)
    for y in range(nrows * cols):
        ax = axes.flat[y]
        if y >= k:
            ax.set_visible(False)
            continue
        est, lo, hi = P[order, y], low[order, y], high[order, y]
        if D <= 80:
            ax.errorbar(x, est, yerr=[np.clip(est - lo, 0, None), np.clip(hi - est, 0, None)],
                        fmt="o", ms=2.5, lw=0.8, color="tab:blue")
        else:
            ax.fill_between(x, lo, hi, color="tab:blue", alpha=0.3, lw=0)
            ax.plot(x, est, lw=0.6, color="tab:blue")
        ax.set_title(f"label {y}", fontsize=9)
        ax.set_ylim(0, 1)
        ax.set_xticks([])
    fig.supxlabel("domains (heatmap order)", fontsize=9)
    return fig


def _label_section(model: Any, view: FittedView, prior: np.ndarray, n_top: int,
                   lam: float) -> str:
    A = view.topic_word
    k = A.shape[0]
    lift, rel = relevance(A, prior, lam)
    px = prior @ A
    anchors = _anchors(model, view)
    noun = "input" if view.kind == "discrete" else "cluster"
    counts = view.input_counts
    buttons = "".join(f'<button type="button" data-label="{y}" aria-selected="false">'
                      f"label {y} ({prior[y]:.0%})</button>" for y in range(k))
    panels = []
    for y in range(k):
        def rows(idx: np.ndarray) -> list:
            out = []
            for i in idx.tolist():
                r = [view.vocab[i], A[y, i], lift[y, i], rel[y, i]]
                if counts is not None:
                    r.append(int(round(counts[i])))
                out.append(r)
            return out
        header = [noun, "p(x|y)", "lift", f"relevance (λ={lam:g})"] + \
            (["count"] if counts is not None else [])
        # inputs the label barely emits say nothing about it, whatever their rank
        tiny = A[y] < _NEGLIGIBLE * A[y].max()
        top_p = H.table(header, rows(_top(np.where(tiny, -np.inf, A[y]), n_top)),
                        sortable=True, bars={1: float(A[y].max())})
        top_r = H.table(header, rows(_top(np.where(tiny, -np.inf, rel[y]), n_top)),
                        sortable=True, bars={1: float(A[y].max())})
        panels.append(
            f'<div class="label-panel" data-label="{y}" id="label-{y}">'
            f"<h3>label {y}: {prior[y]:.1%} of the samples</h3>"
            f'<div class="cols"><div><h3>top {noun}s by p(x|y)</h3>{top_p}</div>'
            f"<div><h3>top {noun}s by relevance, λ={lam:g}</h3>{top_r}</div></div>"
            f"{_anchor_block(y, anchors, A, prior, px, view, noun)}</div>")
    intro = (f'<p class="sub">Relevance is pyLDAvis\'s λ·log p(x|y) + (1-λ)·log lift, with '
             f"lift = p(x|y)/p(x) and p(x) the fitted pooled marginal; λ=1 ranks by p(x|y), "
             f"λ=0 by lift. Click a column header to sort.</p>")
    return _section("labels", "Labels", intro + f'<div class="switcher" role="tablist">'
                    f"{buttons}</div>" + "".join(panels))


def _anchor_block(y: int, anchors: list[np.ndarray] | None, A: np.ndarray,
                  prior: np.ndarray, px: np.ndarray, view: FittedView, noun: str) -> str:
    with np.errstate(divide="ignore", invalid="ignore"):
        excl = np.where(px > 0, prior[y] * A[y] / np.where(px > 0, px, 1.0), 0.0)
    if anchors is not None:
        idx = anchors[y]
        heading = (f"anchor {noun}s (strength: p(y|x), the share of the {noun} that this "
                   "label emits; 1 is a perfect anchor)")
    else:
        # the solver picked no anchors: among the label's frequent inputs (a rare input
        # is trivially exclusive), those it owns most
        cand = _top(A[y], 50)
        idx = cand[np.lexsort((-A[y, cand], -np.round(excl[cand], 3)))][:5]
        heading = (f"most exclusive of the label's top 50 {noun}s (the solver picks no "
                   "anchors), by p(y|x)")
    rows = [[view.vocab[i], excl[i], A[y, i]] +
            ([int(round(view.input_counts[i]))] if view.input_counts is not None else [])
            for i in idx.tolist()]
    header = [noun, "strength p(y|x)", "p(x|y)"] + \
        (["count"] if view.input_counts is not None else [])
    return f"<h3>{H.esc(heading)}</h3>" + H.table(header, rows, bars={1: 1.0})


def _diagnostics_section(model: Any, view: FittedView, prior: np.ndarray) -> str:
    P = view.domain_topic
    D, k = P.shape
    cond = _condition(P)
    items = [("domains / labels", f"{D} / {k}"),
             ("condition number of p_d(y)", H.fmt(cond)),
             ("smallest label share p(y)", H.fmt(float(prior.min())))]
    notes = []
    if cond > _MAX_CONDITION:
        notes.append(f"p_d(y) has condition number {cond:.3g}: the labels are barely "
                     "identifiable from these domains (collinear domains, or too many labels)")
    if prior.min() < 0.05 / k:
        notes.append(f"label {int(np.argmin(prior))} holds {prior.min():.2%} of the samples: "
                     "it may be spurious (try fewer labels)")
    anchors = _anchors(model, view)
    if anchors is not None:
        px = prior @ view.topic_word
        for y, idx in enumerate(anchors):
            if idx.size == 0 or px[idx].sum() <= 0:
                continue
            share = float(prior[y] * view.topic_word[y, idx].sum() / px[idx].sum())
            if share < _MIN_EXCLUSIVITY:
                notes.append(f"label {y}'s anchors are only {share:.0%} its own: other labels "
                             "emit them too, so the anchor condition may not hold")
    solver = model.solver_ if view.kind == "ddfa" else model
    res = getattr(solver, "anchor_residuals_", None)
    if res is not None:
        items.append(("anchor residuals (in pick order)",
                      ", ".join(H.fmt(r, 3) for r in np.asarray(res).ravel())))
    content = H.key_values(items)
    extra = _model_diagnostics(model if hasattr(model, "diagnostics") else solver)
    if extra:
        content += "<h3>the model's own diagnostics</h3>" + extra
    content += "".join(f'<div class="warn">{H.esc(n)}</div>' for n in notes) or \
        '<div class="ok">No identifiability warning.</div>'
    return _section("diagnostics", "Identifiability diagnostics", content)


def _model_diagnostics(model: Any) -> str:
    """The model's ``diagnostics()`` (where it has one), as tables and warnings."""
    method = getattr(model, "diagnostics", None)
    if not callable(method):
        return ""
    result = method()
    if hasattr(result, "to_dict") and callable(result.to_dict):
        result = result.to_dict()
    elif hasattr(result, "_fields"):  # a namedtuple
        result = dict(zip(result._fields, result))
    elif hasattr(result, "__dataclass_fields__"):
        import dataclasses

        result = dataclasses.asdict(result)
    if not isinstance(result, Mapping):
        return f"<p>{H.esc(result)}</p>"
    items, notes = [], []
    for key, value in result.items():
        if key in ("warnings", "messages") and isinstance(value, (list, tuple)):
            notes += [str(v) for v in value]
            continue
        items.append((str(key), _value_text(value)))
    return H.key_values(items) + "".join(f'<div class="warn">{H.esc(n)}</div>' for n in notes)


def _value_text(value: Any, limit: int = 12) -> str:
    """A short text for a diagnostic: numbers, lists of numbers or of tuples (pairs)."""
    if isinstance(value, Mapping):
        return str(dict(value))[:200]
    if isinstance(value, str) or np.ndim(value) == 0:
        return H.fmt(value)
    arr = np.asarray(value)
    if arr.size == 0:
        return "none"
    if arr.dtype.kind not in "biuf" or arr.ndim > 2:
        return str(value)[:200]
    parts = [H.fmt(v, 3) for v in arr[:limit]] if arr.ndim == 1 else \
        ["(" + ", ".join(H.fmt(v, 3) for v in row) + ")" for row in arr[:limit]]
    return ", ".join(parts) + (" ..." if len(arr) > limit else "")


def _ddfa_section(model: Any, view: FittedView, truth: _Truth | None) -> str:
    from .plotting import label_vertices, plot_simplex

    n = view.X.shape[0]
    rng = np.random.default_rng(0)
    sub = np.sort(rng.choice(n, size=_SIMPLEX_POINTS, replace=False)) if n > _SIMPLEX_POINTS \
        else np.arange(n)
    Q = model.discriminator_.predict_proba(view.X[sub])
    if truth is not None and truth.labels is not None:
        colors, what = truth.labels[sub], "true labels"
    else:
        colors, what = model.predict(view.X[sub], view.domain_ids[view.rows[sub]]), \
            "predicted labels"
    V = label_vertices(view.domain_topic, view.domain_sizes)
    fig = plot_simplex(Q, V, labels=colors, max_points=_SIMPLEX_POINTS,
                       title=f"p(d|x) of {sub.size} samples ({what}), label vertices p(d|y)")
    signal = getattr(model, "domain_signal_", None)
    share = getattr(model, "feature_share_", None)
    items = [("clustering space", getattr(model, "space_", "n/a")),
             ("vocabulary size (clusters)", getattr(model, "n_clusters_", "n/a")),
             ("posterior", getattr(model, "posterior_", "n/a")),
             ("domain signal", "n/a" if signal is None else H.fmt(signal)),
             ("feature share", "n/a" if share is None else H.fmt(share)),
             ("discriminator epochs", getattr(model.discriminator_, "n_epochs_", "n/a")),
             ("refinement rounds", model.get_params().get("refine_rounds", 0))]
    history = getattr(model, "refine_history_", None)
    if history:
        rows = [dict(r) for r in history]
        keys = list(dict.fromkeys(k for r in rows for k in r))
        hist = "<h3>refinement rounds</h3>" + H.table(
            ["round"] + keys, [[i + 1] + [r.get(c, "") for c in keys]
                               for i, r in enumerate(rows)], sortable=True)
    elif items[-1][1]:
        hist = ('<p class="sub">This model ran refinement rounds but records no per-round '
                "history.</p>")
    else:
        hist = '<p class="sub">No refinement rounds (refine_rounds=0).</p>'
    content = ('<div class="cols"><div>' + H.key_values(items) + hist + "</div><div>" +
               H.figure(fig, "p(d|x) simplex") + "</div></div>")
    return _section("ddfa", "DDFA: discriminator, clusters, refinement", content)


def _truth_section(model: Any, view: FittedView, truth: _Truth, order: np.ndarray) -> str:
    from .metrics import align_labels, matched_accuracy, topic_l1

    P_true, P = truth.domain_topic, view.domain_topic
    perm = align_labels(P_true, P)
    diff = np.abs(P_true - P[:, perm])
    items = [("L1 error of p_d(y), summed", float(diff.sum())),
             ("mean absolute error per entry", float(diff.mean())),
             ("largest entry error", float(diff.max()))]
    if truth.topic_word is not None:
        items.append(("L1 error of p(x|y), summed over labels",
                      topic_l1(truth.topic_word, view.topic_word, perm=perm)))
    if truth.labels is not None:
        if view.kind == "ddfa":
            pred = model.predict(view.X, view.domain_ids[view.rows])
        else:
            pred = model.predict(truth.tokens, truth.domains)
        items.append(("matched accuracy of argmax p_d(y|x)",
                      matched_accuracy(truth.labels, pred)))
    fig = _heatmaps(P_true, P, view, order)
    rows = [[j, int(perm[j]), float(P_true[:, j].mean()), float(P[:, perm[j]].mean()),
             float(diff[:, j].sum())] for j in range(P_true.shape[1])]
    content = (H.key_values((k, H.fmt(v)) for k, v in items) +
               H.figure(fig, "true and estimated p_d(y), aligned") +
               "<h3>label alignment (Hungarian matching on p_d(y))</h3>" +
               H.table(["true label", "estimated label", "mean true p_d(y)",
                        "mean estimated p_d(y)", "L1 error"], rows, sortable=True))
    return _section("truth", "Against the truth", content)
