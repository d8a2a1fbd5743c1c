import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone

from lls_topics import AnchorSolver, DomainCorpus
from lls_topics._simplex import project_simplex, simplex_least_squares
from lls_topics.solvers.anchors import find_anchors, recover_topics, word_profiles
from lls_topics.datasets import DISCRETE_SETTINGS, make_discrete_lls, population_counts
from lls_topics.solvers.em import fit_domain_topic
from lls_topics.metrics import align_labels, matched_accuracy, prior_l1


@pytest.fixture(scope="module")
def small_problem():
    return make_discrete_lls(**DISCRETE_SETTINGS["small-a3"], random_state=0)


@pytest.mark.parametrize("setting", ["small-a0.5", "small-a10"])
def test_population_data_recovered_exactly(setting):
    prob = make_discrete_lls(**{**DISCRETE_SETTINGS[setting], "n_per_domain": 10},
                             random_state=1)
    N = population_counts(prob.domain_topic, prob.topic_word, 5000.0)
    solver = AnchorSolver(5).fit(N)
    planted = prob.anchors
    perm = align_labels(prob.domain_topic, solver.domain_topic_)
    # every label's anchor is one of its planted anchors
    for y in range(5):
        assert solver.anchors_[perm[y]] in planted[y]
    np.testing.assert_allclose(solver.domain_topic_[:, perm], prob.domain_topic, atol=1e-6)
    np.testing.assert_allclose(solver.topic_word_[perm], prob.topic_word, atol=1e-6)


def test_population_exact_without_refinement():
    prob = make_discrete_lls(n_topics=8, n_words=500, n_domains=30, n_per_domain=10,
                             alpha=1.0, max_condition=50, random_state=3)
    N = population_counts(prob.domain_topic, prob.topic_word, 1e4)
    s = AnchorSolver(8, refine="none").fit(sp.csr_matrix(N))
    perm = align_labels(prob.domain_topic, s.domain_topic_)
    assert np.abs(s.domain_topic_[:, perm] - prob.domain_topic).max() < 1e-6


def test_planted_recovery_near_oracle_and_bayes(small_problem):
    prob = small_problem
    C = prob.corpus
    solver = AnchorSolver(5, random_state=0).fit(C)
    oracle = fit_domain_topic(C.counts, prob.topic_word)
    ratio = prior_l1(prob.domain_topic, solver.domain_topic_) / \
        prior_l1(prob.domain_topic, oracle)
    assert ratio < 1.5  # measured 1.21 on this seed; the likelihood limit is 1.98
    post = solver.predict(prob.tokens, prob.domains)
    true_post = prob.topic_word[:, prob.tokens].T * prob.domain_topic[prob.domains]
    bayes = matched_accuracy(prob.labels, true_post.argmax(1))
    assert matched_accuracy(prob.labels, post) >= bayes - 0.005


def test_noise_correction_avoids_rare_inputs(small_problem):
    Q, n_x = word_profiles(small_problem.corpus.counts)
    a_raw, _ = find_anchors(Q, 5, word_counts=n_x, noise_correction=False, min_count=1)
    a_nc, _ = find_anchors(Q, 5, word_counts=n_x)
    assert np.median(n_x[a_nc]) > np.median(n_x[a_raw])
    A = small_problem.topic_word
    owners = A[:, a_nc].argmax(0)
    assert len(set(owners.tolist())) == 5  # one anchor per label


@pytest.mark.parametrize("loss", ["l2", "kl"])
def test_fast_recovery_matches_cvxpy(loss):
    prob = make_discrete_lls(n_topics=3, n_words=40, n_domains=6, n_per_domain=400,
                             alpha=1.0, max_condition=20, random_state=4)
    C = prob.corpus
    Q, n_x = word_profiles(C.counts)
    anchors, _ = find_anchors(Q, 3, word_counts=n_x)
    P1, A1, H1 = recover_topics(C.counts, anchors, loss=loss)
    P2, A2, H2 = recover_topics(C.counts, anchors, loss=loss, backend="cvxpy")
    assert np.abs(H1 - H2).max() < 1e-4
    assert np.abs(P1 - P2).max() < 1e-4


