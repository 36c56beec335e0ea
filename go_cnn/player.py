"""How the GTP engine picks a move: the policy network, tactical reading, pass and resign rules.

Move choice for `colour` in a `game.Game`:
1. the policy's probabilities over the legal points (ko, suicide and occupied points are exactly 0),
   restricted to "sensible" points (not filling one's own eye);
2. after an opponent pass: pass if the best sensible point is below `pass_threshold` or if this
   board with this player to move occurred before (a cycle: seen in matches as dead stones added
   inside the opponent's area, captured, and added again until the move cap); otherwise,
   unless the board is still open (an empty region over a quarter of it), keep only points where
   the count can change -- a neutral point (see `game.score`), a capture, or saving an own chain in
   atari -- and pass when there is none;
3. with `tactics` on (default), `tactics.py` reads ladders and chains in atari: moves that leave 2+
   own stones in atari or run a dead ladder are dropped (unless that drops everything), and a
   forcing move worth 2+ stones -- a capture of a chain that could still escape, a rescue that
   works, a ladder capture -- is played before the policy's choice (the biggest; ties to the net);
4. otherwise the most probable point, or with `temperature > 0` a sample of p^(1/T) from the
   `top_k` best; while fewer than `random_opening` moves are played, a sample of p from the 5 best
   (so that matches against a deterministic opponent do not repeat one game).
It resigns (only when `resign_threshold` > 0) after `resign_after` moves when the area estimate has
it behind by more than `resign_threshold` points; it passes when no sensible legal point is left.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from go_cnn.board import BLACK, neighbours
from go_cnn.coords import PASS, flat_to_gtp
from go_cnn.fastboard import analyze
from go_cnn.game import Game, components
from go_cnn.tactics import Reader, assess, pick_forcing


@dataclass
class EngineConfig:
    temperature: float = 0.0      # 0: always the most probable move; > 0: sample p^(1/T)
    top_k: int = 0                # sample only among the k most probable points (0: all)
    random_opening: int = 0       # sample (T=1, top 5) while the game has fewer moves than this
    pass_threshold: float = 0.02  # after an opponent pass, pass if the best point is below this
    resign_threshold: float = 0.0  # resign when behind by more points than this (0: never resign)
    resign_after: int = 100       # no resignation before this many moves
    symmetries: int = 1           # average the policy over this many board symmetries (1..8)
    seed: int | None = None       # random seed for sampling (None: fresh entropy)
    top_moves: int = 10           # how many moves gogui-top_moves lists
    tactics: bool = True          # read ladders / chains in atari before trusting the policy
    tactics_min_stones: int = 2   # smallest chain the tactical reader saves, captures or vetoes
    tactics_check: int = 10       # how many of the policy's best points are checked for dead ladders


class Player:
    """Chooses moves for a `Game` with `policy` (a `go_cnn.policy.Policy` or anything with
    `.probabilities(pos, symmetries)`), by the rules in the module docstring."""

    def __init__(self, policy, config: EngineConfig | None = None):
        self.policy = policy
        self.config = config or EngineConfig()
        self.rng = np.random.default_rng(self.config.seed)
        self.reader = Reader(policy.size)
        self.last_reason = ""      # why the last move was chosen ("policy", "captures 3", ...)

    def policy_at(self, game: Game, colour: int) -> tuple[np.ndarray, np.ndarray, dict]:
        """(probabilities (N,) over legal points, sensible mask (N,) bool, analysis dict)."""
        pos = game.position(colour)
        probs = self.policy.probabilities(pos, symmetries=self.config.symmetries)[0]
        a = analyze(pos["stones"], pos["to_move"], pos["ko"], game.size)
        return probs, a["sensible"][0].astype(bool) & (probs > 0), a

    @staticmethod
    def endgame_moves(game: Game, colour: int, sensible: np.ndarray, a: dict) -> np.ndarray | None:
        """After an opponent pass: the points where the count can still change for `colour` -- a
        neutral point, a capture, or the liberty that saves an own chain in atari (sensible ones
        only) -- or None while the board is still open (an empty region over a quarter of it)."""
        n = game.size * game.size
        nbr = neighbours(game.size)
        if max((len(r) for r in components(game.stones == 0, nbr)), default=0) > n // 4:
            return None
        s = game.score()
        useful = ((s.owner == 0) & (game.stones == 0)) | (a["capture"][0] > 0)
        in_atari = (game.stones == colour) & (a["libs"][0] == 1)
        in_atari[s.dead] = False
        for p in np.flatnonzero(in_atari):
            for q in nbr[p]:
                if q >= 0 and game.stones[q] == 0 and a["libs_after"][0][q] >= 2:
                    useful[q] = True
        return useful & sensible

    def choose_move(self, game: Game, colour: int) -> str:
        """The move for `colour` as GTP text ("D4", "pass" or "resign"); plays nothing."""
        cfg = self.config
        self.last_reason = "policy"
        if cfg.resign_threshold > 0 and len(game.moves) >= cfg.resign_after:
            margin = game.score().margin * (1 if colour == BLACK else -1)
            if margin < -cfg.resign_threshold:
                return "resign"
        probs, sensible, a = self.policy_at(game, colour)
        cand = np.where(sensible, probs, 0.0)
        if cand.max() <= 0:
            return "pass"
        if game.moves and game.moves[-1] == (3 - colour, PASS):  # the opponent thinks the game is over
            if cand.max() < cfg.pass_threshold:
                return "pass"
            if game.repeats(colour):  # a cycle (e.g. dead stones re-added and re-captured): end it
                self.last_reason = "repetition"
                return "pass"
            useful = self.endgame_moves(game, colour, sensible, a)
            if useful is not None:
                cand = np.where(useful, cand, 0.0)
                if cand.max() <= 0:
                    return "pass"
        if cfg.tactics and len(game.moves) >= cfg.random_opening:
            top = np.argsort(-cand, kind="stable")[:cfg.tactics_check]
            ass = assess(game.stones, colour, game.ko_for(colour), a, game.size, self.reader,
                         min_stones=cfg.tactics_min_stones, check=top[cand[top] > 0])
            cand, forced = pick_forcing(cand, ass, cfg.tactics_min_stones)
            if forced is not None:
                self.last_reason = ass.reasons[forced]
                return flat_to_gtp(forced, game.size)
        return flat_to_gtp(self._pick(cand, len(game.moves)), game.size)

    def _pick(self, cand: np.ndarray, moves_played: int) -> int:
        cfg = self.config
        temperature, top_k = cfg.temperature, cfg.top_k
        if moves_played < cfg.random_opening and temperature <= 0:
            temperature, top_k = 1.0, 5
        if temperature <= 0:
            return int(np.argmax(cand))
        order = np.argsort(-cand, kind="stable")
        order = order[cand[order] > 0]
        if top_k > 0:
            order = order[:top_k]
        w = cand[order].astype(np.float64) ** (1.0 / temperature)
        if not np.isfinite(w).all() or w.sum() <= 0:
            return int(order[0])
        return int(self.rng.choice(order, p=w / w.sum()))
