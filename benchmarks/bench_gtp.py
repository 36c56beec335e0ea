"""genmove latency of the GTP engine on CPU, in process and over a real pipe, beside GNU Go's.

    python benchmarks/bench_gtp.py [--model FILE | --preset cpu] [--moves 200] [--threads 1]
                                   [--symmetries 8] [--no-tactics]
                                   [--gnugo /usr/games/gnugo --gnugo-level 10 --gnugo-moves 20]

Without --model, a randomly initialised network of the default preset (`cpu`, alphago planes) is used:
latency does not depend on the weights. The engine plays both colours (`genmove b`, `genmove w`, ...)
for --moves moves; each answer is timed (1) in process (`Engine.handle`: features + network + move
choice) and (2) over a pipe to a spawned `go-cnn gtp` (what a GUI or the referee sees). GNU Go, the
usual opponent, is timed the same way over a pipe for reference. Goal: median genmove <= 50 ms.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from go_cnn.features import get_feature_set  # noqa: E402
from go_cnn.gtp import Engine, EngineConfig  # noqa: E402
from go_cnn.gtp_client import GtpProcess  # noqa: E402
from go_cnn.model import DEFAULT_PRESET, make_spec  # noqa: E402
from go_cnn.policy import Policy  # noqa: E402
from shared import build, save_checkpoint, spec_to_dict  # noqa: E402


def stats(ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=10)
    return f"median {statistics.median(ms):7.2f} ms   p90 {q[-1]:7.2f} ms   mean {statistics.fmean(ms):7.2f} ms   n={len(ms)}"


def in_process(policy: Policy, moves: int, config: EngineConfig) -> list[float]:
    engine = Engine(policy, config)
    engine.handle("genmove b")  # warm-up (kernels compiled, first forward pass)
    engine.handle("clear_board")
    out = []
    for i in range(moves):
        t0 = time.perf_counter()
        r = engine.handle(f"genmove {'bw'[i % 2]}")
        out.append(1000 * (time.perf_counter() - t0))
        if "pass" in r:
            engine.handle("clear_board")
    return out


def over_pipe(argv: list[str], moves: int, setup: tuple[str, ...] = ()) -> list[float]:
    out = []
    with GtpProcess(argv, timeout=600) as p:
        for c in ("boardsize 19", "clear_board", "komi 7.5", *setup):
            p.send(c)
        p.send("genmove b")  # warm-up
        p.send("clear_board")
        for i in range(moves):
            t0 = time.perf_counter()
            move = p.send(f"genmove {'bw'[i % 2]}")
            out.append(1000 * (time.perf_counter() - t0))
            if move.lower() in ("pass", "resign"):
                p.send("clear_board")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="model file from `go-cnn train` (default: random weights)")
    ap.add_argument("--preset", default=DEFAULT_PRESET)
    ap.add_argument("--features", default="alphago")
    ap.add_argument("--moves", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--symmetries", type=int, default=1, help="engine --symmetries (1..8)")
    ap.add_argument("--no-tactics", action="store_true", help="engine --no-tactics (policy alone)")
    ap.add_argument("--gnugo", default="/usr/games/gnugo")
    ap.add_argument("--gnugo-level", type=int, default=10)
    ap.add_argument("--gnugo-moves", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if model is None:
            torch.manual_seed(0)
            spec = make_spec(args.preset, get_feature_set(args.features).num_planes, 19)
            model = str(Path(tmp) / "model.pt")
            save_checkpoint(model, {"model": build(spec).state_dict(),
                                    "meta": {"spec": spec_to_dict(spec), "app": "go", "board_size": 19,
                                             "feature_set": args.features, "preset": args.preset}})
        policy = Policy.load(model, device="cpu")
        what = policy.meta.get("preset", "custom")
        print(f"model {args.model or '(random weights)'}: preset {what}, features {policy.feature_set}, "
              f"torch threads {args.threads}, symmetries {args.symmetries}, "
              f"tactics {'off' if args.no_tactics else 'on'}, {args.moves} genmoves")
        cfg = EngineConfig(symmetries=args.symmetries, tactics=not args.no_tactics)
        ours = in_process(policy, args.moves, cfg)
        print(f"engine in process   {stats(ours)}")
        argv = [sys.executable, "-m", "go_cnn", "gtp", model, "--threads", str(args.threads),
                "--symmetries", str(args.symmetries)] + (["--no-tactics"] if args.no_tactics else [])
        piped = over_pipe(argv, args.moves)
        print(f"engine over a pipe  {stats(piped)}")
        goal = statistics.median(piped)
        print(f"goal median <= 50 ms: {'met' if goal <= 50 else 'NOT met'} ({goal:.2f} ms)")
        if Path(args.gnugo).exists() and args.gnugo_moves > 0:
            gnu = over_pipe([args.gnugo, "--mode", "gtp", "--level", str(args.gnugo_level)], args.gnugo_moves)
            print(f"GNU Go level {args.gnugo_level:<2}     {stats(gnu)}")
            print(f"ratio GNU Go / engine (median, pipe): {statistics.median(gnu) / goal:.1f}x")


if __name__ == "__main__":
    main()
