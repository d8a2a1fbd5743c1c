"""DDFA on semi-synthetic digits: label marginals and labels without any label.

scikit-learn's bundled 8x8 digits are split into 20 domains whose label mixes p_d(y)
are drawn as in the benchmark protocol. DDFA trains a domain discriminator p(d|x),
clusters its outputs into a vocabulary, factorizes the domain-by-cluster counts and
adjusts p(d|x) into p_d(y|x) for every domain.

Run:  python examples/continuous_digits.py
"""
import numpy as np

from lls_topics import DDFA, DomainDiscriminator, load_digits_lls
from lls_topics.metrics import align_labels, matched_accuracy, prior_l1

data = load_digits_lls(n_domains=20, alpha=3.0, random_state=0)
X = np.concatenate([data.X_train, data.X_val])
d = np.concatenate([data.d_train, data.d_val])
print(f"{len(X)} training samples, {data.n_domains} domains, {data.n_topics} labels")

model = DDFA(data.n_topics, solver="anchor",
             discriminator=DomainDiscriminator(epochs=40, random_state=0, verbose=False),
             random_state=0, verbose=False)
model.fit(X, d)

P_true, P_hat = data.domain_topic, model.domain_topic_
perm = align_labels(P_true, P_hat)
print("\nrecovered label marginals p_d(y), first 3 domains (labels aligned):")
for dom in range(3):
    print(f"  domain {dom} true: " + " ".join(f"{v:.2f}" for v in P_true[dom]))
    print(f"  domain {dom} ddfa: " + " ".join(f"{v:.2f}" for v in P_hat[dom, perm]))
print(f"\nL1(P) per entry: {prior_l1(P_true, P_hat, per_entry=True):.4f}")

proba = model.predict_proba(data.X_test, data.d_test)  # p_d(y|x); rows sum to 1
assert np.allclose(proba.sum(axis=1), 1) and proba.min() >= 0
acc = matched_accuracy(data.y_test, proba.argmax(axis=1))
print(f"matched accuracy on {len(data.X_test)} held-out samples: {acc:.3f}")
