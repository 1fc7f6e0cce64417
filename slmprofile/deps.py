"""Import helpers for heavy or optional dependencies (imported inside the functions that need them)."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependencyError


def require(module: str, *, extra: str | None = None, package: str | None = None, purpose: str = "") -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` telling how to install it (the slmprofile
    ``extra`` that brings it, else the ``package`` to pip install, which defaults to the module's name)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised only without the package
        how = f"pip install 'slmprofile[{extra}]'" if extra else f"pip install {package or module.split('.')[0]}"
        what = f" for {purpose}" if purpose else ""
        raise MissingDependencyError(f"{module!r} is needed{what} but is not installed: {how}") from exc
