"""Go rules: captures, suicide (illegal), simple ko, passes, liberties, legal moves.

Stones are a flat int8 array of `size * size` points (0 empty, 1 black, 2 white; flat index =
row * size + col, see coords.py). The rules are plain Python loops compiled by numba (`@njit`);
they read as ordinary Python, and `Board` wraps them for tests and tools. The replay kernel turns a
game's events (sgf.py) into one state per training position in a single compiled call.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit

from go_cnn.coords import PASS, flat_to_gtp, gtp_to_flat

EMPTY, BLACK, WHITE = 0, 1, 2
OK, OCCUPIED, SUICIDE, KO, SAME_COLOUR = 0, 1, 2, 3, 4
REASONS = {OCCUPIED: "illegal move: occupied point", SUICIDE: "illegal move: suicide",
           KO: "illegal move: ko retake", SAME_COLOUR: "illegal move: same colour twice"}
HISTORY = 8  # last-N moves kept per position (for "turns since" planes)


class IllegalMove(ValueError):
    """A move the rules forbid; `reason` is one of REASONS' values."""


@lru_cache(maxsize=None)
def neighbours(size: int) -> np.ndarray:
    """(size*size, 4) int32 table of up/down/left/right neighbours, -1 off the board."""
    n = size * size
    nbr = np.full((n, 4), -1, np.int32)
    for p in range(n):
        r, c = divmod(p, size)
        if r > 0:
            nbr[p, 0] = p - size
        if r < size - 1:
            nbr[p, 1] = p + size
        if c > 0:
            nbr[p, 2] = p - 1
        if c < size - 1:
            nbr[p, 3] = p + 1
    nbr.setflags(write=False)
    return nbr


@njit(cache=True)
def flood(stones, nbr, p, mark, libmark, stamp, stack):
    """Group of the stone at p: its stones land in stack[:n]; returns (n, liberties)."""
    color = stones[p]
    stack[0] = p
    mark[p] = stamp
    n, i, libs = 1, 0, 0
    while i < n:
        q = stack[i]
        i += 1
        for k in range(4):
            r = nbr[q, k]
            if r < 0:
                continue
            s = stones[r]
            if s == 0:
                if libmark[r] != stamp:
                    libmark[r] = stamp
                    libs += 1
            elif s == color and mark[r] != stamp:
                mark[r] = stamp
                stack[n] = r
                n += 1
    return n, libs


@njit(cache=True)
def play(stones, nbr, p, color, ko, mark, libmark, stamp, stack):
    """Play `color` at p in place. Returns (status, new ko point or -1, stones captured, stamp).
    On an illegal move the board is unchanged."""
    if stones[p] != 0:
        return OCCUPIED, ko, 0, stamp
    if p == ko:
        return KO, ko, 0, stamp
    opp = 3 - color
    stones[p] = color
    captured, last = 0, -1
    for k in range(4):
        r = nbr[p, k]
        if r >= 0 and stones[r] == opp:
            stamp += 1
            n, libs = flood(stones, nbr, r, mark, libmark, stamp, stack)
            if libs == 0:
                for i in range(n):
                    stones[stack[i]] = 0
                captured += n
                last = r
    stamp += 1
    n, libs = flood(stones, nbr, p, mark, libmark, stamp, stack)
    if libs == 0:
        stones[p] = 0
        return SUICIDE, ko, 0, stamp
    new_ko = last if (captured == 1 and n == 1 and libs == 1) else -1
    return OK, new_ko, captured, stamp


@njit(cache=True)
def replay_kernel(size, nbr, codes, points, hist):
    """Replay events (sgf.py codes). One position per non-pass move, taken BEFORE the move:
    returns (stones (M, N) int8, to_move (M,) int8, ko (M,) int16, last (M, hist) int16 most recent
    first, -1 none/pass, target (M,) int16, move_number (M,) int16, final stones (N,) int8,
    status, index of the failing event or -1)."""
    n = size * size
    m = 0
    for e in range(codes.shape[0]):
        if codes[e] <= 2 and points[e] >= 0:
            m += 1
    out = np.zeros((m, n), np.int8)
    to_move = np.zeros(m, np.int8)
    kos = np.full(m, -1, np.int16)
    last = np.full((m, hist), -1, np.int16)
    target = np.zeros(m, np.int16)
    move_no = np.zeros(m, np.int16)
    stones = np.zeros(n, np.int8)
    mark = np.zeros(n, np.int32)
    libmark = np.zeros(n, np.int32)
    stack = np.zeros(n, np.int32)
    recent = np.full(hist, -1, np.int16)
    stamp, ko, expected, white_seen, k, moves = 0, -1, 0, False, 0, 0
    for e in range(codes.shape[0]):
        code, p = codes[e], points[e]
        if code >= 3:
            if code == 6:
                expected = p
            else:
                stones[p] = 0 if code == 5 else code - 2
                ko = -1
            continue
        if expected != 0 and code != expected and (white_seen or code != 1):
            return out[:k], to_move[:k], kos[:k], last[:k], target[:k], move_no[:k], stones, SAME_COLOUR, e
        white_seen = white_seen or code == 2
        if p >= 0:
            out[k] = stones
            to_move[k] = code
            kos[k] = ko
            last[k] = recent
            target[k] = p
            move_no[k] = moves
            status, ko, _, stamp = play(stones, nbr, p, code, ko, mark, libmark, stamp, stack)
            if status != OK:
                return out[:k], to_move[:k], kos[:k], last[:k], target[:k], move_no[:k], stones, status, e
            k += 1
        else:
            ko = -1
        for i in range(hist - 1, 0, -1):
            recent[i] = recent[i - 1]
        recent[0] = p
        moves += 1
        expected = 3 - code
    return out, to_move, kos, last, target, move_no, stones, OK, -1


