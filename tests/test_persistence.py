import json
import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans

from lls_topics import persistence
from lls_topics.datasets import make_discrete_lls
from lls_topics.solvers.em import em_fit
from lls_topics.persistence import FORMAT_VERSION, load_estimator, save_estimator
from lls_topics.solvers.base import BaseTopicSolver


@persistence.register_estimator
class _EMSolver(BaseTopicSolver):
    """A tiny solver (random start + PLSA EM) so these tests need no other module."""

    _fitted_arrays = BaseTopicSolver._fitted_arrays + ("history_",)

    def __init__(self, n_topics, *, max_iter=30, random_state=None):
        self.n_topics = n_topics
        self.max_iter = max_iter
        self.random_state = random_state

    def _fit_counts(self, counts, rng):
        D, V = counts.shape
        P0 = rng.dirichlet(np.ones(self.n_topics), size=D)
        A0 = rng.dirichlet(np.ones(V), size=self.n_topics)
        P, A, n_iter, ll = em_fit(counts, P0, A0, max_iter=self.max_iter)
        self.n_iter_ = n_iter
        self.history_ = [ll]
        self.notes_ = {"init": "random", "sweeps": (n_iter, self.max_iter)}
        self._cache = object()  # private and unsavable: skipped
        return P, A


@pytest.fixture(scope="module")
def problem():
    return make_discrete_lls(n_topics=3, n_words=40, n_domains=6, n_per_domain=300,
                             random_state=0)


def test_round_trip_predicts_identically(problem, tmp_path):
    ids = np.array([f"doc{i}" for i in range(6)])
    from lls_topics.corpus import DomainCorpus

    corpus = DomainCorpus(problem.corpus.counts, domain_ids=ids,
                          vocabulary=[f"w{i}" for i in range(40)])
    est = _EMSolver(3, random_state=1).fit(corpus)
    est.save(tmp_path / "m")
    back = _EMSolver.load(tmp_path / "m")
    assert type(back) is _EMSolver
    assert back.get_params() == est.get_params()
    doms = ids[problem.domains]
    np.testing.assert_array_equal(back.predict_proba(problem.tokens, doms),
                                  est.predict_proba(problem.tokens, doms))
    np.testing.assert_array_equal(back.predict(problem.tokens), est.predict(problem.tokens))
    np.testing.assert_array_equal(back.transform(corpus), est.transform(corpus))
    assert back.log_likelihood_ == est.log_likelihood_
    assert back.vocabulary_ == est.vocabulary_
    assert back.notes_ == est.notes_ and isinstance(back.notes_["sweeps"], tuple)
    assert back.n_iter_ == est.n_iter_ and isinstance(back.n_iter_, int)
    assert back.domain_ids_.tolist() == est.domain_ids_.tolist()
    assert not hasattr(back, "_cache")


def test_unfitted_round_trip_and_overwrite(tmp_path):
    est = _EMSolver(4, max_iter=7)
    save_estimator(est, tmp_path / "m")
    save_estimator(_EMSolver(2), tmp_path / "m")  # replaces a saved model
    back = load_estimator(tmp_path / "m")
    assert back.get_params() == _EMSolver(2).get_params()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("user data")
    with pytest.raises(ValueError, match="not a saved lls_topics model"):
        save_estimator(est, tmp_path / "other")
    assert (tmp_path / "other" / "keep.txt").read_text() == "user data"


def test_newer_format_fails_clearly(problem, tmp_path):
    _EMSolver(3, random_state=0).fit(problem.corpus).save(tmp_path / "m")
    meta_path = tmp_path / "m" / "estimator.json"
    meta = json.loads(meta_path.read_text())
    meta["format_version"] = FORMAT_VERSION + 1
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"format version .*upgrade lls_topics"):
        load_estimator(tmp_path / "m")


