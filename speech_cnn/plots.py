"""Training figures: learning curve (loss + accuracy per epoch) and confusion matrix, written as PNG
atomically (temp name in the same folder, then os.replace)."""
from __future__ import annotations

from functools import partial
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from shared.visualize import save_figure

_save = partial(save_figure, dpi=110)  # atomic write, figure closed


def plot_learning_curve(epochs: list[dict], path) -> Path:
    """fit's epoch records -> train/val loss (left) and train/val accuracy (right) per epoch."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
    x = [r["epoch"] for r in epochs]
    a.plot(x, [r["train_loss"] for r in epochs], "o-", label="train loss (augmented, label-smoothed)")
    b.plot(x, [r["train_top1"] for r in epochs], "o-", label="train accuracy (augmented)")
    if epochs and "val_nll" in epochs[0]:
        a.plot(x, [r["val_nll"] for r in epochs], "s-", label="val NLL")
        b.plot(x, [r["val_top1"] for r in epochs], "s-", label="val accuracy")
    a.set_xlabel("epoch"), a.set_ylabel("cross-entropy (nats)"), a.legend()
    b.set_xlabel("epoch"), b.set_ylabel("accuracy"), b.set_ylim(0, 1.01), b.legend(loc="lower right")
    for ax in (a, b):
        ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_confusion(confusion: list[list[int]], labels: list[str], path, title: str = "") -> Path:
    """(K, K) counts, row = true label, column = predicted, counts written in the cells."""
    k = len(labels)
    size = max(3.5, 0.45 * k + 1.5)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(confusion, cmap="Blues")
    ax.set_xticks(range(k), labels, rotation=45, ha="right")
    ax.set_yticks(range(k), labels)
    ax.set_xlabel("predicted"), ax.set_ylabel("true")
    top = max((max(r) for r in confusion), default=0)
    for i, row in enumerate(confusion):
        for j, v in enumerate(row):
            if v:
                ax.text(j, i, str(v), ha="center", va="center", fontsize=8,
                        color="white" if v > top / 2 else "black")
    if title:
        ax.set_title(title)
    return _save(fig, path)
