"""Run one function in a fresh Python process and get its result back.

The large-log path uses short-lived child processes for memory: what a stage allocates (a reader's chunks, the
PyTorch model of the embedding parity probe, a Parquet writer's buffers) is returned to the system when the child
exits instead of staying in the long-running process. :func:`call` starts ``python -m slmprofile.child`` rather
than a ``multiprocessing`` spawn, because a spawned child re-imports the caller's ``__main__``: that fails for
``python -`` and re-runs a script without an ``if __name__ == "__main__"`` guard. Here the child imports only the
function's module.

The call and its result travel as pickles through a private temporary directory, between two processes of the
same installation (the same channel ``multiprocessing`` uses); nothing is kept on disk afterwards.
"""

from __future__ import annotations

import importlib
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

from .errors import SlmprofileError

_CALL = "call.pkl"
_RESULT = "result.pkl"


def call(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` evaluated in a fresh interpreter; its exception is re-raised here.

    ``fn`` must be a module-level function; arguments and result must pickle. The child's stdout and stderr are
    this process's (progress bars and warnings show as usual)."""
    module, name = fn.__module__, fn.__qualname__
    if module == "__main__" or "<locals>" in name:
        raise ValueError(f"{name} must be a module-level function of an importable module to run in a child")
    with tempfile.TemporaryDirectory(prefix="slmprofile-child-") as tmp:
        Path(tmp, _CALL).write_bytes(pickle.dumps((module, name, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL))
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[1])
        if package_root not in _site_dirs():  # e.g. a source checkout put on sys.path at run time
            env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), package_root) if p)
        code = subprocess.run([sys.executable, "-m", "slmprofile.child", tmp], env=env, check=False).returncode
        result = Path(tmp, _RESULT)
        if not result.exists():
            raise SlmprofileError(f"the child process running {module}.{name} exited with code {code} "
                                  "before returning (out of memory, or killed?)")
        ok, value = pickle.loads(result.read_bytes())
    if ok:
        return value
    raise value


def _site_dirs() -> set[str]:
    import site

    dirs = list(site.getsitepackages()) + [site.getusersitepackages()]
    return {str(Path(d).resolve()) for d in dirs}


def _main(directory: str) -> int:
    module, name, args, kwargs = pickle.loads(Path(directory, _CALL).read_bytes())
    try:
        fn: Any = importlib.import_module(module)
        for part in name.split("."):
            fn = getattr(fn, part)
        outcome: tuple[bool, Any] = (True, fn(*args, **kwargs))
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the caller
        outcome = (False, exc)
    try:
        blob = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001 - an exception or result that does not pickle: say what it was
        blob = pickle.dumps((False, SlmprofileError(f"{module}.{name}: {type(outcome[1]).__name__}: "
                                                    f"{outcome[1]} (could not be returned: {exc})")))
    tmp = Path(directory, _RESULT + ".tmp")
    tmp.write_bytes(blob)
    os.replace(tmp, Path(directory, _RESULT))
    return 0


if __name__ == "__main__":  # pragma: no cover - the child side of call()
    sys.exit(_main(sys.argv[1]))
