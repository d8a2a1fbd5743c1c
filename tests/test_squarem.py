"""SQUAREM acceleration: same fixed points as the plain iterations, in fewer sweeps."""
import numpy as np

from lls_topics import make_discrete_lls
from lls_topics.solvers.em import CountData, fit_domain_topic, vb_fit
from lls_topics.solvers.squarem import squarem


def test_linear_contraction_reaches_the_fixed_point_faster():
    # x -> c * x**0.9 converges linearly (slowly) to c**10 in log space
    c = np.array([2.0, 0.5, 3.0])
    target = c ** 10

    def step(params):
        return [c * params[0] ** 0.9]

    def close(old, new):
        return np.abs(np.log(new[0]) - np.log(old[0])).max() < 1e-12

    (x,), n = squarem(step, [np.ones(3)], max_iter=5000, converged=close)
    np.testing.assert_allclose(x, target, rtol=1e-9)
    plain, m = [np.ones(3)], 0
    while m < 5000:
        new = step(plain)
        m += 1
        if close(plain, new):
            break
        plain = new
    assert n < m / 5


def test_merit_keeps_every_cycle_monotone():
    prob = make_discrete_lls(n_topics=4, n_words=60, n_domains=12, n_per_domain=400,
                             random_state=3)
    data = CountData(prob.corpus.counts)
    A = prob.topic_word
    seen = []

    def ll(params):
        value = data.ratio(params[0], A)[1]
        return value

    def step(params):
        R, _ = data.ratio(params[0], A, with_ll=False)
        P = params[0] * data.dot_topics(R, A)
        return [P / P.sum(axis=1, keepdims=True)]

    def conv(old, new):
        seen.append(ll(new))
        return False

    squarem(step, [np.full((12, 4), 0.25)], max_iter=60, converged=conv, merit=ll)
    assert np.all(np.diff(seen) >= -1e-8 * abs(seen[0]))


def test_accelerated_and_plain_refinements_agree():
    prob = make_discrete_lls(n_topics=4, n_words=80, n_domains=15, n_per_domain=800,
                             random_state=1)
    counts = prob.corpus.counts
    A = prob.topic_word
    fast = fit_domain_topic(counts, A, accelerate=True)
    slow = fit_domain_topic(counts, A, accelerate=False, max_iter=20000)
    np.testing.assert_allclose(fast, slow, atol=1e-5)
    np.testing.assert_allclose(fast.sum(axis=1), 1.0)
    P0 = prob.domain_topic
    Pf, Af, nf = vb_fit(counts, P0, A, topic_word_prior=0.01, tol=1e-9, max_iter=5000)
    Ps, As, ns = vb_fit(counts, P0, A, topic_word_prior=0.01, tol=1e-9, max_iter=5000,
                        accelerate=False)
    np.testing.assert_allclose(Pf, Ps, atol=1e-5)
    np.testing.assert_allclose(Af, As, atol=1e-5)
    assert nf < ns


def test_fit_domain_topic_evaluates_each_iterate_once(monkeypatch):
    # SQUAREM asks for the merit of a point and then sweeps from it: the model at that
    # point (the expensive part of both) must be computed once, not twice
    prob = make_discrete_lls(n_topics=4, n_words=80, n_domains=15, n_per_domain=800,
                             random_state=2)
    seen = []
    original = CountData.ratio

    def counting(self, P, A, with_ll=True):
        seen.append(P.tobytes())
        return original(self, P, A, with_ll)

    monkeypatch.setattr(CountData, "ratio", counting)
    P = fit_domain_topic(prob.corpus.counts, prob.topic_word, tol=1e-12)
    assert len(seen) > 20    # enough cycles to exercise the reuse
    assert len(seen) == len(set(seen))
    monkeypatch.setattr(CountData, "ratio", original)
    np.testing.assert_array_equal(P, fit_domain_topic(prob.corpus.counts, prob.topic_word,
                                                      tol=1e-12))
