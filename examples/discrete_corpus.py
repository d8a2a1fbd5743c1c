"""Topics of a real text corpus, read as a latent-label-shift problem.

The corpus is gensim's bundled Lee background corpus (300 news articles, shipped with
gensim, no download). Each article is a domain, its words are the inputs and the
latent labels are topics: p(word|article) = sum_y p(word|y) p_article(y).

We fit the anchor solver and the KL-NMF solver, print the top words of each topic and
the anchor words (words that, by the solver's estimate, only one topic emits).

Run:  python examples/discrete_corpus.py
"""
import numpy as np
from gensim.parsing.preprocessing import STOPWORDS
from gensim.test.utils import datapath
from gensim.utils import simple_preprocess

from lls_topics import AnchorSolver, DomainCorpus, NMFSolver

N_TOPICS = 8
MIN_COUNT = 5  # rare words carry no usable co-occurrence signal
MAX_DOC_SHARE = 0.4

with open(datapath("lee_background.cor"), encoding="utf-8", errors="replace") as fh:
    articles = [line for line in fh if line.strip()]
docs = [[w for w in simple_preprocess(a) if w not in STOPWORDS] for a in articles]

# one token per word occurrence, its domain is the article
words = np.concatenate([np.asarray(d, dtype=str) for d in docs])
domains = np.repeat(np.arange(len(docs)), [len(d) for d in docs])
vocab, tokens = np.unique(words, return_inverse=True)
# words in over 40% of the articles ("said", "mr") are style, not topic (as gensim's
# Dictionary.filter_extremes(no_above=...) would drop them)
doc_freq = np.bincount(np.unique(domains * len(vocab) + tokens) % len(vocab),
                       minlength=len(vocab))
keep = (np.bincount(tokens, minlength=len(vocab)) >= MIN_COUNT)[tokens] & \
    (doc_freq <= MAX_DOC_SHARE * len(docs))[tokens]
vocab_kept, tokens_kept = np.unique(words[keep], return_inverse=True)
corpus = DomainCorpus.from_tokens(tokens_kept, domains[keep], vocabulary=vocab_kept.tolist())
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
