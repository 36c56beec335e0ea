"""The shard format: compact raw position state, memory-mappable, planes built later by the loader.

A shard is two .npy files plus a done-marker JSON, written atomically (temp name + os.replace,
the marker last, with the files' sizes and SHA-1). Per position (POSITION_DTYPE, 114 bytes):

| field        | bytes | meaning |
|--------------|-------|---------|
| stones       | 91    | 361 points x 2 bits (0 empty, 1 black, 2 white), point p in byte p//4 at bits 2*(p%4) |
| last         | 16    | last 8 moves, most recent first, int16 flat index, -1 none/pass |
| ko           | 2     | ko point the player to move may not retake, -1 none |
| target       | 2     | the move played (flat index; passes are not positions) |
| move_number  | 2     | moves played before this position |
| to_move      | 1     | 1 black, 2 white |

Per game (GAME_DTYPE): 64-bit hash of the record (dedup and train/val split), first position
row, position count.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

SIZE = 19
PACKED = (SIZE * SIZE + 3) // 4  # 91 bytes of stones per position
POSITION_DTYPE = np.dtype([("stones", np.uint8, (PACKED,)), ("last", np.int16, (8,)), ("ko", np.int16),
                           ("target", np.int16), ("move_number", np.int16), ("to_move", np.int8)])
GAME_DTYPE = np.dtype([("hash", np.uint64), ("start", np.int64), ("count", np.int32)])


def pack_stones(stones: np.ndarray) -> np.ndarray:
    """(M, 361) int8 values 0..2 -> (M, 91) uint8."""
    m = stones.shape[0]
    s = np.zeros((m, PACKED * 4), np.uint8)
    s[:, : stones.shape[1]] = stones
    s = s.reshape(m, PACKED, 4)
    return s[:, :, 0] | (s[:, :, 1] << 2) | (s[:, :, 2] << 4) | (s[:, :, 3] << 6)


def unpack_stones(packed: np.ndarray) -> np.ndarray:
    """(M, 91) uint8 -> (M, 361) int8."""
    shifts = np.array([0, 2, 4, 6], np.uint8)
    s = (np.asarray(packed)[:, :, None] >> shifts) & 3
    return s.reshape(len(packed), -1)[:, : SIZE * SIZE].astype(np.int8)


def game_hash(size: int, events) -> int:
    """64-bit hash of a record's setup and move sequence (duplicates share it)."""
    h = hashlib.blake2b(np.asarray(events, np.int16).tobytes(), digest_size=8, key=str(size).encode())
    return int.from_bytes(h.digest(), "little")


def is_val(h: np.ndarray, val_fraction: float) -> np.ndarray:
    """Deterministic game-level split from the game hash."""
    return (np.asarray(h, np.uint64) % np.uint64(1_000_000)) < np.uint64(round(val_fraction * 1_000_000))


def _sha1(path: Path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _atomic_save(path: Path, arr: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.save(f, arr)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_shard(out: Path, name: str, positions: np.ndarray, games: np.ndarray, stats: dict) -> dict:
    """Write <name>.pos.npy, <name>.games.npy, then the marker <name>.json; returns the marker."""
    files = {"positions": f"{name}.pos.npy", "games": f"{name}.games.npy"}
    _atomic_save(out / files["positions"], positions)
    _atomic_save(out / files["games"], games)
    marker = {"name": name, "files": files, "positions": int(len(positions)), "games": int(len(games)),
              "sizes": {k: (out / f).stat().st_size for k, f in files.items()},
              "sha1": {k: _sha1(out / f) for k, f in files.items()}, "stats": stats}
    tmp = out / f"{name}.json.tmp"
    tmp.write_text(json.dumps(marker))
    os.replace(tmp, out / f"{name}.json")
    return marker


def read_marker(out: Path, name: str, verify: bool = False) -> dict | None:
    """The shard's marker when the shard is complete (files present with the recorded sizes, and
    with verify=True the recorded SHA-1), else None."""
    try:
        marker = json.loads((out / f"{name}.json").read_text())
        for k, f in marker["files"].items():
            if (out / f).stat().st_size != marker["sizes"][k]:
                return None
            if verify and _sha1(out / f) != marker["sha1"][k]:
                return None
        return marker
    except (OSError, ValueError, KeyError):
        return None
