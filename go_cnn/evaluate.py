"""`go-cnn evaluate`: a model on SGF files, folders or archives read directly (no prepare step).

Every non-pass move of every usable 19x19 game is a test position. The prediction is the policy's
softmax over the LEGAL points only (optionally averaged over the 8 board symmetries); top-1/top-5
count the positions whose played move is among the best 1/5 legal points, NLL is the mean
-ln p(played move) (natural log). Accuracy is also split by game phase: moves 1-50, 51-150, 151+
(move numbers count every move of the game, passes included, from 1).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from go_cnn.dataset import positions_from_sources
from go_cnn.policy import Policy

PHASES = (("1-50", 0, 50), ("51-150", 50, 150), ("151+", 150, 10**9))  # (name, first, end) on move_number


@dataclass
class _Acc:
    n: int = 0
    top1: int = 0
    top5: int = 0
    nll: float = 0.0

    def add(self, rank: np.ndarray, p: np.ndarray) -> None:
        self.n += len(rank)
        self.top1 += int((rank < 1).sum())
        self.top5 += int((rank < 5).sum())
        self.nll += float(-np.log(np.maximum(p, 1e-12)).sum())

    def as_dict(self) -> dict:
        d = max(self.n, 1)
        return {"top1": self.top1 / d, "top5": self.top5 / d, "nll": self.nll / d, "positions": self.n}


@dataclass
class EvalResult:
    top1: float             # fraction of positions whose played move is the top legal point
    top5: float             # ... among the top 5
    nll: float              # mean -ln p(played move), natural log
    games: int              # games used
    positions: int          # positions scored
    phases: dict = field(default_factory=dict)   # name -> {"top1", "top5", "nll", "positions"}
    skipped: list = field(default_factory=list)  # [(name, reason)] of unreadable files

    def as_dict(self) -> dict:
        return {"top1": self.top1, "top5": self.top5, "nll": self.nll, "games": self.games,
                "positions": self.positions, "phases": self.phases, "skipped": len(self.skipped)}


def evaluate_sources(policy: Policy, sources, symmetries: int = 1, max_games: int = 0, batch_size: int = 512,
                     progress=None) -> EvalResult:
    """Score `policy` on every usable game of `sources` (the first `max_games` when > 0)."""
    total, phases = _Acc(), {name: _Acc() for name, _, _ in PHASES}
    skipped: list = []
    games = 0
    for g in positions_from_sources(sources, policy.feature_set, policy.size,
                                    on_error=lambda name, why: skipped.append((name, why))):
        if max_games and games >= max_games:
            break
        games += 1
        moves, legal, num = g["moves"], g["legal"], g["move_number"]
        for i in range(0, len(moves), batch_size):
            sl = slice(i, i + batch_size)
            prob = policy.masked_probabilities(g["planes"][sl], legal[sl], symmetries)  # (b, N)
            p_played = prob[np.arange(len(prob)), moves[sl]]
            rank = (prob > p_played[:, None]).sum(1)  # legal points strictly better than the played move
            total.add(rank, p_played)
            for name, lo, hi in PHASES:
                m = (num[sl] >= lo) & (num[sl] < hi)
                phases[name].add(rank[m], p_played[m])
        if progress is not None:
            progress(games, total.n)
    t = total.as_dict()
    return EvalResult(t["top1"], t["top5"], t["nll"], games, total.n,
                      {k: v.as_dict() for k, v in phases.items()}, skipped)


def format_result(r: EvalResult, model: str = "") -> str:
    """Human-readable report: totals, then a row per game phase."""
    lines = [f"model {model}" if model else "",
             f"games {r.games:,}  positions {r.positions:,}",
             f"top-1 {100 * r.top1:.2f}%  top-5 {100 * r.top5:.2f}%  NLL {r.nll:.4f}",
             "phase      positions   top-1   top-5     NLL"]
    for name, d in r.phases.items():
        lines.append(f"{name:<9} {d['positions']:>10,}  {100 * d['top1']:5.2f}%  {100 * d['top5']:5.2f}%  {d['nll']:6.3f}")
    if r.skipped:
        lines.append(f"skipped {len(r.skipped)} unreadable file(s), e.g. {r.skipped[0][0]}: {r.skipped[0][1]}")
    return "\n".join(x for x in lines if x)