def test_bad_paths_and_unknown_class(problem, tmp_path):
    with pytest.raises(FileNotFoundError, match="no saved model"):
        load_estimator(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="not a saved lls_topics model"):
        load_estimator(tmp_path / "empty")
    _EMSolver(3, random_state=0).fit(problem.corpus).save(tmp_path / "m")
    meta_path = tmp_path / "m" / "estimator.json"
    meta = json.loads(meta_path.read_text())
    meta["class"] = "os.system"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="not a known lls_topics estimator"):
        load_estimator(tmp_path / "m")


def test_nothing_is_unpickled(problem, tmp_path, monkeypatch):
    _EMSolver(3, random_state=0).fit(problem.corpus).save(tmp_path / "m")
    # an object array would need pickle: the file must hold none
    with np.load(tmp_path / "m" / "arrays.npz", allow_pickle=False) as npz:
        for key in npz.files:
            assert npz[key].dtype != object

    def boom(*args, **kwargs):
        raise AssertionError("pickle used while loading")

    monkeypatch.setattr(pickle, "load", boom)
    monkeypatch.setattr(pickle, "loads", boom)
    monkeypatch.setattr(pickle, "Unpickler", boom)
    load_estimator(tmp_path / "m")


def test_unregistered_class_refused_at_save(tmp_path):
    class Local(_EMSolver):
        pass

    with pytest.raises(TypeError, match="not a registered"):
        save_estimator(Local(2), tmp_path / "m")
    assert not (tmp_path / "m").exists()


# -- a DDFA-shaped composite: nested estimators, a torch module, hooks -------------------
torch = pytest.importorskip("torch")


def _mlp(n_in, n_out, seed):
    g = torch.Generator().manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(n_in, 8), torch.nn.ReLU(),
                              torch.nn.Linear(8, n_out))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    return net


class _TinyCNN(torch.nn.Module):
    def __init__(self, n_out=3):
        super().__init__()
        self.conv = torch.nn.Conv1d(1, 2, 3, padding=1)
        self.head = torch.nn.Linear(2 * 5, n_out)

    def forward(self, x):
        return self.head(torch.relu(self.conv(x[:, None, :])).flatten(1))


@persistence.register_estimator
class _Composite(BaseEstimator):
    def __init__(self, n_topics=3, solver=None, model=None, random_state=None):
        self.n_topics = n_topics
        self.solver = solver
        self.model = model
        self.random_state = random_state

    def fit(self, X, counts):
        self.solver_ = _EMSolver(self.n_topics, random_state=0).fit(counts)
        self.kmeans_ = KMeans(3, n_init=1, random_state=0).fit(X)
        self.n_features_in_ = X.shape[1]
        self.model_ = _mlp(X.shape[1], 3, 0) if self.model is None else self.model
        self.device_ = torch.device("cpu")
        self.temperature_ = torch.tensor([1.5])
        self.extra_written_ = False
        return self

    def _make_module(self, name, state):
        if name == "model_" and self.model is None:
            n_in = state["0.weight"].shape[1]  # shapes can be read from the weights
            return _mlp(n_in, 3, 99)  # architecture only; the weights are loaded after
        return None

    def _save_extra(self, directory):
        (directory / "extra.txt").write_text("hello")

    def _load_extra(self, directory):
        self.extra_ = (directory / "extra.txt").read_text()

    def predict(self, X):
        with torch.no_grad():
            logits = self.model_(torch.as_tensor(X, dtype=torch.float32)) / self.temperature_
        return logits.softmax(1).numpy(), self.kmeans_.predict(X)


def test_composite_with_torch_module_round_trip(problem, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 5)).astype(np.float32)
    est = _Composite(solver=_EMSolver(3)).fit(X, problem.corpus)
    save_estimator(est, tmp_path / "c")
    assert (tmp_path / "c" / "model_.pt").is_file()
    back = load_estimator(tmp_path / "c")
    assert back.extra_ == "hello"
    assert isinstance(back.solver, _EMSolver) and back.solver.n_topics == 3
    p0, c0 = est.predict(X)
    p1, c1 = back.predict(X)
    np.testing.assert_array_equal(p0, p1)
    np.testing.assert_array_equal(c0, c1)
    np.testing.assert_array_equal(back.solver_.domain_topic_, est.solver_.domain_topic_)
    assert back.device_ == torch.device("cpu")


