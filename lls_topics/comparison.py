"""Fit several topic solvers on the same data and tabulate their accuracy and cost.

:func:`compare` is what ``lls-topics compare`` prints and plots: one row per
solver with its fit time and log-likelihood and, when the truth is known (a
planted problem), its prior error measured as in ``docs/protocol.md``.
"""
from __future__ import annotations

import time
import warnings
from typing import Any, Sequence

import numpy as np
from sklearn.base import clone

from ._validation import check_random_state
from .corpus import DomainCorpus
from .datasets import DiscreteLLS
from .solvers.em import fit_domain_topic
from .metrics import align_labels, matched_accuracy, prior_l1, topic_l1
from .solvers.registry import make_solver, solver_names

__all__ = ["compare", "align_to_truth"]

#: tokens used for matched accuracy; more only cost time (the error is ~1/sqrt(n))
_MAX_ACCURACY_TOKENS = 200_000


def _as_truth(truth: Any) -> dict | None:
    if truth is None:
        return None
    if isinstance(truth, DiscreteLLS):
        return {"domain_topic": truth.domain_topic, "topic_word": truth.topic_word,
                "tokens": truth.tokens, "domains": truth.domains, "labels": truth.labels}
    if isinstance(truth, dict):
        if "domain_topic" not in truth:
            raise ValueError("truth must be a DiscreteLLS or a dict with at least "
                             "'domain_topic' (and optionally 'topic_word', 'tokens', "
                             "'domains', 'labels')")
        return dict(truth)
    raise ValueError(f"truth must be a DiscreteLLS, a dict or None, got {type(truth).__name__}")


def _as_corpus(data: Any) -> DomainCorpus:
    if isinstance(data, DiscreteLLS):
        return data.corpus
    if isinstance(data, DomainCorpus):
        return data
    return DomainCorpus(data, allow_fractional=True)


def align_to_truth(domain_topic: np.ndarray, true_domain_topic: np.ndarray) -> np.ndarray:
    """Permute the columns of ``domain_topic`` (D, k) to best match the truth in L1.

    Returns
    -------
    ndarray of shape (D, k); rows sum to 1 (as the input's do).
    """
    return np.asarray(domain_topic)[:, align_labels(true_domain_topic, domain_topic)]


def _solver_list(solvers: Any, n_topics: int | None, random_state: Any) -> list[tuple[str, Any]]:
    if isinstance(solvers, (str, bytes)) or not isinstance(solvers, Sequence):
        solvers = [solvers]
    if len(solvers) == 0:
        raise ValueError("solvers is empty; expected at least one solver name or instance")
    out = []
    for item in solvers:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            name, est = item[0], clone(item[1])
        elif isinstance(item, str):
            if n_topics is None:
                raise ValueError("n_topics is required when the truth is not given")
            name, est = item, make_solver(item, n_topics, random_state=random_state)
        elif hasattr(item, "fit") and hasattr(item, "get_params"):
            name, est = type(item).__name__, clone(item)
        else:
            raise ValueError(f"solvers must hold names ({', '.join(solver_names())}), solver "
                             f"instances or (name, solver) pairs, got {item!r}")
        out.append((name, est))
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        raise ValueError(f"solver names must be unique, got {names}; pass (name, solver) "
                         "pairs to tell them apart")
    return out


