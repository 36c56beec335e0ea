"""A game of Go as the engine and the referee see it: rules, history, handicap, undo, scoring.

`Game` wraps `board.Board` (captures, suicide, simple ko) and adds what GTP needs: moves by either
colour in any order, the move history (for the "turns since" planes), captured-stone counts, an
undo stack, handicap placement and area scoring.

Ko is simple ko: the point is forbidden only to the player who would retake at once; a player who
plays twice in a row (GTP allows it) is never bound by it. Positional superko is not checked.

Scoring (`score`) is area scoring (Chinese / Tromp-Taylor): stones plus empty regions that touch
only one colour, white adds komi. Dead stones are estimated first, simply and conservatively:

1. For each colour c, take every connected region R of points that hold no c stone (empty points and
   the opponent's stones). R is walled in by c. If R is small (at most `enclosed_max` points, a
   quarter of the board by default) and holds opponent stones, count the opponent's eyes in R: the
   empty sub-regions of R that touch only opponent stones (one of 7+ points counts as two eyes).
   With fewer than two eyes every opponent stone in R is a dead candidate.
2. Seki guard: a candidate chain that touches (directly or through a shared liberty) a candidate
   chain of the other colour is kept alive, and so is that chain (neither side can capture).
3. Dead stones are removed and the board scored Tromp-Taylor style.

Unfinished positions are not touched: an unsettled group's region joins the open board, which is
larger than `enclosed_max`. Live groups with two eyes and sekis survive; a group with one eye in a
large enclosure may be misjudged, which is the price of no reading.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from go_cnn.board import BLACK, EMPTY, HISTORY, WHITE, Board, IllegalMove, neighbours
from go_cnn.coords import PASS, flat_to_gtp
from go_cnn.sgf import ADD_BLACK, ADD_WHITE, BLACK_MOVE, CLEAR, SET_PLAYER, WHITE_MOVE, parse_sgf

__all__ = ["Game", "HandicapError", "IllegalMove", "Score", "components", "estimate_dead", "fixed_handicap_points",
           "free_handicap_points", "max_fixed_handicap", "score"]


class HandicapError(ValueError):
    """Handicap asked for on a non-empty board, or with a number of stones that has no placement."""


# ---------------------------------------------------------------------------------------------
# Handicap placement
# ---------------------------------------------------------------------------------------------

# GTP spec 4.1.1: stone i of an n-stone handicap, as (column, row) codes; 0 = near line, 1 = middle,
# 2 = far line, rows counted from the bottom. 2 stones: D4 Q16; 3: + D16; 4: + Q4; 5: 4 + K10;
# 6: 4 + D10 Q10; 7: 6 + K10; 8: 6 + K4 K16; 9: 8 + K10 (19x19 names).
_PATTERN = {2: ("00", "22"), 3: ("00", "22", "02"), 4: ("00", "22", "02", "20"),
            5: ("00", "22", "02", "20", "11"), 6: ("00", "22", "02", "20", "01", "21"),
            7: ("00", "22", "02", "20", "01", "21", "11"),
            8: ("00", "22", "02", "20", "01", "21", "10", "12"),
            9: ("00", "22", "02", "20", "01", "21", "10", "12", "11")}


def max_fixed_handicap(size: int) -> int:
    """Most stones `fixed_handicap` allows: 9 on odd boards from 9x9, 4 on 7x7 and even boards
    from 8x8, none below 7x7 or above 25x25 (GTP spec 4.1.1)."""
    if size < 7 or size > 25:
        return 0
    return 9 if size % 2 == 1 and size >= 9 else 4


def fixed_handicap_points(n: int, size: int = 19) -> list[int]:
    """The GTP fixed-handicap vertices (flat indices) for n stones; HandicapError when undefined."""
    if not 2 <= n <= max_fixed_handicap(size):
        raise HandicapError(f"invalid number of stones: {n} (fixed handicap on {size}x{size} "
                            f"is 2..{max_fixed_handicap(size)})")
    line = 2 if size < 13 else 3  # 0-based distance from the edge: 3-3 points below 13x13, else 4-4
    pos = {"0": line, "1": (size - 1) // 2, "2": size - 1 - line}
    out = []
    for code in _PATTERN[n]:
        col, row_from_bottom = pos[code[0]], pos[code[1]]
        out.append((size - 1 - row_from_bottom) * size + col)
    return out


def free_handicap_points(n: int, size: int = 19) -> list[int]:
    """The engine's own choice for `place_free_handicap`: the fixed pattern while it exists, then
    greedily the point farthest (Euclidean) from every stone so far, away from the first two lines
    when possible; ties go to the lowest flat index."""
    if not 2 <= n <= size * size - 1:
        raise HandicapError(f"invalid number of stones: {n} (2..{size * size - 1} on {size}x{size})")
    chosen = fixed_handicap_points(min(n, max_fixed_handicap(size)), size) if max_fixed_handicap(size) >= 2 else []
    rows, cols = np.divmod(np.arange(size * size), size)
    inner = (np.minimum(rows, size - 1 - rows) >= 2) & (np.minimum(cols, size - 1 - cols) >= 2)
    while len(chosen) < n:
        free = np.ones(size * size, bool)
        free[chosen] = False
        pool = free & inner if (free & inner).any() else free
        if chosen:
            cr, cc = np.divmod(np.array(chosen), size)
            d = ((rows[:, None] - cr) ** 2 + (cols[:, None] - cc) ** 2).min(1).astype(float)
        else:
            d = -((rows - size // 2) ** 2 + (cols - size // 2) ** 2).astype(float)
        d[~pool] = -np.inf
        chosen.append(int(np.argmax(d)))
    return chosen


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------

def components(mask: np.ndarray, nbr: np.ndarray) -> list[list[int]]:
    """Connected components (4-neighbour) of the points where mask is True."""
    seen = np.zeros(len(mask), bool)
    comps = []
    for p in np.flatnonzero(mask):
        if seen[p]:
            continue
        seen[p] = True
        comp, stack = [], [int(p)]
        while stack:
            q = stack.pop()
            comp.append(q)
            for r in nbr[q]:
                if r >= 0 and mask[r] and not seen[r]:
                    seen[r] = True
                    stack.append(int(r))
        comps.append(comp)
    return comps


def estimate_dead(stones: np.ndarray, size: int = 19, enclosed_max: int | None = None) -> list[int]:
    """Points of stones judged dead (sorted); the method is in the module docstring."""
    stones = np.asarray(stones, np.int8)
    nbr = neighbours(size)
    enclosed_max = size * size // 4 if enclosed_max is None else enclosed_max
    candidate = np.zeros(len(stones), bool)
    for c in (BLACK, WHITE):
        opp = 3 - c
        for region in components(stones != c, nbr):
            if len(region) > enclosed_max:
                continue
            inside = np.zeros(len(stones), bool)
            inside[region] = True
            opp_stones = [p for p in region if stones[p] == opp]
            if not opp_stones:
                continue
            eyes = 0
            for empty in components(inside & (stones == EMPTY), nbr):
                border = {int(stones[r]) for q in empty for r in nbr[q] if r >= 0 and stones[r] != EMPTY}
                if border == {opp}:
                    eyes += 2 if len(empty) >= 7 else 1
            if eyes < 2:
                candidate[opp_stones] = True
    if not candidate.any():
        return []
    # seki guard: candidate chains in contact with a candidate chain of the other colour live
    chains = [ch for ch in components(candidate & (stones == BLACK), nbr)] + \
             [ch for ch in components(candidate & (stones == WHITE), nbr)]
    chain_of = np.full(len(stones), -1)
    for i, ch in enumerate(chains):
        chain_of[ch] = i
    alive = set()
    for i, ch in enumerate(chains):
        colour = stones[ch[0]]
        touch = set(ch)
        for q in ch:
            for r in nbr[q]:
                if r >= 0 and stones[r] == EMPTY:
                    touch.update(int(x) for x in nbr[r] if x >= 0)
                elif r >= 0:
                    touch.add(int(r))
        for t in touch:
            j = chain_of[t]
            if j >= 0 and stones[t] == 3 - colour:
                alive.update((i, int(j)))
    return sorted(p for i, ch in enumerate(chains) if i not in alive for p in ch)


@dataclass
class Score:
    """An area count. `owner` (N,) int8: 1 black area, 2 white area, 0 neutral (dame)."""

    black: float                        # black stones + black-only empty regions
    white: float                        # white stones + white-only empty regions + komi
    dead: list = field(default_factory=list)  # flat points of the stones removed as dead
    owner: np.ndarray | None = None     # (N,) int8 owner of each point after removing dead stones

    @property
    def margin(self) -> float:
        """Black minus white (komi included): > 0 black wins."""
        return self.black - self.white

    def result(self) -> str:
        """SGF/GTP result: "B+3.5", "W+0.5" or "0" (jigo)."""
        m = self.margin
        if m == 0:
            return "0"
        return f"{'B' if m > 0 else 'W'}+{abs(m):g}"


def score(stones: np.ndarray, komi: float = 7.5, size: int = 19, remove_dead: bool = True) -> Score:
    """Area score of a position (see module docstring for the dead-stone estimate)."""
    stones = np.array(stones, np.int8)
    nbr = neighbours(size)
    dead = estimate_dead(stones, size) if remove_dead else []
    stones[dead] = EMPTY
    owner = stones.copy()
    for region in components(stones == EMPTY, nbr):
        border = {int(stones[r]) for q in region for r in nbr[q] if r >= 0 and stones[r] != EMPTY}
        owner[region] = border.pop() if len(border) == 1 else EMPTY
    return Score(float((owner == BLACK).sum()), float((owner == WHITE).sum()) + komi, dead, owner)


# ---------------------------------------------------------------------------------------------
# Game
# ---------------------------------------------------------------------------------------------

class Game:
    """Board + history + captures + undo; colours are board.BLACK / board.WHITE, points flat."""

    def __init__(self, size: int = 19, komi: float = 7.5):
        self.size = size
        self.komi = komi
        self.clear()

    def clear(self) -> None:
        self.board = Board(self.size)
        self.moves: list[tuple[int, int]] = []      # (colour, point or PASS) in play order
        self.captures = {BLACK: 0, WHITE: 0}         # stones captured BY each colour
        self.handicap: list[int] = []                # black stones placed before the first move
        self._undo: list[tuple] = []                 # snapshots taken before each move

    # -- state --------------------------------------------------------------------------------
    @property
    def stones(self) -> np.ndarray:
        return self.board.stones

    @property
    def to_move(self) -> int:
        """The colour expected to move next (after handicap: white)."""
        return self.board.to_move

    def is_empty(self) -> bool:
        return not self.board.stones.any()

    def ko_for(self, colour: int) -> int:
        """The ko point `colour` may not take now, or -1."""
        return self.board.ko if colour == self.board.to_move else -1

    def last_moves(self, n: int = HISTORY) -> np.ndarray:
        """(n,) int16 most recent move first; -1 for passes and before the game."""
        out = np.full(n, -1, np.int16)
        recent = [p for _, p in self.moves[-n:]][::-1]
        out[:len(recent)] = recent
        return out

    def position(self, colour: int | None = None) -> dict:
        """A batch of one position for `Policy`/feature sets, with `colour` (default: to move) to move."""
        colour = self.to_move if colour is None else colour
        return {"stones": self.board.stones[None].copy(), "to_move": np.array([colour], np.int8),
                "ko": np.array([self.ko_for(colour)], np.int64), "last": self.last_moves()[None]}

    def legal_mask(self, colour: int | None = None) -> np.ndarray:
        """(N,) bool: points where `colour` may play now (pass not included)."""
        b = self.board.copy()
        b.to_move = self.to_move if colour is None else colour
        b.ko = self.ko_for(b.to_move)
        return b.legal_mask()

    def repeats(self, colour: int) -> bool:
        """True when this board, with `colour` to move, already occurred earlier in the game."""
        return any(snap[2] == colour and np.array_equal(snap[0], self.board.stones) for snap in self._undo)

    def consecutive_passes(self) -> int:
        n = 0
        for _, p in reversed(self.moves):
            if p != PASS:
                break
            n += 1
        return n

    # -- changes ------------------------------------------------------------------------------
    def _snapshot(self) -> tuple:
        b = self.board
        return (b.stones.copy(), b.ko, b.to_move, dict(self.captures), len(self.moves))

    def _restore(self, snap: tuple) -> None:
        stones, ko, to_move, caps, n = snap
        self.board.stones[:] = stones
        self.board.ko, self.board.to_move = ko, to_move
        self.captures = caps
        del self.moves[n:]

    def play(self, colour: int, point: int) -> int:
        """Play (PASS allowed) for either colour; returns stones captured. IllegalMove leaves all as is."""
        snap = self._snapshot()
        if colour != self.board.to_move:
            self.board.ko = -1  # the ko binds only the player who would retake at once
        try:
            cap = self.board.play(point, colour)
        except IllegalMove:
            self._restore(snap)
            raise
        self.captures[colour] += cap
        self.moves.append((colour, point))
        self._undo.append(snap)
        return cap

    def undo(self) -> bool:
        """Take back the last move; False when there is none (handicap stones are not moves)."""
        if not self._undo:
            return False
        self._restore(self._undo.pop())
        return True

    def place_handicap(self, points: list[int]) -> None:
        """Put black stones on an empty board (GTP handicap commands); white moves next."""
        if not self.is_empty() or self.moves:
            raise HandicapError("board not empty")
        if len(points) < 2 or len(points) > self.size * self.size - 1:
            raise HandicapError(f"invalid number of stones: {len(points)}")
        if len(set(points)) != len(points) or any(p < 0 or p >= self.size * self.size for p in points):
            raise HandicapError("bad vertex list: repeated, pass or off-board vertex")
        self.board.stones[list(points)] = BLACK
        self.board.to_move, self.board.ko = WHITE, -1
        self.handicap = list(points)

    def load_sgf(self, data: bytes, move_number: int | None = None) -> int:
        """Set up the main line of an SGF record up to (not including) move `move_number`
        (1-based; None: all moves). Returns the colour to move. ValueError with the reason."""
        game = parse_sgf(data)[0]
        if game.error:
            raise ValueError(game.error)
        if game.size != self.size:
            raise ValueError(f"board size {game.size}, this engine plays {self.size}x{self.size}")
        self.clear()
        if game.komi is not None:
            self.komi = game.komi
        played = 0
        for code, p in game.events:
            if code in (BLACK_MOVE, WHITE_MOVE):
                if move_number is not None and played + 1 >= move_number:
                    break
                try:
                    self.play(code, p)
                except IllegalMove as e:
                    raise ValueError(f"move {played + 1}: {e}") from None
                played += 1
            elif code in (ADD_BLACK, ADD_WHITE, CLEAR):
                self.board.stones[p] = {ADD_BLACK: BLACK, ADD_WHITE: WHITE, CLEAR: EMPTY}[code]
                self.board.ko = -1
                if code == ADD_BLACK and not self.moves:
                    self.handicap.append(p)
                    self.board.to_move = WHITE
            elif code == SET_PLAYER:
                self.board.to_move = p
        self._undo.clear()  # the loaded position is the new start
        return self.board.to_move

    # -- scoring / display --------------------------------------------------------------------
    def score(self, remove_dead: bool = True) -> Score:
        return score(self.board.stones, self.komi, self.size, remove_dead)

    def __str__(self) -> str:
        """ASCII board (X black, O white) with captures, as `showboard` prints it."""
        lines = str(self.board).splitlines()
        lines[0] += f"    captures: X {self.captures[BLACK]}  O {self.captures[WHITE]}"
        if self.moves:
            c, p = self.moves[-1]
            lines[1] += f"    last: {'BW'[c - 1]} {flat_to_gtp(p, self.size)}"
        return "\n".join(lines)
