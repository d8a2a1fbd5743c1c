"""Bad input, determinism and global state for the continuous (DDFA) path."""
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

torch = pytest.importorskip("torch")

from lls_topics import DDFA, Discretizer, DomainDiscriminator  # noqa: E402
from lls_topics.continuous.adjust import adjust_posterior  # noqa: E402
from lls_topics.metrics import matched_accuracy, prior_l1  # noqa: E402

FAST = dict(hidden=(16,), epochs=30, batch_size=64, verbose=False, random_state=0)


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    k, D, n = 3, 4, 300
    centers = np.eye(k, 5) * 6
    P = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.4, 0.3, 0.3]])
    d = np.repeat(np.arange(D), n)
    y = np.concatenate([rng.choice(k, n, p=P[i]) for i in range(D)])
    X = (centers[y] + rng.normal(size=(len(y), 5))).astype(np.float32)
    est = DDFA(k, n_clusters=6, discriminator=DomainDiscriminator(**FAST), random_state=0,
               verbose=False).fit(X, d)
    return X, y, d, est


BAD = [
    (lambda b: DDFA(3, verbose=False).fit(b[0], b[2][:-1]), ValueError, ["same length"]),
    (lambda b: DDFA(3, verbose=False).fit(np.full_like(b[0], np.nan), b[2]), ValueError,
     ["NaN"]),
    (lambda b: DDFA(3, verbose=False).fit(np.full_like(b[0], np.inf), b[2]), ValueError,
     ["infinite"]),
    (lambda b: DDFA(9, verbose=False).fit(b[0], b[2]), ValueError, ["identifiable"]),
    (lambda b: DDFA(0, verbose=False).fit(b[0], b[2]), ValueError, ["n_topics"]),
    (lambda b: DDFA(3, solver="svd", verbose=False).fit(b[0], b[2]), ValueError, ["solver"]),
    (lambda b: DDFA(3, verbose=False).predict(b[0]), NotFittedError, ["DDFA"]),
    (lambda b: b[3].predict_proba(b[0][:3], [0, 1, 77]), ValueError, ["domains", "77"]),
    (lambda b: b[3].predict_proba(b[0][:3, :2]), ValueError, ["X"]),
    (lambda b: b[3].predict_proba(b[0][:3], [0, 1]), ValueError, ["same length"]),
    (lambda b: DomainDiscriminator(**FAST).fit(b[0], b[2][:10]), ValueError, ["same length"]),
    (lambda b: DomainDiscriminator(**FAST).fit(b[0][:, 0], b[2]), ValueError, ["X"]),
    (lambda b: DomainDiscriminator(**FAST).predict_proba(b[0]), NotFittedError,
     ["DomainDiscriminator"]),
    (lambda b: Discretizer(0).fit(b[0]), ValueError, ["n_clusters"]),
    (lambda b: Discretizer(3, space="pixels").fit(b[0]), ValueError, ["space"]),
    (lambda b: adjust_posterior(np.ones((2, 3)) / 3, np.ones((4, 2)) / 2), ValueError,
     ["domain"]),
    (lambda b: adjust_posterior(-np.ones((2, 4)), np.ones((4, 2)) / 2), ValueError,
     ["p_d_given_x"]),
]


@pytest.mark.parametrize("call, exc, words", BAD)
def test_continuous_bad_input_table(call, exc, words, blobs):
    with pytest.raises(exc) as info:
        call(blobs)
    for w in words:
        assert w in str(info.value), f"{w!r} not in {str(info.value)!r}"


def test_ddfa_recovers_and_outputs_distributions(blobs):
    X, y, d, est = blobs
    proba = est.predict_proba(X, d)
    assert np.all(np.isfinite(proba)) and proba.min() >= 0
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-9)
    np.testing.assert_allclose(est.domain_topic_.sum(1), 1, atol=1e-9)
    assert matched_accuracy(y, est.predict(X, d)) > 0.9


def test_torch_and_numpy_global_state_untouched(blobs):
    X, _, d, _ = blobs

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Dropout(0.2),
                                            torch.nn.Linear(8, 4))

        def forward(self, x):
            return self.body(x)

    net = Net()  # building it draws from torch's global RNG, as any nn.Module does
    torch_state = torch.random.get_rng_state().clone()
    np_state = np.random.get_state()[1].copy()
    err = np.geterr()
    DDFA(3, n_clusters=6, random_state=1, verbose=False,
         discriminator=DomainDiscriminator(net, **FAST)).fit(X, d)
    DDFA(3, n_clusters=6, random_state=1, verbose=False,
         discriminator=DomainDiscriminator(**FAST)).fit(X, d)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], np_state)
    assert np.geterr() == err


def test_domain_order_permutes_outputs(blobs):
    # the network's output units are initialized differently under another domain order,
    # so DDFA is equivariant up to training noise (the discrete solvers are exactly)
    X, y, d, est = blobs
    relabel = np.array([2, 0, 3, 1])
    other = DDFA(3, n_clusters=6, discriminator=DomainDiscriminator(**FAST), random_state=0,
                 verbose=False).fit(X, relabel[d])
    P = est.domain_topic_
    Q = other.domain_topic_[relabel]  # row of old domain i is at new id relabel[i]
    assert prior_l1(P, Q) / P.size < 0.02