def test_recovery_start_changes_the_steps_not_the_solution():
    prob = make_discrete_lls(n_topics=3, n_words=40, n_domains=6, n_per_domain=400,
                             alpha=1.0, max_condition=20, random_state=4)
    C = prob.corpus.counts
    Q, n_x = word_profiles(C)
    anchors, _ = find_anchors(Q, 3, word_counts=n_x)
    P1, A1, H1 = recover_topics(C, anchors)
    far = np.zeros_like(H1)
    far[:, 0] = 1.0                       # a vertex, far from most solutions
    P2, A2, H2 = recover_topics(C, anchors, init=far)
    assert np.abs(H1 - H2).max() < 1e-6 and np.abs(P1 - P2).max() < 1e-6
    # with a start, the support updates solve these rows exactly within 3 steps
    assert np.abs(recover_topics(C, anchors, init=H1, max_iter=3)[2] - H1).max() < 1e-6
    assert np.abs(recover_topics(C, anchors, init=far, max_iter=3)[2] - H1).max() < 1e-6
    with pytest.raises(ValueError, match="init"):
        recover_topics(C, anchors, init=H1[:, :2])


def test_started_simplex_regression_matches_the_exact_one():
    rng = np.random.default_rng(3)
    B = rng.dirichlet(np.ones(15), size=6)
    H = rng.dirichlet(np.full(6, 0.3), size=400)
    Qm = H @ B + rng.normal(scale=0.02, size=(400, 15))      # minimizers on faces
    G, QB = B @ B.T, Qm @ B.T
    exact = simplex_least_squares(G, QB)                       # row-by-row NNLS
    start = rng.dirichlet(np.ones(6), size=400)                # wrong supports
    np.testing.assert_allclose(simplex_least_squares(G, QB, H0=start), exact, atol=1e-8)
    # started at the solution, the support updates alone (no step) confirm every row
    few = simplex_least_squares(G, QB, H0=exact, max_iter=0)
    np.testing.assert_allclose(few, exact, atol=1e-9)


def test_word_profiles_sum_duplicates_and_keep_counts_intact():
    # duplicate entries (not summed) and unseen trailing inputs
    counts = sp.csr_matrix((np.array([1.0, 2.0, 3.0, 4.0]), np.array([0, 0, 1, 0]),
                            np.array([0, 3, 4])), shape=(2, 4))
    assert not counts.has_canonical_format
    before = counts.data.copy()
    Q, n_x = word_profiles(counts)
    np.testing.assert_allclose(n_x, [7.0, 3.0, 0.0, 0.0])
    np.testing.assert_allclose(Q.toarray(), [[3 / 7, 4 / 7], [1.0, 0.0], [0, 0], [0, 0]])
    np.testing.assert_array_equal(counts.data, before)


def test_project_simplex_properties():
    rng = np.random.default_rng(0)
    Y = rng.normal(size=(500, 7)) * 3
    X = project_simplex(Y)
    np.testing.assert_allclose(X.sum(1), 1)
    assert X.min() >= 0
    # optimality: no feasible point among random ones is closer
    Z = rng.dirichlet(np.ones(7), size=500)
    assert np.all(((X - Y) ** 2).sum(1) <= ((Z - Y) ** 2).sum(1) + 1e-12)


def test_simplex_least_squares_solves_exact_mixtures():
    rng = np.random.default_rng(1)
    B = rng.dirichlet(np.ones(12), size=4)
    H = rng.dirichlet(np.ones(4), size=300)
    Qm = H @ B
    H_hat = simplex_least_squares(B @ B.T, Qm @ B.T)
    assert np.abs(H_hat - H).max() < 1e-6


def test_same_seed_same_result_and_clone(small_problem):
    C = small_problem.corpus
    a = AnchorSolver(5, random_state=7).fit(C)
    b = clone(a).fit(C)
    np.testing.assert_array_equal(a.domain_topic_, b.domain_topic_)
    np.testing.assert_array_equal(a.topic_word_, b.topic_word_)
    assert a.get_params()["n_topics"] == 5
    assert b.get_params() == a.get_params()


def test_domain_permutation_and_token_relabeling(small_problem):
    C = small_problem.corpus
    base = AnchorSolver(5).fit(C)
    rng = np.random.default_rng(0)
    dperm = rng.permutation(C.n_domains)
    permuted = AnchorSolver(5).fit(C.counts[dperm])
    lab = align_labels(base.domain_topic_[dperm], permuted.domain_topic_)
    # equal up to the refinement's stopping tolerance: the accelerated (SQUAREM) path
    # depends on floating-point summation order
    np.testing.assert_allclose(permuted.domain_topic_[:, lab], base.domain_topic_[dperm],
                               atol=2e-5)
    wperm = rng.permutation(C.n_words)
    relabeled = AnchorSolver(5).fit(C.counts[:, wperm])
    lab = align_labels(base.domain_topic_, relabeled.domain_topic_)
    np.testing.assert_allclose(relabeled.topic_word_[lab], base.topic_word_[:, wperm],
                               atol=2e-5)


