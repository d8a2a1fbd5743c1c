"""Plug your own network into DDFA: a small CNN on the 8x8 digit images.

Any ``torch.nn.Module`` that maps a batch of inputs to one logit per domain can be
the domain discriminator. Here the 64 pixel features are reshaped into 1x8x8 images
for two convolution layers. The fitted model is then saved (weights as a torch
state_dict, nothing pickled) and loaded back: since a custom class cannot be rebuilt
from a file, ``load`` is given a fresh instance to load the weights into.

Run:  python examples/custom_discriminator.py
"""
import tempfile

import numpy as np
import torch
from torch import nn

from lls_topics import DDFA, DomainDiscriminator, load_digits_lls
from lls_topics.metrics import matched_accuracy
from lls_topics.persistence import load_estimator, save_estimator


class SmallCNN(nn.Module):
    """1x8x8 image -> n_domains logits."""

    def __init__(self, n_domains: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),  # 8x8 -> 4x4
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.1), nn.Linear(32 * 4 * 4, 64),
                                  nn.ReLU(), nn.Linear(64, n_domains))

    def forward(self, x):
        return self.head(self.features(x.reshape(-1, 1, 8, 8)))


data = load_digits_lls(n_domains=20, random_state=0)
X = np.concatenate([data.X_train, data.X_val])
d = np.concatenate([data.d_train, data.d_val])



def seeded(module: nn.Module, seed: int) -> nn.Module:
    """Re-draw the initial weights from a local generator (no global torch seed)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            if p.ndim > 1:
                nn.init.kaiming_uniform_(p, a=5 ** 0.5, generator=g)
            else:
                p.zero_()
    return module


cnn = seeded(SmallCNN(data.n_domains), 0)
disc = DomainDiscriminator(model=cnn, epochs=30, random_state=0, verbose=False)
model = DDFA(data.n_topics, discriminator=disc, random_state=0, verbose=False).fit(X, d)
pred = model.predict(data.X_test, data.d_test)
print(f"DDFA with a custom CNN discriminator: matched accuracy "
      f"{matched_accuracy(data.y_test, pred):.3f} on {len(pred)} test samples")

with tempfile.TemporaryDirectory() as tmp:
    save_estimator(model, f"{tmp}/ddfa_cnn")  # the same as model.save(...)
    loaded = load_estimator(f"{tmp}/ddfa_cnn", objects={"model": SmallCNN(data.n_domains)})
    same = np.array_equal(loaded.predict_proba(data.X_test, data.d_test),
                          model.predict_proba(data.X_test, data.d_test))
    print(f"saved and loaded back; identical predictions: {same}")
