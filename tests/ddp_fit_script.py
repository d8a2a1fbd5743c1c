"""Run by tests/test_distributed.py under ``torchrun --nproc_per_node=2`` (gloo, CPU).

Every rank fits DDFA on the same small planted problem; each writes its accuracy and
predictions to ``OUT/rank<r>.json``, and rank 0 saves the model to ``OUT/model``.
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
torch.set_num_threads(1)

from lls_topics.continuous.ddfa import DDFA  # noqa: E402
from lls_topics.continuous.discriminator import DomainDiscriminator  # noqa: E402
from lls_topics.continuous.distributed import is_main_process, rank, world_size  # noqa: E402
from lls_topics.metrics import matched_accuracy  # noqa: E402
from lls_topics.persistence import save_estimator  # noqa: E402
from test_ddfa import FAST, blobs  # noqa: E402


def main(out: str, seed: int) -> None:
    X, y, d, _ = blobs(k=3, D=6, n_per_domain=150, seed=seed)
    est = DDFA(3, discriminator=DomainDiscriminator(**FAST), random_state=seed,
               verbose=False).fit(X, d)
    pred = est.predict(X, d)
    res = {"rank": rank(), "world_size": world_size(), "accuracy": matched_accuracy(y, pred),
           "pred": pred.tolist(), "epochs": est.discriminator_.n_epochs_}
    if is_main_process():
        save_estimator(est, os.path.join(out, "model"))
    with open(os.path.join(out, f"rank{rank()}.json"), "w") as fh:
        json.dump(res, fh)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
