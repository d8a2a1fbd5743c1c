"""The protocol's real-text benchmark (``docs/protocol.md`` "Real-text problems", issue 16).

A real labeled corpus (:mod:`text_corpora`: Debian manual pages by section, the
docstrings of installed Python packages by package) gives real, Zipfian, anchor-poor
p(x|y). For each regime and seed, D domains are built: p_d ~ Dirichlet(alpha 1_k),
then the domain's documents are drawn one by one (category y ~ p_d, a document of
that category uniformly, with replacement) and all their tokens added; a token's
label is its document's category.

Each domain's tokens are split at random, 80% to fit and 20% held out (document
completion, with the domain as the document). Every method is fit on the same
80% counts, one after the other in this process, single-threaded:

- ``anchor``: our :class:`AnchorSolver` with default options; ``anchor-plain``: the
  same without SQUAREM acceleration (``accelerate=False``), the solver before
  issue 16's speed work, measured side by side; ``anchor-heldout``: priors chosen
  by held-out likelihood (``priors="heldout"``); ``anchor-cooc``: anchors among word
  co-occurrence rows (``space="cooccurrence"``); ``anchor-cooc-heldout``: both;
  ``anchor-cvb0`` and ``anchor-cooc-cvb0``: collapsed variational Bayes
  (``refine="collapsed"``) in place of the mean-field pass, in either space;
  ``anchor-text``: collapsed variational Bayes with held-out priors (the
  ``anchor-text`` preset of the solver registry); ``anchor-raw``: the anchor step
  alone, without refinement (``refine="none"``), the floor under every refinement's time;
- ``tomotopy``: ``tomotopy.LDAModel(k)``, 500 iterations, 1 worker (one document per
  domain), the protocol's speed reference;
- ``gensim``: gensim ``LdaModel`` (batch variational EM, learned asymmetric alpha);
- ``sklearn``: scikit-learn ``LatentDirichletAllocation(k, learning_method='batch')``;
- ``oracle``: p_d(y) by maximum likelihood with the pooled category word
  distributions held fixed; ``ml-limit``: PLSA EM started at the truth.

Columns (medians over seeds):

- ``L1/entry``: sum_{d,y} |p_d(y) - p^_d(y)| / (D k) after Hungarian matching, against
  P[d, y] = share of the domain's fitted tokens whose label is y;
- ``x oracle``: median per-seed ratio of L1(P) to the oracle's;
- ``acc``: matched token accuracy of argmax_y p(x|y) p_d(y) on the fitted tokens;
- ``perplexity``: exp(- mean log p(x|d)) on the held-out 20%, with
  p(x|d) = sum_y p_d(y) p(x|y) mixed with 1e-4 of the uniform distribution (the same
  for every method, so that a zero never gives an infinite perplexity);
- ``c_npmi``: mean over topics of gensim's ``CoherenceModel(coherence='c_npmi')``
  of the 10 most probable words, the reference texts being the whole corpus;
- ``fit s`` and ``x tomotopy``: fit seconds and the median per-seed ratio to
  tomotopy's, measured side by side.

Usage::

    python benchmarks/real_text.py                     # 2 corpora x 3 regimes x 3 seeds
    python benchmarks/real_text.py --corpora docstrings --regimes short --seeds 1
    python benchmarks/real_text.py --methods anchor,tomotopy,oracle --markdown
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _peers import (ANCHOR_VARIANTS, Failure, Fit, _normalize_rows, anchor_method,  # noqa: E402
                    fit_ml_limit, fit_oracle, fit_tomotopy, fmt, format_table, median_row,
                    run_and_report, run_method)
from text_corpora import CORPORA, load_corpus  # noqa: E402

#: name -> (domains D, documents per domain, alpha)
REGIMES = {"long": (30, 300, 1.0), "moderate": (200, 25, 0.5), "short": (1500, 2, 0.3)}
#: each document keeps its first MAX_WORDS kept words (man pages average ~460, which
#: would make the 9,000-document domains of the long regime minutes per sampler fit)
MAX_WORDS = 64
HELD_OUT = 0.2
SMOOTH = 1e-4
TOP_WORDS = 10
ALL_METHODS = [*ANCHOR_VARIANTS, "tomotopy", "gensim", "sklearn", "ml-limit", "oracle"]


# ----------------------------------------------------------------------- problems
@dataclass
class TextProblem:
    """One real-text LLS problem: fitted counts, truth, held-out counts, cells."""

    counts: sp.csr_matrix        # (D, V) fitted tokens
    held_out: sp.csr_matrix      # (D, V) held-out tokens (words seen in the fit only)
    P: np.ndarray                # (D, k) label share of each domain's fitted tokens
    A_oracle: np.ndarray         # (k, V) pooled category word distributions
    cell_rows: np.ndarray        # distinct (domain, word) cells of the fitted tokens
    cell_words: np.ndarray
    cell_labels: np.ndarray      # (n_cells, k) label counts per cell
    words: list                  # word of each column

    @property
    def k(self) -> int:
        return self.P.shape[1]

    def accuracy(self, P: np.ndarray, A: np.ndarray) -> float:
        """Matched token accuracy of argmax_y p(x|y) p_d(y) (Hungarian on the confusion)."""
        from scipy.optimize import linear_sum_assignment

        pred = np.argmax(A[:, self.cell_words].T * P[self.cell_rows], axis=1)
        C = np.zeros((max(A.shape[0], self.k), self.k))
        np.add.at(C, pred, self.cell_labels)
        r, c = linear_sum_assignment(-C)
        return float(C[r, c].sum() / self.cell_labels.sum())

    def perplexity(self, P: np.ndarray, A: np.ndarray) -> float:
        """Held-out perplexity of p(x|d) = sum_y p_d(y) p(x|y), smoothed (see module doc)."""
        H = self.held_out.tocoo()
        V = A.shape[1]
        p = np.einsum("ij,ij->i", P[H.row], A[:, H.col].T)
        p = (1 - SMOOTH) * p + SMOOTH / V
        return float(np.exp(-np.dot(H.data, np.log(p)) / H.data.sum()))


def make_problem(docs: list[np.ndarray], labels: np.ndarray, n_words: int, regime: str,
                 seed: int) -> TextProblem:
    """Draw the domains of ``regime`` from the corpus (documents as word-id arrays)."""
    D, n_docs, alpha = REGIMES[regime]
    k = int(labels.max()) + 1
    rng = np.random.default_rng(seed)
    by_label = [np.flatnonzero(labels == y) for y in range(k)]
    p = rng.dirichlet(np.full(k, alpha), size=D)
    cats = np.array([rng.choice(k, size=n_docs, p=p[d]) for d in range(D)])   # (D, n_docs)
    picks = np.empty_like(cats)
    for y in range(k):
        m = cats == y
        picks[m] = by_label[y][rng.integers(0, by_label[y].size, size=int(m.sum()))]
    lengths = np.array([d.size for d in docs])
    flat_docs = picks.ravel()
    tok_words = np.concatenate([docs[i] for i in flat_docs.tolist()])
    tok_domain = np.repeat(np.repeat(np.arange(D), n_docs), lengths[flat_docs])
    tok_label = np.repeat(cats.ravel(), lengths[flat_docs])
    fit_mask = rng.random(tok_words.size) >= HELD_OUT
    # columns: the words seen in the fitted tokens, in corpus order
    used = np.flatnonzero(np.bincount(tok_words[fit_mask], minlength=n_words) > 0)
    col = np.full(n_words, -1)
    col[used] = np.arange(used.size)
    V = used.size
    w_fit, d_fit, y_fit = col[tok_words[fit_mask]], tok_domain[fit_mask], tok_label[fit_mask]
    counts = sp.csr_matrix((np.ones(w_fit.size), (d_fit, w_fit)), shape=(D, V))
    counts.sum_duplicates()
    ho = ~fit_mask & (col[tok_words] >= 0)
    held = sp.csr_matrix((np.ones(int(ho.sum())), (tok_domain[ho], col[tok_words[ho]])),
                         shape=(D, V))
    held.sum_duplicates()
    P = _normalize_rows(np.bincount(d_fit * k + y_fit, minlength=D * k).reshape(D, k)
                        .astype(float))
    # oracle topics: each category's word distribution pooled over the whole corpus
    all_words = np.concatenate(docs)
    all_labels = np.repeat(labels, lengths)
    keep = col[all_words] >= 0
    A = np.bincount(all_labels[keep] * V + col[all_words[keep]],
                    minlength=k * V).reshape(k, V).astype(float)
    A = _normalize_rows(A + 1e-12)
    cell = d_fit.astype(np.int64) * V + w_fit
    uniq, inv = np.unique(cell, return_inverse=True)
    cell_labels = np.bincount(inv.ravel() * k + y_fit, minlength=uniq.size * k
                              ).reshape(uniq.size, k).astype(float)
    return TextProblem(counts, held, P, A, uniq // V, uniq % V, cell_labels,
                       used.tolist())


# ------------------------------------------------------------------------ methods
def fit_sklearn(counts: sp.csr_matrix, k: int, seed: int) -> Fit:
    """scikit-learn ``LatentDirichletAllocation``, batch variational Bayes, defaults
    otherwise (priors 1/k); p_d(y) from ``transform``."""
    from sklearn.decomposition import LatentDirichletAllocation

    t0 = time.perf_counter()
    lda = LatentDirichletAllocation(n_components=k, learning_method="batch",
                                    random_state=seed, n_jobs=1)
    P = lda.fit_transform(counts)
    sec = time.perf_counter() - t0
    return Fit(_normalize_rows(P), _normalize_rows(lda.components_), sec)


#: gensim LdaModel: full-batch variational EM over all domains, learned asymmetric
#: alpha; fewer passes than benchmarks/_peers.GENSIM_OPTIONS (100), which on the
#: long regime took minutes per fit and changed L1 little
GENSIM_TEXT_OPTIONS = dict(passes=30, iterations=100, alpha="auto", eta=0.01, update_every=0,
                           decay=0.0, eval_every=None, gamma_threshold=1e-3,
                           minimum_probability=0.0)


def fit_gensim_text(counts: sp.csr_matrix, k: int, seed: int) -> Fit:
    from _peers import _fit_gensim_direct

    return _fit_gensim_direct(counts, k, seed, **GENSIM_TEXT_OPTIONS)


METHODS = {
    **{name: anchor_method(name, "counts") for name in ANCHOR_VARIANTS},
    "tomotopy": lambda pb, s: fit_tomotopy(pb.counts, pb.k, s),
    "gensim": lambda pb, s: fit_gensim_text(pb.counts, pb.k, s),
    "sklearn": lambda pb, s: fit_sklearn(pb.counts, pb.k, s),
    "oracle": lambda pb, s: fit_oracle(pb.counts, pb.A_oracle),
    "ml-limit": lambda pb, s: fit_ml_limit(pb.counts, pb.P, pb.A_oracle),
}


# --------------------------------------------------------------------- evaluation
def top_words(A: np.ndarray, words: list, n: int = TOP_WORDS) -> list[list[str]]:
    order = np.argsort(-A, axis=1)[:, :n]
    return [[words[j] for j in row] for row in order.tolist()]


def coherence(topics: list[list[str]], texts: list[list[str]]) -> list[float]:
    """gensim c_npmi of each topic (lists of words) against the reference texts."""
    import logging

    from gensim.corpora import Dictionary
    from gensim.models import CoherenceModel

    logging.getLogger("gensim").setLevel(logging.ERROR)
    if not topics:
        return []
    dictionary = Dictionary(texts)
    cm = CoherenceModel(topics=topics, texts=texts, dictionary=dictionary,
                        coherence="c_npmi", topn=TOP_WORDS, processes=1)
    return [float(c) for c in cm.get_coherence_per_topic()]


def run(args: argparse.Namespace) -> list[dict]:
    """Fit every method on every (corpus, regime, seed); one record per fit."""
    records = []
    for corpus in args.corpora:
        docs, labels, names = load_corpus(corpus, max_words=MAX_WORDS)
        vocab = {w: i for i, w in enumerate(sorted({w for d in docs for w in d}))}
        ids = [np.array([vocab[w] for w in d], dtype=np.int64) for d in docs]
        _log(f"{corpus}: {len(docs)} documents, {len(names)} labels, {len(vocab)} words")
        corpus_records, topic_lists = [], []
        for regime in args.regimes:
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                pb = make_problem(ids, labels, len(vocab), regime, seed)
                inv_words = sorted(vocab, key=vocab.get)
                words = [inv_words[j] for j in pb.words]
                fits = {"oracle": run_method("oracle", METHODS["oracle"], pb, seed)}
                for m in args.methods:
                    if m != "oracle":
                        fits[m] = run_method(m, METHODS[m], pb, seed)
                        f = fits[m]
                        _log(f"{corpus} {regime} seed {seed} {m}: "
                             + (f.reason if isinstance(f, Failure) else f"{f.seconds:.1f}s"))
                oracle_l1 = _l1(pb, fits["oracle"])
                tomo = fits.get("tomotopy")
                for m in args.methods:
                    fit = fits[m]
                    rec = {"corpus": corpus, "regime": regime, "seed": seed, "method": m,
                           "D": pb.counts.shape[0], "V": pb.counts.shape[1],
                           "tokens": float(pb.counts.sum())}
                    if isinstance(fit, Failure):
                        rec["error"] = fit.reason
                    else:
                        l1 = _l1(pb, fit)
                        A = np.asarray(fit.topic_word, dtype=float)
                        rec.update(l1=l1, l1_entry=l1 / pb.P.size,
                                   oracle_ratio=l1 / oracle_l1,
                                   acc=pb.accuracy(fit.domain_topic, A),
                                   perplexity=pb.perplexity(fit.domain_topic, A),
                                   seconds=fit.seconds)
                        if "n_iter" in fit.info or "estimator" in fit.info:
                            est = fit.info.get("estimator")
                            rec["n_iter"] = int(getattr(est, "n_iter_", -1))
                        if tomo is not None and not isinstance(tomo, Failure):
                            rec["time_ratio_tomotopy"] = fit.seconds / tomo.seconds
                        if not args.no_coherence:
                            rec["_topics"] = (len(topic_lists), A.shape[0])
                            topic_lists += top_words(A, words)
                    corpus_records.append(rec)
        if not args.no_coherence:
            t0 = time.perf_counter()
            per_topic = coherence(topic_lists, [list(d) for d in docs])
            _log(f"{corpus}: coherence of {len(topic_lists)} topics in "
                 f"{time.perf_counter() - t0:.0f}s")
            for rec in corpus_records:
                if "_topics" in rec:
                    lo, n = rec.pop("_topics")
                    vals = [v for v in per_topic[lo:lo + n] if np.isfinite(v)]
                    rec["c_npmi"] = float(np.mean(vals)) if vals else float("nan")
        records += corpus_records
    return records


def _l1(pb: TextProblem, fit: Fit | Failure) -> float:
    from lls_topics.metrics import prior_l1

    if isinstance(fit, Failure):
        return float("nan")
    return prior_l1(pb.P, fit.domain_topic)


# ---------------------------------------------------------------------- reporting
KEYS = ("l1_entry", "oracle_ratio", "acc", "perplexity", "c_npmi", "seconds",
        "time_ratio_tomotopy")


def summarize(records: list[dict], methods: list[str]) -> list[dict]:
    """Medians over seeds per (corpus, regime, method)."""
    rows = []
    groups = list(dict.fromkeys((r["corpus"], r["regime"]) for r in records))
    for corpus, regime in groups:
        for m in methods:
            rs = [r for r in records if (r["corpus"], r["regime"], r["method"])
                  == (corpus, regime, m)]
            if not rs:
                continue
            row = {"corpus": corpus, "regime": regime, "method": m}
            row.update(median_row(rs, KEYS))
            rows.append(row)
    return rows


def render(rows: list[dict], markdown: bool) -> str:
    header = ["corpus", "regime", "method", "L1/entry", "x oracle", "acc", "perplexity",
              "c_npmi", "fit s", "x tomotopy"]
    out = []
    for r in rows:
        lead = [r["corpus"], r["regime"], r["method"]]
        if r["n_ok"] == 0:
            out.append(lead + [r["error"]] + [""] * 6)
            continue
        if r["n_ok"] < r["n_seeds"]:
            lead[2] += f" ({r['n_ok']}/{r['n_seeds']} seeds; {r['error']})"
        out.append(lead + [fmt(r["l1_entry"], ".4f"), fmt(r["oracle_ratio"], ".2f"),
                           fmt(r["acc"], ".3f"), fmt(r["perplexity"], ".0f"),
                           fmt(r["c_npmi"], ".3f"), fmt(r["seconds"], ".3g"),
                           fmt(r["time_ratio_tomotopy"], ".3g")])
    return format_table(header, out, markdown)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpora", default=",".join(CORPORA),
                    help=f"comma-separated subset of {','.join(CORPORA)}")
    ap.add_argument("--regimes", default=",".join(REGIMES),
                    help=f"comma-separated subset of {','.join(REGIMES)}")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--methods", default=",".join(ALL_METHODS),
                    help="comma-separated subset of " + ",".join(ALL_METHODS))
    ap.add_argument("--no-coherence", action="store_true", help="skip c_npmi")
    ap.add_argument("--merge", nargs="+", default=None, metavar="JSON",
                    help="run nothing: one table (and the acceptance checks) from the "
                         "records of earlier --json runs")
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    ap.add_argument("--json", default=None, metavar="OUT", help="write raw results as JSON")
    args = ap.parse_args(argv)
    for name, allowed in (("corpora", CORPORA), ("regimes", REGIMES),
                          ("methods", METHODS)):
        vals = [v.strip() for v in getattr(args, name).split(",") if v.strip()]
        bad = [v for v in vals if v not in allowed]
        if bad:
            ap.error(f"unknown {name} {bad}; choose from {list(allowed)}")
        setattr(args, name, vals)
    return args


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def checks(rows: list[dict], method: str = "anchor") -> list[str]:
    """Issue 16's acceptance, per (corpus, regime): L1(P) at most tomotopy's, fit time
    at most 1/20 of tomotopy's (medians over seeds)."""
    out = []
    by = {(r["corpus"], r["regime"], r["method"]): r for r in rows}
    for (corpus, regime, m), r in by.items():
        tomo = by.get((corpus, regime, "tomotopy"))
        if m != method or tomo is None or r.get("l1_entry") is None \
                or tomo.get("l1_entry") is None:
            continue
        ratio = r["l1_entry"] / tomo["l1_entry"]
        out.append(f"# {corpus} {regime} {m}: [{'x' if ratio <= 1 else ' '}] L1(P) <= "
                   f"tomotopy's: {ratio:.2f}x")
        t = r.get("time_ratio_tomotopy")
        if t is not None:
            out.append(f"# {corpus} {regime} {m}: [{'x' if t <= 0.05 else ' '}] fit time "
                       f"<= 1/20 of tomotopy's: 1/{1 / t:.1f}")
    return out


def merge(paths: list[str], markdown: bool, methods: list[str] | None = None) -> int:
    """Report the records of several ``--json`` runs (e.g. methods split between
    processes) as one table; each run's ratios stay those measured within it."""
    records = []
    for path in paths:
        with open(path) as fh:
            records += json.load(fh)["records"]
    if methods is None:
        methods = list(dict.fromkeys(r["method"] for r in records))
    rows = summarize(records, methods)
    print(render(rows, markdown))
    # anchor-plain is the pre-acceleration baseline, measured for its time alone
    for m in (name for name in ANCHOR_VARIANTS if name != "anchor-plain"):
        print("\n".join(checks(rows, m)))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.merge:
        return merge(args.merge, args.markdown)
    code = run_and_report("real_text.py", argv, args, run, summarize, render)
    return code


if __name__ == "__main__":
    sys.exit(main())
