"""`go-cnn demo`: the README's main job end to end on the embedded games, no downloads.

prepare the shipped GNU Go self-play archive (go_cnn/data/gnugo-selfplay.tar.gz, found as package
data) -> train a small preset for a minute or two -> predict the next move in one of the games.
"""
from __future__ import annotations

import tarfile
from importlib import resources
from pathlib import Path

from go_cnn.predict import position_from_sgf, render, top_moves

ARCHIVE = "gnugo-selfplay.tar.gz"


def embedded_archive() -> Path:
    """Path of the shipped self-play archive (FileNotFoundError when the package lacks it)."""
    p = resources.files("go_cnn") / "data" / ARCHIVE
    path = Path(str(p))
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the embedded self-play archive is missing (make one with "
                                f"`go-cnn selfplay --games 100 --out {path}`)")
    return path


def first_game(archive: Path) -> tuple[str, bytes]:
    """(name, bytes) of the first .sgf member of a .tar.gz archive."""
    with tarfile.open(archive) as tar:
        for m in tar:
            if m.isfile() and m.name.endswith(".sgf"):
                return m.name, tar.extractfile(m).read()
    raise FileNotFoundError(f"{archive}: no .sgf file inside")


def run_demo(out: str | Path, minutes: float = 1.5, preset: str = "cpu-small", archive: str | Path | None = None,
             move: int = 40, log=print) -> dict:
    """Prepare, train and predict into `out`; returns {"model", "board", "moves", ...}."""
    from go_cnn.prepare import PrepareConfig, prepare
    from go_cnn.train import GoTrainConfig, train
    from shared.train import TrainConfig

    out = Path(out)
    src = Path(archive) if archive else embedded_archive()
    data = out / "data"
    log(f"1/3 prepare {src} -> {data}")
    rep = prepare([str(src)], data, PrepareConfig(workers=1, val_fraction=0.1, progress=False))
    log(f"    {rep['games_used']} games, {rep['positions']:,} positions")
    log(f"2/3 train preset {preset} for {minutes:g} min -> {out / 'model.pt'}")
    tc = TrainConfig(batch_size=64, optimizer="adamw", lr=0.002, weight_decay=1e-4, warmup=0.1,
                     time_budget_min=minutes, progress="off", seed=0)
    res = train(data, out / "model.pt", GoTrainConfig(preset=preset, epoch_size=20_000, val_positions=2_000, train=tc),
                log=lambda m: log("    " + m))
    from go_cnn.policy import Policy
    pol = Policy.load(out / "model.pt", device="cpu")
    name, sgf = first_game(src)
    pos = position_from_sgf(sgf, move)
    moves = top_moves(pol, pos, 5)
    board = render(pos, moves)
    log(f"3/3 predict {name} after move {pos.move_number}:\n{board}")
    return {"model": res["model"], "curve": res["curve"], "val_top1": res["val_top1"], "game": name,
            "moves": moves, "board": board}
