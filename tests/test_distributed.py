"""DDFA under torchrun: 2 CPU processes (gloo) fit as accurately as one."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")

from lls_topics.continuous import distributed as lls_dist  # noqa: E402
from lls_topics.continuous.ddfa import DDFA  # noqa: E402
from lls_topics.continuous.discriminator import DomainDiscriminator  # noqa: E402
from lls_topics.metrics import matched_accuracy  # noqa: E402
from lls_topics.persistence import load_estimator  # noqa: E402

from test_ddfa import FAST, blobs  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                    reason="torch.distributed with gloo is not available")
def test_torchrun_two_processes_match_one(tmp_path):
    seed = 0
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           "--nproc_per_node=2", os.path.join(HERE, "ddp_fit_script.py"), str(tmp_path),
           str(seed)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    r0 = json.loads((tmp_path / "rank0.json").read_text())
    r1 = json.loads((tmp_path / "rank1.json").read_text())
    assert r0["world_size"] == r1["world_size"] == 2
    # rank 1 got rank 0's fitted estimator
    assert r0["pred"] == r1["pred"]

    X, y, d, _ = blobs(k=3, D=6, n_per_domain=150, seed=seed)
    one = DDFA(3, discriminator=DomainDiscriminator(**FAST), random_state=seed,
               verbose=False, distributed=False).fit(X, d)
    acc_one = matched_accuracy(y, one.predict(X, d))
    assert r0["accuracy"] > 0.9
    assert abs(r0["accuracy"] - acc_one) <= 0.03
    # rank 0 saved the model, whole
    model = load_estimator(tmp_path / "model")
    np.testing.assert_array_equal(model.predict(X, d), r0["pred"])
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".model")]


def test_distributed_flag_outside_torchrun(monkeypatch):
    for var in ("RANK", "WORLD_SIZE", "MASTER_ADDR"):
        monkeypatch.delenv(var, raising=False)
    assert lls_dist.use_distributed("auto") is False
    assert lls_dist.is_main_process()
    with pytest.raises(ValueError, match="torchrun"):
        lls_dist.use_distributed(True)
    with pytest.raises(ValueError, match="distributed must be"):
        DDFA(2, distributed="yes").fit(np.zeros((10, 2), np.float32), np.arange(10) % 2)
    # inside rank_zero_only nothing trains with collectives
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("MASTER_ADDR", "localhost")
    assert lls_dist.use_distributed("auto") is True
    with lls_dist.rank_zero_only():
        assert lls_dist.use_distributed("auto") is False


def test_interrupted_save_leaves_no_model_dir(tmp_path, monkeypatch):
    import lls_topics.persistence as persistence

    X, y, d, _ = blobs(k=3, D=6, n_per_domain=60, seed=1)
    est = DDFA(3, discriminator=DomainDiscriminator(**FAST), random_state=0,
               verbose=False).fit(X, d)
    real = persistence._save_into

    def interrupted(obj, directory):
        real(obj, directory)  # everything written ... then the process is interrupted
        raise KeyboardInterrupt

    monkeypatch.setattr(persistence, "_save_into", interrupted)
    with pytest.raises(KeyboardInterrupt):
        persistence.save_estimator(est, tmp_path / "model")
    assert os.listdir(tmp_path) == []
