"""Output paths slmprofile may write to, and the manifest that says which files in a directory are its own.

The rule every command follows: **never delete or overwrite a file slmprofile did not create.**

- An output *directory* (``run --out``, ``ingest --stream --out``) must be new or empty. A directory that already
  holds a run is reused only with ``overwrite=True``, and then only the files its manifest lists are removed
  (caches such as ``llm_cache.sqlite`` are kept, so a resumed shadow run continues its budget); anything else in it
  stays, and a file of the user's at a name the run writes stops the run before it starts.
- An output *file* (``ingest --out logs.parquet``, ``report --out``) must not exist unless ``overwrite=True``.
- Every directory slmprofile writes holds ``.slmprofile-manifest.json``: the files it wrote there (paths relative
  to the directory). :class:`OutputDir` snapshots the directory when it is claimed and, when :meth:`OutputDir.close`
  runs (also after a failure), records every file that appeared since. The report embeds only images the manifest
  lists, so a PNG a user left in ``plots/`` never reaches a shared page.

Errors are :class:`~slmprofile.errors.OutputError`: one line naming the path and what to do.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import OutputError
from .rundir import RunDir

MANIFEST = ".slmprofile-manifest.json"
#: Files slmprofile writes but keeps on ``overwrite``: resumable caches and the spend ledger beside them.
KEPT_ON_OVERWRITE = ("*.sqlite", "*.sqlite-wal", "*.sqlite-shm", "*.spend.json")


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def read_manifest(directory: str | Path) -> set[str] | None:
    """The files the manifest of ``directory`` lists (relative paths), or ``None`` when it has no readable one."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list):
        return None
    return {f for f in files if isinstance(f, str) and _safe_relative(f)}


def _safe_relative(name: str) -> bool:
    """A manifest entry may only name a path inside its directory (a manifest is data, not a deletion list)."""
    p = Path(name)
    return bool(name) and not p.is_absolute() and ".." not in p.parts


def record_outputs(directory: str | Path, paths: Iterable[str | Path]) -> None:
    """Add ``paths`` (files inside ``directory``) to its manifest; stage commands call this for what they write."""
    root = Path(directory)
    listed = read_manifest(root) or set()
    for p in paths:
        p = Path(p)
        if p.is_dir() and not p.is_symlink():
            listed.update(f"{_relative(root, p)}/{f}" for f in _entries(p))
        elif p.is_file():
            try:
                listed.add(_relative(root.resolve(), p.resolve()))
            except ValueError:  # outside the directory: not ours to list
                continue
    _write_manifest(root, listed)


def _write_manifest(root: Path, files: set[str]) -> None:
    body = {"written_by": "slmprofile", "note": "files slmprofile wrote here; --overwrite removes only these",
            "files": sorted(files - {MANIFEST})}
    tmp = root / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    tmp.replace(root / MANIFEST)


def _entries(root: Path) -> set[str]:
    """Files (and links) under ``root``, relative; symlinked folders are listed as links, never entered."""
    found = set()
    for folder, dirs, files in os.walk(root, followlinks=False):
        base = Path(folder)
        found.update(_relative(root, base / f) for f in files)
        found.update(_relative(root, base / d) for d in dirs if (base / d).is_symlink())
    return found


def _inside(root: Path, name: str) -> bool:
    """``root/name`` is reached without passing through a symlinked folder (so removing it cannot touch a file
    elsewhere, whatever a manifest from someone else says)."""
    path = root
    for part in Path(name).parts[:-1]:
        path = path / part
        if path.is_symlink() or not path.is_dir():
            return False
    return True


def _check_writable_dir(path: Path) -> None:
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: cannot write here (permission denied); choose another --out")


