"""GoGui analyze commands: the policy and the area estimate as GoGui `gfx` responses.

GoGui asks an engine for `gogui-analyze_commands` (one `type/label/command` per line) and lists them
in its Analyze window; a `gfx` response is one drawing command per line (GoGui manual, "Analyze
Commands"): COLOR color points, INFLUENCE point value pairs (-1..1: black squares for positive,
white for negative), LABEL point text pairs, MARK points, VAR colour/point moves (numbered ghost
stones), TEXT (status bar). `%m` is replaced by the colour to move.

Every function takes probabilities over the points (N,) (0 on illegal points), the colour asked
about (1 black, 2 white) and the board size, and returns the response text.
"""
from __future__ import annotations

import numpy as np

from go_cnn.coords import flat_to_gtp

ANALYZE_COMMANDS = (
    "gfx/Policy heatmap/gogui-policy_heatmap %m",
    "gfx/Policy squares/gogui-policy_influence %m",
    "gfx/Policy top moves/gogui-top_moves %m",
    "gfx/Area estimate/gogui-area",
)
HEAT = ("#2c7bb6", "#abd9e9", "#ffffbf", "#fdae61", "#d7191c")  # blue (low) .. red (the best move)


def _ranked(probs: np.ndarray) -> np.ndarray:
    """Points with probability > 0, most probable first (ties: lower index first)."""
    order = np.argsort(-probs, kind="stable")
    return order[probs[order] > 0]


def _who(colour: int) -> str:
    return "black" if colour == 1 else "white"


def heatmap(probs: np.ndarray, colour: int, size: int) -> str:
    """Field colours by probability relative to the best move (five buckets, blue to red; points
    below 2% of the best stay plain), the percentage on the 20 most probable points, and the best
    move in the status bar."""
    order = _ranked(probs)
    if len(order) == 0:
        return "TEXT no legal move"
    top = probs[order[0]]
    buckets: dict[str, list[str]] = {}
    labels = []
    for rank, p in enumerate(order):
        rel = probs[p] / top
        if rel < 0.02:
            break
        level = min(int(rel * len(HEAT)), len(HEAT) - 1)
        buckets.setdefault(HEAT[level], []).append(flat_to_gtp(int(p), size))
        if rank < 20 and probs[p] >= 0.001:
            pct = 100 * probs[p]  # "31" (percent), ".4" below 9.5%: fits on a point
            labels += [flat_to_gtp(int(p), size), f"{pct:.0f}" if pct >= 9.5 else f"{pct:.1f}".lstrip("0")]
    out = [f"COLOR {c} {' '.join(v)}" for c, v in buckets.items()]
    if labels:
        out.append("LABEL " + " ".join(labels))
    out.append(f"TEXT {_who(colour)} to move: best {flat_to_gtp(int(order[0]), size)} {100 * top:.1f}%")
    return "\n".join(out)


def influence(probs: np.ndarray, colour: int, size: int) -> str:
    """Squares sized by probability / best probability, in the colour of the player to move."""
    order = _ranked(probs)
    if len(order) == 0:
        return "TEXT no legal move"
    sign = 1.0 if colour == 1 else -1.0
    top = probs[order[0]]
    pairs = [f"{flat_to_gtp(int(p), size)} {sign * probs[p] / top:.3f}" for p in order if probs[p] / top >= 0.01]
    return f"INFLUENCE {' '.join(pairs)}\nTEXT square size = probability / best ({100 * top:.1f}%)"


def top_moves(probs: np.ndarray, colour: int, size: int, k: int = 10) -> str:
    """The best move as a ghost stone (VAR), ranks 2..k as labels, the list with percentages as text."""
    order = _ranked(probs)[:k]
    if len(order) == 0:
        return "TEXT no legal move"
    names = [flat_to_gtp(int(p), size) for p in order]
    out = [f"VAR {'b' if colour == 1 else 'w'} {names[0]}"]
    if len(names) > 1:
        out.append("LABEL " + " ".join(f"{v} {i + 2}" for i, v in enumerate(names[1:])))
    out.append("TEXT " + "  ".join(f"{i + 1}. {v} {100 * probs[p]:.1f}%" for i, (v, p) in enumerate(zip(names, order))))
    return "\n".join(out)


def area(score, size: int) -> str:
    """`game.Score` as drawn: each point's owner as a full square (black +1, white -1), dead stones
    marked, the count in the status bar."""
    owned = np.flatnonzero(score.owner)
    pairs = " ".join(f"{flat_to_gtp(int(p), size)} {1 if score.owner[p] == 1 else -1}" for p in owned)
    out = [f"INFLUENCE {pairs}"] if pairs else []
    if score.dead:
        out.append("MARK " + " ".join(flat_to_gtp(p, size) for p in score.dead))
    out.append(f"TEXT area estimate {score.result()} (black {score.black:g}, white {score.white:g} with komi)")
    return "\n".join(out)
