"""Tactical reading for play: chains in atari, captures and ladders.

A policy network trained on human games plays the opening well and loses big groups in fights it
cannot read -- above all in late, messy positions that human games rarely reach (they resign).
This module reads the few forcing sequences a 1-ply policy cannot, the way classic engines
(GNU Go's `readconnect`, dlgo's `ladder` exercise) do:

    defender_escapes(chain in atari, defender to move)
        extend at the last liberty, or capture an attacker chain next to it that is in atari;
        escaped at 3+ liberties, read on at 2, dead at 1
    attacker_captures(chain with 2 liberties, attacker to move)
        try each liberty as the atari; captured if some atari leaves no escape

Unknown (node budget or depth spent) counts as "escapes": the reader never invents a capture.
`assess` turns the reading into per-point values for the engine: stones saved (a chain in atari, or
a chain of 3+ stones with two liberties that the opponent could ladder), stones captured (at once or
in a ladder), and a veto for moves that put own stones in atari or run a dead ladder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from go_cnn.board import OK, neighbours, play

MAX_DEPTH = 120      # plies of one ladder read (a 19x19 ladder is at most ~80)


@njit(cache=True)
def chain_liberties(stones, nbr, p, mark, stack, libs_out):
    """Stones of the chain at p in stack[:n], its liberties in libs_out[:k]; returns (n, k)."""
    color = stones[p]
    mark[:] = 0
    stack[0] = p
    mark[p] = 1
    n, i, k = 1, 0, 0
    while i < n:
        q = stack[i]
        i += 1
        for j in range(4):
            r = nbr[q, j]
            if r < 0 or mark[r]:
                continue
            s = stones[r]
            if s == 0:
                mark[r] = 2
                libs_out[k] = r
                k += 1
            elif s == color:
                mark[r] = 1
                stack[n] = r
                n += 1
    return n, k


class Reader:
    """Ladder reading on (N,) int8 stones arrays for one board size; a node budget per read."""

    def __init__(self, size: int, budget: int = 400):
        self.size = size
        self.nbr = neighbours(size)
        n = size * size
        self.mark = np.zeros(n, np.int8)
        self.stack = np.zeros(n, np.int32)
        self.libs = np.zeros(n, np.int32)
        self._ws = [np.zeros(n, np.int32) for _ in range(3)]
        self._stamp = 0
        self.budget = budget
        self.nodes = 0

    # -- board helpers ------------------------------------------------------------------------
    def chain(self, stones: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
        """(stones of the chain at p, its liberties)."""
        n, k = chain_liberties(stones, self.nbr, p, self.mark, self.stack, self.libs)
        return self.stack[:n].copy(), self.libs[:k].copy()

    def play(self, stones: np.ndarray, p: int, color: int, ko: int) -> tuple[np.ndarray, int] | None:
        """(new stones, new ko) after `color` plays p, or None if illegal; `stones` is untouched."""
        s = stones.copy()
        mark, libmark, stack = self._ws
        status, new_ko, _, self._stamp = play(s, self.nbr, p, color, ko, mark, libmark, self._stamp, stack)
        return (s, new_ko) if status == OK else None

    def _adjacent_in_atari(self, stones: np.ndarray, chain: np.ndarray) -> list[int]:
        """Liberties of opponent chains next to `chain` that are in atari (capturing points)."""
        own = stones[chain[0]]
        seen, out = set(), []
        for q in chain:
            for r in self.nbr[q]:
                if r >= 0 and stones[r] == 3 - own and r not in seen:
                    ch, libs = self.chain(stones, r)
                    seen.update(ch.tolist())
                    if len(libs) == 1:
                        out.append(int(libs[0]))
        return out

    # -- reading ------------------------------------------------------------------------------
    def defender_escapes(self, stones: np.ndarray, p: int, ko: int = -1, depth: int = 0) -> bool:
        """The chain at p is in atari and its owner moves: can it reach safety?"""
        self.nodes += 1
        if self.nodes > self.budget or depth > MAX_DEPTH:
            return True
        libs = self.chain(stones, p)[1]
        if len(libs) != 1:
            return len(libs) > 1
        return next(self._safe_moves(stones, p, ko, depth, reset=False), None) is not None

    def attacker_captures(self, stones: np.ndarray, p: int, ko: int = -1, depth: int = 0) -> bool:
        """The chain at p has two liberties and its opponent moves: can the opponent capture it by
        ataris (a ladder or a net of ataris)?"""
        self.nodes += 1
        if self.nodes > self.budget or depth > MAX_DEPTH:
            return False
        attacker = 3 - int(stones[p])
        _, libs = self.chain(stones, p)
        if len(libs) == 1:
            return True
        if len(libs) != 2:
            return False
        for q in libs:
            after = self.play(stones, int(q), attacker, ko)
            if after is None:
                continue
            s2, ko2 = after
            if len(self.chain(s2, p)[1]) == 1 and not self.defender_escapes(s2, p, ko2, depth + 1):
                return True
        return False

    def _safe_moves(self, stones: np.ndarray, p: int, ko: int, depth: int, reset: bool):
        """Yield the moves of the chain's owner -- capturing an attacker chain in atari next to it,
        then each of its liberties -- after which the chain at p has 3+ liberties, or 2 that no
        ladder takes (read at depth + 1; with `reset`, each such read gets a fresh node budget)."""
        own = int(stones[p])
        chain, libs = self.chain(stones, p)
        for q in self._adjacent_in_atari(stones, chain) + [int(x) for x in libs]:
            nxt = self.play(stones, q, own, ko)
            if nxt is None:
                continue
            s2, ko2 = nxt
            k = len(self.chain(s2, p)[1])
            if k >= 3:
                yield q
            elif k == 2:
                if reset:
                    self.fresh()
                if not self.attacker_captures(s2, p, ko2, depth + 1):
                    yield q

    def saving_moves(self, stones: np.ndarray, p: int, ko: int = -1) -> list[int]:
        """Every move that saves the chain at p (see `_safe_moves`), each read on a fresh budget."""
        return list(self._safe_moves(stones, p, ko, -1, reset=True))

    def fresh(self) -> Reader:
        self.nodes = 0
        return self


@dataclass
class Assessment:
    value: np.ndarray      # (N,) stones a move saves or captures (0: nothing forcing)
    veto: np.ndarray       # (N,) bool: moves that leave own stones in atari or run a dead ladder
    reasons: dict          # point -> short text, for logs and GoGui


def assess(stones: np.ndarray, colour: int, ko: int, a: dict, size: int, reader: Reader | None = None,
           min_stones: int = 2, check: np.ndarray | None = None) -> Assessment:
    """Forcing moves for `colour` in the position `stones` (N,) (ko: the point it may not take;
    a: fastboard.analyze of it, batch of one): rescues of own chains in atari, captures, ladder
    captures of opponent chains with two liberties, defences of own chains of more than min_stones
    stones with two liberties that the opponent could ladder; `check`: points tested for the
    dead-ladder veto (default: every point that leaves the own chain two liberties)."""
    reader = reader or Reader(size)
    n = size * size
    value = np.zeros(n, np.int32)
    veto = np.zeros(n, bool)
    reasons: dict[int, str] = {}
    opp = 3 - colour
    libs_at, after, cap, self_atari = a["libs"][0], a["libs_after"][0], a["capture"][0], a["self_atari"][0]

    def credit(q: int, v: int, why: str) -> None:
        if v > value[q]:
            value[q] = v
            reasons[q] = why

    done: set[int] = set()
    for p in np.flatnonzero(stones != 0):
        p = int(p)
        if p in done or libs_at[p] > 2:
            continue
        chain, libs = reader.chain(stones, p)
        done.update(chain.tolist())
        size_c = len(chain)
        if size_c < min_stones:
            continue
        if stones[p] == opp and len(libs) == 1:              # capture, if it could escape
            q = int(libs[0])
            if cap[q] > 0 and reader.fresh().defender_escapes(stones, p, -1):
                credit(q, int(cap[q]), f"captures {int(cap[q])}")
        elif stones[p] == colour and (len(libs) == 1 or (     # own chain in atari, or one of 3+
                len(libs) == 2 and size_c > min_stones           # stones the opponent could ladder
                and reader.fresh().attacker_captures(stones, p, -1))):
            why = "saves" if len(libs) == 1 else "defends"
            for q in reader.saving_moves(stones, p, ko):
                credit(q, size_c, f"{why} {size_c}")
        elif stones[p] == opp and len(libs) == 2:            # opponent chain: ladder capture?
            for q in libs:
                q = int(q)
                nxt = reader.play(stones, q, colour, ko)
                if nxt is None or self_atari[q] > 0:
                    continue
                s2, ko2 = nxt
                if len(reader.chain(s2, p)[1]) == 1 and not reader.fresh().defender_escapes(s2, p, ko2):
                    credit(q, size_c, f"ladder captures {size_c}")

    # vetoes: self-atari of 2+ stones that captures nothing; moves that leave the own chain with
    # two liberties the opponent can take away by ataris (running a dead ladder)
    veto |= (self_atari >= min_stones) & (cap == 0)
    pts = np.flatnonzero((after == 2) & (value == 0)) if check is None else np.asarray(check)
    for q in pts:
        q = int(q)
        if stones[q] != 0 or after[q] != 2 or value[q] > 0:
            continue
        nxt = reader.play(stones, q, colour, ko)
        if nxt is None:
            continue
        s2, ko2 = nxt
        if len(reader.chain(s2, q)[0]) >= min_stones and reader.fresh().attacker_captures(s2, q, ko2):
            veto[q] = True
            reasons.setdefault(q, "runs a dead ladder")
    return Assessment(value, veto, reasons)


def pick_forcing(cand: np.ndarray, ass: Assessment, min_stones: int = 2) -> tuple[np.ndarray, int | None]:
    """Apply the vetoes to the candidate weights `cand` (N,) (unless they veto everything) and
    return (weights, the forcing move worth the most stones -- ties to the policy -- or None)."""
    kept = np.where(ass.veto, 0.0, cand)
    if kept.max() > 0:
        cand = kept
    v = np.where(cand > 0, ass.value, 0)
    if v.max() < min_stones:
        return cand, None
    return cand, int(np.argmax(np.where(v == v.max(), cand, 0.0)))


__all__ = ["Assessment", "Reader", "assess", "chain_liberties", "pick_forcing"]
