"""Classification metrics as tensor ops (they stay on the device; call ``.item()`` once at the end).

Cross-entropy / NLL use natural logarithms: -ln 0.6 = 0.511 (a slide's 0.222 is log10).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def topk_correct(logits: torch.Tensor, targets: torch.Tensor, ks: tuple[int, ...] = (1, 5)) -> torch.Tensor:
    """Number of samples whose target is among the top-k logits, for each k -> long tensor (len(ks),).
    k larger than the number of classes counts every sample."""
    kmax = min(max(ks), logits.shape[1])
    top = logits.topk(kmax, dim=1).indices  # (B, kmax)
    hit = top == targets[:, None]           # (B, kmax), at most one True per row
    cum = hit.cumsum(dim=1).sum(dim=0)       # cum[j] = hits within top-(j+1)
    return torch.stack([cum[min(k, kmax) - 1] for k in ks])


def nll(logits: torch.Tensor, targets: torch.Tensor, reduction: str = "sum") -> torch.Tensor:
    """Negative log-likelihood of the targets under softmax(logits), natural log."""
    return F.cross_entropy(logits.float(), targets, reduction=reduction)


def confusion_matrix(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(K, K) counts; row = true class, column = predicted class."""
    idx = target.long() * num_classes + pred.long()
    return torch.bincount(idx, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def accuracy(cm: torch.Tensor) -> float:
    """Fraction on the diagonal of a confusion matrix."""
    total = cm.sum().item()
    return cm.diag().sum().item() / total if total else 0.0


def precision_recall(cm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-class precision (diag / column sum) and recall (diag / row sum); 0 where undefined."""
    cm = cm.double()
    tp = cm.diag()
    col, row = cm.sum(0), cm.sum(1)
    precision = torch.where(col > 0, tp / col.clamp(min=1), torch.zeros_like(tp))
    recall = torch.where(row > 0, tp / row.clamp(min=1), torch.zeros_like(tp))
    return precision, recall
