"""Training-engine overhead: samples/s of a small CNN trained through ``shared.fit`` vs a bare
hand-written PyTorch loop on the same model, data (in memory), batch size and optimizer.
Runs alternate in one process (order swapped each round); the medians and their ratio are printed.

    python benchmarks/bench_engine.py [--rounds 5] [--samples 4096] [--batch 64] [--device auto] [--threads N]

Goal: engine / bare >= 0.95.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared import Conv, Dense, Flatten, NetSpec, Pool, ReLU, TrainConfig, build, fit, seed_everything  # noqa: E402
from shared.distributed import select_device  # noqa: E402

SPEC = NetSpec((1, 28, 28), (Conv(16, 3, padding="same"), ReLU(), Pool("max", 2), Conv(32, 3, padding="same"), ReLU(),
                             Pool("max", 2), Flatten(), Dense(64), ReLU()), num_classes=10)


def data(n: int) -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    return TensorDataset(torch.randn(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g))


def bare(ds: TensorDataset, batch: int, epochs: int, device: torch.device) -> float:
    """The loop everyone writes first. -> samples/s."""
    seed_everything(0)
    model = build(SPEC).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loader = DataLoader(ds, batch_size=batch, shuffle=True, pin_memory=device.type == "cuda")
    _sync(device)
    t = time.perf_counter()
    for _ in range(epochs):
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            _, loss = model(x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    _sync(device)
    return epochs * len(ds) / (time.perf_counter() - t)


def engine(ds: TensorDataset, batch: int, epochs: int, device: torch.device) -> float:
    """The same training through ``fit`` (no validation set, no output dir). -> samples/s."""
    seed_everything(0)
    model = build(SPEC)
    cfg = TrainConfig(epochs=epochs, batch_size=batch, optimizer="sgd", lr=0.01, momentum=0.9, schedule="constant",
                      device=str(device), amp="off", compile="off", progress="off")
    _sync(device)
    t = time.perf_counter()
    fit(model, ds, None, cfg)
    _sync(device)
    return epochs * len(ds) / (time.perf_counter() - t)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--samples", type=int, default=4096)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = select_device(args.device)
    ds = data(args.samples)
    bare(ds, args.batch, 1, device)  # warm-up (kernel selection, allocator)
    engine(ds, args.batch, 1, device)
    b, e = [], []
    for r in range(args.rounds):
        runs = [("bare", bare, b), ("engine", engine, e)]
        for _name, fn, acc in runs if r % 2 == 0 else runs[::-1]:
            acc.append(fn(ds, args.batch, args.epochs, device))
        print(f"round {r + 1}: bare {b[-1]:9.0f} samples/s   engine {e[-1]:9.0f} samples/s", flush=True)
    mb, me = statistics.median(b), statistics.median(e)
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"{args.samples} samples x {args.epochs} epoch(s), batch {args.batch}")
    print(f"median bare   {mb:9.0f} samples/s")
    print(f"median engine {me:9.0f} samples/s")
    print(f"engine / bare = {me / mb:.3f}x  (goal >= 0.95x)")


if __name__ == "__main__":
    main()