def test_custom_module_needs_objects(problem, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 5)).astype(np.float32)
    est = _Composite(model=_TinyCNN(), random_state=np.random.default_rng(0))
    with pytest.warns(UserWarning, match="random_state"):
        save_estimator(est.fit(X, problem.corpus), tmp_path / "c")
    with pytest.raises(ValueError, match=r"objects=\{'model'"):
        load_estimator(tmp_path / "c")
    with pytest.warns(UserWarning, match="set to None"):
        back = load_estimator(tmp_path / "c", objects={"model": _TinyCNN()})
    assert back.random_state is None
    np.testing.assert_array_equal(back.predict(X)[0], est.predict(X)[0])


def test_anchor_solver_round_trip(problem, tmp_path):
    from lls_topics import AnchorSolver

    est = AnchorSolver(3, random_state=0).fit(problem.corpus)
    est.save(tmp_path / "a")
    back = AnchorSolver.load(tmp_path / "a")
    np.testing.assert_array_equal(back.predict_proba(problem.tokens, problem.domains),
                                  est.predict_proba(problem.tokens, problem.domains))
    np.testing.assert_array_equal(back.transform(problem.corpus), est.transform(problem.corpus))
    for a, b in zip(est.anchors_, back.anchors_):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(ValueError, match="not a _EMSolver"):
        _EMSolver.load(tmp_path / "a")


def test_discriminator_saved_on_a_missing_device_loads_on_cpu(tmp_path):
    from lls_topics.continuous.discriminator import DomainDiscriminator

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)).astype(np.float32)
    d = rng.integers(0, 3, size=60)
    disc = DomainDiscriminator(hidden=(8,), epochs=2, random_state=0, verbose=False,
                               device="cpu").fit(X, d)
    save_estimator(disc, tmp_path / "d")
    # as if it had been fitted on a GPU: the loader must not send inputs to a device
    # that this machine may lack, while the network comes back on the CPU
    meta = json.loads((tmp_path / "d" / "estimator.json").read_text())
    meta["attributes"]["device_"] = {"__torch_device__": "cuda:0"}
    (tmp_path / "d" / "estimator.json").write_text(json.dumps(meta))
    back = load_estimator(tmp_path / "d")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert back.device_.type == expected
    np.testing.assert_allclose(back.predict_proba(X), disc.predict_proba(X), atol=1e-5)


@pytest.mark.parametrize("cls_name, old", [("AnchorSolver", "topic_prior"),
                                           ("LDASolver", "eta")])
def test_model_saved_under_old_prior_name_loads(problem, tmp_path, cls_name, old):
    # before issue 13 the Dirichlet prior on p(x|y) had a name of its own per solver;
    # a directory saved then holds that name in estimator.json
    import lls_topics

    cls = getattr(lls_topics, cls_name)
    kw = dict(passes=3, tol=0) if cls_name == "LDASolver" else {}
    est = cls(3, topic_word_prior=0.05, random_state=0, **kw).fit(problem.corpus)
    est.save(tmp_path / "m")
    meta_path = tmp_path / "m" / "estimator.json"
    meta = json.loads(meta_path.read_text())
    meta["params"][old] = meta["params"].pop("topic_word_prior")
    meta_path.write_text(json.dumps(meta))
    back = cls.load(tmp_path / "m")
    assert back.topic_word_prior == 0.05 and old not in back.get_params()
    np.testing.assert_array_equal(back.predict_proba(problem.tokens, problem.domains),
                                  est.predict_proba(problem.tokens, problem.domains))
