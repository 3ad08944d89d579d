"""Typed errors of the experts package: what callers (the controller, the HTTP layer) may catch and show."""

from __future__ import annotations


class ExpertError(Exception):
    """Base of every error an expert reports on purpose; the message is safe to show a user."""

    code = "expert_error"


class ExpertInputError(ExpertError, ValueError):
    """The inputs were missing, malformed, or could not be read (the caller's fault, HTTP 400)."""

    code = "bad_input"


class UnsafeSourceError(ExpertInputError):
    """A media URL or path was refused by the fetch guard (SSRF, traversal, size, type, bomb)."""

    code = "unsafe_source"


class InvalidArtifactId(ExpertInputError):
    """A string that claims to be an artifact id does not match the strict id format."""

    code = "invalid_artifact_id"


class ArtifactNotFound(ExpertInputError):
    """A well-formed artifact id that the store does not hold."""

    code = "artifact_not_found"


class ExpertUnavailable(ExpertError):
    """The model cannot be loaded or run here (no weights offline, missing runtime, unknown model)."""

    code = "expert_unavailable"


class ExpertOverloaded(ExpertUnavailable):
    """Every replica of the model is busy (its queue is full): another runtime may take the task."""

    code = "overloaded"


class ExpertOutputError(ExpertError):
    """A remote model answered with a payload that is malformed, oversize or of the wrong media type."""

    code = "bad_output"


class Cancelled(ExpertError):
    """The caller went away or its deadline passed: the work was stopped between two steps."""

    code = "cancelled"


class StorageError(ExpertError):
    """The artifact store cannot take writes; says nothing about the model or the replica running it."""

    code = "storage_unavailable"


class StorageFull(StorageError):
    """The artifact store's disk or quota is full."""

    code = "storage_full"


class StorageUnavailable(StorageError):
    """The artifact store is read-only or cannot be reached."""

    code = "storage_unavailable"
