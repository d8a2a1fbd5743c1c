"""Saving and loading fitted estimators without pickle.

A saved estimator is a directory::

    model/
        estimator.json   class name, format version, parameters, scalar attributes
        arrays.npz       every array (and sparse matrix) attribute
        <name>.pt        a torch ``state_dict`` per torch module (tensors only)
        <name>/          a nested estimator (e.g. DDFA's fitted solver), same layout

Nothing is unpickled when loading: arrays are read with ``np.load(allow_pickle=False)``,
torch weights with ``torch.load(weights_only=True)``, and the class to build is looked up
by name in a whitelist (:func:`register_estimator` adds to it). A file written by a newer
format version than this library reads is refused with a message to upgrade.

How an estimator is saved
-------------------------
* ``get_params(deep=False)`` goes to JSON. A parameter that is itself a whitelisted
  estimator is saved recursively; a torch module is saved as its ``state_dict``;
  anything else that JSON cannot hold (a ``Generator`` passed as ``random_state``, ...)
  is recorded by type and comes back as ``None`` with a warning, unless ``objects``
  supplies it at load.
* Every other instance attribute is saved too: arrays (the names in the class attribute
  ``_fitted_arrays`` must be arrays), sparse matrices, scalars, strings, lists, tuples,
  dicts, :class:`~lls_topics.corpus.DomainCorpus`, nested estimators and torch modules.
  A public attribute that cannot be stored raises ``TypeError`` at save time (so a model
  never loads silently incomplete); a private one (leading underscore, e.g. a cache)
  is skipped. Names listed in the class attribute ``_persist_exclude`` are skipped.

Hooks for estimators with more state (e.g. DDFA)
------------------------------------------------
* ``_save_extra(self, directory: pathlib.Path)`` is called after the generic save and
  may write more files into ``directory``; ``_load_extra(self, directory)`` is called
  at the end of loading.
* A torch module cannot be rebuilt from its weights alone. When loading a module stored
  under name ``n`` (a parameter or a fitted attribute) the loader uses, in order:
  ``objects[n]`` (deep-copied), the estimator's method ``_make_module(n, state)``
  (or ``_make_module(n, state, objects)``)
  (called after parameters and non-module attributes are restored, with the saved
  ``state_dict`` so that layer shapes can be read from it; it returns a module with
  the right architecture, or ``None`` to decline), and, for a fitted attribute ``m_``,
  a deep copy of the parameter ``m`` when that is a module (a user's custom network
  passed as ``model``). The weights are then loaded into it with ``load_state_dict``.
  Modules come back on the CPU; a ``_load_extra`` hook may move them.
"""
from __future__ import annotations

import copy
import importlib
import json
import numbers
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from .solvers.registry import solver_classes

__all__ = ["save_estimator", "load_estimator", "register_estimator", "FORMAT_VERSION",
           "SaveLoadMixin", "save_torch_state", "load_torch_state", "read_torch_state"]

#: Version of the on-disk layout written by :func:`save_estimator`.
FORMAT_VERSION = 1
_FORMAT_NAME = "lls_topics-estimator"
_META = "estimator.json"
_ARRAYS = "arrays.npz"

# whitelist: name stored in the file -> (module, attribute). Only these are built at load.
_REGISTRY: dict[str, tuple[str, str]] = {
    **solver_classes(),
    "DomainDiscriminator": ("lls_topics.continuous.discriminator", "DomainDiscriminator"),
    "Discretizer": ("lls_topics.continuous.discretize", "Discretizer"),
    "DDFA": ("lls_topics.continuous.ddfa", "DDFA"),
    # scikit-learn pieces that lls_topics estimators hold as fitted attributes
    "sklearn.KMeans": ("sklearn.cluster", "KMeans"),
    "sklearn.MiniBatchKMeans": ("sklearn.cluster", "MiniBatchKMeans"),
    "sklearn.NMF": ("sklearn.decomposition", "NMF"),
    "sklearn.PCA": ("sklearn.decomposition", "PCA"),
    "sklearn.LatentDirichletAllocation": ("sklearn.decomposition",
                                          "LatentDirichletAllocation"),
    "sklearn.StandardScaler": ("sklearn.preprocessing", "StandardScaler"),
}

