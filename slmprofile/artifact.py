"""The router artifact folder: its files and the checks on ``router.json``.

A router directory written by :func:`slmprofile.router.export_router` holds :data:`ONNX_FP32` (fp32),
:data:`ONNX_INT8` (dynamic int8), :data:`TOKENIZER_FILE` and :data:`CONFIG_FILE` (``router.json``: threshold, labels,
metadata). This module is that folder's contract: the file names, the ``router.json`` format and version, the field
table (:data:`CONFIG_FIELDS`) and its one check (:func:`check_config`), and the loaders that refuse any file name
that leaves the directory (:func:`resolve_inside`, :func:`config_file`). Every problem is a one-line
:class:`~slmprofile.errors.RouterFileError` naming the file and the field.

Standard library only: :mod:`slmprofile.runtime` (which loads the ONNX graphs) and the exporter both build on it.
"""

from __future__ import annotations

import json
import math
import numbers
from pathlib import Path
from typing import Any, Callable

from .errors import RouterFileError
from .rundir import RunDir

ARTIFACT_FORMAT = "slmprofile-router"
ARTIFACT_VERSION = 1
#: File names inside a router directory.
ONNX_FP32 = "router.onnx"
ONNX_INT8 = "router.int8.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = RunDir.ROUTER_CONFIG
#: The files of a router artifact folder.
ARTIFACT_FILES = (ONNX_FP32, ONNX_INT8, TOKENIZER_FILE, CONFIG_FILE)

#: How far above 1 a stored threshold may be: training writes ``1 + 1e-6`` when no threshold reaches its target
#: ("send everything to the frontier model"), which no ``p_slm`` in [0, 1] reaches.
THRESHOLD_SLACK = 1e-3
_MISSING = object()
#: What every entry of ``files`` in ``router.json`` must be.
FILE_NAME = "a file name inside the router directory"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A finite real number (not a bool)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


#: The ``router.json`` fields the runtime reads, as field -> (required, what it must be, check). ``format`` and the
#: entries of ``files`` get their own checks in :func:`check_config`.
CONFIG_FIELDS: dict[str, tuple[bool, str, Callable[[Any], bool]]] = {
    "format_version": (False, "a non-negative integer", lambda v: _is_int(v) and v >= 0),
    "threshold": (True, "a number in [0, 1]", lambda v: is_number(v) and 0 <= v <= 1 + THRESHOLD_SLACK),
    "max_length": (True, "a positive integer", lambda v: _is_int(v) and v > 0),
    "pad_id": (False, "a non-negative integer", lambda v: _is_int(v) and v >= 0),
    "files": (True, "an object mapping roles (fp32, int8, tokenizer) to file names",
              lambda v: isinstance(v, dict)),
    "novelty": (False, "null or an object with a numeric 'threshold' in [0, 2]",
                lambda v: v is None or (isinstance(v, dict) and is_number(v.get("threshold"))
                                        and 0 <= v["threshold"] <= 2)),
}


