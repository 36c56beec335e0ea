"""`go-cnn train`: prepared data -> a policy net -> the shared training engine -> one model file.

Thin on purpose: it picks the samples, builds the spec, sizes the schedule and calls `shared.fit`.

Epochs on a big set. A "epoch" here is `epoch_size` positions drawn at random (with replacement,
random symmetry each) from the training split, so validation, best-model keeping and checkpoints
come every few minutes even on 6.3M positions. Validation uses a fixed subset of `val_positions`
positions of the validation split (the same ones every epoch).

Schedule under a time budget. The engine's cosine schedule is defined in steps, so with
`time_budget_min` set and no explicit `epochs`, the number of epochs is ESTIMATED: a short timing
run measures training and validation positions/s on this machine, and the epochs (and, to make them
fit, the epoch size) are chosen so that the cosine reaches its end at ~95% of the budget. The budget
stays a hard stop (the engine stops cleanly and keeps the best model) if the machine gets slower.

Files: `OUT` (the best model: weights + meta with spec, feature set, preset, training summary),
`OUT.run/` (the engine's last.pt/best.pt/metrics.jsonl, for --resume), and next to OUT:
`<stem>.metrics.jsonl` and `<stem>.curve.png`.
"""
from __future__ import annotations

import copy
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from go_cnn.dataset import GoShardDataset
from go_cnn.model import DEFAULT_PRESET, make_spec
from shared.checkpoint import load_checkpoint, load_model, save_checkpoint
from shared import distributed as D
from shared.network import build, spec_to_dict
from shared.summary import summary
from shared.train import TrainConfig, fit


@dataclass
class GoTrainConfig:
    preset: str | None = DEFAULT_PRESET   # model preset (go_cnn.model.PRESETS); None -> `layers` options
    layers: dict = field(default_factory=dict)  # PolicyConfig fields when preset is None
    epoch_size: int = 200_000             # positions per epoch (capped at the training split's size)
    val_positions: int = 20_000           # fixed validation subset size (0 = the whole split)
    channels_last: bool = True            # NHWC memory format (faster convolutions on CPU/GPU)
    cpu_amp: str = "auto"                 # CPU autocast: "auto" (bf16 where the CPU has it) | "bf16" | "off"
    threads: int = 0                      # torch CPU threads; 0 = auto (with a time budget on CPU: the faster
                                          # of torch's default and 1, measured; else torch's default)
    train: TrainConfig = field(default_factory=TrainConfig)  # engine settings (lr, batch, budget, ...)
    epochs_given: bool = False            # True: keep train.epochs even with a time budget
    init: str | None = None               # model file to start from (warm restart / fine-tune): its spec and
                                          # weights replace preset/layers; a fresh schedule and optimizer


class EpochSample(Dataset):
    """`size` random positions per epoch from `base` (a GoShardDataset with augment on): the index
    is ignored, each batch is a fresh draw with replacement from the base dataset's RNG."""

    def __init__(self, base: GoShardDataset, size: int):
        self.base, self.size = base, size

    def __len__(self) -> int:
        return self.size

    def __getitems__(self, indices):
        idx = self.base.rng.integers(0, len(self.base), len(indices))
        planes, moves = self.base.batch(idx)
        return list(zip(planes.unbind(0), moves.unbind(0)))

    def __getitem__(self, i: int):
        return self.__getitems__([i])[0]


class FixedSubset(Dataset):
    """The first `n` positions of a seeded permutation of `base`, batched through base.batch."""

    def __init__(self, base: GoShardDataset, n: int, seed: int = 0):
        self.base = base
        perm = np.random.default_rng(seed).permutation(len(base))
        self.idx = np.sort(perm[:n] if n > 0 else perm)

    def __len__(self) -> int:
        return len(self.idx)

    def __getitems__(self, indices):
        planes, moves = self.base.batch(self.idx[np.asarray(indices, np.int64)])
        return list(zip(planes.unbind(0), moves.unbind(0)))

    def __getitem__(self, i: int):
        return self.__getitems__([i])[0]


