"""Go data path speed, side by side in one process (one core), on the same KGS games:

  ours    : go_cnn parse + replay (rules-checked) + encode with the rich `alphago` set (31 planes)
  sgfmill : sgfmill parse + replay (sgf_moves + Board.play), no encoding
  dlgo 0.2: dlgo.gosgf parse + goboard_fast replay + its `simple` 11-plane encoder (as its
            processor.py does it: encode, then apply_move, for each move)

Prints positions/s and the ratios. Needs ../shared/data/go/kgs-dev; dlgo needs
`pip install --no-deps dlgo==0.2 six future` (skipped with a note if absent).

    python benchmarks/bench_go_data.py [--games 100] [--repeat 3]

ours and sgfmill run interleaved (best of --repeat rounds); dlgo once (it is slow).

The full prepare run is timed separately (see docs/go_data.md):
    /usr/bin/time -v go-cnn prepare ../shared/data/go/kgs-train --out /tmp/kgs-train-prep --workers 2
"""

from __future__ import annotations

import argparse
import tarfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "go" / "kgs-dev"


def load_games(n: int) -> list[bytes]:
    out = []
    for tar in sorted(DATA.glob("*.tar.gz")):
        with tarfile.open(tar) as t:
            for m in t:
                if m.isfile() and m.name.endswith(".sgf"):
                    out.append(t.extractfile(m).read())
                    if len(out) >= n:
                        return out
    return out


def run_ours(datas: list[bytes]) -> int:
    from go_cnn.board import replay_game
    from go_cnn.features import get_feature_set
    from go_cnn.sgf import parse_sgf
    fs = get_feature_set("alphago")
    n = 0
    for d in datas:
        for g in parse_sgf(d):
            r = replay_game(g)
            planes = fs.encode({"stones": r["stones"], "to_move": r["to_move"], "ko": r["ko"],
                                "last": r["last"]}, g.size)
            n += planes.shape[0]
    return n


def run_sgfmill(datas: list[bytes]) -> int:
    from sgfmill import sgf, sgf_moves
    n = 0
    for d in datas:
        game = sgf.Sgf_game.from_bytes(d)
        board, plays = sgf_moves.get_setup_and_moves(game)
        for colour, move in plays:
            if move is None:
                continue
            board.play(move[0], move[1], colour)
            n += 1
    return n


def run_dlgo(datas: list[bytes]) -> int:
    from dlgo.encoders.simple import SimpleEncoder
    from dlgo.goboard_fast import Board, GameState, Move
    from dlgo.gosgf import Sgf_game
    from dlgo.gotypes import Player, Point
    enc = SimpleEncoder((19, 19))
    n = 0
    for d in datas:
        sgf = Sgf_game.from_string(d)
        state, first_done = GameState.new_game(19), False
        if sgf.get_handicap():  # as dlgo.data.processor.get_handicap
            board, move = Board(19, 19), None
            for setup in sgf.get_root().get_setup_stones():
                for move in setup:
                    board.place_stone(Player.black, Point(move[0] + 1, move[1] + 1))
            state, first_done = GameState(board, Player.white, None, move), True
        for item in sgf.main_sequence_iter():
            colour, mt = item.get_move()
            if colour is None:
                continue
            if mt is None:
                state = state.apply_move(Move.pass_turn())
                continue
            point = Point(mt[0] + 1, mt[1] + 1)
            if first_done:
                enc.encode(state)
                enc.encode_point(point)
                n += 1
            state = state.apply_move(Move.play(point))
            first_done = True
    return n


def timed(fns, datas, repeat):
    """Best wall time of each fn over `repeat` rounds, the fns interleaved within a round so that
    load from other jobs on a shared machine hits them alike. Returns [(positions, seconds)]."""
    best, n = [float("inf")] * len(fns), [0] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t = time.perf_counter()
            n[i] = fn(datas)
            best[i] = min(best[i], time.perf_counter() - t)
    return list(zip(n, best))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--games", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not DATA.exists():
        raise SystemExit(f"skipped: {DATA} not found")
    datas = load_games(args.games)
    run_ours(datas[:2])  # load the compiled numba cache outside the timing
    rows = {}
    results = timed([run_ours, run_sgfmill], datas, args.repeat)
    try:
        results.append(timed([run_dlgo], datas, 1)[0])
    except ImportError as e:
        print(f"dlgo 0.2: not installed ({e})")
    names = ("ours (parse+replay+alphago 31 planes)", "sgfmill (parse+replay)",
             "dlgo 0.2 (parse+replay+simple 11 planes)")
    for name, (n, s) in zip(names, results):
        rows[name] = n / s
        print(f"{name:45s} {n:7d} positions {s:7.2f} s {n / s:10,.0f} positions/s")
    ours = rows.get("ours (parse+replay+alphago 31 planes)")
    for name, rate in rows.items():
        if ours and rate != ours:
            print(f"ours / {name.split(' (')[0]}: {ours / rate:.2f}x")


if __name__ == "__main__":
    main()
