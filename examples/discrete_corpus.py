"""Topics of a real text corpus, read as a latent-label-shift problem.

The corpus is gensim's bundled Lee background corpus (300 news articles, shipped with
gensim, no download). Each article is a domain, its words are the inputs and the
latent labels are topics: p(word|article) = sum_y p(word|y) p_article(y).

We fit the anchor solver and the KL-NMF solver, print the top words of each topic and
the anchor words (words that, by the solver's estimate, only one topic emits).

Run:  python examples/discrete_corpus.py
"""
import numpy as np
from gensim.test.utils import datapath

from lls_topics import AnchorSolver, NMFSolver
from lls_topics.text import text_corpus

N_TOPICS = 8

with open(datapath("lee_background.cor"), encoding="utf-8", errors="replace") as fh:
    articles = [line for line in fh if line.strip()]
# one domain per article; stop words removed; words in over 40% of the articles ("said",
# "mr") are style, not topic, and words seen fewer than 5 times carry no usable
# co-occurrence signal
corpus = text_corpus(articles, no_below=1, no_above=0.4, keep_n=None, min_count=5,
                     min_len=2)
vocab_kept = corpus.vocabulary
print(f"Lee corpus: {corpus.n_domains} articles (domains), {corpus.n_words} words, "
      f"{corpus.n_samples:g} tokens")


def show(name, solver):
    A = solver.topic_word_
    print(f"\n{name}: log-likelihood per token {solver.log_likelihood_:.3f}")
    for y in np.argsort(-solver.pooled_prior()):
        top = np.argsort(-A[y])[:8]
        print(f"  topic {y} ({solver.pooled_prior()[y]:.0%}): "
              + " ".join(vocab_kept[i] for i in top))
    anchors = getattr(solver, "anchors_", None)
    if anchors is not None:
        print("  anchors:")
        for y, a in enumerate(anchors):
            print(f"    topic {y}: " + " ".join(vocab_kept[i] for i in np.atleast_1d(a)))


anchor = AnchorSolver(N_TOPICS, random_state=0).fit(corpus)
show("anchor solver", anchor)
nmf = NMFSolver(N_TOPICS, random_state=0).fit(corpus)
show("KL-NMF solver (anchor start)", nmf)
