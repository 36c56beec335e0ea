"""Batch position analysis for feature planes, compiled with numba.

For each position of a batch (stones, player to move, ko point) it labels the groups once and
then answers, for every point, what the feature sets ask: liberties of the stone there, and for the
player to move on an empty point: legal?, liberties after playing, stones captured, size of the
own group left in atari (self-atari), and "sensible" (legal and not filling one's own eye).

No move is simulated. One flood fill per group records its size, its stones and its liberties as a
bitset (ceil(N / 64) uint64 words, 6 on 19x19). Playing at an empty point p joins p with the own
groups next to it, so its liberties after the move are
    (OR of those groups' liberty bitsets) | (p's empty neighbours) | (captured stones that touch
    p or one of those groups)  -  {p}
where a captured group is an opponent group next to p whose only liberty is p. Common cases take
shortcuts (no own neighbour: count p's empty neighbours; one own group: its liberties - 1 + p's new
empty neighbours). tests/test_go_fastboard_equivalence.py checks the result against a move-by-move
reference on thousands of positions.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numba import njit

from go_cnn.board import neighbours

_ONE = np.uint64(1)
_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)


@cache
def diagonals(size: int) -> np.ndarray:
    """(size*size, 4) int32 table of the diagonal neighbours, -1 off the board."""
    n = size * size
    diag = np.full((n, 4), -1, np.int32)
    for p in range(n):
        r, c = divmod(p, size)
        for k, (dr, dc) in enumerate(((-1, -1), (-1, 1), (1, -1), (1, 1))):
            if 0 <= r + dr < size and 0 <= c + dc < size:
                diag[p, k] = (r + dr) * size + c + dc
    diag.setflags(write=False)
    return diag


@njit(cache=True, inline="always")
def _popcount(x):
    """Set bits of a uint64 (SWAR; LLVM turns it into one popcnt instruction)."""
    x = x - ((x >> _ONE) & _M1)
    x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
    x = (x + (x >> np.uint64(4))) & _M4
    return np.int64((x * _H01) >> np.uint64(56))


@njit(cache=True, inline="always")
def _bit(p):
    return _ONE << np.uint64(p & 63)


def workspace(n: int) -> tuple:
    """Scratch arrays of `analyze_one` for boards of n points (allocate once per batch)."""
    return (np.empty(n, np.int32), np.empty(n, np.int32), np.empty(n, np.int32),  # gid gsize gstart
            np.empty(n, np.int32), np.empty((n, (n + 63) >> 6), np.uint64),      # glibs gbits
            np.empty(n, np.int32), np.empty((n + 63) >> 6, np.uint64),           # order acc
            np.empty(4, np.int32), np.empty(4, np.int32), np.empty(4, np.int32))  # ogs cgs emp


_workspace = njit(cache=True)(workspace)


@njit(cache=True)
def _label(stones, nbr, gid, gsize, gstart, glibs, gbits, order, libs_out):
    """Flood-fill every group once: gid (N,) per stone (-1 empty), per group its size, liberty
    count, liberty bitset (G, W) and its stones in order[gstart[g]:gstart[g] + gsize[g]].
    Writes each stone's group liberties into libs_out (N,). Returns the number of groups."""
    n = stones.shape[0]
    nw = gbits.shape[1]
    gid[:] = -1
    ng, top = 0, 0
    for p in range(n):
        if stones[p] == 0 or gid[p] >= 0:
            continue
        color = stones[p]
        for w in range(nw):
            gbits[ng, w] = 0
        gid[p] = ng
        order[top] = p
        end, i = top + 1, top
        while i < end:
            q = order[i]
            i += 1
            for k in range(4):
                r = nbr[q, k]
                if r < 0:
                    continue
                s = stones[r]
                if s == 0:
                    gbits[ng, r >> 6] |= _bit(r)
                elif s == color and gid[r] < 0:
                    gid[r] = ng
                    order[end] = r
                    end += 1
        lc = 0
        for w in range(nw):
            lc += _popcount(gbits[ng, w])
        gstart[ng], gsize[ng], glibs[ng] = top, end - top, lc
        for j in range(top, end):
            libs_out[order[j]] = lc
        top = end
        ng += 1
    return ng

