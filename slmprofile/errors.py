"""The project's own exceptions and warnings."""

from __future__ import annotations


class SlmprofileError(Exception):
    """Base class of every error slmprofile raises on purpose."""


class IngestError(SlmprofileError, ValueError):
    """Bad input that ingestion cannot (or, with ``strict=True``, may not) skip.

    The message always names the file, and the line and field where there is one.
    """


class OutputError(SlmprofileError, ValueError):
    """An output path slmprofile may not write: it exists, holds files slmprofile did not write, or is not writable.

    The message names the path and what to do (for example pass ``--overwrite``).
    """


class RouterFileError(SlmprofileError, ValueError):
    """A router directory that cannot be loaded: ``router.json`` unreadable or malformed, a file it lists missing, or
    a listed name pointing outside the directory.

    The message names the file, and the field where there is one.
    """


class MissingDependencyError(SlmprofileError, ImportError):
    """An optional dependency is not installed; the message names the extra that provides it."""


class SlmprofileWarning(UserWarning):
    """Base class of slmprofile's warnings."""
