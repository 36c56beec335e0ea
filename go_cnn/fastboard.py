"""Batch position analysis for feature planes, compiled with numba.

For each position of a batch (stones, player to move, ko point) it labels the groups once and
then answers, for every point, what the feature sets ask: liberties of the stone there, and for the
player to move on an empty point: legal?, liberties after playing, stones captured, size of the
own group left in atari (self-atari), and "sensible" (legal and not filling one's own eye).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from go_cnn.board import neighbours


@njit(cache=True)
def _is_eye(stones, nbr, size, p, own):
    """True when p is a (real-looking) eye of `own`: all neighbours own, diagonals mostly own."""
    for k in range(4):
        r = nbr[p, k]
        if r >= 0 and stones[r] != own:
            return False
    row, col = p // size, p % size
    bad, edge = 0, False
    for dr in (-1, 1):
        for dc in (-1, 1):
            rr, cc = row + dr, col + dc
            if rr < 0 or rr >= size or cc < 0 or cc >= size:
                edge = True
            elif stones[rr * size + cc] == 3 - own:
                bad += 1
    return bad == 0 if edge else bad <= 1


@njit(cache=True)
def _analyze_kernel(stones_b, to_move_b, ko_b, size, nbr, need_after,
                    libs_o, after_o, cap_o, atari_o, legal_o, sensible_o):
    bsz, n = stones_b.shape
    gid = np.empty(n, np.int32)
    gsize = np.zeros(n, np.int32)
    glibs = np.zeros(n, np.int32)
    lstart = np.zeros(n, np.int32)
    libbuf = np.zeros(4 * n, np.int32)
    stack = np.zeros(n, np.int32)
    mark = np.zeros(n, np.int64)
    scratch = np.zeros(n, np.int8)
    smark = np.zeros(n, np.int64)
    slib = np.zeros(n, np.int64)
    stamp = 0
    for b in range(bsz):
        stones = stones_b[b]
        own = to_move_b[b]
        opp = 3 - own
        ko = ko_b[b]
        gid[:] = -1
        ng, nl = 0, 0
        for p in range(n):  # label groups, record each group's liberties
            if stones[p] == 0 or gid[p] >= 0:
                continue
            color = stones[p]
            stamp += 1
            stack[0] = p
            gid[p] = ng
            cnt, i = 1, 0
            lstart[ng] = nl
            while i < cnt:
                q = stack[i]
                i += 1
                for k in range(4):
                    r = nbr[q, k]
                    if r < 0:
                        continue
                    if stones[r] == 0:
                        if mark[r] != stamp:
                            mark[r] = stamp
                            libbuf[nl] = r
                            nl += 1
                    elif stones[r] == color and gid[r] < 0:
                        gid[r] = ng
                        stack[cnt] = r
                        cnt += 1
            gsize[ng] = cnt
            glibs[ng] = nl - lstart[ng]
            ng += 1
        for p in range(n):
            if stones[p] != 0:
                libs_o[b, p] = glibs[gid[p]]
                continue
            if not need_after:
                continue
            if p == ko:
                continue
            stamp += 1
            lib_cnt, cap, own_size = 0, 0, 1
            g0, g1, g2, g3 = -1, -1, -1, -1  # distinct neighbour groups seen
            for k in range(4):
                r = nbr[p, k]
                if r < 0:
                    continue
                if stones[r] == 0:
                    if mark[r] != stamp:
                        mark[r] = stamp
                        lib_cnt += 1
                    continue
                g = gid[r]
                if g == g0 or g == g1 or g == g2 or g == g3:
                    continue
                if k == 0:
                    g0 = g
                elif k == 1:
                    g1 = g
                elif k == 2:
                    g2 = g
                else:
                    g3 = g
                if stones[r] == opp:
                    if glibs[g] == 1:
                        cap += gsize[g]
                else:
                    own_size += gsize[g]
                    for j in range(lstart[g], lstart[g] + glibs[g]):
                        q = libbuf[j]
                        if q != p and mark[q] != stamp:
                            mark[q] = stamp
                            lib_cnt += 1
            if cap > 0:  # exact: play on a scratch board, remove captures, count liberties
                scratch[:] = stones
                scratch[p] = own
                for k in range(4):
                    r = nbr[p, k]
                    if r >= 0 and scratch[r] == opp and glibs[gid[r]] == 1:
                        g = gid[r]
                        for q in range(n):
                            if gid[q] == g:
                                scratch[q] = 0
                stamp += 1
                st = stamp
                stack[0] = p
                smark[p] = st
                cnt, i, lib_cnt = 1, 0, 0
                while i < cnt:
                    q = stack[i]
                    i += 1
                    for k in range(4):
                        r = nbr[q, k]
                        if r < 0:
                            continue
                        if scratch[r] == 0:
                            if slib[r] != st:
                                slib[r] = st
                                lib_cnt += 1
                        elif scratch[r] == own and smark[r] != st:
                            smark[r] = st
                            stack[cnt] = r
                            cnt += 1
                own_size = cnt
            if lib_cnt == 0 and cap == 0:
                continue  # suicide
            legal_o[b, p] = 1
            after_o[b, p] = lib_cnt
            cap_o[b, p] = cap
            if lib_cnt == 1:
                atari_o[b, p] = own_size
            if not _is_eye(stones, nbr, size, p, own):
                sensible_o[b, p] = 1
    return stamp


def analyze(stones: np.ndarray, to_move: np.ndarray, ko: np.ndarray, size: int,
            need_after: bool = True) -> dict:
    """stones (B, N) int8, to_move (B,) 1/2, ko (B,) (-1 none) -> dict of (B, N) arrays:
    libs (liberties of the stone's group, 0 on empty), and for the player to move on empty
    points (all 0 elsewhere and when need_after=False): legal, libs_after, capture, self_atari
    (size of the own group left with one liberty), sensible (legal and not an own eye)."""
    b, n = stones.shape
    out = {k: np.zeros((b, n), np.int16) for k in ("libs", "libs_after", "capture", "self_atari")}
    out["legal"] = np.zeros((b, n), np.uint8)
    out["sensible"] = np.zeros((b, n), np.uint8)
    _analyze_kernel(np.ascontiguousarray(stones, np.int8), np.asarray(to_move, np.int8),
                    np.asarray(ko, np.int64), size, neighbours(size), need_after,
                    out["libs"], out["libs_after"], out["capture"], out["self_atari"],
                    out["legal"], out["sensible"])
    return out
