"""Read-only mappings of /dev/shm segments and checks of their common header.

A segment is opened with ``os.open(O_RDONLY)`` and mapped with
``mmap.mmap(fd, size, prot=PROT_READ, flags=MAP_SHARED)``: the pages can not
be written through this process, and numpy arrays built on the mapping are
not writeable (the buffer the mapping exports is read-only).

Never ``multiprocessing.shared_memory``: it maps read-write, and Python's
resource tracker unlinks the segment when the process exits.
"""

from __future__ import annotations

import mmap
import os
import re
from typing import Optional

from . import _layout as L
from .errors import AttachError, ClusterNotFound, VersionError

SHM_DIR = "/dev/shm"

_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,%d}" % L.NAME_MAX)
_SEGNAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,250}")


def check_name(name: object) -> str:
    """Returns ``name`` if it is a valid cluster name (1 to 32 of
    ``A-Z a-z 0-9 _ -``), else raises :class:`ValueError`."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ValueError(
            f"bad cluster name {name!r}: 1 to {L.NAME_MAX} characters of A-Z a-z 0-9 _ -"
        )
    return name


def cluster_segment(name: str) -> str:
    """File name in /dev/shm of the cluster segment of ``name``
    (the shm name is the same with a leading slash)."""
    return f"vr.{name}.cluster"


def segment_file(shm_name: str) -> str:
    """The /dev/shm file name of a POSIX shm name such as ``/vr.NAME.u0``.

    The leading slash is dropped; anything that could leave /dev/shm (another
    slash, ``.`` or ``..``) raises :class:`AttachError`: the name comes from
    the segment and is not trusted."""
    seg = shm_name[1:] if shm_name.startswith("/") else shm_name
    if not _SEGNAME_RE.fullmatch(seg) or seg in (".", ".."):
        raise AttachError(f"bad segment name {shm_name!r} in the cluster segment")
    return seg


class Segment:
    """One read-only mapped segment whose common header (vr_seghdr) was
    checked: magic, layout version, header size and total size against the
    size of the file."""

    def __init__(self, seg: str, magic: int, kind: str, min_header: int,
                 cluster: Optional[str] = None) -> None:
        """Maps /dev/shm/``seg``.  ``kind`` names the segment in messages,
        ``min_header`` is the size of its kind-specific header.  When
        ``cluster`` is given, a missing file raises :class:`ClusterNotFound`
        naming that cluster."""
        self.name = seg
        self.path = os.path.join(SHM_DIR, seg)
        self.mm: Optional[mmap.mmap] = None
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            if cluster is not None:
                raise ClusterNotFound(
                    f"cluster {cluster!r} not found: no segment {self.path}") from None
            raise AttachError(f"{seg}: no such segment ({self.path})") from None
        except OSError as e:
            raise AttachError(f"{seg}: cannot open {self.path}: {e.strerror}") from None
        try:
            size = os.fstat(fd).st_size
            if size < L.SEGHDR_SIZE:
                raise AttachError(
                    f"{seg}: truncated: {size} bytes, shorter than a segment header "
                    f"({L.SEGHDR_SIZE} bytes)")
            try:
                self.mm = mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
            except (OSError, ValueError) as e:
                raise AttachError(f"{seg}: mmap of {size} bytes failed: {e}") from None
        finally:
            os.close(fd)
        self.size = size
        try:
            self._check(magic, kind, min_header)
        except BaseException:
            self.close()
            raise

    def _check(self, magic: int, kind: str, min_header: int) -> None:
        (self.magic, self.layout_version, self.header_size, self.total_size,
         self.schema_hash, self.cluster_id, self.creator_pid) = L.SEGHDR.unpack_from(self.mm, 0)
        seg = self.name
        if self.magic != magic:
            raise AttachError(
                f"{seg}: magic {self.magic:016x}, expected {magic:016x} (not a vr {kind} segment)")
        if self.layout_version != L.LAYOUT_VERSION:
            raise VersionError(
                f"{seg}: layout version {self.layout_version}, "
                f"this bridge reads version {L.LAYOUT_VERSION}")
        if self.total_size > self.size:
            raise AttachError(
                f"{seg}: truncated: header says {self.total_size} bytes, segment has {self.size}")
        if self.header_size < min_header or self.header_size > self.total_size:
            raise AttachError(
                f"{seg}: header size {self.header_size} out of range "
                f"({min_header}..{self.total_size})")

    def u64(self, off: int) -> int:
        """One aligned little-endian u64 of the mapping (a single 8-byte load)."""
        return L.U64.unpack_from(self.mm, off)[0]

    def u32(self, off: int) -> int:
        return L.U32.unpack_from(self.mm, off)[0]

    def close(self) -> None:
        """Unmaps now if no numpy array uses the mapping; otherwise forgets
        it, and the mapping is unmapped when the last such array is freed."""
        mm, self.mm = self.mm, None
        if mm is not None:
            try:
                mm.close()
            except BufferError:
                pass  # arrays still export the buffer: they keep it alive