_KEYS = ("stones", "to_move", "ko", "last", "target", "move_number", "final")


def replay_game(game, hist: int = HISTORY) -> dict:
    """Replay a parsed `Game`: dict of numpy arrays (one row per non-pass move, state before it):
    stones (M, N) int8, to_move, ko, last (M, hist), target, move_number; plus final (N,) int8,
    error ('' or the reason with the move number)."""
    codes, points = game.event_array()  # (E,) int16 each, contiguous
    res = replay_kernel(game.size, neighbours(game.size), codes, points, hist)
    out = dict(zip(_KEYS, res[:7]))
    status, e = res[7], res[8]
    out["error"] = ""
    if status != OK:
        move_no = int(sum(1 for c, _ in game.events[: e + 1] if c <= 2))
        where = flat_to_gtp(int(points[e]), game.size) if points[e] >= 0 else "pass"
        out["error"] = f"{REASONS[status]} ({where}, move {move_no})"
    return out


class Board:
    """A Go position with the rules; moves are flat indices (or GTP names via play_gtp)."""

    def __init__(self, size: int = 19):
        self.size = size
        self.nbr = neighbours(size)
        self.stones = np.zeros(size * size, np.int8)  # (N,) 0 empty, 1 black, 2 white
        self.ko = -1                                   # point the player to move may not take
        self.to_move = BLACK
        self._ws = [np.zeros(size * size, np.int32) for _ in range(3)]
        self._stamp = 0

    def copy(self) -> "Board":
        b = Board(self.size)
        b.stones[:], b.ko, b.to_move = self.stones, self.ko, self.to_move
        return b

    def play(self, point: int, color: int | None = None) -> int:
        """Play a move (PASS allowed); returns stones captured; IllegalMove leaves the board as is."""
        color = self.to_move if color is None else color
        if point == PASS:
            self.ko, self.to_move = -1, 3 - color
            return 0
        mark, libmark, stack = self._ws
        status, ko, cap, self._stamp = play(self.stones, self.nbr, point, color, self.ko,
                                            mark, libmark, self._stamp, stack)
        if status != OK:
            raise IllegalMove(f"{REASONS[status]} at {flat_to_gtp(point, self.size)}")
        self.ko, self.to_move = ko, 3 - color
        return cap

    def play_gtp(self, *vertices: str) -> int:
        """Play GTP-named moves alternately ("D4", "pass", ...); returns the last capture count."""
        cap = 0
        for v in vertices:
            cap = self.play(gtp_to_flat(v, self.size))
        return cap

    def liberties(self, point: int) -> int:
        """Liberties of the group at point (0 for an empty point)."""
        if self.stones[point] == 0:
            return 0
        mark, libmark, stack = self._ws
        self._stamp += 1
        return int(flood(self.stones, self.nbr, point, mark, libmark, self._stamp, stack)[1])

    def legal_mask(self) -> np.ndarray:
        """(N,) bool: legal points for the player to move (pass is always legal, not included)."""
        from go_cnn.fastboard import analyze
        a = analyze(self.stones[None], np.array([self.to_move], np.int8),
                    np.array([self.ko], np.int16), self.size)
        return a["legal"][0].astype(bool)

    def __str__(self) -> str:
        """ASCII board: X black, O white, . empty; GTP column letters and row numbers."""
        from go_cnn.coords import GTP_COLUMNS
        s, rows = self.size, []
        header = "   " + " ".join(GTP_COLUMNS[:s])
        for r in range(s):
            line = " ".join(".XO"[v] for v in self.stones[r * s:(r + 1) * s])
            rows.append(f"{s - r:2d} {line}")
        return "\n".join([header, *rows])