def test_outputs_normalized_and_predict(small_problem):
    prob = small_problem
    s = AnchorSolver(5).fit(prob.corpus)
    np.testing.assert_allclose(s.topic_word_.sum(1), 1)
    np.testing.assert_allclose(s.domain_topic_.sum(1), 1)
    proba = s.predict_proba(prob.tokens[:1000], prob.domains[:1000])
    np.testing.assert_allclose(proba.sum(1), 1)
    assert proba.min() >= 0
    pooled = s.predict_proba(prob.tokens[:10])
    np.testing.assert_allclose(pooled.sum(1), 1)
    assert s.anchor_residuals_.shape == (5,)
    T = s.transform(prob.corpus.counts)
    assert np.abs(T - s.domain_topic_).max() < 1e-3


def test_sparse_large_vocabulary_memory():
    import tracemalloc

    V, D, k = 100_000, 200, 5
    prob = make_discrete_lls(n_topics=k, n_words=V, n_domains=D, n_per_domain=2000,
                             alpha=1.0, max_condition=None, beta=0.1, random_state=0)
    C = DomainCorpus.from_tokens(prob.tokens, prob.domains, n_words=V)
    tracemalloc.start()
    AnchorSolver(k, polish_iter=5, max_iter=50).fit(C)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # a dense D x V float matrix alone would take 160 MB; V x V, 80 GB
    assert peak < 120e6


def test_cooccurrence_space_on_short_documents():
    prob = make_discrete_lls(n_topics=3, n_words=60, n_domains=400, n_per_domain=30,
                             alpha=0.3, max_condition=None, random_state=5)
    s = AnchorSolver(3, space="cooccurrence").fit(prob.corpus)
    oracle = fit_domain_topic(prob.corpus.counts, prob.topic_word)
    err = prior_l1(prob.domain_topic, s.domain_topic_) / prob.domain_topic.size
    err_oracle = prior_l1(prob.domain_topic, oracle) / prob.domain_topic.size
    assert err < 2.0 * err_oracle + 0.02


def _dense_cooccurrence_solution(counts, k):
    """The co-occurrence anchors and p(x|y) from the dense V x V rows, as Arora et al."""
    from lls_topics.solvers.anchor import cooccurrence_profiles

    Qn, mass = cooccurrence_profiles(counts)
    n_x = np.asarray(counts.sum(axis=0)).ravel()
    cand = np.flatnonzero((n_x >= max(5.0, 1e-3 * n_x.sum() / k)) & (mass > 0))
    anchors, res = find_anchors(Qn, k, noise_correction=False, candidates=cand)
    B = Qn[anchors]
    W = simplex_least_squares(B @ B.T, Qn @ B.T, max_iter=3000, tol=1e-10)
    W[mass <= 0] = 1.0 / k
    joint = W.T * n_x[None, :]
    return anchors, res, joint / joint.sum(axis=1, keepdims=True)


def test_cooccurrence_solution_is_the_dense_one_without_the_dense_matrix():
    import tracemalloc

    from lls_topics.solvers.anchor import _cooccurrence_solution

    prob = make_discrete_lls(n_topics=4, n_words=300, n_domains=300, n_per_domain=20,
                             alpha=0.3, max_condition=None, random_state=2)
    dense = np.asarray(prob.corpus.counts.todense(), dtype=np.float64)
    dense[0] = 0.0                        # a domain with no samples
    dense[1] = 0.0
    dense[1, 5] = 1.0                     # and one with a single sample
    dense[2, 7] = 0.5                     # fractional counts: the clipped diagonal
    counts = sp.csr_matrix(dense)
    anchors, res, A = _dense_cooccurrence_solution(counts, 4)
    _, A_s, anchors_s, res_s = _cooccurrence_solution(counts, 4, method="spa",
                                                      min_count=None, cleanup=False)
    np.testing.assert_array_equal(anchors_s, anchors)
    np.testing.assert_allclose(res_s, res, rtol=1e-10)
    np.testing.assert_allclose(A_s, A, atol=1e-9)
    # a larger vocabulary: the dense rows alone would take V^2 * 8 = 72 MB
    big = make_discrete_lls(n_topics=3, n_words=3000, n_domains=200, n_per_domain=100,
                            alpha=0.5, max_condition=None, random_state=0)
    tracemalloc.start()
    _cooccurrence_solution(sp.csr_matrix(big.corpus.counts, dtype=np.float64), 3,
                           method="spa", min_count=None, cleanup=False)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 30e6


def test_identifiability_errors():
    X = np.random.default_rng(0).integers(0, 5, size=(3, 20))
    with pytest.raises(ValueError, match="not identifiable with fewer domains than labels"):
        AnchorSolver(4).fit(X)
    X2 = np.zeros((6, 20), dtype=int)
    X2[:, :2] = 3
    with pytest.raises(ValueError, match="inputs that have data"):
        AnchorSolver(3).fit(X2)


