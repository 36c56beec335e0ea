"""GNU Go self-play: the games the package ships as its embedded default (`go-cnn selfplay`).

One GNU Go process plays both colours (`genmove black` / `genmove white` in turn). For variety
between games, each game gets its own random seed and its first `opening_moves` moves are drawn at
random from GNU Go's own `top_moves` list (weighted by GNU Go's move values), so every game is a
GNU Go game but no two start alike. Games end on two passes, a resignation or `max_moves`; the
result is GNU Go's `final_score` (area scoring, komi as given).

Output is a `.tar.gz` of SGF files, written atomically: the archive appears under its final name
only when every game is in it.
"""
from __future__ import annotations

import io
import os
import random
import tarfile
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from go_cnn.coords import PASS, gtp_to_flat
from go_cnn.gtp_client import GtpProcess
from go_cnn.sgf_writer import game_to_sgf


@dataclass(frozen=True)
class SelfPlayConfig:
    gnugo: str = "/usr/games/gnugo"  # GNU Go binary (Debian: /usr/games/gnugo)
    level: int = 0                   # GNU Go --level, 0 (fastest) .. 10 (strongest)
    size: int = 19                   # board size
    komi: float = 7.5                # komi written to the game and used by final_score
    opening_moves: int = 6           # first moves drawn from GNU Go's top_moves for variety
    max_moves: int = 400             # move cap (a game that reaches it is scored as it stands)
    seed: int = 0                    # game i uses seed + i


def play_one(cfg: SelfPlayConfig, game_index: int) -> str:
    """Play one self-play game and return its SGF text."""
    rng = random.Random(cfg.seed + game_index)
    argv = [cfg.gnugo, "--mode", "gtp", "--level", str(cfg.level)]
    moves: list[tuple[str, int]] = []
    with GtpProcess(argv, timeout=120) as engine:
        engine.send(f"set_random_seed {cfg.seed + game_index}")
        engine.send(f"boardsize {cfg.size}")
        engine.send("clear_board")
        engine.send(f"komi {cfg.komi:g}")
        passes, result = 0, ""
        for turn in range(cfg.max_moves):
            colour = "B" if turn % 2 == 0 else "W"
            name = "black" if colour == "B" else "white"
            if turn < cfg.opening_moves:
                vertex = _weighted_top_move(engine, name, rng)
                engine.send(f"play {name} {vertex}")
            else:
                vertex = engine.send(f"genmove {name}")
            if vertex.lower() == "resign":
                result = f"{'W' if colour == 'B' else 'B'}+R"
                break
            point = gtp_to_flat(vertex, cfg.size)
            moves.append((colour, point))
            passes = passes + 1 if point == PASS else 0
            if passes == 2:
                break
        if not result:
            result = engine.send("final_score").strip()
    return game_to_sgf(moves, size=cfg.size, komi=cfg.komi, result=result,
                       black=f"GNU Go level {cfg.level}", white=f"GNU Go level {cfg.level}",
                       rules="Chinese", extra={"GN": f"gnugo-selfplay-{cfg.seed + game_index}"})


def _weighted_top_move(engine: GtpProcess, name: str, rng: random.Random) -> str:
    """Pick one of GNU Go's top moves at random, weighted by its value; 'pass' if there are none."""
    fields = engine.send(f"top_moves_{name}").split()
    pairs = [(fields[i], float(fields[i + 1])) for i in range(0, len(fields) - 1, 2)]
    if not pairs:
        return "pass"
    vertices, values = zip(*pairs)
    return rng.choices(vertices, weights=[max(v, 1e-3) for v in values])[0]


def write_selfplay_archive(out: str | os.PathLike, games: int, cfg: SelfPlayConfig,
                           workers: int = 1, progress=None) -> Path:
    """Play `games` games (in `workers` processes) into a .tar.gz at `out`; return its path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=out.name + ".", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        with tarfile.open(tmp, "w:gz") as tar, ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(play_one, cfg, i) for i in range(games)]
            for i, fut in enumerate(futures):
                data = fut.result().encode("utf-8")
                info = tarfile.TarInfo(f"gnugo-selfplay/game-{cfg.seed + i:04d}.sgf")
                info.size, info.mtime = len(data), int(time.time())
                tar.addfile(info, io.BytesIO(data))
                if progress is not None:
                    progress(i + 1, games)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; an archive is meant to be shared
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out
