"""Optimizers and per-step learning-rate schedules for the training engine."""
from __future__ import annotations

import math

import torch
from torch import nn


def param_groups(model: nn.Module, weight_decay: float, decay_all: bool = False) -> list[dict]:
    """Two groups: weights get ``weight_decay``; biases, norm scales and other (<= 1-D or ``*bias``)
    parameters get none, unless ``decay_all``."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if not decay_all and (p.ndim <= 1 or name.endswith("bias")) else decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


def make_optimizer(model: nn.Module, cfg) -> torch.optim.Optimizer:
    """SGD (momentum, optional Nesterov) or AdamW from a ``TrainConfig``."""
    groups = param_groups(model, cfg.weight_decay, cfg.decay_all)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum,
                               nesterov=cfg.nesterov and cfg.momentum > 0)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=tuple(cfg.betas))
    raise ValueError(f"optimizer must be 'sgd' or 'adamw', got {cfg.optimizer!r}")


def lr_factor(step: int, cfg, steps_per_epoch: int) -> float:
    """Multiplier of ``cfg.lr`` after ``step`` optimizer steps: linear warmup over ``cfg.warmup``
    epochs, then ``cosine`` (to ``min_lr_ratio`` at the last step), ``step`` (x``gamma`` every
    ``step_size`` epochs) or ``constant``."""
    warm = round(cfg.warmup * steps_per_epoch)
    if step < warm:
        return (step + 1) / warm
    if cfg.schedule == "constant":
        return 1.0
    if cfg.schedule == "step":
        return cfg.gamma ** (step // max(1, cfg.step_size * steps_per_epoch))
    if cfg.schedule == "cosine":
        total = cfg.epochs * steps_per_epoch
        t = min(1.0, (step - warm) / max(1, total - warm))
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t))
    raise ValueError(f"schedule must be 'cosine', 'step' or 'constant', got {cfg.schedule!r}")


def make_scheduler(opt: torch.optim.Optimizer, cfg, steps_per_epoch: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-step schedule (call ``.step()`` after every optimizer step)."""
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, cfg, steps_per_epoch))
