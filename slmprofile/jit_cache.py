"""A disk cache for the numba-compiled code of UMAP and pynndescent: compiled once per machine, not once per process.

UMAP's layout, its fuzzy graph and pynndescent's search are numba functions compiled on first call in every new
process: about 10 s of every task-type stage on 2 cores, more than UMAP's own work on a few thousand prompts. They
are declared without ``cache=True``, so :func:`enable_jit_cache` turns numba's file cache on for them (numba's own
mechanism: the machine code is keyed by the function's source file, its signature and this CPU, and recompiled when
any of them changes). The compiled code is the same code, so results do not move.

The cache lives under ``$SLMPROFILE_CACHE/numba`` (``~/.cache/slmprofile/numba``), unless ``NUMBA_CACHE_DIR`` names
another place; ``SLMPROFILE_JIT_CACHE=0`` turns it off.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any, Iterable

logger = logging.getLogger(__name__)

#: Packages whose numba functions are cached (those already imported).
PACKAGES = ("umap", "pynndescent")


def jit_cache_dir() -> Path:
    """Where compiled code is kept: ``NUMBA_CACHE_DIR`` when set, else ``<slmprofile cache>/numba``."""
    from .encoder import default_cache_dir

    return Path(os.environ.get("NUMBA_CACHE_DIR") or default_cache_dir() / "numba")


def enable_jit_cache(functions: Iterable[Any] = (), *, packages: Iterable[str] = PACKAGES) -> int:
    """Turn numba's file cache on for ``functions`` and for every numba function of the imported modules of
    ``packages``; returns how many functions were switched on (0 when ``SLMPROFILE_JIT_CACHE=0`` or the cache
    directory cannot be written, which is logged and otherwise harmless: the code is compiled as before)."""
    if os.environ.get("SLMPROFILE_JIT_CACHE", "1") == "0":
        return 0
    import numba
    from numba.core.caching import NullCache
    from numba.core.registry import CPUDispatcher

    directory = jit_cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        logger.info("numba cache off: %s cannot be made (%s)", directory, exc)
        return 0
    if not os.access(directory, os.W_OK):
        logger.info("numba cache off: %s is not writable", directory)
        return 0
    numba.config.CACHE_DIR = str(directory)
    _quiet_uncacheable()
    prefixes = tuple(packages)
    found = list(functions)
    for name, module in list(sys.modules.items()):
        if module is not None and name.split(".")[0] in prefixes:
            found += [obj for obj in vars(module).values() if isinstance(obj, CPUDispatcher)]
    switched = 0
    for function in {id(f): f for f in found}.values():
        if isinstance(getattr(function, "_cache", None), NullCache):
            try:
                function.enable_caching()
            except Exception as exc:  # noqa: BLE001 - a function numba cannot cache stays as it was
                logger.debug("numba cache not enabled for %s: %s", getattr(function, "__name__", function), exc)
                continue
            switched += 1
    return switched


def _quiet_uncacheable() -> None:
    """Silence numba's "Cannot cache compiled function ..." warning: some of the switched functions (pynndescent's
    ``nn_descent`` uses dynamic globals) cannot be cached after all; they compile in memory as they did before this
    module asked, and a user should not read a warning about a cache they never asked for."""
    import warnings

    from numba.core.errors import NumbaWarning

    warnings.filterwarnings("ignore", message="Cannot cache compiled function", category=NumbaWarning)


def compiled_marker(tag: str) -> Path:
    """A file in the cache that says ``tag``'s code was compiled there by these versions of numba, UMAP and
    pynndescent on this Python and machine (written by whoever compiled it ahead; see
    :func:`slmprofile.stages.start_ahead`)."""
    import hashlib
    import platform
    from importlib import metadata

    parts = [sys.version, platform.machine()]
    for name in ("numba", "umap-learn", "pynndescent"):
        try:
            parts.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name}=none")
    digest = hashlib.blake2b("|".join(parts).encode(), digest_size=6).hexdigest()
    return jit_cache_dir() / f"{tag}-{digest}.done"
