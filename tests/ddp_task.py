"""The slides' synthetic task -- where does a vertical edge sit in a 7x7 image? -- trained by
``shared.fit``. Imported by the tests for its dataset/spec, and run as a script by
tests/test_distributed.py, both plainly and under ``torchrun --nproc_per_node 2``:

    python tests/ddp_task.py OUT_DIR [--epochs 4]

Rank 0 writes OUT_DIR/result.json with the final validation metrics.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from torch.utils.data import TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from shared import Conv, Flatten, NetSpec, ReLU, TrainConfig, build, fit, seed_everything, spec_to_dict  # noqa: E402


def edge_dataset(n: int, seed: int, noise: float = 0.3) -> TensorDataset:
    """(x (n, 1, 7, 7), y (n,)): columns 0..y are bright, the rest dark, plus Gaussian noise;
    class y in 0..5 = the edge lies between column y and y + 1."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 6, (n,), generator=g)
    row = (torch.arange(7)[None, :] <= y[:, None]).float()          # (n, 7)
    x = row[:, None, None, :].expand(n, 1, 7, 7).clone()              # (n, 1, 7, 7)
    x += noise * torch.randn(x.shape, generator=g)
    return TensorDataset(x, y)


def edge_spec() -> NetSpec:
    return NetSpec((1, 7, 7), (Conv(8, (1, 2)), ReLU(), Flatten()), num_classes=6)


def edge_config(**kw) -> TrainConfig:
    base = dict(epochs=4, batch_size=32, optimizer="adamw", lr=0.01, schedule="cosine", warmup=0.2,
                progress="off", log_every=10)
    base.update(kw)
    return TrainConfig(**base)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--epochs", type=int, default=4)
    args = ap.parse_args()
    torch.set_num_threads(1)
    seed_everything(0)
    model = build(edge_spec())
    hist = fit(model, edge_dataset(1200, 1), edge_dataset(600, 2), edge_config(epochs=args.epochs),
               out=args.out, meta={"spec": spec_to_dict(edge_spec()), "app": "ddp-test"})
    last = hist.epochs[-1]
    if hist.last_path is not None:  # rank 0 only
        Path(args.out, "result.json").write_text(json.dumps(last))


if __name__ == "__main__":
    main()
