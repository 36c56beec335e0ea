"""Go training and prediction speed.

1. Trainer vs bare loop: positions/s of `go-cnn train`'s path (EpochSample of a prepared set ->
   shared.fit, no validation) vs a hand-written PyTorch loop doing the same work (the same random
   batches encoded by GoShardDataset.batch, the same model wrapper, SGD). Rounds alternate in one
   process (order swapped each round); medians and their ratio are printed. Goal: >= 0.95x.
2. Predict latency: one position through Policy.probabilities (features + legal mask + net +
   masked softmax) for the default preset on CPU, median of --calls calls. Goal: <= 10 ms.

    python benchmarks/bench_go_train.py --data /tmp/kgs-train-prep [--preset cpu] [--rounds 3]
        [--positions 3840] [--batch 128] [--threads 0] [--calls 200]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from go_cnn.dataset import GoShardDataset
from go_cnn.model import make_spec
from go_cnn.policy import Policy
from go_cnn.train import CpuFast, EpochSample, cpu_bf16_supported
from shared import TrainConfig, build, fit, seed_everything


def model(preset: str, planes: int, bf16: bool) -> torch.nn.Module:
    seed_everything(0)
    return CpuFast(build(make_spec(preset, planes)), bf16)


def bare(ds: GoShardDataset, preset: str, n: int, batch: int, bf16: bool) -> float:
    m = model(preset, ds.num_planes, bf16)
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    t = time.perf_counter()
    for _ in range(n // batch):
        x, y = ds.batch(ds.rng.integers(0, len(ds), batch))
        _, loss = m(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return (n // batch) * batch / (time.perf_counter() - t)


def trainer(ds: GoShardDataset, preset: str, n: int, batch: int, bf16: bool) -> float:
    m = model(preset, ds.num_planes, bf16)
    cfg = TrainConfig(epochs=1, batch_size=batch, lr=0.01, nesterov=True, schedule="cosine", progress="off",
                      device="cpu")
    t = time.perf_counter()
    fit(m, EpochSample(ds, (n // batch) * batch), None, cfg)
    return (n // batch) * batch / (time.perf_counter() - t)


def predict_latency(preset: str, calls: int) -> dict:
    seed_everything(0)
    pol = Policy.from_network(build(make_spec(preset, 31)), "alphago")
    rng = np.random.default_rng(0)
    stones = np.zeros((1, 361), np.int8)
    stones[0, rng.permutation(361)[:60]] = rng.integers(1, 3, 60)
    pos = {"stones": stones, "to_move": np.array([1], np.int8), "ko": np.array([-1]),
           "last": np.full((1, 8), -1, np.int16)}
    for _ in range(10):
        pol.probabilities(pos)
    ts = []
    for _ in range(calls):
        t = time.perf_counter()
        pol.probabilities(pos)
        ts.append(time.perf_counter() - t)
    return {"median_ms": 1e3 * statistics.median(ts), "p90_ms": 1e3 * float(np.percentile(ts, 90))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="/tmp/kgs-train-prep", help="a folder from `go-cnn prepare`")
    ap.add_argument("--preset", default="cpu")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--positions", type=int, default=3840)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--skip-train", action="store_true")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, preset {a.preset}")
    lat = predict_latency(a.preset, a.calls)
    print(f"predict one position (CPU): median {lat['median_ms']:.2f} ms, p90 {lat['p90_ms']:.2f} ms (goal <= 10 ms)")
    if a.skip_train:
        return
    if not (Path(a.data) / "manifest.json").exists():
        sys.exit(f"{a.data}: no prepared dataset (run `go-cnn prepare SOURCES --out {a.data}`)")
    ds = GoShardDataset(a.data, "train", augment=True, seed=0)
    bf16 = cpu_bf16_supported()
    res = {"bare": [], "trainer": []}
    bare(ds, a.preset, 2 * a.batch, a.batch, bf16)  # warm-up: allocator, oneDNN kernels, numba
    for r in range(a.rounds):
        order = ("bare", "trainer") if r % 2 == 0 else ("trainer", "bare")
        for name in order:
            fn = bare if name == "bare" else trainer
            res[name].append(fn(ds, a.preset, a.positions, a.batch, bf16))
        print(f"round {r + 1}: bare {res['bare'][-1]:.0f}, trainer {res['trainer'][-1]:.0f} positions/s")
    b, t = statistics.median(res["bare"]), statistics.median(res["trainer"])
    print(f"train (bf16 autocast {'on' if bf16 else 'off'}, channels_last): bare {b:.0f} positions/s, "
          f"trainer {t:.0f} positions/s, trainer/bare = {t / b:.3f} (goal >= 0.95)")


if __name__ == "__main__":
    main()