def compare(data: Any, solvers: Any = ("anchor", "nmf", "lda"), truth: Any = None,
            random_state: Any = 0, *, n_topics: int | None = None,
            return_fitted: bool = False) -> Any:
    """Fit each solver on the same data and report one row per solver.

    Parameters
    ----------
    data : DomainCorpus, DiscreteLLS, or array-like / sparse of shape (n_domains, n_words)
        The counts. A :class:`~lls_topics.datasets.DiscreteLLS` is also used as the
        truth unless ``truth`` is given.
    solvers : sequence of str, solver instances or (name, solver) pairs
        Names are ``"anchor"``, ``"nmf"`` (KL, anchor start), ``"nmf-frobenius"``,
        ``"nmf-reference"`` (the DDFA paper's step) and ``"lda"``. Instances are cloned
        before fitting.
    truth : DiscreteLLS or dict, optional
        The planted solution: ``domain_topic`` (D, k) and optionally ``topic_word``
        (k, V) and the samples ``tokens``, ``domains``, ``labels``.
    random_state : int or None, default=0
        Seed given to the named solvers and used to subsample tokens for accuracy.
    n_topics : int, optional
        Number of labels; defaults to the truth's.
    return_fitted : bool, default=False
        Also return ``{name: fitted solver}`` (e.g. for heatmaps with
        :func:`align_to_truth`).

    Returns
    -------
    rows : pandas.DataFrame if pandas is installed, else list of dict
        One row per solver, keys:

        - ``solver``, ``fit_seconds``, ``log_likelihood`` (per sample);
        - ``anchor_residual_first``, ``anchor_residual_last``: the residual norm at the
          first and the k-th anchor pick (:attr:`AnchorSolver.anchor_residuals_`); a
          last residual near the first one's noise level says k may be too large
          (NaN for solvers without anchors);
        - with the truth: ``l1_P`` (summed), ``l1_P_per_entry``, ``oracle_ratio``
          (``l1_P`` over the oracle's, which fits p_d(y) by maximum likelihood with
          the true p(x|y)); with the true topics ``topic_l1``; with the samples
          ``matched_accuracy`` (argmax of p_d(y|x) with each sample's true domain, on at
          most 200,000 samples).

        With the truth a first row ``solver="oracle"`` holds the oracle itself.
    fitted : dict, only if ``return_fitted``

    Examples
    --------
    >>> from lls_topics import compare, make_discrete_lls
    >>> prob = make_discrete_lls(n_per_domain=500, random_state=0)
    >>> rows, fitted = compare(prob, ["anchor", "nmf"], return_fitted=True)
    >>> sorted(fitted), len(rows)  # with the truth, a first row holds the oracle
    (['anchor', 'nmf'], 3)
    """
    if isinstance(data, DiscreteLLS) and truth is None:
        truth = data
    corpus = _as_corpus(data)
    truth = _as_truth(truth)
    rng = check_random_state(random_state)
    seed = random_state if random_state is None or isinstance(random_state, int) else \
        int(rng.integers(0, 2**31 - 1))
    P_true = A_true = None
    if truth is not None:
        P_true = np.asarray(truth["domain_topic"], dtype=np.float64)
        if P_true.ndim != 2 or P_true.shape[0] != corpus.n_domains:
            raise ValueError(f"truth['domain_topic'] must have shape (n_domains={corpus.n_domains}"
                             f", k), got {P_true.shape}")
        if truth.get("topic_word") is not None:
            A_true = np.asarray(truth["topic_word"], dtype=np.float64)
            if A_true.shape != (P_true.shape[1], corpus.n_words):
                raise ValueError(f"truth['topic_word'] must have shape ({P_true.shape[1]}, "
                                 f"{corpus.n_words}), got {A_true.shape}")
        if n_topics is None:
            n_topics = P_true.shape[1]
    pairs = _solver_list(solvers, n_topics, seed)

    sample = None
    if truth is not None and all(truth.get(key) is not None
                                 for key in ("tokens", "domains", "labels")):
        n = len(truth["tokens"])
        idx = np.arange(n) if n <= _MAX_ACCURACY_TOKENS else \
            np.sort(rng.choice(n, _MAX_ACCURACY_TOKENS, replace=False))
        sample = tuple(np.asarray(truth[key])[idx] for key in ("tokens", "domains", "labels"))

    rows, fitted = [], {}
    oracle_l1 = np.nan
    if P_true is not None and A_true is not None:
        t0 = time.perf_counter()
        P_oracle = fit_domain_topic(corpus.counts, A_true)
        secs = time.perf_counter() - t0
        oracle_l1 = prior_l1(P_true, P_oracle)
        row = _empty_row("oracle", secs)
        row.update(l1_P=oracle_l1, l1_P_per_entry=oracle_l1 / P_true.size, oracle_ratio=1.0,
                   topic_l1=0.0)
        from .solvers.em import log_likelihood

        row["log_likelihood"] = log_likelihood(corpus.counts, P_oracle, A_true) / \
            corpus.n_samples
        if sample is not None:
            joint = A_true[:, sample[0]].T * P_true[corpus.domain_index(sample[1])]
            row["matched_accuracy"] = matched_accuracy(sample[2], np.argmax(joint, axis=1))
        rows.append(row)

    for name, est in pairs:
        t0 = time.perf_counter()
        est.fit(corpus)
        secs = time.perf_counter() - t0
        fitted[name] = est
        row = _empty_row(name, secs)
        row["log_likelihood"] = float(est.log_likelihood_)
        res = getattr(est, "anchor_residuals_", None)
        if res is not None and np.size(res):
            res = np.asarray(res, dtype=np.float64)
            row["anchor_residual_first"] = float(res[0])
            row["anchor_residual_last"] = float(res[-1])
        if P_true is not None:
            rows_idx = corpus.domain_index(est.domain_ids_)
            Pt = P_true[rows_idx]
            perm = align_labels(Pt, est.domain_topic_)
            l1 = prior_l1(Pt, est.domain_topic_)
            row.update(l1_P=l1, l1_P_per_entry=l1 / Pt.size,
                       oracle_ratio=l1 / oracle_l1 if oracle_l1 > 0 else np.nan)
            if A_true is not None:
                row["topic_l1"] = topic_l1(A_true, est.topic_word_, perm=perm)
            if sample is not None:
                keep = np.isin(sample[1], est.domain_ids_)
                pred = est.predict(sample[0][keep], sample[1][keep])
                row["matched_accuracy"] = matched_accuracy(sample[2][keep], pred)
        rows.append(row)
    table = _to_table(rows)
    return (table, fitted) if return_fitted else table


def _empty_row(name: str, secs: float) -> dict:
    return {"solver": name, "fit_seconds": secs, "log_likelihood": np.nan,
            "anchor_residual_first": np.nan, "anchor_residual_last": np.nan,
            "l1_P": np.nan, "l1_P_per_entry": np.nan, "oracle_ratio": np.nan,
            "topic_l1": np.nan, "matched_accuracy": np.nan}


def _to_table(rows: list[dict]) -> Any:
    try:
        import pandas as pd
    except ImportError:
        return rows
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.DataFrame(rows)