# parameters renamed since a release: saved class name -> {old name: new name}. Models
# saved under the old names still load (issue 13 gave the Dirichlet prior on p(x|y) one
# name, topic_word_prior, in every solver).
_RENAMED_PARAMS: dict[str, dict[str, str]] = {
    "AnchorSolver": {"topic_prior": "topic_word_prior"},
    "LDASolver": {"eta": "topic_word_prior"},
}

# lists of plain scalars longer than this go to the .npz instead of the JSON
_LONG_LIST = 256


def register_estimator(cls: type, name: str | None = None) -> type:
    """Allow :func:`load_estimator` to build ``cls`` (usable as a class decorator).

    Parameters
    ----------
    cls : type
        A scikit-learn style estimator class (``get_params`` and a keyword constructor).
    name : str, optional
        The name stored in saved files; defaults to ``cls.__name__``.

    Returns
    -------
    cls
    """
    name = name or cls.__name__
    known = _REGISTRY.get(name)
    entry = (cls.__module__, cls.__qualname__)
    if known is not None and known != entry:
        raise ValueError(f"an estimator class named {name!r} is already registered "
                         f"({known[0]}.{known[1]}); pass another name")
    _REGISTRY[name] = entry
    return cls


def _registered_name(cls: type) -> str | None:
    import sys

    for name, (module_name, qualname) in _REGISTRY.items():
        # an instance of a whitelisted class implies its module is already imported
        module = sys.modules.get(module_name)
        if module is None or qualname.split(".")[-1] != cls.__name__:
            continue
        obj: Any = module
        for part in qualname.split("."):
            obj = getattr(obj, part, None)
        if obj is cls:
            return name
    return None


def _resolve(name: str) -> type:
    entry = _REGISTRY.get(name)
    if entry is None:
        raise ValueError(f"the saved model names class {name!r}, which is not a known "
                         "lls_topics estimator; refusing to build it")
    module = importlib.import_module(entry[0])
    obj: Any = module
    for part in entry[1].split("."):
        obj = getattr(obj, part)
    return obj


def _is_estimator(value: Any) -> bool:
    return hasattr(value, "get_params") and isinstance(value, object) and \
        not isinstance(value, type) and _registered_name(type(value)) is not None


def _is_torch_module(value: Any) -> bool:
    torch = _torch_if_loaded()
    return torch is not None and isinstance(value, torch.nn.Module)


def _torch_if_loaded() -> Any:
    # a value can only be a torch module if torch is already imported; do not import it
    import sys

    return sys.modules.get("torch")


# ---------------------------------------------------------------------------- torch
def save_torch_state(module: Any, path: str | os.PathLike) -> None:
    """Write ``module.state_dict()`` to ``path`` (tensors only, loadable without pickle)."""
    import torch

    state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    torch.save(state, str(path))


def read_torch_state(path: str | os.PathLike) -> dict:
    """Read a ``state_dict`` written by :func:`save_torch_state` (tensors only, on CPU)."""
    import torch

    try:
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ValueError(f"saved model is damaged: {str(path)!r} is missing") from None


def load_torch_state(module: Any, path: str | os.PathLike, state: dict | None = None) -> Any:
    """Load weights written by :func:`save_torch_state` into ``module`` and return it.

    Uses ``torch.load(weights_only=True)``: nothing but tensors is read.
    """
    if state is None:
        state = read_torch_state(path)
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(f"the weights in {str(path)!r} do not fit the {type(module).__name__} "
                         f"given to load them: {str(exc).splitlines()[0]}") from None
    return module


# ---------------------------------------------------------------------------- encoding
class _Unsavable(Exception):
    pass


