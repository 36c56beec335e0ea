"""The optimised analysis kernel (go_cnn/fastboard.py: group bitsets, no move simulated) gives
exactly the values of the straightforward kernel it replaced (kept below, verbatim, as
`reference_analyze_kernel`: it merges liberty lists per move and replays every capture on a
scratch board), on random-play positions of several board sizes and on real KGS positions."""


import numpy as np
import pytest
from numba import njit

from go_cnn.board import Board, IllegalMove, neighbours, replay_game
from go_cnn.coords import gtp_to_flat
from go_cnn.fastboard import analyze
from go_cnn.features import get_feature_set
from go_cnn.sgf import parse_sgf
from realdata import kgs_dev_sgfs

KEYS = ("libs", "libs_after", "capture", "self_atari", "legal", "sensible")


# ---- reference: the original kernel of go_cnn/fastboard.py (before the bitset rewrite) ----

@njit(cache=True)
def _ref_is_eye(stones, nbr, size, p, own):
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
def reference_analyze_kernel(stones_b, to_move_b, ko_b, size, nbr, need_after,
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
            if not _ref_is_eye(stones, nbr, size, p, own):
                sensible_o[b, p] = 1
    return stamp


def reference_analyze(stones, to_move, ko, size, need_after=True):
    b, n = stones.shape
    out = {k: np.zeros((b, n), np.int16) for k in KEYS[:4]}
    out["legal"] = np.zeros((b, n), np.uint8)
    out["sensible"] = np.zeros((b, n), np.uint8)
    reference_analyze_kernel(np.ascontiguousarray(stones, np.int8), np.asarray(to_move, np.int8),
                             np.asarray(ko, np.int64), size, neighbours(size), need_after,
                             out["libs"], out["libs_after"], out["capture"], out["self_atari"],
                             out["legal"], out["sensible"])
    return out


# ---- positions ----

def random_play_positions(size, games, moves, seed):
    """Snapshots (stones, to_move, ko) of random legal play (many captures, ataris and kos)."""
    rng = np.random.default_rng(seed)
    stones, to_move, ko = [], [], []
    for _ in range(games):
        b = Board(size)
        for _ in range(moves):
            stones.append(b.stones.copy())
            to_move.append(b.to_move)
            ko.append(b.ko)
            empty = np.flatnonzero(b.stones == 0)
            rng.shuffle(empty)
            for p in empty[:8]:
                try:
                    b.play(int(p))
                    break
                except IllegalMove:
                    continue
            else:
                b.play(-1)  # pass
    return np.array(stones, np.int8), np.array(to_move, np.int8), np.array(ko, np.int16)


def assert_same(stones, to_move, ko, size, last=None):
    """analyze == reference_analyze, and the fused alphago encoder == its plane groups."""
    fs = get_feature_set("alphago")
    if last is None:
        last = np.full((len(stones), 8), -1, np.int16)
        last[:, 0] = np.argmax(stones != 0, axis=1)  # some stone (or point 0)
    pos = {"stones": stones, "to_move": to_move, "ko": ko, "last": last}
    fused, groups = fs.encode(pos, size), fs.encode(pos, size, fused=False)
    assert fused.dtype == groups.dtype == np.int8 and fused.shape == groups.shape
    f32 = fs.encode(pos, size, dtype=np.float32)
    assert f32.dtype == np.float32 and np.array_equal(f32, fused)
    bad = np.argwhere(fused != groups)
    assert len(bad) == 0, f"fused planes differ at (position, plane, row, col) {bad[:5].tolist()}"
    _same_analysis(stones, to_move, ko, size)


def _same_analysis(stones, to_move, ko, size):
    for need_after in (True, False):
        got = analyze(stones, to_move, ko, size, need_after=need_after)
        want = reference_analyze(stones, to_move, ko, size, need_after=need_after)
        for k in KEYS:
            bad = np.argwhere(got[k] != want[k])
            assert len(bad) == 0, (f"{k} differs at (position, point) {bad[:5].tolist()} "
                                   f"(size {size}, need_after={need_after})")
            assert got[k].dtype == want[k].dtype


# ---- tests ----

def test_values_on_a_known_position():
    rows = [". . . . .",   # 5
            ". . . . .",   # 4
            ". . . . .",   # 3
            "O O O . X",   # 2
            "X X X . ."]   # 1  (A..E), white to move
    stones = np.array([[".XO".index(c) for r in rows for c in r.split()]], np.int8)
    a = analyze(stones, np.array([2], np.int8), np.array([-1]), 5)
    v = lambda k, m: int(a[k][0, gtp_to_flat(m, 5)])
    assert (v("libs", "A1"), v("libs", "B2"), v("libs", "E2"), v("libs", "D1")) == (1, 4, 3, 0)
    # D1 captures A1-C1: only C1 touches D1, so A1 and B1 are no liberties of the new stone
    assert (v("capture", "D1"), v("libs_after", "D1"), v("self_atari", "D1")) == (3, 3, 0)
    assert v("libs_after", "D2") == 5  # joins A2-C2: A3 B3 C3 D3 D1
    assert (v("libs_after", "E1"), v("self_atari", "E1"), v("legal", "E1")) == (1, 1, 1)
    assert a["capture"].sum() == 3 and a["legal"].sum() == 25 - 7 and a["sensible"].sum() == 25 - 7


@pytest.mark.parametrize("size,games,moves",
                         [(5, 40, 60), (7, 30, 90), (9, 20, 160), (13, 6, 300), (19, 6, 500)])
def test_random_play_equals_reference(size, games, moves):
    stones, to_move, ko = random_play_positions(size, games, moves, seed=size)
    assert (ko >= 0).sum() > 0  # kos were seen
    assert_same(stones, to_move, ko, size)


def test_random_fill_equals_reference():
    # arbitrary (also unreachable) boards, random ko points, both colours to move
    rng = np.random.default_rng(0)
    for size in (2, 3, 8, 19):
        n = size * size
        stones = rng.choice(np.array([0, 1, 2], np.int8), size=(500, n), p=[0.4, 0.3, 0.3])
        to_move = rng.integers(1, 3, 500).astype(np.int8)
        ko = rng.integers(-1, n, 500)
        assert_same(stones, to_move, ko, size)


def _kgs_positions(limit):
    reps = []
    for data in kgs_dev_sgfs():
        reps += [replay_game(g) for g in parse_sgf(data)]
        if limit and len(reps) >= limit:
            return reps
    return reps


def _check_kgs(reps, chunk=4000):
    cat = {k: np.concatenate([r[k] for r in reps]) for k in ("stones", "to_move", "ko", "last")}
    n = len(cat["stones"])
    for i in range(0, n, chunk):  # chunks: the planes of 4,000 positions are 45 MB (int8), 179 MB (float32)
        assert_same(*(cat[k][i:i + chunk] for k in ("stones", "to_move", "ko")), 19, cat["last"][i:i + chunk])
    return n


def test_kgs_positions_equal_reference():
    assert _check_kgs(_kgs_positions(limit=40)) > 5000


@pytest.mark.slow
def test_all_kgs_dev_positions_equal_reference():
    assert _check_kgs(_kgs_positions(limit=None)) > 300_000
