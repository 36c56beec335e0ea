"""Feature sets: positions -> input planes (B, C, size, size) int8, channels first.

Every plane value is a small integer (0/1, or +1/-1/0 for `slides`), so the planes are int8 by
default: 4x less memory and bandwidth than float32 in the loader, the pinned buffers and the copy to
the device. The network casts them to its own float dtype (`shared.network.Network.features`).
`encode(..., dtype=np.float32)` gives the same values as float32.

A feature set is a named tuple of planes groups; each group is a small function tagged with its
plane count (minigo style) that writes its planes of a whole batch at once. All sets except
`slides` are relative to the player to move ("own" = the side to move). The set's name is stored
in the dataset manifest and in the model file.

| set            | planes | groups |
|----------------|--------|--------|
| slides         | 2      | stones (+1 black, -1 white, 0 empty); black to move (all 1 / all 0) |
| clark-storkey  | 8      | own stones with 1, 2, >=3 liberties; same for opponent; ko point; ones |
| alphago        | 31     | own, opponent, empty; ones; liberties 1..>=4; turns since 1..8; liberties after move 1..>=4; capture size 1..>=4; self-atari size 1..>=4; legal; sensible; ko point |

Input of every function: a `Positions`-like dict of arrays with stones (B, N) int8 (0 empty,
1 black, 2 white), to_move (B,) int8, ko (B,) int (-1 none), last (B, H) int16 (most recent first).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit

from go_cnn.board import neighbours
from go_cnn.fastboard import _workspace, analyze, analyze_one, diagonals


@njit(cache=True)
def _relative(stones, to_move):
    """(B, N) int8: 1 own stone, 2 opponent stone, 0 empty."""
    rel = np.zeros(stones.shape, np.int8)
    for b in range(stones.shape[0]):
        for p in range(stones.shape[1]):
            s = stones[b, p]
            if s != 0:
                rel[b, p] = 1 if s == to_move[b] else 2
    return rel


@njit(cache=True)
def _onehot(values, rel, want, out, k, n):
    """out[b, k + min(v, n) - 1, p] = 1 where v = values[b, p] >= 1 (and rel == want, if want >= 0)."""
    for b in range(values.shape[0]):
        for p in range(values.shape[1]):
            v = values[b, p]
            if v > 0 and (want < 0 or rel[b, p] == want):
                out[b, k + min(v, n) - 1, p] = 1


@njit(cache=True)
def _equal(values, want, out, k):
    """out[b, k, p] = 1 where values[b, p] == want."""
    for b in range(values.shape[0]):
        for p in range(values.shape[1]):
            if values[b, p] == want:
                out[b, k, p] = 1


@njit(cache=True)
def _turns_since(last, stones, out, k, n):
    """Plane k + i marks the stone played i + 1 turns ago (if still on the board)."""
    for b in range(last.shape[0]):
        for i in range(min(n, last.shape[1])):
            p = last[b, i]
            if p >= 0 and stones[b, p] != 0:
                out[b, k + i, p] = 1


@njit(cache=True)
def _alphago_fused(stones_b, to_move_b, ko_b, last_b, nbr, diag, out):
    """All 31 `alphago` planes of a batch into out (B, 31, N) (zeroed here, position by position,
    while it is in cache). Same values as the plane groups below (checked in
    tests/test_go_fastboard_equivalence.py), without (B, N) intermediates and a dozen batch passes."""
    n = stones_b.shape[1]
    ws = _workspace(n)
    libs, after, cap, atari = (np.empty(n, np.int16), np.empty(n, np.int16),
                               np.empty(n, np.int16), np.empty(n, np.int16))
    legal, sensible = np.empty(n, np.uint8), np.empty(n, np.uint8)
    flat = out.reshape(out.shape[0], -1)
    for b in range(stones_b.shape[0]):
        stones, own, o = stones_b[b], to_move_b[b], out[b]
        flat[b, :] = 0
        analyze_one(stones, own, ko_b[b], nbr, diag, True, ws, libs, after, cap, atari, legal, sensible)
        for p in range(n):
            s = stones[p]
            o[0 if s == own else (1 if s != 0 else 2), p] = 1     # own / opponent / empty
            o[3, p] = 1                                           # ones
            if s != 0:
                if libs[p] > 0:
                    o[4 + min(libs[p], 4) - 1, p] = 1             # liberties 1..>=4
            elif legal[p]:
                o[16 + min(after[p], 4) - 1, p] = 1               # liberties after move
                if cap[p] > 0:
                    o[20 + min(cap[p], 4) - 1, p] = 1             # capture size
                if atari[p] > 0:
                    o[24 + min(atari[p], 4) - 1, p] = 1           # self-atari size
                o[28, p] = 1                                      # legal
                if sensible[p]:
                    o[29, p] = 1                                  # sensible
        for i in range(min(8, last_b.shape[1])):                  # turns since 1..8
            q = last_b[b, i]
            if q >= 0 and stones[q] != 0:
                o[8 + i, q] = 1
        if ko_b[b] >= 0:
            o[30, ko_b[b]] = 1                                    # ko point


def _alphago_fast(pos, out, size):
    _alphago_fused(pos["stones"], np.asarray(pos["to_move"], np.int8), np.asarray(pos["ko"], np.int64),
                   np.asarray(pos["last"], np.int64), neighbours(size), diagonals(size), out)


@dataclass(frozen=True)
class Planes:
    """One group of planes: fn(ctx, out (B, C, N), first plane index) writes `count` planes."""

    name: str       # short name, shown in docs and model summaries
    count: int      # number of planes the function writes
    fn: Callable    # fn(ctx: dict, out: np.ndarray, k: int) -> None


def _stones_signed(c, out, k):
    out[:, k] = (c["stones"] == 1).astype(np.int8) - (c["stones"] == 2)


def _black_to_move(c, out, k):
    out[:, k] = (c["to_move"] == 1)[:, None]


def _ones(c, out, k):
    out[:, k] = 1


def _ko(c, out, k):
    b = np.nonzero(c["ko"] >= 0)[0]
    out[b, k, c["ko"][b]] = 1


def _own_opp_empty(c, out, k):
    for i in range(3):
        _equal(c["rel"], (1, 2, 0)[i], out, k + i)


def _libs_by_colour(c, out, k):
    _onehot(c["libs"], c["rel"], 1, out, k, 3)
    _onehot(c["libs"], c["rel"], 2, out, k + 3, 3)


def _onehot_of(key, n):
    def fn(c, out, k):
        _onehot(c[key], c["rel"], -1, out, k, n)
    return fn


def _flag_of(key):
    def fn(c, out, k):
        _equal(c[key], 1, out, k)
    return fn


def _turns(c, out, k):
    _turns_since(c["last"], c["stones"], out, k, 8)


@dataclass(frozen=True)
class FeatureSet:
    """A named list of plane groups; `encode` builds the planes of a batch."""

    name: str                 # recorded in the dataset manifest and the model file
    groups: tuple             # (Planes, ...)
    needs_libs: bool = False  # group liberties needed
    needs_moves: bool = False  # legal / after-move analysis needed
    fused: Callable | None = None  # fused(pos, out (B, C, N) uninitialised, size): every plane value at once

    @property
    def num_planes(self) -> int:
        return sum(g.count for g in self.groups)

    def plane_names(self) -> list[str]:
        return [f"{g.name}[{i}]" if g.count > 1 else g.name for g in self.groups for i in range(g.count)]

    def encode(self, pos: dict, size: int = 19, fused: bool = True, dtype=np.int8) -> np.ndarray:
        """pos: stones (B, N), to_move (B,), ko (B,), last (B, H) -> planes (B, C, size, size) int8
        (dtype=np.float32: the same values as float32). fused=False builds them group by group (the
        readable definition the fused kernel must equal)."""
        dtype = np.dtype(dtype)
        if dtype not in (np.int8, np.float32):
            raise ValueError(f"planes dtype must be int8 or float32, not {dtype}")
        stones = np.ascontiguousarray(pos["stones"], np.int8)
        if fused and self.fused is not None:
            out = np.empty((stones.shape[0], self.num_planes, size * size), dtype)  # (B, C, N)
            self.fused(dict(pos, stones=stones), out, size)
            return out.reshape(stones.shape[0], self.num_planes, size, size)
        ctx = dict(pos, stones=stones, rel=_relative(stones, np.asarray(pos["to_move"], np.int8)))
        if self.needs_libs or self.needs_moves:
            ctx.update(analyze(stones, pos["to_move"], pos["ko"], size, need_after=self.needs_moves))
        out = np.zeros((stones.shape[0], self.num_planes, size * size), dtype)  # (B, C, N)
        k = 0
        for g in self.groups:
            g.fn(ctx, out, k)
            k += g.count
        return out.reshape(stones.shape[0], self.num_planes, size, size)


FEATURE_SETS = {
    "slides": FeatureSet("slides", (Planes("stones", 1, _stones_signed),
                                    Planes("black_to_move", 1, _black_to_move))),
    "clark-storkey": FeatureSet("clark-storkey", (Planes("libs_own_opp", 6, _libs_by_colour),
                                                  Planes("ko", 1, _ko), Planes("ones", 1, _ones)),
                                needs_libs=True),
    "alphago": FeatureSet("alphago", (
        Planes("own_opp_empty", 3, _own_opp_empty), Planes("ones", 1, _ones),
        Planes("liberties", 4, _onehot_of("libs", 4)), Planes("turns_since", 8, _turns),
        Planes("liberties_after", 4, _onehot_of("libs_after", 4)),
        Planes("capture_size", 4, _onehot_of("capture", 4)),
        Planes("self_atari_size", 4, _onehot_of("self_atari", 4)),
        Planes("legal", 1, _flag_of("legal")), Planes("sensible", 1, _flag_of("sensible")),
        Planes("ko", 1, _ko)), needs_libs=True, needs_moves=True, fused=_alphago_fast),
}


def get_feature_set(name: str) -> FeatureSet:
    """Feature set by name; ValueError listing the known names otherwise."""
    try:
        return FEATURE_SETS[name]
    except KeyError:
        raise ValueError(f"unknown feature set {name!r}; known: {', '.join(FEATURE_SETS)}") from None
