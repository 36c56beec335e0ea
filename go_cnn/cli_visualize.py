"""`go-cnn visualize`: what a Go policy net learned, for one position of an SGF game."""
from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

WHAT = ("filters", "maps", "maximize", "saliency")


def _first_game(sgf: str, size: int):
    """The first size x size game with moves in SGF (a file, folder or archive); ClickException otherwise."""
    from go_cnn.sgf import SGFError, parse_sgf
    from go_cnn.sources import iter_sources

    why = f"no {size}x{size} game with moves"
    for f in iter_sources([sgf]):
        if f.data is None:
            why = f.error
            continue
        try:
            games = parse_sgf(f.data)
        except SGFError as e:
            why = str(e)
            continue
        for g in games:
            if g.size == size and g.events:
                return g
    raise click.ClickException(f"{sgf}: {why}")


def _board_figure(img, title: str, marks: dict, size: int, stones=None):
    """A (size, size) heat map with GTP-style coordinates, the stones (flat (N,) 0 empty, 1 black,
    2 white) as circles and marked points {label: flat index}."""
    from matplotlib.figure import Figure

    from go_cnn.coords import GTP_COLUMNS as COLUMNS

    fig = Figure(figsize=(5.2, 5))
    ax = fig.subplots()
    im = ax.imshow(img, cmap="YlOrRd")
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_xticks(range(size), list(COLUMNS[:size]), fontsize=6)
    ax.set_yticks(range(size), [str(size - r) for r in range(size)], fontsize=6)
    if stones is not None:
        for colour, face in ((1, "black"), (2, "white")):
            r, c = divmod(np.flatnonzero(np.asarray(stones) == colour), size)
            ax.scatter(c, r, s=40, facecolors=face, edgecolors="black", linewidths=0.8)
    for (label, p), style in zip(marks.items(), ("co", "gx")):
        if p is not None and p >= 0:
            r, c = divmod(int(p), size)
            ax.plot(c, r, style, markersize=10, fillstyle="none", mew=2, label=label)
    if marks:
        ax.legend(fontsize=7, loc="upper right")
    ax.set_title(title, fontsize=9)
    return fig


@click.command("visualize")
@click.argument("model", type=click.Path(dir_okay=False))
@click.argument("sgf", type=click.Path(dir_okay=False))
@click.option("--move", default=1, show_default=True, type=click.IntRange(1),
              help="Use the position before the N-th (non-pass) move of the game.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for the PNG files.")
@click.option("--what", default=",".join(WHAT), show_default=True, help="Comma-separated: " + ", ".join(WHAT))
@click.option("--layer", type=int, default=None,
              help="Body layer index for maps/maximize (default: maps of every conv layer, maximize the first).")
@click.option("--filter", "filt", default=0, show_default=True, help="Filter (channel) to maximise.")
@click.option("--steps", default=200, show_default=True, help="Gradient-ascent steps for maximize.")
def visualize(model, sgf, move, out, what, layer, filt, steps):
    """Pictures of MODEL on a position of SGF: first-layer filters, feature maps, an input that
    maximises a filter (gradient ascent), and the saliency of the predicted move."""
    import torch

    from go_cnn.board import replay_game
    from go_cnn.coords import GTP_COLUMNS as COLUMNS
    from go_cnn.dataset import game_positions
    from go_cnn.policy import Policy, PolicyError
    from shared import visualize as V

    todo = [w.strip() for w in what.split(",") if w.strip()]
    bad = [w for w in todo if w not in WHAT]
    if bad:
        raise click.BadParameter(f"unknown {bad}; choose from {', '.join(WHAT)}", param_hint="--what")
    try:
        pol = Policy.load(model, device="cpu")
    except PolicyError as e:
        raise click.ClickException(str(e)) from None
    game = _first_game(sgf, pol.size)
    g = game_positions(game, pol.feature_set)
    if move > len(g["moves"]):
        raise click.ClickException(f"{sgf}: --move {move} but the game has {len(g['moves'])} moves")
    net, size = pol.net, pol.size
    x = torch.from_numpy(g["planes"][move - 1]).float()   # (C, size, size)
    out = Path(out)
    try:
        files, report = V.render_views(net, x, out, todo, layer=layer, filt=filt, steps=steps,
                                       clip=(0.0, 1.0), scale=8, warn=lambda m: click.echo(m, err=True))
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    report = {"model": str(model), "sgf": str(sgf), "move": move, **report}

    def name(p: int) -> str:
        r, c = divmod(p, size)
        return f"{COLUMNS[c]}{size - r}"

    if "saliency" in todo:
        sal, t = V.saliency(net, x)
        actual = int(g["moves"][move - 1])
        fig = _board_figure(sal.numpy(), f"saliency of the predicted move {name(t)} (move {move})",
                            {f"predicted {name(t)}": t, f"played {name(actual)}": actual}, size,
                            replay_game(game)["stones"][move - 1])
        files.append(V.save_figure(fig, out / "saliency.png"))
        report["saliency"] = {"predicted": name(t), "played": name(actual)}
    files.append(V.write_bytes_atomic(out / "visualize.json", json.dumps(report, indent=1).encode()))
    for f in files:
        click.echo(str(f))
