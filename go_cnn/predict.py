"""`go-cnn predict`: the position of an SGF game after N moves, and the model's top-K next moves.

    pos = position_from_sgf(Path("game.sgf").read_bytes(), move=60)
    moves = top_moves(policy, pos, k=5)       # [{"move": "D16", "prob": 0.31}, ...] best first
    print(render(pos, moves))                 # ASCII board with GTP coordinates + the list
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from go_cnn.board import HISTORY, Board, IllegalMove
from go_cnn.coords import PASS, flat_to_gtp
from go_cnn.policy import Policy
from go_cnn.sgf import ADD_BLACK, ADD_WHITE, CLEAR, SET_PLAYER, parse_sgf


class PredictError(ValueError):
    """A game or move number that gives no position; the message says why."""


@dataclass
class Position:
    board: Board             # stones, ko, player to move
    last: np.ndarray         # (HISTORY,) int16 most recent move first, -1 none / pass
    move_number: int         # moves played to reach it
    total_moves: int         # moves in the game's main line
    next_move: int | None    # the move played next in the game (flat, PASS), None at the end

    def as_batch(self) -> dict:
        """The (B=1) dict Policy.probabilities takes."""
        b = self.board
        return {"stones": b.stones[None].copy(), "to_move": np.array([b.to_move], np.int8),
                "ko": np.array([b.ko], np.int64), "last": self.last[None].copy()}


def position_from_sgf(data: bytes, move: int | None = None, size: int = 19) -> Position:
    """The position after `move` moves of the first game (None: after the last move)."""
    games = parse_sgf(data)
    game = games[0]
    if game.size != size:
        raise PredictError(f"the game is {game.size}x{game.size}; the model plays {size}x{size}")
    total = len(game.moves)
    want = total if move is None else move
    if not 0 <= want <= total:
        raise PredictError(f"--move {move}: the game has {total} moves (use 0..{total})")
    board = Board(size)
    last = np.full(HISTORY, -1, np.int16)
    played, nxt = 0, None
    for code, p in game.events:
        if code in (ADD_BLACK, ADD_WHITE, CLEAR):
            board.stones[p] = 0 if code == CLEAR else code - 2
            board.ko = -1
            continue
        if code == SET_PLAYER:
            board.to_move = p
            continue
        if played == want:
            nxt = p
            break
        try:
            board.play(p, code)
        except IllegalMove as e:
            raise PredictError(f"move {played + 1}: {e}") from None
        last = np.concatenate([[p if p != PASS else -1], last[:-1]]).astype(np.int16)
        played += 1
    return Position(board, last, played, total, nxt)


def top_moves(policy: Policy, pos: Position, k: int = 5, symmetries: int = 1) -> list[dict]:
    """The k most probable legal moves, best first: [{"move": "D16", "prob": 0.31}, ...]."""
    p = policy.probabilities(pos.as_batch(), symmetries)[0]  # (N,)
    order = np.argsort(-p, kind="stable")[:k]
    return [{"move": flat_to_gtp(int(i), pos.board.size), "prob": round(float(p[i]), 4)} for i in order if p[i] > 0]


def render(pos: Position, moves: list[dict]) -> str:
    """ASCII board (X black, O white; the top moves marked 1..9 on the board) + the move list."""
    b = pos.board
    lines = str(b).splitlines()
    grid = [list(x) for x in lines]
    from go_cnn.coords import gtp_to_flat
    for i, m in enumerate(moves[:9]):
        r, c = divmod(gtp_to_flat(m["move"], b.size), b.size)
        grid[r + 1][3 + 2 * c] = str(i + 1)
    colour = "Black" if b.to_move == 1 else "White"
    out = ["\n".join("".join(row) for row in grid), "",
           f"after move {pos.move_number} of {pos.total_moves}; {colour} to play"]
    if pos.next_move is not None:
        out[-1] += f"; played in the game: {flat_to_gtp(pos.next_move, b.size)}"
    for i, m in enumerate(moves):
        out.append(f"{i + 1:>2}. {m['move']:<4} {100 * m['prob']:5.1f}%")
    return "\n".join(out)
