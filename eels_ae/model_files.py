"""Model files: a fitted estimator saved without pickle, loaded without running code.

One file holds everything (the `safetensors <https://huggingface.co/docs/safetensors>`_
format): the tensors and numeric arrays (network weights, endmembers,
normalisation arrays) as safetensors tensors, and everything else as one
JSON document in the file's metadata: the estimator's class and all its
parameters, its fitted scalars and lists, the energy axis it was trained on,
the versions of eels_ae, torch, HyperSpy, numpy and scikit-learn that wrote
it, and a SHA-256 checksum of the whole content.

Loading parses JSON and copies raw tensor bytes: no code from the file is
ever executed (unlike ``pickle`` or ``torch.load`` of a pickled object).
Only classes of a fixed list (the eels_ae estimators and networks, and the
few scikit-learn classes the :class:`~eels_ae.LatentClassifier` uses) can be
named by a file.

>>> model.save("session1_daeu.safetensors")
>>> model2 = eels_ae.load_model("session1_daeu.safetensors")
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from pathlib import Path

import numpy as np

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "ModelFileError",
    "ModelFileMixin",
    "load_model",
    "model_from_bytes",
    "model_info",
    "model_to_bytes",
    "save_model",
]

#: What the metadata key of an eels_ae model file says it is.
FORMAT = "eels_ae-model"
#: Layout of the JSON document; a file with a larger number is refused.
FORMAT_VERSION = 1
_META_KEY = "eels_ae_model"
#: Parameters that hold live objects (functions), never written to a file.
_UNSAVED_PARAMS = {"callbacks"}
#: Private attributes an estimator keeps after fitting, per class name.
_PRIVATE_STATE = {
    "MLPClassifier": ("_label_binarizer",),
}
#: scikit-learn classes a model file may name (LatentClassifier's pipeline).
_SKLEARN_CLASSES = {
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.neural_network._multilayer_perceptron.MLPClassifier",
    "sklearn.preprocessing._label.LabelBinarizer",
}


class ModelFileError(ValueError):
    """A model file is missing, damaged, foreign or from an incompatible version."""


class ModelFileMixin:
    """``save(path)`` for every eels_ae estimator (see :mod:`eels_ae.model_files`)."""

    def save(self, path, overwrite=True):
        """Write this fitted estimator to a model file (safetensors + JSON).

        Parameters
        ----------
        path : str or path-like
            Where to write (``.safetensors`` is a good suffix). The file is
            written under a temporary name and renamed, so a failure never
            leaves half a file.
        overwrite : bool, default True
            If False, refuse to replace an existing file.

        Returns
        -------
        pathlib.Path
            The file written.

        See Also
        --------
        eels_ae.load_model
        """
        return save_model(self, path, overwrite=overwrite)


# -- encoding ------------------------------------------------------------------
def _class_path(obj_or_cls):
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    return f"{cls.__module__}.{cls.__qualname__}"


def _is_estimator(value):
    from sklearn.base import BaseEstimator

    return isinstance(value, BaseEstimator)


class _Encoder:
    """Turns estimator state into JSON values and a dict of named arrays."""

    def __init__(self):
        self.tensors: dict[str, np.ndarray] = {}

    def array(self, key, value):
        value = np.asarray(value)
        if value.dtype.kind in "fiub" and value.dtype != np.float16:
            self.tensors[key] = np.ascontiguousarray(value)
            # The memory order is kept too: BLAS results depend on it (1e-14).
            fortran = value.ndim > 1 and not value.flags.c_contiguous
            return {"__tensor__": key, "order": "F" if fortran else "C"}
        # Labels (str or mixed objects) stay readable in the JSON.
        return {"__array__": value.tolist(), "dtype": str(value.dtype)}

    def value(self, key, value, where):
        import torch

        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, float, np.integer, np.floating, np.bool_)):
            return value.item() if hasattr(value, "item") else value
        if isinstance(value, np.ndarray):
            return self.array(key, value)
        if isinstance(value, torch.device):
            return {"__device__": str(value)}
        if isinstance(value, torch.nn.Module):
            return self.module(key, value, where)
        if _is_estimator(value):
            return self.estimator(key, value)
        if isinstance(value, tuple):
            return {
                "__tuple__": [
                    self.value(f"{key}.{i}", v, where) for i, v in enumerate(value)
                ]
            }
        if isinstance(value, list):
            if value and all(isinstance(v, np.ndarray) for v in value):
                return {
                    "__arrays__": [
                        self.array(f"{key}.{i}", v) for i, v in enumerate(value)
                    ]
                }
            return [self.value(f"{key}.{i}", v, where) for i, v in enumerate(value)]
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return {
                "__dict__": {
                    k: self.value(f"{key}.{k}", v, where) for k, v in value.items()
                }
            }
        raise ModelFileError(
            f"{where}: {key!r} holds a {type(value).__name__}, which a model file "
            "cannot store (only numbers, strings, arrays, networks and estimators)."
        )

    def module(self, key, module, where):
        from . import models

        name = type(module).__name__
        if getattr(models, name, None) is not type(module) or not hasattr(
            module, "config"
        ):
            raise ModelFileError(
                f"{where}: the network {name} is not one of eels_ae's networks "
                "and cannot be saved."
            )
        for k, t in module.state_dict().items():
            self.tensors[f"{key}/{k}"] = t.detach().cpu().contiguous().numpy()
        attrs = {a: getattr(module, a) for a in getattr(module, "state_attributes", ())}
        return {
            "__module__": name,
            "config": self.value(f"{key}.config", dict(module.config), where),
            "attributes": self.value(f"{key}.attributes", attrs, where),
            "tensors": f"{key}/",
        }

    def estimator(self, key, est):
        path = _class_path(est)
        where = type(est).__name__
        if type(est).__module__.startswith("sklearn.") and path not in _SKLEARN_CLASSES:
            raise ModelFileError(f"{where} ({path}) cannot be stored in a model file.")
        params = {}
        for k, v in est.get_params(deep=False).items():
            if k in _UNSAVED_PARAMS or (k == "steps" and path.endswith("Pipeline")):
                v = None
            elif k == "random_state" and not isinstance(v, (int, np.integer)):
                # A generator object seeded the fit; the fitted model no longer
                # depends on it, and a file cannot hold its state.
                v = None
            params[k] = self.value(f"{key}.{k}", v, where)
        if path == "sklearn.pipeline.Pipeline":
            params["steps"] = [
                [n, self.estimator(f"{key}.steps.{n}", s)] for n, s in est.steps
            ]
        private = _PRIVATE_STATE.get(type(est).__name__, ())
        state = {}
        for k, v in vars(est).items():
            fitted = k.endswith("_") and not k.startswith("_") and not k.endswith("__")
            if fitted or k in private:
                state[k] = self.value(f"{key}.{k}", v, where)
        return {"__estimator__": path, "params": params, "state": state}


# -- decoding ------------------------------------------------------------------
def _allowed_classes():
    import importlib

    from . import estimators, registry

    classes = list(vars(estimators).values())
    classes += [entry.estimator for entry in registry.REGISTRY.values()]
    allowed = {
        _class_path(c): c
        for c in classes
        if isinstance(c, type) and _is_estimator_class(c)
    }
    for path in _SKLEARN_CLASSES:
        module, _, name = path.rpartition(".")
        allowed[path] = getattr(importlib.import_module(module), name)
    return allowed


def _is_estimator_class(cls):
    from sklearn.base import BaseEstimator

    return issubclass(cls, BaseEstimator)


class _Decoder:
    def __init__(self, tensors, device):
        self.tensors = tensors
        self.device = device
        self.allowed = _allowed_classes()

    def tensor(self, key):
        try:
            return self.tensors[key]
        except KeyError:
            raise ModelFileError(
                f"the file lacks the array {key!r}: it is damaged."
            ) from None

    def value(self, v):
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if not isinstance(v, dict):
            return v
        if "__tensor__" in v:
            return np.array(self.tensor(v["__tensor__"]), order=v.get("order", "C"))
        if "__array__" in v:
            return np.array(v["__array__"], dtype=v["dtype"])
        if "__arrays__" in v:
            return [self.value(x) for x in v["__arrays__"]]
        if "__tuple__" in v:
            return tuple(self.value(x) for x in v["__tuple__"])
        if "__dict__" in v:
            return {k: self.value(x) for k, x in v["__dict__"].items()}
        if "__device__" in v:
            return self.resolve_device(v["__device__"])
        if "__module__" in v:
            return self.module(v)
        if "__estimator__" in v:
            return self.estimator(v)
        raise ModelFileError(f"unknown entry {sorted(v)} in the model file.")

    def resolve_device(self, saved):
        import torch

        from .training import resolve_device

        if self.device is not None:
            return resolve_device(self.device)
        dev = torch.device(saved)
        if dev.type == "cuda" and not torch.cuda.is_available():
            return torch.device("cpu")
        return dev

    def module(self, v):
        import torch

        from . import models

        cls = getattr(models, v["__module__"], None)
        if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
            raise ModelFileError(
                f"the file names a network {v['__module__']!r} that this eels_ae "
                "does not have."
            )
        module = cls(**self.value(v["config"]))
        prefix = v["tensors"]
        state = {
            k[len(prefix) :]: torch.from_numpy(np.array(t))
            for k, t in self.tensors.items()
            if k.startswith(prefix)
        }
        try:
            module.load_state_dict(state, strict=True)
        except RuntimeError as err:
            raise ModelFileError(
                f"the weights in the file do not fit the {v['__module__']} network "
                f"it describes ({str(err).splitlines()[0]})."
            ) from None
        for k, x in self.value(v["attributes"]).items():
            setattr(module, k, x)
        return module.eval()

    def estimator(self, v):
        path = v["__estimator__"]
        cls = self.allowed.get(path)
        if cls is None:
            raise ModelFileError(
                f"the file names the class {path!r}, which is not an eels_ae "
                "estimator (or a scikit-learn class eels_ae stores): refused."
            )
        params = {k: self.value(x) for k, x in v["params"].items()}
        # Files written before a parameter was renamed.
        for old, new in getattr(cls, "_renamed", {}).items():
            if old in params:
                params[new] = params.pop(old)
        if path == "sklearn.pipeline.Pipeline":
            params["steps"] = [(n, self.estimator(s)) for n, s in v["params"]["steps"]]
        try:
            est = cls(**params)
        except TypeError as err:
            raise ModelFileError(
                f"the parameters in the file do not fit {cls.__name__} of this "
                f"eels_ae ({err})."
            ) from None
        for k, x in v["state"].items():
            setattr(est, k, self.value(x))
        # Networks live on the estimator's fitted device.
        dev = getattr(est, "device_", None)
        for x in vars(est).values():
            if dev is not None and hasattr(x, "to") and hasattr(x, "state_dict"):
                x.to(dev)
        return est


# -- the file --------------------------------------------------------------------
def _checksum(doc, tensors):
    h = hashlib.sha256()
    h.update(json.dumps(doc, sort_keys=True).encode())
    for name in sorted(tensors):
        t = np.ascontiguousarray(tensors[name])
        h.update(f"{name}|{t.dtype.str}|{t.shape}".encode())
        h.update(t.tobytes())
    return h.hexdigest()


def _versions():
    import sklearn
    import torch

    from . import __version__

    out = {
        "eels_ae": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
    }
    try:
        from importlib.metadata import version

        out["hyperspy"] = version("hyperspy")
    except Exception:  # noqa: BLE001 - HyperSpy is optional for arrays
        out["hyperspy"] = None
    return out


def _check_fitted(est):
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(est)
    except Exception:  # noqa: BLE001 - NotFittedError or a TypeError
        raise ModelFileError(
            f"this {type(est).__name__} is not fitted: fit it (or apply it to a "
            "signal) before saving."
        ) from None


def model_to_bytes(estimator) -> bytes:
    """The content of a model file for ``estimator``, as bytes.

    See :func:`save_model`.
    """
    from safetensors.numpy import save

    _check_fitted(estimator)
    enc = _Encoder()
    body = enc.estimator("model", estimator)
    axis = getattr(estimator, "energy_axis_", None)
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "class": type(estimator).__name__,
        "model": body,
        "energy_axis": axis,
        "versions": _versions(),
    }
    doc["checksum"] = _checksum(doc, enc.tensors)
    tensors = enc.tensors or {"__empty__": np.zeros(0, np.uint8)}
    return save(tensors, metadata={_META_KEY: json.dumps(doc, allow_nan=True)})


def save_model(estimator, path, overwrite=True) -> Path:
    """Write a fitted eels_ae estimator to ``path`` (safetensors + JSON).

    Parameters
    ----------
    estimator : eels_ae estimator
        Fitted :class:`~eels_ae.DAEU`, :class:`~eels_ae.VCA`,
        :class:`~eels_ae.VAE`, :class:`~eels_ae.RVAE`,
        :class:`~eels_ae.DenoisingAE` or :class:`~eels_ae.LatentClassifier`.
    path : str or path-like
    overwrite : bool, default True

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ModelFileError
        If the estimator is not fitted, or ``path`` exists and ``overwrite``
        is False.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise ModelFileError(f"{path} exists already: pass overwrite=True.")
    data = model_to_bytes(estimator)
    # A temporary file, then a rename: never half a model file at ``path``.
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        # mkstemp makes the file readable by its owner only; a model file is
        # meant to be shared (the mode of the file it replaces, or what the
        # umask gives a new file).
        os.chmod(tmp, _file_mode(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _file_mode(path):
    """The permissions of the file at ``path``, or of a new file (0o666
    less the umask)."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _read_document(data: bytes, name: str):
    """The JSON document and tensors of a model file's bytes, checked."""
    from safetensors.numpy import load

    if len(data) < 8:
        raise ModelFileError(f"{name} is not an eels_ae model file (too short).")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > len(data) - 8:
        # Either a truncated model file or something else altogether.
        head = data[8:64]
        if head.startswith(b'{"') and _META_KEY.encode() in data[8 : 8 + header_len]:
            raise ModelFileError(
                f"{name} is a truncated eels_ae model file ({len(data)} bytes, the "
                f"header alone needs {header_len + 8}): copy it again."
            )
        raise ModelFileError(
            f"{name} is not an eels_ae model file (not a safetensors file). Model "
            "files are written by model.save(path)."
        )
    try:
        header = json.loads(data[8 : 8 + header_len])
    except ValueError:
        raise ModelFileError(
            f"{name} is not an eels_ae model file (not a safetensors file)."
        ) from None
    meta = header.get("__metadata__") or {}
    if not isinstance(header, dict) or _META_KEY not in meta:
        raise ModelFileError(
            f"{name} is a safetensors file but not an eels_ae model (it has no "
            f"{_META_KEY!r} metadata): it was not written by model.save()."
        )
    try:
        doc = json.loads(meta[_META_KEY])
    except ValueError:
        raise ModelFileError(f"{name}: the model description is damaged.") from None
    if doc.get("format") != FORMAT:
        raise ModelFileError(f"{name} is not an eels_ae model file.")
    version = doc.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{name} was written by a newer eels_ae (model file format {version}, "
            f"eels_ae {doc.get('versions', {}).get('eels_ae')}); this eels_ae reads "
            f"formats up to {FORMAT_VERSION}: upgrade eels_ae to load it."
        )
    ends = [int(t["data_offsets"][1]) for k, t in header.items() if k != "__metadata__"]
    if 8 + header_len + max(ends, default=0) > len(data):
        raise ModelFileError(
            f"{name} is a truncated eels_ae model file: it holds {len(data)} bytes "
            f"of {8 + header_len + max(ends)}. Copy it again."
        )
    try:
        tensors = load(data)
    except Exception as err:  # noqa: BLE001 - safetensors' own error types
        raise ModelFileError(f"{name} is a damaged model file ({err}).") from None
    tensors.pop("__empty__", None)
    expected = doc.pop("checksum", None)
    if expected != _checksum(doc, tensors):
        raise ModelFileError(
            f"{name}: the checksum does not match the content: the file was altered "
            "or damaged after it was written. Use the original file."
        )
    doc["checksum"] = expected
    return doc, tensors


def model_from_bytes(data: bytes, device=None, name="the model data"):
    """Rebuild an estimator from the bytes of a model file (:func:`load_model`)."""
    doc, tensors = _read_document(bytes(data), name)
    return _Decoder(tensors, device).estimator(doc["model"])


def _source_bytes(source):
    """Bytes and a name for a path, bytes, or a signal that carries a model."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "the model data"
    lr = getattr(source, "learning_results", None)
    if lr is not None:
        stored = getattr(lr, "eels_ae_model", None)
        if stored is None:
            raise ModelFileError(
                "this signal carries no eels_ae model: its learning_results hold "
                "none (save a signal after an eels_ae decomposition to keep one)."
            )
        return np.asarray(stored, dtype=np.uint8).tobytes(), "the signal's model"
    path = Path(source)
    if not path.is_file():
        raise ModelFileError(f"no model file at {path}.")
    return path.read_bytes(), str(path)


def load_model(source, device=None):
    """Load an estimator saved with ``model.save(path)``.

    Parameters
    ----------
    source : str, path-like, bytes or HyperSpy signal
        A model file, its bytes, or a signal loaded from a ``.hspy``/``.zspy``
        file saved after an eels_ae decomposition (the model travels with it).
    device : {"auto", "cpu", "cuda", "cuda:N"}, optional
        Where the network goes. Default: where it was trained, or the CPU if
        that device is not available here.

    Returns
    -------
    estimator
        Fitted, of the class that was saved; it gives the same results as
        the saved one (identical on the CPU).

    Raises
    ------
    ModelFileError
        For a missing, truncated, altered or foreign file, or one written by
        a newer, incompatible eels_ae; the message says which.
    """
    data, name = _source_bytes(source)
    return model_from_bytes(data, device=device, name=name)


def model_info(source) -> dict:
    """What a model file holds, without building the model.

    Returns
    -------
    dict
        ``class``, ``params`` (as stored), ``energy_axis``,
        ``preprocessing`` (what is done to the spectra before the model sees
        them: ``background_range``, ``background_pooling``, ``channels``;
        None for none), ``versions``, ``checksum``, ``format_version`` and
        ``tensors`` (name -> shape).
    """
    data, name = _source_bytes(source)
    doc, tensors = _read_document(data, name)
    dec = _Decoder(tensors, "cpu")
    params = {}
    for k, v in doc["model"]["params"].items():
        is_nested = isinstance(v, dict) and "__estimator__" in v
        params[k] = v["__estimator__"] if is_nested else dec.value(v)
    prep = doc["model"].get("state", {}).get("preprocessing_")
    return {
        "class": doc["class"],
        "params": params,
        "energy_axis": doc.get("energy_axis"),
        "preprocessing": None if prep is None else dec.value(prep),
        "versions": doc.get("versions"),
        "checksum": doc.get("checksum"),
        "format_version": doc.get("format_version"),
        "tensors": {k: tuple(t.shape) for k, t in tensors.items()},
    }