class _Writer:
    """Encodes values of one estimator into JSON, its arrays and side files."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.arrays: dict[str, np.ndarray] = {}
        self.used_names: set[str] = set()

    def _array_key(self, arr: np.ndarray) -> str:
        key = f"a{len(self.arrays)}"
        self.arrays[key] = arr
        return key

    def _file_name(self, name: str) -> str:
        base = "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "x"
        cand, i = base, 1
        while cand in self.used_names or cand in (_META, _ARRAYS):
            cand, i = f"{base}.{i}", i + 1
        self.used_names.add(cand)
        return cand

    def encode(self, value: Any, name: str) -> Any:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            return value.item()
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, float):
            return value
        if isinstance(value, np.ndarray):
            return self._encode_array(value, name)
        if sp.issparse(value):
            M = sp.csr_matrix(value)
            return {"__sparse__": {"data": self._array_key(M.data),
                                   "indices": self._array_key(M.indices),
                                   "indptr": self._array_key(M.indptr),
                                   "shape": list(M.shape),
                                   "format": value.format}}
        if isinstance(value, (list, tuple)):
            if len(value) > _LONG_LIST and _homogeneous_scalars(value):
                arr = np.asarray(value)
                out = {"__list_array__": self._array_key(arr)}
                return {"__tuple__": out} if isinstance(value, tuple) else out
            items = [self.encode(v, f"{name}.{i}") for i, v in enumerate(value)]
            return {"__tuple__": items} if isinstance(value, tuple) else items
        if isinstance(value, dict):
            if all(isinstance(k, str) and not k.startswith("__") for k in value):
                return {k: self.encode(v, f"{name}.{k}") for k, v in value.items()}
            return {"__dict__": [[self.encode(k, name), self.encode(v, f"{name}.{i}")]
                                 for i, (k, v) in enumerate(value.items())]}
        from .corpus import DomainCorpus

        if isinstance(value, DomainCorpus):
            vocab = value._vocabulary  # None keeps the "ids as vocabulary" default
            return {"__corpus__": {"counts": self.encode(value.counts, name),
                                   "domain_ids": self.encode(value.domain_ids, name),
                                   "vocabulary": self.encode(vocab, name)}}
        if _is_estimator(value):
            sub = self._file_name(name)
            _save_into(value, self.directory / sub)
            return {"__estimator__": sub}
        torch = _torch_if_loaded()
        if torch is not None and isinstance(value, torch.device):
            return {"__torch_device__": str(value)}
        if torch is not None and isinstance(value, torch.Tensor):
            return {"__tensor__": self._array_key(value.detach().cpu().numpy())}
        if _is_torch_module(value):
            fname = self._file_name(name) + ".pt"
            save_torch_state(value, self.directory / fname)
            return {"__torch_module__": fname, "class": type(value).__qualname__}
        raise _Unsavable(type(value).__module__ + "." + type(value).__qualname__)

    def _encode_array(self, arr: np.ndarray, name: str) -> Any:
        if arr.dtype == object:
            flat = arr.ravel().tolist()
            if all(isinstance(v, str) for v in flat):
                return {"__ndarray__": self._array_key(arr.astype(str))}
            if all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                   for v in flat):
                return {"__objarray__": {"shape": list(arr.shape),
                                         "items": [int(v) for v in flat]}}
            return {"__objarray__": {"shape": list(arr.shape),
                                     "items": [self.encode(v, name) for v in flat]}}
        if arr.dtype.kind not in "biufcUSM" or arr.dtype.fields is not None:
            raise _Unsavable(f"ndarray of dtype {arr.dtype}")
        return {"__ndarray__": self._array_key(arr)}


def _homogeneous_scalars(values: Any) -> bool:
    if all(isinstance(v, str) for v in values):
        return True
    return all(isinstance(v, (numbers.Integral, float)) and not isinstance(v, bool)
               for v in values) and len({type(v) for v in values}) == 1


def _save_into(est: Any, directory: Path) -> None:
    cls = type(est)
    name = _registered_name(cls)
    if name is None:
        raise TypeError(f"{cls.__name__} is not a registered lls_topics estimator, so it "
                        "could not be loaded back; register it with "
                        "lls_topics.persistence.register_estimator")
    directory.mkdir(parents=True, exist_ok=False)
    w = _Writer(directory)
    params = est.get_params(deep=False)
    enc_params: dict[str, Any] = {}
    for key, value in params.items():
        try:
            enc_params[key] = w.encode(value, key)
        except _Unsavable as exc:
            warnings.warn(f"parameter {key!r} of {cls.__name__} holds a {exc} that cannot be "
                          "saved without pickle; it will load as None unless passed in "
                          "load(..., objects={...})", UserWarning, stacklevel=4)
            enc_params[key] = {"__unsaved__": str(exc)}

    exclude = set(getattr(est, "_persist_exclude", ()))
    declared = set(getattr(est, "_fitted_arrays", ()))
    attrs: dict[str, Any] = {}
    skipped: list[str] = []
    for key, value in vars(est).items():
        if key in params or key in exclude:
            continue
        if key in declared and value is not None and not isinstance(value, np.ndarray):
            value = np.asarray(value)
        try:
            attrs[key] = w.encode(value, key)
        except _Unsavable as exc:
            if key.startswith("_"):
                skipped.append(key)
                continue
            raise TypeError(f"cannot save attribute {key!r} of {cls.__name__}: a {exc} has "
                            "no pickle-free representation; list it in _persist_exclude or "
                            "save it in a _save_extra hook") from None
    meta = {"format": _FORMAT_NAME, "format_version": FORMAT_VERSION,
            "lls_topics_version": _version(), "class": name,
            "module": f"{cls.__module__}.{cls.__qualname__}",
            "params": enc_params, "attributes": attrs, "skipped_private": skipped}
    with open(directory / _META, "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=1, allow_nan=True)
    np.savez_compressed(directory / _ARRAYS, **w.arrays)
    hook = getattr(est, "_save_extra", None)
    if callable(hook):
        hook(directory)


def _version() -> str:
    from . import __version__

    return __version__


def save_estimator(est: Any, path: str | os.PathLike) -> None:
    """Save a (fitted or not) lls_topics estimator to the directory ``path``.

    Parameters
    ----------
    est : estimator
        An instance of a registered class (all lls_topics estimators are).
    path : str or path-like
        Directory to create. An existing directory is replaced only if it holds a model
        saved by this function; any other existing path raises ``ValueError``.
    """
    target = Path(path)
    if target.exists():
        if not (target.is_dir() and ((target / _META).is_file() or not any(target.iterdir()))):
            raise ValueError(f"path {str(target)!r} exists and is not a saved lls_topics "
                             "model; choose a new directory")
    parent = target.parent if str(target.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    # write next to the target, then swap in, so a failed save never leaves half a model
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
    try:
        _save_into(est, tmp / "model")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp / "model", target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------- decoding
class _Reader:
    def __init__(self, directory: Path, arrays: Any, objects: dict[str, Any]) -> None:
        self.directory = directory
        self.arrays = arrays
        self.objects = objects
        # torch modules are filled in after the plain values: (setter, spec, name)
        self.pending: list[tuple[Any, dict, str]] = []

    def array(self, key: str) -> np.ndarray:
        if key not in self.arrays:
            raise ValueError(f"saved model in {str(self.directory)!r} is damaged: array "
                             f"{key!r} is missing from {_ARRAYS}")
        return self.arrays[key]

    def decode(self, value: Any, name: str, setter: Any = None) -> Any:
        if isinstance(value, list):
            return [self.decode(v, f"{name}.{i}") for i, v in enumerate(value)]
        if not isinstance(value, dict):
            return value
        if "__ndarray__" in value:
            return self.array(value["__ndarray__"])
        if "__list_array__" in value:
            return self.array(value["__list_array__"]).tolist()
        if "__tuple__" in value:
            inner = self.decode(value["__tuple__"], name)
            return tuple(inner)
        if "__dict__" in value:
            return {_hashable(self.decode(k, name)): self.decode(v, name)
                    for k, v in value["__dict__"]}
        if "__objarray__" in value:
            spec = value["__objarray__"]
            items = [_hashable(self.decode(v, name)) for v in spec["items"]]
            out = np.empty(len(items), dtype=object)
            out[:] = items
            return out.reshape(spec["shape"])
        if "__sparse__" in value:
            s = value["__sparse__"]
            M = sp.csr_matrix((self.array(s["data"]), self.array(s["indices"]),
                               self.array(s["indptr"])), shape=tuple(s["shape"]))
            return M.asformat(s.get("format", "csr"))
        if "__corpus__" in value:
            from .corpus import DomainCorpus

            c = value["__corpus__"]
            counts = self.decode(c["counts"], name)
            return DomainCorpus(counts, domain_ids=self.decode(c["domain_ids"], name),
                                vocabulary=self.decode(c["vocabulary"], name),
                                allow_fractional=True)
        if "__estimator__" in value:
            sub = _safe_child(self.directory, value["__estimator__"])
            return _load_from(sub, self.objects)
        if "__torch_device__" in value:
            import torch

            return torch.device(value["__torch_device__"])
        if "__tensor__" in value:
            import torch

            return torch.from_numpy(np.array(self.array(value["__tensor__"])))
        if "__torch_module__" in value:
            self.pending.append((setter, value, name))
            return None
        if "__unsaved__" in value:
            leaf = name.rsplit(".", 1)[-1]
            if leaf in self.objects:
                return copy.deepcopy(self.objects[leaf])
            warnings.warn(f"parameter {leaf!r} was a {value['__unsaved__']} that could not "
                          "be saved; it is set to None (pass objects={...} to load to "
                          "supply it)", UserWarning, stacklevel=4)
            return None
        return {k: self.decode(v, f"{name}.{k}") for k, v in value.items()}


def _hashable(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    return v


def _safe_child(directory: Path, name: str) -> Path:
    if not isinstance(name, str) or "/" in name or "\\" in name or name in ("", ".", ".."):
        raise ValueError(f"saved model in {str(directory)!r} is damaged: bad entry {name!r}")
    return directory / name


def _read_meta(directory: Path) -> dict:
    meta_path = directory / _META
    if not directory.exists():
        raise FileNotFoundError(f"no saved model at {str(directory)!r}")
    if not meta_path.is_file():
        raise ValueError(f"{str(directory)!r} is not a saved lls_topics model (no {_META})")
    try:
        with open(meta_path, encoding="utf-8") as fh:
            meta = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{str(meta_path)!r} is not valid JSON: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT_NAME:
        raise ValueError(f"{str(meta_path)!r} is not an lls_topics model description")
    version = meta.get("format_version")
    if not isinstance(version, int):
        raise ValueError(f"{str(meta_path)!r} has no valid format_version")
    if version > FORMAT_VERSION:
        raise ValueError(f"the model in {str(directory)!r} was saved in format version "
                         f"{version} by lls_topics {meta.get('lls_topics_version', '?')}; "
                         f"this lls_topics ({_version()}) reads format versions up to "
                         f"{FORMAT_VERSION}: upgrade lls_topics to load it")
    return meta


def _load_from(directory: Path, objects: dict[str, Any]) -> Any:
    meta = _read_meta(directory)
    cls = _resolve(meta["class"])
    arrays_path = directory / _ARRAYS
    if not arrays_path.is_file():
        raise ValueError(f"saved model in {str(directory)!r} is damaged: {_ARRAYS} missing")
    with np.load(arrays_path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    r = _Reader(directory, arrays, objects)

    params: dict[str, Any] = {}
    renamed = _RENAMED_PARAMS.get(meta["class"], {})
    for key, value in meta["params"].items():
        key = renamed.get(key, key)
        if isinstance(value, dict) and "__torch_module__" in value:
            file = _safe_child(directory, value["__torch_module__"])
            state = read_torch_state(file)
            params[key] = load_torch_state(
                _module_instance(None, key, value, state, objects, directory), file, state)
            continue
        params[key] = r.decode(value, key)
    est = cls(**params)

    for key, value in meta["attributes"].items():
        def setter(v: Any, _key: str = key) -> None:
            setattr(est, _key, v)

        decoded = r.decode(value, key, setter)
        if not (isinstance(value, dict) and "__torch_module__" in value):
            setattr(est, key, decoded)
    for setter, spec, name in r.pending:
        if setter is None:
            raise ValueError(f"saved model in {str(directory)!r}: a torch module nested in "
                             f"{name!r} cannot be restored; store modules as direct "
                             "attributes")
        file = _safe_child(directory, spec["__torch_module__"])
        state = read_torch_state(file)
        module = _module_instance(est, name, spec, state, objects, directory)
        setter(load_torch_state(module, file, state))
    hook = getattr(est, "_load_extra", None)
    if callable(hook):
        hook(directory)
    return est


def _module_instance(est: Any, name: str, spec: dict, state: dict, objects: dict[str, Any],
                     directory: Path) -> Any:
    if name in objects:
        return copy.deepcopy(objects[name])
    make = getattr(est, "_make_module", None) if est is not None else None
    if callable(make):
        import inspect

        # an estimator may also take the caller's objects (a label network on a custom
        # module rebuilds its body from the discriminator's module)
        takes_objects = len(inspect.signature(make).parameters) >= 3
        module = make(name, state, objects) if takes_objects else make(name, state)
        if module is not None:
            return module
    if est is not None and name.endswith("_"):
        param = getattr(est, name[:-1], None)
        if _is_torch_module(param):
            return copy.deepcopy(param)
    raise ValueError(f"the model in {str(directory)!r} holds a torch module {name!r} of "
                     f"class {spec.get('class', '?')} that cannot be rebuilt from its "
                     f"weights alone; pass an instance of that class: "
                     f"load(path, objects={{{name!r}: {spec.get('class', 'Module')}(...)}})")


def load_estimator(path: str | os.PathLike, *, objects: dict[str, Any] | None = None) -> Any:
    """Load an estimator written by :func:`save_estimator`.

    Parameters
    ----------
    path : str or path-like
        The directory written by :func:`save_estimator`.
    objects : dict, optional
        Values for what the file cannot hold without pickle, by parameter or attribute
        name at any nesting level: typically ``{"model": MyNet()}`` for a custom torch
        network (its saved weights are loaded into a deep copy), or a ``random_state``
        ``Generator``.

    Returns
    -------
    estimator
        An instance of the saved class, with its parameters and fitted attributes.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        ``path`` is not a saved model, is damaged, names a class outside the whitelist,
        or was written in a newer format version than this library reads.
    """
    return _load_from(Path(path), dict(objects or {}))


class SaveLoadMixin:
    """``save(path)`` / ``load(path)`` for every public estimator (see the module docs)."""

    def save(self, path: str | os.PathLike) -> None:
        """Save the estimator (fitted or not) to the directory ``path``: parameters and
        scalars to JSON, arrays to ``.npz``, torch weights to ``.pt``; no pickle.

        Parameters
        ----------
        path : str or path-like
            The directory to write (replaced if it holds a saved model).
        """
        save_estimator(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike, *, objects: dict[str, Any] | None = None) -> Any:
        """Load an estimator written by :meth:`save`.

        Parameters
        ----------
        path : str or path-like
        objects : dict, optional
            What the file cannot hold without pickle, e.g. ``{"model": MyNet()}`` for a
            custom torch network (see :func:`load_estimator`).

        Returns
        -------
        An instance of this class, predicting exactly as the saved one.

        Raises
        ------
        ValueError
            ``path`` holds another class, or is not a saved model.
        """
        est = load_estimator(path, objects=objects)
        if not isinstance(est, cls):
            raise ValueError(f"{os.fspath(path)!r} holds a {type(est).__name__}, not a "
                             f"{cls.__name__}")
        return est