def test_empty_domain_dropped_with_warning(small_problem):
    N = small_problem.corpus.counts.toarray()
    N = np.vstack([N, np.zeros((1, N.shape[1]), dtype=N.dtype)])
    with pytest.warns(UserWarning, match="dropping 1 domain"):
        s = AnchorSolver(5).fit(N)
    assert s.domain_topic_.shape == (20, 5)
    assert 20 not in s.domain_ids_.tolist()


def test_heldout_priors_choose_from_the_grid_reproducibly(small_problem):
    from lls_topics.solvers.anchor import PRIOR_GRID

    C = small_problem.corpus
    a = AnchorSolver(5, priors="heldout", random_state=3).fit(C)
    b = AnchorSolver(5, priors="heldout", random_state=3).fit(C)
    assert (a.domain_prior_, a.topic_word_prior_) in PRIOR_GRID
    assert a.prior_scores_.shape == (len(PRIOR_GRID),)
    assert np.all(np.isfinite(a.prior_scores_))
    best = PRIOR_GRID[int(np.argmax(a.prior_scores_))]
    assert (a.domain_prior_, a.topic_word_prior_) == best
    np.testing.assert_array_equal(a.domain_topic_, b.domain_topic_)
    np.testing.assert_allclose(a.domain_topic_.sum(axis=1), 1.0)
    fixed = AnchorSolver(5).fit(C)
    assert fixed.prior_scores_ is None and fixed.domain_prior_ == 1.0
    # the chosen priors recover the planted p_d(y) about as well as the defaults
    err_a = prior_l1(small_problem.domain_topic, a.domain_topic_)
    err_f = prior_l1(small_problem.domain_topic, fixed.domain_topic_)
    assert err_a <= 1.25 * err_f
    with pytest.raises(ValueError, match="priors"):
        AnchorSolver(5, priors="best").fit(C)


def test_heldout_priors_score_with_capped_fits_and_refit_in_full(small_problem, monkeypatch):
    """Ranking the prior pairs uses short variational fits; only the chosen pair gets the
    estimator's full budget."""
    import lls_topics.solvers.anchor as anchor_mod

    calls = []
    real_vb = anchor_mod.vb_fit

    def recording_vb(*args, **kwargs):
        calls.append((kwargs["max_iter"], kwargs["tol"]))
        return real_vb(*args, **kwargs)

    monkeypatch.setattr(anchor_mod, "vb_fit", recording_vb)
    AnchorSolver(5, priors="heldout", random_state=0).fit(small_problem.corpus)
    n_pairs = len(anchor_mod.PRIOR_GRID)
    assert len(calls) == n_pairs + 1
    assert calls[:n_pairs] == [(anchor_mod._SELECT_MAX_ITER, anchor_mod._SELECT_TOL)] * n_pairs
    assert calls[-1] == (500, 1e-7)
    # a budget below the cap is kept for the scoring fits too
    calls.clear()
    AnchorSolver(5, priors="heldout", max_iter=20, tol=1e-3,
                 random_state=0).fit(small_problem.corpus)
    assert set(calls) == {(20, 1e-3)}


@pytest.mark.parametrize("n,k,D", [(40, 6, 12), (300, 10, 20), (25, 20, 40)])
def test_exact_small_simplex_regression_matches_fista(n, k, D, monkeypatch):
    # rows of a DDFA-sized vocabulary are solved exactly on supports found from the
    # full one; that must be the minimizer that the FISTA path converges to
    import lls_topics._simplex as sx

    rng = np.random.default_rng(n + k)
    B = rng.dirichlet(np.full(D, 0.5), size=k)
    Q = rng.dirichlet(np.full(k, 0.3), size=n) @ B + rng.normal(0, 0.01, size=(n, D))
    G, QB = B @ B.T, Q @ B.T
    exact = sx.simplex_least_squares(G, QB)
    monkeypatch.setattr(sx, "_EXACT_ROWS", 0)
    fista = sx.simplex_least_squares(G, QB)
    np.testing.assert_allclose(exact.sum(1), 1.0, atol=1e-12)
    assert exact.min() >= 0
    np.testing.assert_allclose(exact, fista, atol=1e-8)
    # a singular Gram matrix (more labels than domains) stays on the FISTA path
    Bs = rng.dirichlet(np.ones(3), size=5)
    monkeypatch.setattr(sx, "_EXACT_ROWS", 1000)
    H = sx.simplex_least_squares(Bs @ Bs.T, rng.dirichlet(np.ones(3), size=7) @ Bs.T)
    np.testing.assert_allclose(H.sum(1), 1.0, atol=1e-9)
