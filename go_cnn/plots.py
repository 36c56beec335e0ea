"""Figures of the Go app (matplotlib, Agg backend, written atomically): learning curve, policy heatmap."""
from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import numpy as np

from shared.visualize import save_figure as _save_figure

save_figure = partial(_save_figure, dpi=110)  # atomic write, figure closed


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def learning_curve(metrics: str | Path, out: str | Path, title: str = "") -> Path | None:
    """Train loss / val NLL (left) and val top-1 / top-5 (right) per epoch from a metrics.jsonl.
    Returns None (and writes nothing) when the log has no epoch record."""
    metrics = Path(metrics)
    if not metrics.exists():
        return None
    recs = [json.loads(x) for x in metrics.read_text().splitlines() if x.strip()]
    ep = [r for r in recs if r.get("type") == "epoch"]
    if not ep:
        return None
    plt = _pyplot()
    x = np.cumsum([r["samples_per_s"] * r["time_s"] for r in ep]) / 1e6  # positions seen (millions)
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
    a.plot(x, [r["train_loss"] for r in ep], "o-", label="train loss")
    if "val_nll" in ep[0]:
        a.plot(x, [r["val_nll"] for r in ep], "s-", label="val NLL")
        b.plot(x, [100 * r["val_top1"] for r in ep], "o-", label="val top-1")
        b.plot(x, [100 * r["val_top5"] for r in ep], "s-", label="val top-5")
    b.plot(x, [100 * r["train_top1"] for r in ep], "--", label="train top-1")
    a.set_xlabel("positions seen (millions)")
    b.set_xlabel("positions seen (millions)")
    a.set_ylabel("cross-entropy (nats)")
    b.set_ylabel("accuracy (%)")
    a.legend()
    b.legend()
    a.grid(alpha=0.3)
    b.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return save_figure(fig, out)


def policy_heatmap(stones: np.ndarray, probs: np.ndarray, out: str | Path, size: int = 19, title: str = "",
                   last: int = -1) -> Path:
    """The board (grid, stones, GTP coordinates) with the move probabilities drawn over it: a red
    square per point with alpha ~ probability, percentages on the top points."""
    from go_cnn.coords import GTP_COLUMNS
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 6.4))
    ax.set_facecolor("#dcb35c")
    for i in range(size):
        ax.plot([0, size - 1], [i, i], color="k", lw=0.6, zorder=1)
        ax.plot([i, i], [0, size - 1], color="k", lw=0.6, zorder=1)
    p = np.asarray(probs, np.float64).reshape(size, size)
    peak = max(p.max(), 1e-9)
    for r in range(size):
        for c in range(size):
            v = p[r, c]
            y = size - 1 - r
            if v > 0:
                ax.add_patch(plt.Rectangle((c - 0.45, y - 0.45), 0.9, 0.9, color="red", alpha=0.85 * min(1.0, v / peak),
                                           zorder=2, lw=0))
            s = stones[r * size + c]
            if s:
                ax.add_patch(plt.Circle((c, y), 0.46, facecolor="black" if s == 1 else "white", edgecolor="k",
                                        zorder=3, lw=0.8))
            if v >= 0.01:
                ax.text(c, y, f"{100 * v:.0f}", ha="center", va="center", fontsize=7, zorder=4, color="white"
                        if v / peak > 0.5 else "black")
    if last >= 0:
        r, c = divmod(last, size)
        ax.add_patch(plt.Circle((c, size - 1 - r), 0.18, facecolor="red", zorder=5))
    ax.set_xticks(range(size), list(GTP_COLUMNS[:size]))
    ax.set_yticks(range(size), [str(i + 1) for i in range(size)])
    ax.set_xlim(-0.8, size - 0.2)
    ax.set_ylim(-0.8, size - 0.2)
    ax.set_aspect("equal")
    ax.tick_params(length=0)
    if title:
        ax.set_title(title)
    return save_figure(fig, out)
