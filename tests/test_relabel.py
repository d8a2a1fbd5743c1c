"""Tests of the label-network refinement (lls_topics.continuous.relabel and DDFA(refine_rounds=...))."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lls_topics.continuous.adjust import domain_given_label  # noqa: E402
from lls_topics.continuous.ddfa import DDFA  # noqa: E402
from lls_topics.continuous.discriminator import DomainDiscriminator  # noqa: E402
from lls_topics.metrics import matched_accuracy, prior_l1  # noqa: E402
from lls_topics.continuous.relabel import fit_label_network, label_proba  # noqa: E402

from test_ddfa import FAST, blobs  # noqa: E402


@pytest.fixture(scope="module")
def problem():
    X, y, d, P = blobs(k=3, D=6, n_per_domain=150, seed=21)
    disc = DomainDiscriminator(random_state=0, **FAST).fit(X, d)
    return X, y, d, P, disc


def test_label_network_learns_labels_through_true_p_d_given_y(problem):
    X, y, d, P, disc = problem
    M, _, _ = domain_given_label(P, np.bincount(d))
    net = fit_label_network(disc, M, X, d, random_state=0)
    G = label_proba(net, X)
    assert G.shape == (len(X), 3)
    assert np.all(G >= 0) and np.all(np.isfinite(G))
    np.testing.assert_allclose(G.sum(1), 1)
    # trained only on domain labels, but p(d|y) pins each output to its label:
    # no permutation is needed
    assert np.mean(G.argmax(1) == y) > 0.95
    # the discriminator itself is untouched
    assert disc.predict_proba(X[:3]).shape == (3, 6)


def test_label_network_custom_module_gets_a_head(problem):
    X, y, d, P, _ = problem
    net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 6))
    disc = DomainDiscriminator(net, random_state=0, **FAST).fit(X, d)
    M, _, _ = domain_given_label(P, np.bincount(d))
    G = label_proba(fit_label_network(disc, M, X, d, random_state=0), X)
    assert np.mean(G.argmax(1) == y) > 0.9


def test_ddfa_refine_rounds_recover_and_are_reproducible(problem):
    X, y, d, P, disc = problem
    kw = dict(n_clusters=9, refine_rounds=1, random_state=0, verbose=False)
    a = DDFA(3, **kw).fit_with_discriminator(disc, X, d)
    b = DDFA(3, **kw).fit_with_discriminator(disc, X, d)
    assert a.label_network_ is not None and a.space_.startswith("label-network")
    assert a.posterior_ == "network"
    pooled = a.predict_proba(X)
    assert np.all(pooled >= 0)
    np.testing.assert_allclose(pooled.sum(1), 1)
    # the other posteriors use the refined p_d(y), in the label network's label order
    for post in ("adjust", "combined"):
        other = DDFA(3, n_clusters=9, refine_rounds=1, posterior=post, random_state=0,
                     verbose=False).fit_with_discriminator(disc, X, d)
        assert np.mean(other.predict(X, d) == a.predict(X, d)) > 0.95
    np.testing.assert_allclose(a.domain_topic_.sum(1), 1)
    np.testing.assert_allclose(a.cluster_topic_.sum(1), 1)
    assert prior_l1(P, a.domain_topic_, per_entry=True) < 0.06
    proba = a.predict_proba(X, d)
    assert np.all(proba >= 0) and np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(1), 1)
    assert matched_accuracy(y, proba.argmax(1)) > 0.95
    np.testing.assert_array_equal(a.domain_topic_, b.domain_topic_)
    np.testing.assert_array_equal(proba, b.predict_proba(X, d))
    plain = DDFA(3, n_clusters=9, random_state=0, verbose=False).fit_with_discriminator(
        disc, X, d)
    assert plain.label_network_ is None


def test_ddfa_refine_rounds_bad_input(problem):
    X, y, d, P, disc = problem
    with pytest.raises(ValueError, match="refine_rounds"):
        DDFA(3, refine_rounds=-1, verbose=False).fit_with_discriminator(disc, X, d)
    with pytest.raises(ValueError, match="refine_rounds"):
        DDFA(3, posterior="network", verbose=False).fit_with_discriminator(disc, X, d)


def test_refined_ddfa_save_load_round_trip(problem, tmp_path):
    from lls_topics.persistence import load_estimator, save_estimator

    X, y, d, P, disc = problem
    est = DDFA(3, n_clusters=9, refine_rounds=1, random_state=0, verbose=False
               ).fit_with_discriminator(disc, X, d)
    save_estimator(est, tmp_path / "m")
    back = load_estimator(tmp_path / "m")
    np.testing.assert_allclose(back.predict_proba(X, d), est.predict_proba(X, d), atol=1e-6)
    np.testing.assert_array_equal(back.domain_topic_, est.domain_topic_)


def test_refinement_accepts_a_torch_dataset(problem):
    from torch.utils.data import TensorDataset

    X, y, d, P, disc = problem
    ds = TensorDataset(torch.from_numpy(X))
    est = DDFA(3, n_clusters=9, refine_rounds=1, random_state=0, verbose=False
               ).fit_with_discriminator(disc, ds, d)
    assert est.space_ == "label-network"
    proba = est.predict_proba(ds, d)
    np.testing.assert_allclose(proba.sum(1), 1)
    assert matched_accuracy(y, proba.argmax(1)) > 0.95


def test_label_network_bad_input(problem):
    X, y, d, P, disc = problem
    M, _, _ = domain_given_label(P, np.bincount(d))
    with pytest.raises(ValueError, match="domain_given_label"):
        fit_label_network(disc, M[:4], X, d)
    with pytest.raises(ValueError, match="domain_given_label"):
        fit_label_network(disc, -M, X, d)
    with pytest.raises(ValueError, match="rows"):
        fit_label_network(disc, M, X, d + 1)
    with pytest.raises(ValueError, match="every domain"):
        fit_label_network(disc, M, X[d > 0], d[d > 0])
    with pytest.raises(ValueError, match="label_network"):
        label_proba(disc, X)
    net = fit_label_network(disc, M, X, d, random_state=0)
    with pytest.raises(ValueError, match="shape"):
        label_proba(net, X[:, :2])


def test_distilled_head_starts_at_the_given_posterior(problem):
    # a head fitted to a posterior that only the labels know starts the network there;
    # a permuted posterior (labels the domains do not support) gives another start
    X, y, d, P, disc = problem
    M, _, _ = domain_given_label(P, np.bincount(d))
    onehot = np.eye(3)[y] * 0.98 + 0.01 / 3
    net = fit_label_network(disc, M, X, d, X, d, max_epochs=1, patience=1,
                            distill_from=(X[:300], onehot[:300]), random_state=0)
    assert np.mean(label_proba(net, X).argmax(1) == y) > 0.95
    # the start matters: from a head fitted to permuted labels, one epoch through the
    # true p(d|y) does not get there (from a head near zero it does, on this problem)
    wrong = np.eye(3)[np.array([1, 2, 0])[y]] * 0.98 + 0.01 / 3
    off = fit_label_network(disc, M, X, d, X, d, max_epochs=1, patience=1,
                            distill_from=(X[:300], wrong[:300]), random_state=0)
    assert np.mean(label_proba(off, X).argmax(1) == y) < 0.7
    # continuing a trained network keeps what it learned
    more = fit_label_network(disc, M, X, d, X, d, max_epochs=1, patience=1,
                             init_network=net, random_state=1)
    assert np.mean(label_proba(more, X).argmax(1) == y) > 0.95
    with pytest.raises(ValueError, match="alternatives"):
        fit_label_network(disc, M, X, d, init_network=net, distill_from=(X, onehot))
    with pytest.raises(ValueError, match="distill_from's posterior must have shape"):
        fit_label_network(disc, M, X, d, distill_from=(X[:10], onehot[:9]))


def test_distill_head_bad_input():
    from lls_topics.continuous.relabel import distill_head

    with pytest.raises(ValueError, match="same n"):
        distill_head(np.ones((4, 2)), np.full((3, 2), 0.5))
    with pytest.raises(ValueError, match="non-negative"):
        distill_head(np.ones((3, 2)), np.array([[0.5, 0.5], [1.5, -0.5], [0.5, 0.5]]))


def test_round_and_first_pass_predict_together_when_tied(problem, tmp_path, monkeypatch):
    # where the held-out rows cannot tell the kept round from the first pass, the model
    # predicts with the normalized geometric mean of both posteriors
    from lls_topics.continuous import policy

    X, y, d, P, disc = problem
    monkeypatch.setattr(policy, "round_weight", lambda first, refined, z=2.0: 0.5)
    # (the rounds are kept whatever they score: the averaging is under test)
    monkeypatch.setattr(policy, "keep_round", lambda current, refined, z=2.0: True)
    kw = dict(n_clusters=9, random_state=0, verbose=False)
    tr, va = np.split(np.random.default_rng(0).permutation(len(X)), [600])
    est = DDFA(3, **kw).fit_with_discriminator(disc, X[tr], d[tr], X[va], d[va])
    assert est.n_rounds_ >= 1 and est.ensemble_weight_ == 0.5
    first = DDFA(3, refine_rounds=0, **kw).fit_with_discriminator(disc, X[tr], d[tr],
                                                                X[va], d[va])
    both = est.predict_proba(X, d)
    est.ensemble_weight_ = 1.0
    net = est.predict_proba(X, d)
    est.ensemble_weight_ = 0.5
    mix = np.sqrt(net * first.predict_proba(X, d))
    np.testing.assert_allclose(both, mix / mix.sum(1, keepdims=True), atol=1e-8)
    assert matched_accuracy(y, both.argmax(1)) > 0.9
    est.save(tmp_path / "m")
    back = DDFA.load(tmp_path / "m")
    np.testing.assert_allclose(back.predict_proba(X, d), both, atol=1e-6)
    np.testing.assert_allclose(back.predict_proba(X).sum(1), 1.0)
    monkeypatch.undo()
    # a round far better on the held-out domains predicts alone
    assert policy.round_weight(np.zeros(50) - 1.0, np.zeros(50) - 0.5 +
                               np.linspace(-1e-3, 1e-3, 50)) == 1.0
