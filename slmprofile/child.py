"""Run one function in a fresh Python process and get its result back.

The large-log path uses short-lived child processes for memory: what a stage allocates (a reader's chunks, the
PyTorch model of the embedding parity probe, a Parquet writer's buffers) is returned to the system when the child
exits instead of staying in the long-running process. :func:`call` starts ``python -m slmprofile.child`` rather
than a ``multiprocessing`` spawn, because a spawned child re-imports the caller's ``__main__``: that fails for
``python -`` and re-runs a script without an ``if __name__ == "__main__"`` guard. Here the child imports only the
function's module.

The call and its result travel as JSON through a private temporary directory (nothing is kept afterwards), never as
pickles: plain JSON values, plus tagged paths, tuples, counters, numpy arrays, slmprofile's own dataclasses and
exceptions (see :func:`encode`). Anything else is refused with a clear error before the child starts.
"""

from __future__ import annotations

import base64
import builtins
import dataclasses
import importlib
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path, PurePath
from typing import Any, Callable

from .errors import SlmprofileError

_CALL = "call.json"
_RESULT = "result.json"
_TAG = "__slmprofile_child__"


def call(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` evaluated in a fresh interpreter; its exception is re-raised here.

    ``fn`` must be a module-level function; arguments and result must be values :func:`encode` knows. The child's
    stdout and stderr are this process's (progress bars and warnings show as usual)."""
    module, name = fn.__module__, fn.__qualname__
    if module == "__main__" or "<locals>" in name:
        raise ValueError(f"{name} must be a module-level function of an importable module to run in a child")
    payload = json.dumps({"module": module, "name": name, "args": encode(list(args)), "kwargs": encode(kwargs)})
    with tempfile.TemporaryDirectory(prefix="slmprofile-child-") as tmp:
        Path(tmp, _CALL).write_text(payload, encoding="utf-8")
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[1])
        if package_root not in _site_dirs():  # e.g. a source checkout put on sys.path at run time
            env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), package_root) if p)
        code = subprocess.run([sys.executable, "-m", "slmprofile.child", tmp], env=env, check=False).returncode
        result = Path(tmp, _RESULT)
        if not result.exists():
            raise SlmprofileError(f"the child process running {module}.{name} exited with code {code} "
                                  "before returning (out of memory, or killed?)")
        outcome = json.loads(result.read_text(encoding="utf-8"))
    value = decode(outcome["value"])
    if outcome["ok"]:
        return value
    raise value


def encode(value: Any) -> Any:
    """``value`` as JSON-ready data. Besides JSON's own types: paths, tuples, counters, numpy arrays and scalars,
    dataclasses defined in slmprofile, and exceptions (by type and message). Anything else raises ``TypeError``."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, PurePath):
        return {_TAG: "path", "value": str(value)}
    if isinstance(value, Counter):
        return {_TAG: "counter", "value": [[encode(k), v] for k, v in value.items()]}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and _TAG not in value:
            return {k: encode(v) for k, v in value.items()}
        return {_TAG: "dict", "value": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {_TAG: "tuple", "value": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, BaseException):
        kind = type(value)
        return {_TAG: "error", "module": kind.__module__, "name": kind.__qualname__, "message": str(value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        kind = type(value)
        if not kind.__module__.startswith("slmprofile."):
            raise TypeError(f"{kind.__module__}.{kind.__qualname__}: only slmprofile's dataclasses cross to a child")
        return {_TAG: "dataclass", "module": kind.__module__, "name": kind.__qualname__,
                "fields": {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if type(value).__module__ == "numpy":
        import numpy as np

        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                raise TypeError("a numpy array of Python objects cannot cross to a child")
            data = np.ascontiguousarray(value)
            return {_TAG: "ndarray", "dtype": data.dtype.str, "shape": list(data.shape),
                    "data": base64.b64encode(data.tobytes()).decode("ascii")}
        if isinstance(value, np.generic):
            return value.item()
    raise TypeError(f"a {type(value).__module__}.{type(value).__qualname__} cannot cross to a child process")


def decode(value: Any) -> Any:
    """The inverse of :func:`encode`."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(_TAG)
    if tag is None:
        return {k: decode(v) for k, v in value.items()}
    if tag == "path":
        return Path(value["value"])
    if tag == "counter":
        return Counter({decode(k): v for k, v in value["value"]})
    if tag == "dict":
        return {decode(k): decode(v) for k, v in value["value"]}
    if tag == "tuple":
        return tuple(decode(v) for v in value["value"])
    if tag == "ndarray":
        import numpy as np

        data = np.frombuffer(base64.b64decode(value["data"]), dtype=np.dtype(value["dtype"]))
        return data.reshape(value["shape"]).copy()
    if tag == "dataclass":
        kind = _slmprofile_attr(value["module"], value["name"])
        if not dataclasses.is_dataclass(kind):
            raise TypeError(f"{value['module']}.{value['name']} is not a dataclass")
        fields = {k: decode(v) for k, v in value["fields"].items()}
        init = {f.name for f in dataclasses.fields(kind) if f.init}
        obj = kind(**{k: v for k, v in fields.items() if k in init})
        for k, v in fields.items():
            if k not in init:
                object.__setattr__(obj, k, v)
        return obj
    if tag == "error":
        return _exception(value["module"], value["name"], value["message"])
    raise TypeError(f"unknown tag {tag!r} from a child process")


def _slmprofile_attr(module: str, name: str) -> Any:
    if module != "slmprofile" and not module.startswith("slmprofile."):
        raise TypeError(f"{module}.{name}: only slmprofile's own types cross from a child")
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _exception(module: str, name: str, message: str) -> BaseException:
    """The child's exception again: the same type when it is a built-in one or slmprofile's and takes a message,
    else a :class:`SlmprofileError` naming the type."""
    kind: Any = None
    if module == "builtins":
        kind = getattr(builtins, name, None)
    elif module == "slmprofile" or module.startswith("slmprofile."):
        try:
            kind = _slmprofile_attr(module, name)
        except (ImportError, AttributeError, TypeError):
            kind = None
    if isinstance(kind, type) and issubclass(kind, BaseException):
        try:
            return kind(message)
        except TypeError:
            pass
    return SlmprofileError(f"{module}.{name}: {message}")


def _site_dirs() -> set[str]:
    import site

    dirs = list(site.getsitepackages()) + [site.getusersitepackages()]
    return {str(Path(d).resolve()) for d in dirs}


def _main(directory: str) -> int:
    request = json.loads(Path(directory, _CALL).read_text(encoding="utf-8"))
    module, name = request["module"], request["name"]
    try:
        fn: Any = importlib.import_module(module)
        for part in name.split("."):
            fn = getattr(fn, part)
        outcome: dict[str, Any] = {"ok": True, "value": fn(*decode(request["args"]), **decode(request["kwargs"]))}
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the caller
        outcome = {"ok": False, "value": exc}
    try:
        blob = json.dumps({"ok": outcome["ok"], "value": encode(outcome["value"])})
    except (TypeError, ValueError) as exc:  # a result that cannot cross: say what it was
        error = SlmprofileError(f"{module}.{name}: {type(outcome['value']).__name__} could not be returned ({exc})")
        blob = json.dumps({"ok": False, "value": encode(error)})
    tmp = Path(directory, _RESULT + ".tmp")
    tmp.write_text(blob, encoding="utf-8")
    os.replace(tmp, Path(directory, _RESULT))
    return 0


if __name__ == "__main__":  # pragma: no cover - the child side of call()
    sys.exit(_main(sys.argv[1]))
