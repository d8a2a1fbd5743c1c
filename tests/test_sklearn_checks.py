"""scikit-learn's own estimator checks on the three solvers, with every expected failure
declared and explained."""
import warnings

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from lls_topics import AnchorSolver, LDASolver, NMFSolver

# predict / predict_proba take (tokens, domains): one input id per sample and its domain,
# not rows of the (domains x inputs) count matrix that fit takes. That is the LLS design
# (a sample is an input seen in a domain); checks that feed fit's X to predict fail.
_PREDICT_TAKES_TOKENS = "design: predict takes input ids (tokens) and domains, not fit's X"
# our ValueErrors name the argument and what was expected, in our own words; the checks
# look for scikit-learn's wording
_OWN_WORDING = "error raised as it should be, but worded as lls_topics words them"
_EXPECTED = {
    "check_n_features_in_after_fitting": _PREDICT_TAKES_TOKENS,
    "check_estimators_dtypes": _PREDICT_TAKES_TOKENS,
    "check_estimators_nan_inf": _PREDICT_TAKES_TOKENS,
    "check_estimator_sparse_array": _PREDICT_TAKES_TOKENS,
    "check_estimator_sparse_matrix": _PREDICT_TAKES_TOKENS,
    "check_estimators_pickle": _PREDICT_TAKES_TOKENS,
    "check_f_contiguous_array_estimator": _PREDICT_TAKES_TOKENS,
    "check_methods_sample_order_invariance": _PREDICT_TAKES_TOKENS,
    "check_methods_subset_invariance": _PREDICT_TAKES_TOKENS,
    "check_dict_unchanged": _PREDICT_TAKES_TOKENS,
    "check_fit_idempotent": _PREDICT_TAKES_TOKENS,
    "check_fit2d_predict1d": _PREDICT_TAKES_TOKENS,
    "check_positive_only_tag_during_fit": _OWN_WORDING,
    "check_complex_data": _OWN_WORDING,
    "check_dtype_object": _OWN_WORDING,
    "check_estimators_empty_data_messages": _OWN_WORDING,
    "check_fit2d_1feature": _OWN_WORDING + " (n_topics exceeds the inputs with data)",
    "check_fit2d_1sample": "design: one row is one domain, and LLS needs at least n_topics "
                           "domains; the error says so in its own words",
}
_LDA_EXPECTED = {
    **_EXPECTED,
    # fit_transform returns the variational posterior p_d(y) of the fit; transform
    # re-solves p_d(y) by maximum likelihood with p(x|y) held fixed
    "check_transformer_general": "LDA: fit_transform is the variational p_d(y), transform "
                                 "the maximum-likelihood one",
    "check_transformer_data_not_an_array": "LDA: as check_transformer_general",
}


def _expected(est):
    return _LDA_EXPECTED if isinstance(est, LDASolver) else _EXPECTED


@parametrize_with_checks([AnchorSolver(2, random_state=0), NMFSolver(2, random_state=0),
                          LDASolver(2, random_state=0)], expected_failed_checks=_expected)
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)


def test_tags_and_n_features_in():
    import numpy as np

    est = AnchorSolver(2, random_state=0)
    tags = est.__sklearn_tags__()
    assert tags.transformer_tags is not None
    assert tags.input_tags.positive_only and tags.input_tags.sparse
    X = np.random.default_rng(0).integers(0, 5, size=(6, 9))
    assert est.fit(X).n_features_in_ == 9
