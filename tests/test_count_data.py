"""The E-step's count arrays (``solvers.em.CountData``): sparse and dense paths agree."""
import numpy as np
import pytest
import scipy.sparse as sp

from lls_topics.solvers.em import CountData


def test_count_data_model_values_are_the_product_at_the_non_zeros():
    # the buffered per-label gathers must give (P A)[d, x] at every stored cell, also
    # around a domain without samples, and a result that later calls do not overwrite
    rng = np.random.default_rng(3)
    N = rng.poisson(0.3, size=(12, 40)).astype(float)
    N[4] = 0.0
    data = CountData(sp.csr_matrix(N), dense=False)
    P = rng.dirichlet(np.ones(3), size=12)
    A = rng.dirichlet(np.ones(40), size=3)
    rows, cols = np.nonzero(N)
    first = data.model_values(P, A)
    np.testing.assert_allclose(first, (P @ A)[rows, cols], rtol=1e-13)
    kept = first.copy()
    data.model_values(rng.dirichlet(np.ones(3), size=12), A)
    data.ratio(P, A)
    np.testing.assert_array_equal(first, kept)
    # the log-likelihood through the buffers matches the dense path's
    dense = CountData(N, dense=True)
    assert abs(data.ratio(P, A)[1] - dense.ratio(P, A)[1]) < 1e-9 * abs(dense.ratio(P, A)[1])


def test_count_data_model_values_rejects_a_bad_out_buffer():
    N = sp.csr_matrix(np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]]))
    data = CountData(N, dense=False)
    P = np.full((2, 2), 0.5)
    A = np.full((2, 3), 1.0 / 3)
    with pytest.raises(ValueError, match="out"):
        data.model_values(P, A, out=np.empty(4))
    with pytest.raises(ValueError, match="out"):
        data.model_values(P, A, out=np.empty(3, dtype=np.float32))
    buf = np.empty(3)
    assert data.model_values(P, A, out=buf) is buf
    np.testing.assert_allclose(buf, 1.0 / 3)