@njit(cache=True)
def analyze_one(stones, own, ko, nbr, diag, need_after, ws, libs, after, cap, atari, legal, sensible):
    """One position: writes every point of the (N,) outputs (see `analyze`); ws from workspace(N)."""
    gid, gsize, gstart, glibs, gbits, order, acc, ogs, cgs, emp = ws
    n = stones.shape[0]
    nw = gbits.shape[1]
    libs[:] = 0
    after[:] = 0
    cap[:] = 0
    atari[:] = 0
    legal[:] = 0
    sensible[:] = 0
    _label(stones, nbr, gid, gsize, gstart, glibs, gbits, order, libs)
    if not need_after:
        return
    for p in range(n):
        if stones[p] != 0 or p == ko:
            continue
        # ogs: distinct own groups next to p; cgs: distinct opponent groups p captures; emp: empty
        n_on, n_own, nog, ncg, ne, ncap, own_size = 0, 0, 0, 0, 0, 0, 1
        for k in range(4):
            r = nbr[p, k]
            if r < 0:
                continue
            n_on += 1
            s = stones[r]
            if s == 0:
                emp[ne] = r
                ne += 1
                continue
            g = gid[r]
            if s == own:
                n_own += 1
                new = True
                for j in range(nog):
                    new = new and ogs[j] != g
                if new:
                    ogs[nog] = g
                    nog += 1
                    own_size += gsize[g]
            elif glibs[g] == 1:
                new = True
                for j in range(ncg):
                    new = new and cgs[j] != g
                if new:
                    cgs[ncg] = g
                    ncg += 1
                    ncap += gsize[g]
        if ncg == 0 and nog == 0:
            lc = ne
        elif ncg == 0 and nog == 1:
            g = ogs[0]
            lc = glibs[g] - 1  # p itself was one of them
            for j in range(ne):
                e = emp[j]
                if gbits[g, e >> 6] & _bit(e) == 0:
                    lc += 1
        else:
            acc[:] = 0
            for j in range(nog):
                for w in range(nw):
                    acc[w] |= gbits[ogs[j], w]
            for j in range(ne):
                acc[emp[j] >> 6] |= _bit(emp[j])
            for j in range(ncg):  # captured stones touching the new group become liberties
                g = cgs[j]
                for i in range(gstart[g], gstart[g] + gsize[g]):
                    c = order[i]
                    for k in range(4):
                        r = nbr[c, k]
                        if r == p:
                            acc[c >> 6] |= _bit(c)
                            break
                        if r >= 0 and stones[r] == own:
                            h = gid[r]
                            hit = False
                            for m in range(nog):
                                hit = hit or ogs[m] == h
                            if hit:
                                acc[c >> 6] |= _bit(c)
                                break
            acc[p >> 6] &= ~_bit(p)
            lc = 0
            for w in range(nw):
                lc += _popcount(acc[w])
        if lc == 0 and ncap == 0:
            continue  # suicide
        legal[p] = 1
        after[p] = lc
        cap[p] = ncap
        if lc == 1:
            atari[p] = own_size
        eye = n_own == n_on
        if eye:  # all neighbours own: an eye unless the diagonals say it is false
            bad, edge = 0, False
            for k in range(4):
                d = diag[p, k]
                if d < 0:
                    edge = True
                elif stones[d] == 3 - own:
                    bad += 1
            eye = bad == 0 if edge else bad <= 1
        if not eye:
            sensible[p] = 1

@njit(cache=True)
def _analyze_kernel(stones_b, to_move_b, ko_b, nbr, diag, need_after,
                    libs_o, after_o, cap_o, atari_o, legal_o, sensible_o):
    ws = _workspace(stones_b.shape[1])
    for b in range(stones_b.shape[0]):
        analyze_one(stones_b[b], to_move_b[b], ko_b[b], nbr, diag, need_after, ws, libs_o[b],
                    after_o[b], cap_o[b], atari_o[b], legal_o[b], sensible_o[b])


def analyze(stones: np.ndarray, to_move: np.ndarray, ko: np.ndarray, size: int,
            need_after: bool = True) -> dict:
    """stones (B, N) int8, to_move (B,) 1/2, ko (B,) (-1 none) -> dict of (B, N) arrays:
    libs (liberties of the stone's group, 0 on empty), and for the player to move on empty
    points (all 0 elsewhere and when need_after=False): legal, libs_after, capture, self_atari
    (size of the own group left with one liberty), sensible (legal and not an own eye)."""
    b, n = stones.shape
    out = {k: np.empty((b, n), np.int16) for k in ("libs", "libs_after", "capture", "self_atari")}
    out["legal"] = np.empty((b, n), np.uint8)
    out["sensible"] = np.empty((b, n), np.uint8)
    _analyze_kernel(np.ascontiguousarray(stones, np.int8), np.asarray(to_move, np.int8),
                    np.asarray(ko, np.int64), neighbours(size), diagonals(size), need_after,
                    out["libs"], out["libs_after"], out["capture"], out["self_atari"],
                    out["legal"], out["sensible"])
    return out
