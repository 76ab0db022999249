"""Frozen byte offsets of the shared-memory headers (layout version 3).

Every number in this file mirrors a struct of ``shm/vr_shm.h`` whose size and
offsets are pinned there by ``_Static_assert`` (vr_seghdr, vr_arena_hdr,
vr_tabledesc, vr_coldesc, vr_bufhdr, vr_tabstate, vr_cluster_hdr,
vr_fielddesc).  Those headers are frozen for ``VR_LAYOUT_VERSION``; a segment
with another layout version is refused before any of these offsets is used.

What is *not* here, on purpose: the arena's tables and columns and the
cluster's universe record.  Both are read at run time from the directories
the segments carry (table and column directory of an arena, field directory
of the cluster segment), so a change of ``schemas/components.def`` needs no
change in Python.

All integers are little-endian.
"""

from __future__ import annotations

import struct

#: The layout version this bridge reads (VR_LAYOUT_VERSION of schemas/vr_schema.h).
LAYOUT_VERSION = 5

MAGIC_ARENA = 0x414E455241525600    # VR_MAGIC_ARENA, "\0VRARENA" read little-endian
MAGIC_CLUSTER = 0x5254534C43525600  # VR_MAGIC_CLUSTER, "\0VRCLSTR"

NAME_MAX = 32                       # VR_NAME_MAX
NO_BUFFER = 0xFFFFFFFF              # VR_NO_BUFFER

# ---- vr_seghdr: first 64 bytes of every segment ---------------------------
SEGHDR_SIZE = 64
SEG_MAGIC = 0            # u64
SEG_LAYOUT_VERSION = 8   # u32  (static assert in vr_shm.h)
SEG_HEADER_SIZE = 12     # u32
SEG_TOTAL_SIZE = 16      # u64
SEG_SCHEMA_HASH = 24     # u64
SEG_CLUSTER_ID = 32      # u64  (static assert in vr_shm.h)
SEG_CREATOR_PID = 40     # i32
#: magic, layout_version, header_size, total_size, schema_hash, cluster_id, creator_pid
SEGHDR = struct.Struct("<QIIQQQi")

# ---- vr_arena_hdr (168 bytes) -----------------------------------------------
ARENA_HDR_SIZE = 168
ARENA_UNIVERSE = 64        # u32 universe, ntables, ncolumns, nbuffers (static assert)
ARENA_TABDIR_OFFSET = 80   # u64 tabdir_offset, coldir_offset (static assert)
ARENA_BUFFER_OFFSET = 96   # u64 buffer_offset[2], buffer_size, seed (static assert)
ARENA_PUBLISHED = 128      # u32, atomic; NO_BUFFER = nothing published (static assert)
ARENA_WRITER_PID = 132     # i32
ARENA_NBUFFERS_MAX = 2     # buffer_offset has two slots
#: universe, ntables, ncolumns, nbuffers, tabdir_offset, coldir_offset,
#: buffer_offset[0], buffer_offset[1], buffer_size, seed
ARENA_HDR = struct.Struct("<IIIIQQQQQQ")  # at offset ARENA_UNIVERSE

# ---- vr_tabledesc (48 bytes) --------------------------------------------------
TABLEDESC_SIZE = 48
#: name[24], capacity, first_column, ncolumns
TABLEDESC = struct.Struct("<24sIII")

# ---- vr_coldesc (64 bytes) ----------------------------------------------------
COLDESC_SIZE = 64
#: name[24], dtype[8], table, elem_size, lanes, capacity, offset (at 48), bytes
COLDESC = struct.Struct("<24s8sIIIIQQ")

# ---- vr_bufhdr (64 bytes) + vr_tabstate[ntables] (16 bytes each) --------------
BUFHDR_SIZE = 64
BUF_SEQ = 0     # u64, atomic; odd while the writer writes the buffer
BUF_TURN = 8    # u64
BUF_HASH = 16   # u64
TABSTATE_SIZE = 16
#: count, live, free_count, reserved
TABSTATE = struct.Struct("<IIII")

# ---- vr_cluster_hdr (768 bytes) -----------------------------------------------
CLUSTER_HDR_SIZE = 768
CL_NAME = 64              # char[40]  (static assert)
CL_NAME_LEN = 40
CL_NUNIVERSES = 104       # u32
CL_COORDINATOR_PID = 108  # i32
CL_SEQ = 112              # u64, atomic; odd while the coordinator updates (static assert)
CL_COMMITTED_TURN = 120   # u64   \
CL_CLUSTER_HASH = 128     # u64    |
CL_SEED = 136             # u64    |  CL_DYN, read under the seqlock
CL_STATUS = 144           # u32    |
CL_URECSIZE = 148         # u32   /
CL_UREC_OFFSET = 152      # u64 (static assert)
CL_UFIELD_OFFSET = 160    # u64
CL_NUFIELDS = 168         # u32
CL_STARTED_UNIX_NS = 176  # u64
CL_TURN_NS = 184          # u64
CL_CMD_ENDPOINT = 256     # char[256] (static assert)
CL_CMD_ENDPOINT_LEN = 256
CL_EVENTS_ENDPOINT = 512  # char[256] (static assert): the coordinator's event PUB socket
CL_EVENTS_ENDPOINT_LEN = 256
#: committed_turn, cluster_hash, seed, status, urec_size, urec_offset,
#: ufield_offset, nufields, reserved0, started_unix_ns, turn_ns
CL_DYN = struct.Struct("<QQQIIQQIIQQ")  # at offset CL_COMMITTED_TURN

# ---- vr_fielddesc (32 bytes) --------------------------------------------------
FIELDDESC_SIZE = 32
#: name[20], dtype[8], offset
FIELDDESC = struct.Struct("<20s8sI")

U64 = struct.Struct("<Q")
U32 = struct.Struct("<I")

#: enum vr_cluster_status
CLUSTER_STATUS = {
    0: "none",
    1: "starting",
    2: "running",
    3: "paused",
    4: "stopping",
    5: "stopped",
    6: "failed",
}

#: enum vr_worker_status (the ``status`` field of a universe record)
WORKER_STATUS = {
    0: "none",
    1: "starting",
    2: "ready",
    3: "busy",
    4: "dead",
    5: "hung",
    6: "stopped",
}


def cstr(raw: bytes) -> str:
    """The NUL-terminated string at the start of ``raw``, decoded as ASCII."""
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")
