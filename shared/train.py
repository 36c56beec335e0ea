"""The one training engine: ``fit`` (train + validate + checkpoint) and ``evaluate``.

Models are any ``nn.Module`` with ``forward(x, targets) -> (logits (B, K), loss)`` (``Network`` is
one); when ``label_smoothing > 0`` it is passed as ``forward(..., label_smoothing=s)``. Datasets
yield ``(x, y)``. ``batch_size`` is per process; under ``torchrun`` each process trains on its shard
(``EpochSampler``), DDP averages gradients, metrics are all-reduced and only rank 0 writes.

Files under ``out``: ``last.pt`` (full state, for exact resume), ``best.pt`` (weights + meta of the
best epoch by ``early_stop_metric``), ``metrics.jsonl`` (one ``"epoch"`` line per epoch and a
``"train"`` line every ``log_every`` steps).

Per-step cost is kept to the bare loop's: metrics accumulate on the device and are read
(``.item()``, a device sync) only every ``log_every`` steps and at the end of an epoch.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from . import distributed as D
from .checkpoint import load_checkpoint, save_checkpoint
from .metrics import nll, topk_correct
from .optim import make_optimizer, make_scheduler
from .progress import JsonlLog, Progress, progress_enabled, write

_clock = time.monotonic  # patched by tests to simulate a time budget running out


@dataclass
class TrainConfig:
    epochs: int = 10                  # passes over the training set
    batch_size: int = 64              # samples per step per process (global batch = batch_size * world size)
    optimizer: str = "sgd"            # "sgd" | "adamw"
    lr: float = 0.01                  # peak learning rate (reached after warmup)
    momentum: float = 0.9             # SGD momentum
    nesterov: bool = False            # SGD Nesterov momentum
    betas: tuple = (0.9, 0.999)       # AdamW betas
    weight_decay: float = 0.0         # L2 / decoupled decay on weights (not biases or norms unless decay_all)
    decay_all: bool = False           # also decay biases and norm parameters
    schedule: str = "cosine"          # per-step learning rate: "cosine" | "step" | "constant"
    warmup: float = 0.0               # linear warmup length in epochs (fractions allowed)
    step_size: int = 10               # "step" schedule: epochs between decays
    gamma: float = 0.1                # "step" schedule: decay factor
    min_lr_ratio: float = 0.0         # "cosine": final lr as a fraction of lr
    clip_grad: float = 0.0            # max global gradient norm; 0 = no clipping
    label_smoothing: float = 0.0      # cross-entropy label smoothing
    early_stop_patience: int = 0      # stop after this many epochs without improvement; 0 = never
    early_stop_metric: str = "val_top1"  # selects best.pt too; "*nll"/"*loss" are minimised, others maximised
    amp: str = "auto"                 # "auto" (CUDA: bf16 if supported, else fp16; else off) | "bf16" | "fp16" | "off"
    compile: str = "auto"             # torch.compile: "auto" (CUDA only) | "on" | "off"
    device: str = "auto"              # "auto" (cuda > mps > cpu) | "cpu" | "cuda" | "cuda:1" | "mps"
    seed: int = 0                     # seeds python/numpy/torch and the per-epoch shuffle
    deterministic: bool = True        # torch.use_deterministic_algorithms during fit (CPU only)
    time_budget_min: float = 0.0      # stop cleanly (validate, keep best, save last) after this; 0 = none
    num_workers: int = 0              # DataLoader worker processes
    eval_batch_size: int = 0          # validation batch size; 0 = 2 * batch_size
    log_every: int = 50               # steps between progress/log updates (each costs one device sync)
    progress: str = "auto"            # progress bar: "auto" (only on a TTY) | "on" | "off"

    def __post_init__(self):
        choices = {"optimizer": ("sgd", "adamw"), "schedule": ("cosine", "step", "constant"),
                   "amp": ("auto", "bf16", "fp16", "off"), "compile": ("auto", "on", "off"),
                   "progress": ("auto", "on", "off")}
        for k, allowed in choices.items():
            if getattr(self, k) not in allowed:  # dataclass field, not a string-built lookup
                raise ValueError(f"TrainConfig.{k} must be one of {allowed}, got {getattr(self, k)!r}")
        if self.epochs < 1 or self.batch_size < 1 or self.log_every < 1:
            raise ValueError("TrainConfig: epochs, batch_size and log_every must be >= 1")


@dataclass
class History:
    epochs: list[dict] = field(default_factory=list)  # the "epoch" records of metrics.jsonl
    best_metric: float | None = None                  # best value of config.early_stop_metric
    best_epoch: int | None = None                     # epoch (1-based) that reached it
    stop_reason: str = "completed"                    # "completed" | "early_stop" | "time_budget"
    best_path: Path | None = None                     # out/best.pt when written
    last_path: Path | None = None                     # out/last.pt when written


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (all devices). Call before ``build`` for reproducible weights."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _rng_state() -> dict:
    _, keys, pos, has_gauss, gauss = np.random.get_state()
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                      "has_gauss": int(has_gauss), "gauss": float(gauss)},
            "python": list(random.getstate()[1]), "python_version": random.getstate()[0]}


def _set_rng_state(s: dict) -> None:
    torch.set_rng_state(s["torch"])
    if s["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])
    n = s["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    random.setstate((s["python_version"], tuple(s["python"]), None))


def _amp_dtype(mode: str, device: torch.device) -> torch.dtype | None:
    if device.type != "cuda" or mode == "off":
        return None
    if mode == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if mode == "bf16" else torch.float16


def _autocast(dtype: torch.dtype | None, device: torch.device):
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()


def _minimise(metric: str) -> bool:
    return "nll" in metric or "loss" in metric


@torch.no_grad()
def _eval_sums(model: nn.Module, loader: DataLoader, device: torch.device, amp, info: D.DistInfo) -> torch.Tensor:
    """-> tensor [top1, top5, nll_sum, count] summed over all processes."""
    was = model.training
    model.eval()
    acc = torch.zeros(4, dtype=torch.float64, device=device)
    for x, y in loader:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with _autocast(amp, device):
            logits, _ = model(x)
        acc[:2] += topk_correct(logits, y, (1, 5))
        acc[2] += nll(logits, y)
        acc[3] += len(y)
    model.train(was)
    return D.all_reduce_sum(acc, info)


def _metrics(sums: torch.Tensor) -> dict:
    top1, top5, loss, n = sums.tolist()
    n = max(n, 1)
    return {"top1": top1 / n, "top5": top5 / n, "nll": loss / n, "count": int(sums[3].item())}


def evaluate(model: nn.Module, dataset: Dataset, batch_size: int = 256, device: str | torch.device = "auto",
             amp: str = "auto", num_workers: int = 0) -> dict:
    """Top-1 / top-5 accuracy and mean NLL (natural log) of ``model`` on ``dataset``.
    -> ``{"top1", "top5", "nll", "count"}``. Shards over processes when a process group is up."""
    dev = D.select_device(device) if isinstance(device, str) else torch.device(device)
    info = D.current(dev)
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=num_workers,
                        sampler=D.ShardSampler(len(dataset), info.rank, info.world_size),
                        generator=torch.Generator())
    model.to(info.device)
    return _metrics(_eval_sums(model, loader, info.device, _amp_dtype(amp, info.device), info))


def fit(model: nn.Module, train_set: Dataset, val_set: Dataset | None = None, config: TrainConfig | None = None,
        out: str | Path | None = None, meta: dict | None = None, resume: bool = False) -> History:
    """Train ``model`` in place (it ends with the last weights; ``best.pt`` holds the best).

    ``meta`` (JSON-able; put ``"spec"`` and app settings in it) is stored in every checkpoint.
    ``resume=True`` continues from ``out/last.pt`` when it exists: model, optimizer, scheduler, grad
    scaler, RNG states, epoch and step, early-stopping state; with the same config the result is the
    same, weight for weight, as an uninterrupted run (CPU)."""
    cfg = config or TrainConfig()
    info = D.setup(cfg.device)
    det_prev = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    if cfg.deterministic and info.device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        return _fit(model, train_set, val_set, cfg, Path(out) if out else None, dict(meta or {}), resume, info)
    finally:
        torch.use_deterministic_algorithms(det_prev[0], warn_only=det_prev[1])
        D.teardown(info)


def _fit(model, train_set, val_set, cfg: TrainConfig, out: Path | None, meta: dict, resume: bool,
         info: D.DistInfo) -> History:
    device, main = info.device, info.is_main
    if out is not None and main:
        out.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed)
    raw = model.to(device)
    opt = make_optimizer(raw, cfg)
    sampler = D.EpochSampler(len(train_set), info.rank, info.world_size, cfg.seed)
    gen = torch.Generator()
    pin = device.type == "cuda"
    loader = DataLoader(train_set, batch_size=cfg.batch_size, sampler=sampler, num_workers=cfg.num_workers,
                        pin_memory=pin, generator=gen)
    val_loader = None if val_set is None else DataLoader(
        val_set, batch_size=cfg.eval_batch_size or 2 * cfg.batch_size, num_workers=cfg.num_workers,
        sampler=D.ShardSampler(len(val_set), info.rank, info.world_size), pin_memory=pin, generator=torch.Generator())
    steps_per_epoch = math.ceil(sampler.per_rank / cfg.batch_size)
    sched = make_scheduler(opt, cfg, steps_per_epoch)
    amp = _amp_dtype(cfg.amp, device)
    scaler = torch.amp.GradScaler("cuda") if amp == torch.float16 else None
    hist = History()
    st = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "bad_epochs": 0}
    last_path = out / "last.pt" if out else None
    if resume and last_path is not None and last_path.exists():
        ck = load_checkpoint(last_path, map_location="cpu")  # RNG states must stay CPU tensors
        raw.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        if scaler is not None and ck.get("scaler"):
            scaler.load_state_dict(ck["scaler"])
        _set_rng_state(ck["rng"])
        gen.set_state(ck["loader_rng"])
        st.update(json.loads(ck["progress"]))
        h = json.loads(ck["history"])
        hist.epochs, hist.best_metric, hist.best_epoch = h["epochs"], h["best_metric"], h["best_epoch"]
        if out and (out / "best.pt").exists():
            hist.best_path = out / "best.pt"
        write(f"resuming from {last_path} at epoch {st['epoch'] + 1}, step {st['step_in_epoch']}", main)
    elif resume:
        write(f"resume: no {last_path}; starting fresh", main)

    net: nn.Module = raw
    if info.world_size > 1:
        net = nn.parallel.DistributedDataParallel(raw, device_ids=[device.index] if device.type == "cuda" else None)
    if cfg.compile == "on" or (cfg.compile == "auto" and device.type == "cuda"):
        net = torch.compile(net)
    kw = {"label_smoothing": cfg.label_smoothing} if cfg.label_smoothing > 0 else {}
    log = JsonlLog(out / "metrics.jsonl" if out is not None and main else None)
    bar_on = progress_enabled(cfg.progress, main)
    budget_s = cfg.time_budget_min * 60
    t0 = _clock()

    def save(path: Path, full: bool, epoch_done: int) -> None:
        state: dict[str, Any] = {"model": raw.state_dict(), "meta": meta, "epoch": epoch_done,
                                 "config": json.dumps(dataclasses.asdict(cfg))}
        if full:
            state.update(optimizer=opt.state_dict(), scheduler=sched.state_dict(),
                         scaler=scaler.state_dict() if scaler is not None else {}, rng=_rng_state(),
                         loader_rng=gen.get_state(), progress=json.dumps(st),
                         history=json.dumps({"epochs": hist.epochs, "best_metric": hist.best_metric,
                                             "best_epoch": hist.best_epoch}))
        save_checkpoint(path, state)

    while st["epoch"] < cfg.epochs:
        epoch = st["epoch"]
        skip = st["step_in_epoch"]
        sampler.set_epoch(epoch, skip * cfg.batch_size)
        gen.manual_seed(cfg.seed + 7919 * epoch + skip)
        net.train()
        sums = torch.zeros(3, dtype=torch.float64, device=device)  # loss * n, correct, n (n set at the end)
        bar = Progress(sampler.per_rank * info.world_size, f"epoch {epoch + 1}/{cfg.epochs}", bar_on,
                       skip * cfg.batch_size * info.world_size)
        t_epoch, n_seen, out_of_time = _clock(), 0, False
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with _autocast(amp, device):
                logits, loss = net(x, y, **kw)
            opt.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                if cfg.clip_grad > 0:
                    scaler.unscale_(opt)
                    nn.utils.clip_grad_norm_(raw.parameters(), cfg.clip_grad)
                scaler.step(opt)
                scaler.update()
            else:
                loss.backward()
                if cfg.clip_grad > 0:
                    nn.utils.clip_grad_norm_(raw.parameters(), cfg.clip_grad)
                opt.step()
            sched.step()
            with torch.no_grad():
                sums[0] += loss.detach() * len(y)
                sums[1] += (logits.detach().argmax(1) == y).sum()
            n_seen += len(y)
            st["step_in_epoch"] += 1
            st["global_step"] += 1
            bar.update(len(y) * info.world_size)
            at_log = st["global_step"] % cfg.log_every == 0
            if at_log:
                lv = loss.item()
                bar.postfix(loss=f"{lv:.4f}", lr=f"{sched.get_last_lr()[0]:.3g}")
                log.log({"type": "train", "epoch": epoch + 1, "step": st["global_step"], "loss": lv,
                         "lr": sched.get_last_lr()[0]})
            if budget_s > 0 and (info.world_size == 1 or at_log):
                if D.any_process(_clock() - t0 > budget_s, info):
                    out_of_time = True
                    break
        bar.close()
        partial = st["step_in_epoch"] < steps_per_epoch
        if not partial:
            st["epoch"], st["step_in_epoch"] = epoch + 1, 0
        sums[2] = n_seen
        D.all_reduce_sum(sums, info)
        train_loss, train_correct, train_n = sums.tolist()
        dt = max(_clock() - t_epoch, 1e-9)
        rec = {"type": "epoch", "epoch": epoch + 1, "partial": partial, "step": st["global_step"],
               "train_loss": train_loss / max(train_n, 1), "train_top1": train_correct / max(train_n, 1),
               "lr": sched.get_last_lr()[0], "world_size": info.world_size,
               "samples_per_s": n_seen * info.world_size / dt, "time_s": dt}
        if val_loader is not None:
            vm = _metrics(_eval_sums(raw, val_loader, device, amp, info))
            rec.update({f"val_{k}": v for k, v in vm.items()})
        hist.epochs.append(rec)
        log.log(rec)
        metric = rec.get(cfg.early_stop_metric)
        if metric is not None:
            better = hist.best_metric is None or (
                metric < hist.best_metric if _minimise(cfg.early_stop_metric) else metric > hist.best_metric)
            if better:
                hist.best_metric, hist.best_epoch = metric, epoch + 1
                st["bad_epochs"] = 0
                if out is not None and main:
                    save(out / "best.pt", False, epoch + 1)
                    hist.best_path = out / "best.pt"
            elif not partial:
                st["bad_epochs"] += 1
        write(_epoch_line(rec), main and cfg.progress != "off")
        if last_path is not None and main:
            save(last_path, True, st["epoch"])
            hist.last_path = last_path
        if out_of_time:
            hist.stop_reason = "time_budget"
            break
        if cfg.early_stop_patience and st["bad_epochs"] >= cfg.early_stop_patience:
            hist.stop_reason = "early_stop"
            break
    return hist


def _epoch_line(r: dict) -> str:
    s = f"epoch {r['epoch']}{' (partial)' if r['partial'] else ''}: train loss {r['train_loss']:.4f}"
    if "val_top1" in r:
        s += f", val top1 {r['val_top1']:.4f} top5 {r['val_top5']:.4f} nll {r['val_nll']:.4f}"
    return s + f", {r['samples_per_s']:.0f} samples/s"
