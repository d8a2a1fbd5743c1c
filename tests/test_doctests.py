"""The numpydoc ``Examples`` sections of every module run as doctests."""
import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import lls_topics

MODULES = sorted(m.name for m in pkgutil.walk_packages(lls_topics.__path__, "lls_topics.")
                 if m.name != "lls_topics.__main__")


@pytest.mark.parametrize("name", sorted(set(lls_topics.__all__) - {
    "__version__", "metrics", "datasets", "IdentifiabilityWarning",
    "to_pyldavis"}))  # pyLDAvis is an optional extra: its example could not always run
def test_public_names_have_examples(name):
    obj = getattr(lls_topics, name)
    tests = doctest.DocTestFinder(recurse=False).find(obj, name)
    assert tests and tests[0].examples, f"{name} has no Examples section"


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    with np.printoptions(legacy="1.25"):  # scalars print as 0.5, not np.float64(0.5)
        for test in finder.find(module, name, extraglobs={"np": np}):
            runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
