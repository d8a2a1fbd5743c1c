"""Label shares of real text, recovered without labels: package docstrings by domain.

The corpus is real and ships with every installation: the docstrings of numpy,
scipy, scikit-learn and gensim (read from their sources, no download), each
labeled by its package. We build 20 domains the way the benchmark protocol does:
each domain draws package shares from a Dirichlet(0.5) and then 150 docstrings, one
by one, from those shares. The documents are written to a folder with a
``document,domain`` CSV, as a user's corpus would arrive, and read back through
the text front end (stop words removed, words in fewer than 5 or more than half of
the documents dropped).

The anchor solver sees only the domain-by-word counts. We print each domain's
recovered p_d(y) beside the truth (the share of the domain's kept words that come
from each package) and the top words of each recovered label.

Run:  python examples/real_text.py
"""
import tempfile
from pathlib import Path

import numpy as np

from lls_topics import AnchorSolver
from lls_topics.datasets import load_docstring_texts
from lls_topics.metrics import align_labels, prior_l1
from lls_topics.text import read_text_corpus, text_corpus

N_DOMAINS, DOCS_PER_DOMAIN, ALPHA = 20, 150, 0.5
rng = np.random.default_rng(0)

texts, labels, packages = load_docstring_texts(("numpy", "scipy", "sklearn", "gensim"))
k = len(packages)
shares = rng.dirichlet(np.full(k, ALPHA), size=N_DOMAINS)
by_label = [np.flatnonzero(labels == y) for y in range(k)]
doc_label, doc_index, doc_domain = [], [], []
for d in range(N_DOMAINS):
    for y in rng.choice(k, size=DOCS_PER_DOMAIN, p=shares[d]):
        doc_label.append(y)
        doc_index.append(rng.choice(by_label[y]))
        doc_domain.append(f"domain{d:02d}")

with tempfile.TemporaryDirectory() as tmp:
    folder = Path(tmp) / "docs"
    folder.mkdir()
    rows = ["document,domain"]
    for i, (j, dom) in enumerate(zip(doc_index, doc_domain)):
        (folder / f"doc{i:05d}.txt").write_text(texts[j], encoding="utf-8")
        rows.append(f"doc{i:05d}.txt,{dom}")
    (Path(tmp) / "domains.csv").write_text("\n".join(rows) + "\n")
    corpus = read_text_corpus(folder, Path(tmp) / "domains.csv", no_below=5, no_above=0.5)

# the truth: the same filtering with each (domain, package) as its own group gives the
# number of kept words of every package in every domain
docs = [texts[j] for j in doc_index]
cells = text_corpus(docs, [f"{dom}|{y}" for dom, y in zip(doc_domain, doc_label)],
                    no_below=5, no_above=0.5)
truth = np.zeros((N_DOMAINS, k))
sizes = np.asarray(cells.counts.sum(axis=1)).ravel()
for cell, n in zip(cells.domain_ids.tolist(), sizes):
    dom, y = cell.split("|")
    truth[int(dom[len("domain"):]), int(y)] = n
truth /= truth.sum(axis=1, keepdims=True)

print(f"{len(docs)} docstrings of {', '.join(packages)} in {corpus.n_domains} domains; "
      f"{corpus.n_words} words kept, {corpus.n_samples:g} tokens")
solver = AnchorSolver(k, random_state=0).fit(corpus)
perm = align_labels(truth, solver.domain_topic_)
P = solver.domain_topic_[:, perm]

print("\nrecovered p_d(y) | true p_d(y), columns: " + " ".join(f"{p:>7}" for p in packages))
for d, dom in enumerate(solver.domain_ids_.tolist()):
    print(f"{dom}  " + " ".join(f"{v:7.2f}" for v in P[d]) + "  |  "
          + " ".join(f"{v:7.2f}" for v in truth[d]))
print(f"\nL1(P) per entry: {prior_l1(truth, P, per_entry=True):.3f} "
      f"(uniform guess: {prior_l1(truth, np.full_like(truth, 1 / k), per_entry=True):.3f})")
vocab = np.asarray(corpus.vocabulary)
for y, pkg in enumerate(packages):
    top = vocab[np.argsort(-solver.topic_word_[perm[y]])[:8]]
    print(f"label matched to {pkg:>8}: {' '.join(top)}")
