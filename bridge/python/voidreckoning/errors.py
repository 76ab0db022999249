"""Exceptions of the voidreckoning bridge.

Every error the bridge raises on purpose derives from :class:`VrError`, except
:class:`ValueError` for a malformed cluster name and :class:`KeyError` for an
unknown table or column (the usual Python contracts).
"""

from __future__ import annotations


class VrError(Exception):
    """Base class of every bridge error."""


class AttachError(VrError):
    """A segment could not be attached: missing, unreadable, bad magic,
    truncated, header fields out of range, or from another cluster."""


class ClusterNotFound(AttachError):
    """No cluster segment exists for this name (nothing in /dev/shm)."""


class VersionError(AttachError):
    """The segment's layout version is not the one this bridge reads.  The
    message names both versions."""


class SchemaError(AttachError):
    """A segment's directory (tables, columns, universe record fields) or its
    schema hash does not make sense or does not match the cluster."""


class TornReadError(VrError):
    """The writer overwrote the buffer being read: what was read through the
    view may mix two turns and must be discarded (read again)."""


class NotYetError(VrError):
    """The universe has not published any turn yet."""