def _shown(value: Any) -> str:
    """``value`` as a short one-line quote for an error message (JSON spelling for null/true/false)."""
    if value is _MISSING:
        return "nothing (the field is missing)"
    text = json.dumps(value) if value is None or isinstance(value, bool) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def first_line(exc: BaseException) -> str:
    """``Type: first line of the message`` of ``exc``, at most 200 characters."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:200] if lines else ''}".rstrip(": ")


def field_error(path: str | Path, field: str, expected: str, value: Any = _MISSING,
                reason: str = "") -> RouterFileError:
    """The one shape of every ``router.json`` field error:
    ``PATH: field 'threshold' must be a number in [0, 1]; got 'abc'`` (+ `` (reason)`` when given)."""
    shown = _shown(value)
    if reason:
        shown = f"{shown[:-1]}; {reason})" if value is _MISSING else f"{shown} ({reason})"
    return RouterFileError(f"{path}: field {field!r} must be {expected}; got {shown}")


def resolve_inside(directory: str | Path, name: str) -> tuple[Path | None, str]:
    """``(path, "")`` for a file name that stays inside ``directory``, else ``(None, why)``.

    A name may not be absolute, have a ``..`` part, or resolve (following symlinks, the directory's own included)
    to the directory itself or anywhere outside it. The path returned is the resolved one: the file that was checked
    is the file that gets opened. Whether it exists is not checked here.
    """
    pure = Path(name)
    if not name or "\x00" in name:
        return None, "not a file name"
    if pure.is_absolute() or pure.drive:
        return None, "an absolute path"
    if ".." in pure.parts:
        return None, "a '..' part leaves the router directory"
    try:
        root = Path(directory).resolve()
        target = (root / pure).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop (RuntimeError before Python 3.13)
        return None, f"cannot be resolved: {exc}"
    if target == root:
        return None, "the router directory itself"
    if not target.is_relative_to(root):
        return None, f"resolves to {target}, outside the router directory"
    return target, ""


def check_config(config: Any, *, path: str | Path) -> dict[str, Any]:
    """``config`` (parsed ``router.json`` at ``path``) when it has every field the runtime reads, each of the right
    type and range, else :class:`~slmprofile.errors.RouterFileError` naming the file and the first bad field.

    The one place the schema is checked; see :data:`CONFIG_FIELDS`. Every entry of ``files`` must be a file name
    inside the router directory (:func:`resolve_inside`): a router directory from elsewhere cannot make the loader
    open any other file. Whether the listed files exist is checked when they are loaded (:func:`config_file`).
    """
    if not isinstance(config, dict):
        kind = {list: "a list", str: "a string"}.get(type(config)) or _shown(config)
        raise RouterFileError(f"{path}: must hold a JSON object (the router's settings); got {kind}")
    if config.get("format", _MISSING) != ARTIFACT_FORMAT:
        raise field_error(path, "format", repr(ARTIFACT_FORMAT), config.get("format", _MISSING),
                          "not a router directory written by `slmprofile router export`")
    for field, (required, expected, ok) in CONFIG_FIELDS.items():
        value = config.get(field, _MISSING)
        if (value is _MISSING and required) or (value is not _MISSING and not ok(value)):
            raise field_error(path, field, expected, value)
    if config.get("format_version", 0) > ARTIFACT_VERSION:
        raise field_error(path, "format_version", f"at most {ARTIFACT_VERSION}", config["format_version"],
                          "written by a newer slmprofile; upgrade slmprofile")
    directory = Path(path).parent
    for role, name in config["files"].items():
        if not isinstance(name, str):
            raise field_error(path, f"files.{role}", FILE_NAME, name)
        _, why = resolve_inside(directory, name)
        if why:
            raise field_error(path, f"files.{role}", FILE_NAME, name, why)
    return config


def read_config(directory: str | Path) -> dict[str, Any]:
    """``router.json`` of a router directory, checked by :func:`check_config`.

    Every problem is a one-line :class:`~slmprofile.errors.RouterFileError` naming the file (and the field): a missing
    or unreadable file, bytes that are not UTF-8, invalid JSON, JSON that is not an object, a bad field.
    """
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise RouterFileError(f"{path}: not found; a router directory needs {CONFIG_FILE}, {TOKENIZER_FILE} and "
                              f"{ONNX_FP32} (write one with `slmprofile router export`)")
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise RouterFileError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise RouterFileError(f"{path}: not a JSON text file (byte 0x{exc.object[exc.start]:02x} at offset "
                              f"{exc.start} is not UTF-8)") from exc
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RouterFileError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})") from exc
    except RecursionError as exc:
        raise RouterFileError(f"{path}: invalid JSON (nested too deeply)") from exc
    return check_config(config, path=path)


def config_file(directory: str | Path, config: dict[str, Any], role: str, *, default: str | None = None) -> Path:
    """The existing file ``config["files"][role]`` (else ``default``) inside ``directory``, resolved.

    Raises :class:`~slmprofile.errors.RouterFileError` naming ``router.json`` and the field when the role is not
    listed (and has no default), the name leaves the directory, or the file does not exist.
    """
    path = Path(directory) / CONFIG_FILE
    name = config.get("files", {}).get(role, default)
    if name is None:
        raise field_error(path, f"files.{role}", FILE_NAME, reason="export it with `slmprofile router export`")
    if not isinstance(name, str):
        raise field_error(path, f"files.{role}", FILE_NAME, name)
    target, why = resolve_inside(directory, name)
    if target is None:
        raise field_error(path, f"files.{role}", FILE_NAME, name, why)
    if not target.is_file():
        raise field_error(path, f"files.{role}", FILE_NAME, name,
                          "no such file; export it with `slmprofile router export`")
    return target
