"""Real-text embeddings for the continuous (DDFA) benchmark, built offline.

PROTOCOL.md ("Continuous problems beyond the two bundled data sets"): TF-IDF of a real
labeled corpus, truncated SVD to 64 dimensions, rows normalized to unit length. The
corpus comes from ``text_corpora.py`` (Debian manual pages labeled by section, after the
protocol's text preprocessing). Benchmarks only: no test depends on it, since the man
pages exist only where ``apt-get install manpages manpages-dev`` was run.

Sections with fewer than ``min_per_class`` pages are dropped: the semi-synthetic
construction sizes every domain from the smallest class, so one tiny section (man4 has
about 30 pages) would shrink the whole problem to a few hundred examples.

Usage::

    python benchmarks/text_embeddings.py         # prints the classes and sizes
"""
from __future__ import annotations

import functools
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

N_COMPONENTS = 64


@functools.lru_cache(maxsize=4)
def text_embeddings(corpus: str = "manpages", n_components: int = N_COMPONENTS,
                    min_per_class: int = 150, random_state: int = 0
                    ) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Embeddings of a labeled corpus: TF-IDF -> TruncatedSVD -> unit rows.

    Parameters
    ----------
    corpus : str
        A corpus name of ``text_corpora.load_corpus`` (``"manpages"``).
    n_components : int
        SVD dimension (the protocol's 64).
    min_per_class : int
        Labels with fewer documents are dropped; the rest are renumbered 0..k-1.
    random_state : int
        Seed of the randomized SVD.

    Returns
    -------
    X : ndarray of float32, shape (n_documents, n_components)
        Rows of unit Euclidean norm.
    y : ndarray of int64, shape (n_documents,)
    names : tuple of str
        Name of each kept label.
    """
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from text_corpora import load_corpus

    raw, labels, names = load_corpus(corpus, tokenized=False)
    counts = np.bincount(labels, minlength=len(names))
    keep_labels = np.flatnonzero(counts >= min_per_class)
    if len(keep_labels) < 2:
        raise ValueError(f"fewer than 2 labels of {corpus!r} have >= {min_per_class} "
                         f"documents (sizes {counts.tolist()})")
    keep = np.isin(labels, keep_labels)
    docs = [d for d, k in zip(raw, keep.tolist()) if k]
    y = np.searchsorted(keep_labels, labels[keep]).astype(np.int64)
    # the corpus is already the protocol's preprocessed text: TF-IDF keeps its words
    # (3+ letters, min_df as the protocol's 5 documents)
    tfidf = TfidfVectorizer(token_pattern=r"(?u)\b[a-z]{3,}\b", min_df=5,
                            sublinear_tf=True, dtype=np.float64)
    T = tfidf.fit_transform(docs)
    Z = TruncatedSVD(n_components, random_state=random_state).fit_transform(T)
    Z /= np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-12)
    return Z.astype(np.float32), y, tuple(names[i] for i in keep_labels.tolist())


def main() -> None:
    X, y, names = text_embeddings()
    print(f"{X.shape[0]} documents, {X.shape[1]} dimensions, k = {len(names)}")
    for name, n in zip(names, np.bincount(y).tolist()):
        print(f"  {name}: {n}")


if __name__ == "__main__":
    main()