def _check_parent(path: Path) -> None:
    """Fail with one line when ``path`` cannot be created: a parent is a file, or the nearest existing parent is
    read-only."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"{path}: {parent} is a file, not a directory; choose another --out")
            _check_writable_dir(parent)
            return


def _is_within(child: Path, parent: Path) -> bool:
    try:
        child.resolve().relative_to(parent.resolve())
        return True
    except ValueError:
        return False


@dataclass
class OutputDir:
    """A directory claimed for one command's outputs (see the module docstring); use as a context manager.

    >>> with claim_dir("out/run", overwrite=False, inputs=["logs/"]) as out:   # doctest: +SKIP
    ...     (out.path / "logs.parquet").write_bytes(b"...")
    """

    path: Path
    before: set[str] = field(default_factory=set)
    removed: list[str] = field(default_factory=list)

    def close(self) -> None:
        """Record every file that appeared since the claim (and the ones listed before) in the manifest."""
        if not self.path.is_dir():
            return
        now = _entries(self.path)
        listed = (read_manifest(self.path) or set()) | (now - self.before)
        _write_manifest(self.path, {f for f in listed if (self.path / f).exists()})

    def __enter__(self) -> OutputDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def claim_dir(path: str | Path, *, overwrite: bool = False, inputs: Iterable[str | Path] = (),
              reserved: Iterable[str] = ()) -> OutputDir:
    """Claim ``path`` as an output directory: create it, or accept it empty, or (``overwrite=True``) remove the
    files its manifest lists and keep the rest.

    ``inputs``: the command's input paths; an output directory that holds one of them is refused (``ingest spark
    --out spark`` would otherwise mix outputs with inputs).
    ``reserved``: the files and folders the command writes (``logs.parquet``, ``plots``...); with ``overwrite`` a
    file of the user's at one of them, or inside one of those folders, stops the command before anything is removed.
    Other files of the user's are left where they are. Manifest entries reached through a symlinked folder are
    never removed.
    """
    root = Path(path)
    if root.exists() and not root.is_dir():
        raise OutputError(f"{root}: is a file, not a directory; choose another --out")
    for item in inputs:
        item = Path(item)
        if not item.exists():
            continue
        if _is_within(item, root):
            raise OutputError(f"{root}: holds the input {item}; write the outputs to another directory")
    if not root.exists():
        _check_parent(root)
        try:
            root.mkdir(parents=True)
        except OSError as exc:
            raise OutputError(f"{root}: cannot create the directory ({exc.strerror or exc})") from None
        return OutputDir(root)
    _check_writable_dir(root)
    present = _entries(root) - {MANIFEST, MANIFEST + ".tmp"}
    if not present:
        return OutputDir(root, before=_entries(root))
    listed = read_manifest(root)
    if not overwrite:
        what = "holds an earlier slmprofile run" if listed is not None else "is not empty"
        raise OutputError(f"{root}: {what}; choose a new --out, or pass --overwrite to replace the files slmprofile "
                          "wrote there (nothing else is touched)")
    listed = {n for n in (listed or set()) if _inside(root, n)}
    kept = {n for n in listed if any(Path(n).match(pattern) for pattern in KEPT_ON_OVERWRITE)}
    # a file of the user's where the command writes: refuse before anything is removed
    clash = sorted(n for n in present - listed if _reserved(n, reserved))
    if clash:
        raise OutputError(f"{root / clash[0]}: not written by slmprofile, and this command writes there; move it or "
                          "choose another --out")
    removed = []
    for name in sorted(listed - kept):
        target = root / name
        if target.is_file() or target.is_symlink():
            target.unlink()
            removed.append(name)
    _prune_parents(root, removed)
    _write_manifest(root, {n for n in listed if (root / n).exists()})
    return OutputDir(root, before=_entries(root), removed=removed)


def _reserved(name: str, reserved: Iterable[str]) -> bool:
    """``name`` is one of the paths a command writes, or lies in one of its folders (``plots``, ``router``)."""
    return any(name == r or name.startswith(r.rstrip("/") + "/") for r in reserved)


def _prune_parents(root: Path, removed: Iterable[str]) -> None:
    """Remove the folders that removing ``removed`` left empty (never any other empty folder)."""
    folders = {root / Path(n).parent for n in removed} - {root}
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        while folder != root and _is_within(folder, root):
            try:
                folder.rmdir()  # only succeeds when empty
            except OSError:
                break
            folder = folder.parent


def check_output_file(path: str | Path, *, overwrite: bool = False) -> Path:
    """Check that ``path`` may be written as one output file and create its parent directory.

    Refused, with one line naming the path: a directory at ``path``, a file where a parent directory should be, a
    read-only parent, or an existing file without ``overwrite``.
    """
    target = Path(path)
    if target.is_dir():
        raise OutputError(f"{target}: is a directory; give a file name, e.g. {target / RunDir.LOGS}")
    if target.exists() and not overwrite:
        raise OutputError(f"{target}: exists; pass --overwrite to replace it, or choose another --out")
    _check_parent(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{target}: cannot create {target.parent} ({exc.strerror or exc})") from None
    if target.exists() and not os.access(target, os.W_OK):
        raise OutputError(f"{target}: cannot write here (permission denied)")
    return target


def claim_file_in(directory: str | Path, names: Iterable[str]) -> None:
    """Before a stage command writes ``names`` into an existing directory (a run directory, ``cluster --out``):
    each must be absent, or listed in the directory's manifest (an earlier slmprofile output it may replace).
    Anything else is refused, whatever the flags: the command cannot know the file is not the user's."""
    root = Path(directory)
    if root.exists() and not root.is_dir():
        raise OutputError(f"{root}: is a file, not a directory")
    if not root.is_dir():
        _check_parent(root)
        return
    _check_writable_dir(root)
    listed = read_manifest(root) or set()
    for name in names:
        target = root / name
        if not (target.exists() or target.is_symlink()):
            continue
        if target.is_dir() and not target.is_symlink():
            mine = {f for f in _entries(target)}
            if all(f"{name.rstrip('/')}/{f}" in listed for f in mine):
                continue
        elif name in listed and _inside(root, name):
            continue
        raise OutputError(f"{target}: exists and was not written by slmprofile (its manifest does not list it); "
                          "move it or write to another directory")
