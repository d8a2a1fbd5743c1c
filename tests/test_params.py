"""Every estimator declares its parameters and checks them first, with one error rule."""
import numbers

import numpy as np
import pytest

from lls_topics import (DDFA, AnchorSolver, Discretizer, DomainDiscriminator, LDASolver,
                        NMFSolver)
from lls_topics._params import HasMethods, Interval, Options, check_param

# (factory taking the integer parameter, its name, fit arguments that are not data)
ESTIMATORS = [
    pytest.param(lambda v: AnchorSolver(v), "n_topics", id="anchor"),
    pytest.param(lambda v: NMFSolver(v), "n_topics", id="nmf"),
    pytest.param(lambda v: NMFSolver(v, reference=True), "n_topics", id="nmf-reference"),
    pytest.param(lambda v: LDASolver(v), "n_topics", id="lda"),
    pytest.param(lambda v: DDFA(v), "n_topics", id="ddfa"),
    pytest.param(lambda v: DomainDiscriminator(epochs=v), "epochs", id="discriminator"),
    pytest.param(lambda v: Discretizer(v), "n_clusters", id="discretizer"),
]


class _Untouchable:
    """Data that fails loudly if fit looks at it before checking its parameters."""

    def __getattr__(self, name):
        raise AssertionError(f"fit touched the data ({name}) before checking parameters")

    def __len__(self):
        raise AssertionError("fit touched the data before checking parameters")

    def __array__(self, *a, **k):
        raise AssertionError("fit touched the data before checking parameters")


def _fit(est):
    data = _Untouchable()
    if isinstance(est, (DDFA, DomainDiscriminator)):
        return est.fit(data, data)
    return est.fit(data)


@pytest.mark.parametrize("make, name", ESTIMATORS)
@pytest.mark.parametrize("value, error", [("3", TypeError), (None, TypeError),
                                          (True, TypeError), (2.5, ValueError),
                                          (float("nan"), ValueError), (0, ValueError),
                                          (-2, ValueError)])
def test_integer_parameter_same_error_everywhere(make, name, value, error):
    with pytest.raises(error, match=name):
        _fit(make(value))


@pytest.mark.parametrize("est, name, error", [
    (AnchorSolver(3, method="qr"), "method", ValueError),
    (AnchorSolver(3, topic_word_prior=0), "topic_word_prior", ValueError),
    (AnchorSolver(3, tol="small"), "tol", TypeError),
    (NMFSolver(3, loss="l1"), "loss", ValueError),
    (NMFSolver(3, reference="yes"), "reference", TypeError),
    (NMFSolver(3, init=5), "init", TypeError),
    (NMFSolver(3, reference=True, max_iter=0), "max_iter", ValueError),
    (LDASolver(3, topic_word_prior=-1.0), "topic_word_prior", ValueError),
    (LDASolver(3, alpha="big"), "alpha", ValueError),
    (LDASolver(3, workers=0), "workers", ValueError),
    (DDFA(3, solver="svd"), "solver", ValueError),
    (DDFA(3, solver=42), "solver", TypeError),
    (DDFA(3, discriminator="mlp"), "discriminator", TypeError),
    (DDFA(3, n_clusters=2), "n_clusters", ValueError),
    (DDFA(3, posterior="network"), "refine_rounds", ValueError),
    (DDFA(3, random_state=-1), "random_state", ValueError),
    (DomainDiscriminator(dropout=1.0), "dropout", ValueError),
    (DomainDiscriminator(hidden=(8, 0)), "hidden", ValueError),
    (DomainDiscriminator(lr="fast"), "lr", TypeError),
    (Discretizer(4, space="pixels"), "space", ValueError),
    (Discretizer(4, feature_weight=0), "feature_weight", ValueError),
])
def test_bad_parameter_named_before_data_work(est, name, error):
    with pytest.raises(error, match=name):
        _fit(est)


def test_every_constructor_parameter_is_declared():
    for est in (AnchorSolver(2), NMFSolver(2), LDASolver(2), DDFA(2), DomainDiscriminator(),
                Discretizer(2)):
        assert set(type(est)._param_constraints) == set(est.get_params(deep=False)), \
            type(est).__name__


def test_constraints():
    ints = [Interval(numbers.Integral, 1, 10)]
    check_param(3.0, "n", ints)  # an integral float is an integer
    check_param(np.int64(10), "n", ints)
    with pytest.raises(ValueError, match=r"n must be an integer >= 1 and <= 10, got 11"):
        check_param(11, "n", ints)
    with pytest.raises(TypeError, match="n must be"):
        check_param(np.bool_(True), "n", ints)
    half_open = [Interval(numbers.Real, 0, 1, closed="left")]
    check_param(0, "p", half_open)
    with pytest.raises(ValueError, match=r"p must be a finite number >= 0 and < 1"):
        check_param(1, "p", half_open)
    opts = [Options({"a", "b"}), None]
    check_param(None, "o", opts)
    with pytest.raises(ValueError, match="one of 'a', 'b' or None"):
        check_param("c", "o", opts)
    with pytest.raises(TypeError):
        check_param(1, "o", opts)
    with pytest.raises(TypeError, match="a fitter"):
        check_param(object(), "f", [HasMethods(["fit"], "a fitter")])