class CpuFast(torch.nn.Module):
    """Wraps a network for CPU speed: NHWC memory layout (oneDNN's fast convolutions) and, with
    `bf16`, autocast to bfloat16 (CPUs with AVX512-BF16/AMX; the loss stays float32). The wrapped
    net's weights stay float32 and are what the model file stores."""

    def __init__(self, net: torch.nn.Module, bf16: bool = False):
        super().__init__()
        self.net = net.to(memory_format=torch.channels_last)
        self.bf16 = bf16

    def forward(self, x, targets=None, **kw):
        if x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        if self.bf16 and x.device.type == "cpu":
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits, loss = self.net(x, targets, **kw)
            return logits.float(), loss
        return self.net(x, targets, **kw)


def cpu_bf16_supported() -> bool:
    """True when oneDNN can run bfloat16 convolutions fast on this CPU (AVX512-BF16 or AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def model_paths(out: Path) -> dict:
    """Where `train` writes: the model, its run folder, the metrics log and the curve."""
    stem = out.name[: -len(out.suffix)] if out.suffix else out.name
    return {"model": out, "run": out.parent / f"{out.name}.run", "metrics": out.parent / f"{stem}.metrics.jsonl",
            "curve": out.parent / f"{stem}.curve.png"}


def _measure(net, train: Dataset, val: Dataset, cfg: TrainConfig, device, seconds: float = 12.0) -> tuple[float, float]:
    """Positions/s of training steps and of validation on a throwaway copy of the net."""
    m = copy.deepcopy(net).to(device).train()
    opt = torch.optim.SGD(m.parameters(), lr=1e-6, momentum=0.9)
    bs, n, t0, steps = cfg.batch_size, 0, None, 0
    while True:
        x, y = _collate(train.__getitems__(list(range(bs))), device)
        _, loss = m(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        steps += 1
        if steps == 2:  # the first steps warm up allocators and kernels
            t0 = time.monotonic()
        elif steps > 2:
            n += bs
            if time.monotonic() - t0 > seconds or steps >= 400:
                break
    train_rate = n / (time.monotonic() - t0)
    m.eval()
    vb = cfg.eval_batch_size or 2 * bs
    with torch.no_grad():
        t1 = time.monotonic()
        x, y = _collate(val.__getitems__(list(range(min(vb, len(val))))), device)
        m(x)
        val_rate = len(y) / max(time.monotonic() - t1, 1e-6)
    return train_rate, val_rate


def _collate(items, device):
    x = torch.stack([a for a, _ in items]).to(device)
    y = torch.stack([b for _, b in items]).to(device)
    return x, y


def plan_epochs(budget_s: float, train_rate: float, val_rate: float, n_val: int, epoch_size: int,
                fraction: float = 0.95, min_epochs: int = 8) -> tuple[int, int]:
    """(epochs, epoch_size) so that epochs * (epoch_size / train_rate + n_val / val_rate) is about
    `fraction` of `budget_s`: epochs of about `epoch_size` positions, but at least `min_epochs`
    (smaller epochs) so the budget always gets several validations and best-model checks."""
    usable = budget_s * fraction
    per_val = n_val / max(val_rate, 1e-9)
    epoch_s = epoch_size / max(train_rate, 1e-9) + per_val
    epochs = max(1, int(usable // epoch_s))
    if epochs < min_epochs:
        epochs = max(1, min(min_epochs, int(usable // (2 * per_val + 1e-9))))  # validation <= half the time
    size = int((usable / epochs - per_val) * train_rate)
    return epochs, max(size, 1)


def train(data: str | Path, out: str | Path, cfg: GoTrainConfig, resume: bool = False, log=print) -> dict:
    """Train on a prepared dataset folder; write the model file OUT. -> a summary dict."""
    paths = model_paths(Path(out))
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    tc = cfg.train
    info = D.setup(tc.device)  # joins the torchrun process group, if any (fit reuses it)
    try:
        return _train(data, paths, cfg, resume, log, info)
    finally:
        D.teardown(info)


def _train(data, paths: dict, cfg: GoTrainConfig, resume: bool, log, info: D.DistInfo) -> dict:
    tc = cfg.train
    if not info.is_main:
        log = _quiet
    train_base = GoShardDataset(data, "train", augment=True, seed=tc.seed + 1000 * info.rank)  # own draws per rank
    val_base = GoShardDataset(data, "val", augment=False)
    if len(train_base) == 0:
        raise ValueError(f"{data}: the training split has no positions")
    size = train_base.board_size
    fs = train_base.feature_set
    torch.manual_seed(tc.seed)
    if cfg.init:
        net, spec, preset = _init_from(cfg.init, fs, size)
        log(f"init: weights of {cfg.init} ({preset})")
    else:
        preset = cfg.preset or "custom"
        spec = make_spec(cfg.preset, train_base.num_planes, size, **({} if cfg.preset else cfg.layers))
        net = build(spec)
    device = info.device
    bf16 = device.type == "cpu" and (cfg.cpu_amp == "bf16" or (cfg.cpu_amp == "auto" and cpu_bf16_supported()))
    model = CpuFast(net, bf16) if (cfg.channels_last or bf16) else net
    epoch_size = min(cfg.epoch_size, len(train_base)) if cfg.epoch_size > 0 else len(train_base)
    val_set = FixedSubset(val_base, min(cfg.val_positions, len(val_base)) if cfg.val_positions else 0, tc.seed) \
        if len(val_base) else None
    s = summary(spec)
    log(f"model: {preset} ({s.total_params:,} params, {s.total_macs:,} MACs/position), "
        f"features {fs} ({train_base.num_planes} planes), device {device}{' (bf16 autocast)' if bf16 else ''}")
    log(f"data: {len(train_base):,} train positions, {len(val_base):,} val (using {len(val_set or [])})")
    run_cfg = copy.copy(tc)
    budget_s = tc.time_budget_min * 60
    last = paths["run"] / "last.pt"
    if resume and last.exists():  # keep the interrupted run's plan, so its schedule continues unchanged
        ck = load_checkpoint(last)
        saved = json.loads(ck["config"])
        run_cfg.epochs, run_cfg.time_budget_min = saved["epochs"], saved["time_budget_min"]
        epoch_size = int(ck["meta"].get("epoch_size", epoch_size))
        log(f"resume: {run_cfg.epochs} epochs of {epoch_size:,} positions as planned by the first run")
    elif budget_s > 0 and not cfg.epochs_given:
        t0 = time.monotonic()
        probe = (model, EpochSample(train_base, tc.batch_size), val_set or FixedSubset(train_base, 256), tc, device)
        secs = min(12.0, 0.02 * budget_s)
        tr, vr = _measure(*probe, seconds=secs)
        n_threads = torch.get_num_threads()
        if cfg.threads == 0 and device.type == "cpu" and n_threads > 1:
            # auto threads: on a busy machine one thread can beat several (no OpenMP spin-waiting)
            torch.set_num_threads(1)
            tr1, vr1 = _measure(*probe, seconds=secs)
            log(f"threads: {n_threads} -> {tr:.0f}, 1 -> {tr1:.0f} train positions/s; using "
                f"{1 if tr1 > tr else n_threads}")
            if tr1 > tr:
                tr, vr = tr1, vr1
            else:
                torch.set_num_threads(n_threads)
        spent = time.monotonic() - t0
        n_val = len(val_set) if val_set is not None else 0
        w = info.world_size  # each process trains and validates its share of every epoch
        run_cfg.epochs, epoch_size = plan_epochs(budget_s - spent, tr * w, vr * w, n_val, epoch_size)
        epoch_size = max(epoch_size, tc.batch_size)
        run_cfg.time_budget_min = (budget_s - spent) / 60
        if info.world_size > 1:  # every rank must run rank 0's plan
            plan = [run_cfg.epochs, epoch_size, run_cfg.time_budget_min]
            torch.distributed.broadcast_object_list(plan, src=0)
            run_cfg.epochs, epoch_size, run_cfg.time_budget_min = plan
        log(f"time budget {tc.time_budget_min:g} min: measured {tr:.0f} train / {vr:.0f} val positions/s "
            f"-> {run_cfg.epochs} epochs of {epoch_size:,} positions (cosine spans ~95% of the budget)")
    meta = {"app": "go", "spec": spec_to_dict(spec), "feature_set": fs, "board_size": size,
            "preset": preset, "params": s.total_params, "macs": s.total_macs,
            "data": str(Path(data).resolve()), "epoch_size": epoch_size, "cpu_bf16": bf16}
    if cfg.init:
        meta["init"] = str(Path(cfg.init).resolve())
    t_start = time.monotonic()
    hist = fit(model, EpochSample(train_base, epoch_size), val_set, run_cfg, out=paths["run"], meta=meta,
               resume=resume)
    wall = time.monotonic() - t_start
    if not info.is_main:
        return {}
    if hist.best_path is None and hist.last_path is None:
        raise RuntimeError("training produced no checkpoint")
    src = hist.best_path or hist.last_path
    seen = sum(round(r["samples_per_s"] * r["time_s"]) for r in hist.epochs)  # all ranks
    best = next((r for r in hist.epochs if r["epoch"] == hist.best_epoch), hist.epochs[-1])
    info = {"positions_seen": seen, "train_time_s": round(wall, 1), "stop_reason": hist.stop_reason,
            "best_epoch": hist.best_epoch, "epochs_run": len(hist.epochs),
            "val_top1": best.get("val_top1"), "val_top5": best.get("val_top5"), "val_nll": best.get("val_nll"),
            "hardware": _hardware(device)}
    _write_model(src, paths["model"], info, model is not net)
    if (paths["run"] / "metrics.jsonl").exists():
        shutil.copyfile(paths["run"] / "metrics.jsonl", paths["metrics"])
    from go_cnn.plots import learning_curve
    learning_curve(paths["metrics"], paths["curve"], title=f"{preset} on {Path(data).name}")
    return dict(info, model=str(paths["model"]), curve=str(paths["curve"]), metrics=str(paths["metrics"]),
                preset=meta["preset"], params=s.total_params, macs=s.total_macs, feature_set=fs)


def _init_from(path: str | Path, feature_set: str, size: int):
    """A Go model file -> (net, spec, preset) to continue training; refuses a model made for other
    input planes or another board size (ValueError naming the file)."""
    net, meta = load_model(path)
    if meta.get("app") != "go":
        raise ValueError(f"{path}: not a Go model (app {meta.get('app')!r}); --init needs a go-cnn model file")
    if meta.get("feature_set") != feature_set or int(meta.get("board_size", 0)) != size:
        raise ValueError(f"{path}: made for features {meta.get('feature_set')!r} on {meta.get('board_size')}x"
                         f"{meta.get('board_size')}, but the data has {feature_set!r} on {size}x{size}")
    return net, net.spec, meta.get("preset", "custom")


def _quiet(*_a, **_k) -> None:
    pass


def _write_model(src: Path, dst: Path, info: dict, wrapped: bool) -> None:
    """The engine's checkpoint -> a slim model file (weights of the bare net + meta with `training`)."""
    ck = load_checkpoint(src)
    state = ck["model"]
    if wrapped:  # CpuFast keeps the net under "net."
        state = {k[len("net."):]: v.contiguous() for k, v in state.items() if k.startswith("net.")}
    meta = dict(ck["meta"], training=info)
    save_checkpoint(dst, {"model": state, "meta": meta})


def _hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{os.cpu_count()}-core CPU, {torch.get_num_threads()} torch threads"


def load_metrics(path: str | Path) -> list[dict]:
    """The "epoch" records of a metrics.jsonl file."""
    recs = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    return [r for r in recs if r.get("type") == "epoch"]
