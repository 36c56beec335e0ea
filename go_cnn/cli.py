"""`go-cnn`: the Go move predictor's command line. Each subcommand is a thin shell over a library call."""

from __future__ import annotations

import json

import click


@click.group()
def main():
    """Go move prediction with a CNN: prepare data, train, evaluate, predict, play."""


@main.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path())
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output dataset folder.")
@click.option("--features", default="alphago", show_default=True,
              help="Feature set built by the loader: slides, clark-storkey, alphago.")
@click.option("--workers", default=0, show_default=True, help="Worker processes (0 = all cores).")
@click.option("--val-fraction", default=0.05, show_default=True, help="Share of games for validation.")
@click.option("--min-rank", default=None, help="Skip games unless both players are at least this rank (e.g. 6d).")
@click.option("--no-handicap", is_flag=True, help="Skip handicap games.")
@click.option("--min-moves", default=0, show_default=True, help="Skip records with fewer moves.")
@click.option("--strict", is_flag=True, help="Fail (exit 1, no manifest) if any file or game is skipped.")
@click.option("--shard", "shard", default="0/1", show_default=True,
              help="Build only part i of N (i/N), to split a big collection over machines.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object on stdout.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def prepare(sources, out, features, workers, val_fraction, min_rank, no_handicap, min_moves, strict,
            shard, as_json, no_progress):
    """Read SGF SOURCES (files, folders, .zip, .tar.gz) into training shards in OUT.

    Only 19x19 games are used; duplicate records are dropped; games are split into train and
    validation by a hash of their moves. Re-running finishes an interrupted run."""
    from go_cnn.features import FEATURE_SETS
    from go_cnn.prepare import PrepareConfig, PrepareError, format_report
    from go_cnn.prepare import prepare as run_prepare

    if features not in FEATURE_SETS:
        raise click.BadParameter(f"unknown feature set {features!r}; known: {', '.join(FEATURE_SETS)}",
                                 param_hint="--features")
    try:
        i, n = (int(x) for x in shard.split("/"))
        assert 0 <= i < n
    except (ValueError, AssertionError):
        raise click.BadParameter(f"{shard!r} is not i/N with 0 <= i < N", param_hint="--shard") from None
    cfg = PrepareConfig(features=features, workers=workers, val_fraction=val_fraction, min_rank=min_rank,
                        no_handicap=no_handicap, min_moves=min_moves, strict=strict, shard=(i, n),
                        progress=not no_progress)
    try:
        report = run_prepare(sources, out, cfg)
    except PrepareError as e:
        raise click.ClickException(str(e)) from None
    click.echo(format_report(report), err=True)
    if as_json:
        click.echo(json.dumps(report))


def _fail(e: Exception) -> click.ClickException:
    return click.ClickException(str(e))


@main.command()
@click.argument("data", type=click.Path())
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Model file to write (e.g. model.pt).")
@click.option("--preset", default=None, help="Model preset (see `go-cnn summary --list`); default: cpu.")
@click.option("--layers", type=int, default=None, help="Custom net: convolutions in all (first + 3x3s + 1x1 output).")
@click.option("--filters", type=int, default=None, help="Custom net: filters per hidden convolution.")
@click.option("--first-kernel", type=int, default=None, help="Custom net: first convolution's kernel (odd).")
@click.option("--residual", is_flag=True, default=None, help="Custom net: 3x3 convolutions in residual blocks.")
@click.option("--batch-norm", is_flag=True, default=None, help="Custom net: batch norm after each convolution.")
@click.option("--epochs", type=int, default=None, help="Epochs (default 10; with --time-budget: estimated).")
@click.option("--epoch-size", type=int, default=200_000, show_default=True,
              help="Positions per epoch, drawn at random from the training split (0 = the whole split).")
@click.option("--val-positions", type=int, default=20_000, show_default=True,
              help="Fixed validation subset (0 = the whole validation split).")
@click.option("--batch-size", type=int, default=128, show_default=True)
@click.option("--lr", type=float, default=None, help="Peak learning rate [adamw: 0.002, sgd: 0.05].")
@click.option("--optimizer", type=click.Choice(["sgd", "adamw"]), default="adamw", show_default=True)
@click.option("--weight-decay", type=float, default=1e-4, show_default=True)
@click.option("--schedule", type=click.Choice(["cosine", "step", "constant"]), default="cosine", show_default=True)
@click.option("--warmup", type=float, default=0.1, show_default=True, help="Linear warmup, in epochs.")
@click.option("--time-budget", type=float, default=0.0, help="Minutes; stop cleanly and keep the best model.")
@click.option("--resume", is_flag=True, help="Continue from OUT.run/last.pt.")
@click.option("--init", "init", type=click.Path(dir_okay=False), default=None,
              help="Start from this model's net and weights (a warm restart: new schedule and optimizer).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1, mps.")
@click.option("--amp", type=click.Choice(["auto", "bf16", "fp16", "off"]), default="auto", show_default=True,
              help="Mixed precision: GPU as the engine does; CPU: bf16 autocast when the CPU has it (auto).")
@click.option("--threads", type=int, default=0,
              help="torch CPU threads (0 = auto: with --time-budget on CPU, the faster of the default and 1).")
@click.option("--workers", type=int, default=0, show_default=True, help="Data loader processes.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def train(data, out, preset, layers, filters, first_kernel, residual, batch_norm, epochs, epoch_size,
          val_positions, batch_size, lr, optimizer, weight_decay, schedule, warmup, time_budget, resume, device,
          init, amp, threads, workers, seed, as_json):
    """Train a policy net on DATA (a folder from `go-cnn prepare`); write the best model to OUT.

    The feature set comes from the data. Each epoch is --epoch-size random positions with a random
    board symmetry; validation (top-1, top-5, NLL) runs after each. With --time-budget and no
    --epochs, the epochs are estimated from a timing run so the cosine schedule ends with the budget.
    Writes OUT, OUT.run/ (checkpoints for --resume), <stem>.metrics.jsonl and <stem>.curve.png."""
    from go_cnn.dataset import DatasetError
    from go_cnn.train import GoTrainConfig
    from go_cnn.train import train as run_train
    from shared.train import TrainConfig

    custom = {k: v for k, v in {"layers": layers, "filters": filters, "first_kernel": first_kernel,
                                "residual": residual, "batch_norm": batch_norm}.items() if v is not None}
    if custom and preset:
        raise click.UsageError("give --preset or layer options (--layers, --filters, ...), not both")
    if init and (custom or preset):
        raise click.UsageError("--init takes the net from the model file; drop --preset and layer options")
    tc = TrainConfig(epochs=epochs or 10, batch_size=batch_size, optimizer=optimizer,
                     lr=lr if lr is not None else (0.05 if optimizer == "sgd" else 0.002), momentum=0.9,
                     nesterov=True, weight_decay=weight_decay, schedule=schedule, warmup=warmup,
                     amp=amp, device=device, seed=seed, time_budget_min=time_budget, num_workers=workers,
                     progress="auto")
    cfg = GoTrainConfig(preset=None if custom else (preset or "cpu"), layers=custom, epoch_size=epoch_size,
                        val_positions=val_positions, threads=threads, train=tc, init=init,
                        cpu_amp="off" if amp in ("off", "fp16") else ("bf16" if amp == "bf16" else "auto"), epochs_given=epochs is not None)
    from shared.checkpoint import CheckpointError
    try:
        res = run_train(data, out, cfg, resume=resume, log=lambda m: click.echo(m, err=True))
    except (DatasetError, CheckpointError, ValueError, KeyError, OSError) as e:
        raise _fail(e) from None
    if not res:  # a non-main torchrun process: rank 0 reports
        return
    click.echo(f"best model: {res['model']} (val top-1 {res['val_top1'] or 0:.4f}, epoch {res['best_epoch']}, "
               f"{res['positions_seen']:,} positions in {res['train_time_s']:.0f} s; {res['stop_reason']})", err=True)
    if as_json:
        click.echo(json.dumps(res))

from go_cnn.cli_play import gtp, match  # noqa: E402  (play commands live in cli_play.py)

main.add_command(gtp)
main.add_command(match)


@main.command()
@click.argument("model", type=click.Path())
@click.argument("sources", nargs=-1, required=True, type=click.Path())
@click.option("--symmetries", type=click.IntRange(1, 8), default=1, show_default=True,
              help="Average the prediction over this many board symmetries (8 = all).")
@click.option("--max-games", type=int, default=0, help="Use only the first N games (0 = all).")
@click.option("--device", default="auto", show_default=True)
@click.option("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (fractions in 0-1).")
def evaluate(model, sources, symmetries, max_games, device, threads, as_json):
    """Score MODEL on SGF SOURCES (files, folders, .zip, .tar.gz) read directly.

    Legal-masked top-1, top-5 and NLL over every non-pass move, and accuracy by game phase
    (moves 1-50, 51-150, 151+)."""
    from go_cnn.evaluate import evaluate_sources, format_result
    from go_cnn.policy import Policy, PolicyError

    if threads > 0:
        import torch
        torch.set_num_threads(threads)
    try:
        pol = Policy.load(model, device)
    except PolicyError as e:
        raise _fail(e) from None
    from pathlib import Path

    for s in sources:
        if not Path(s).exists():
            raise click.ClickException(f"{s}: no such file or folder")
    res = evaluate_sources(pol, sources, symmetries, max_games)
    if res.games == 0:
        raise click.ClickException(f"no usable {pol.size}x{pol.size} game in {', '.join(sources)}"
                                   + (f" ({res.skipped[0][0]}: {res.skipped[0][1]})" if res.skipped else ""))
    click.echo(json.dumps(res.as_dict()) if as_json else format_result(res, model))


@main.command()
@click.argument("model", type=click.Path())
@click.argument("game", type=click.Path())
@click.option("--move", type=int, default=None, help="Show the position after N moves (default: the last).")
@click.option("--top", type=click.IntRange(1, 361), default=5, show_default=True, help="How many moves to list.")
@click.option("--symmetries", type=click.IntRange(1, 8), default=1, show_default=True)
@click.option("--heatmap", type=click.Path(dir_okay=False), default=None,
              help="Also write a PNG: the board with the move probabilities over it.")
@click.option("--device", default="cpu", show_default=True)
@click.option("--json", "as_json", is_flag=True, help='Print {"to_play": "B"|"W", "moves": [{"move", "prob"}]}.')
def predict(model, game, move, top, symmetries, heatmap, device, as_json):
    """Show the position of GAME (an .sgf file) and MODEL's top moves for the player to move."""
    from pathlib import Path

    from go_cnn.plots import policy_heatmap
    from go_cnn.policy import Policy, PolicyError
    from go_cnn.predict import PredictError, position_from_sgf, render, top_moves
    from go_cnn.sgf import SGFError

    try:
        pol = Policy.load(model, device)
        data = Path(game).read_bytes()
        pos = position_from_sgf(data, move, pol.size)
    except (PolicyError, PredictError, SGFError, OSError) as e:
        raise click.ClickException(f"{game}: {e}" if isinstance(e, (PredictError, SGFError)) else str(e)) from None
    moves = top_moves(pol, pos, top, symmetries)
    if heatmap:
        probs = pol.probabilities(pos.as_batch(), symmetries)[0]
        policy_heatmap(pos.board.stones, probs, heatmap, pol.size, last=int(pos.last[0]),
                       title=f"{Path(game).name} after move {pos.move_number}: "
                             f"{'Black' if pos.board.to_move == 1 else 'White'} to play")
    if as_json:
        click.echo(json.dumps({"to_play": "B" if pos.board.to_move == 1 else "W", "moves": moves}))
    else:
        click.echo(render(pos, moves))


@main.command("summary")
@click.option("--preset", default="cpu", show_default=True, help="Preset name, or a model file.")
@click.option("--features", default="alphago", show_default=True, help="Feature set (input planes).")
@click.option("--size", default=19, show_default=True, help="Board size.")
@click.option("--list", "list_", is_flag=True, help="List the presets with parameters and MACs.")
def summary_cmd(preset, features, size, list_):
    """Layer table of a preset (or a model file): output shapes, parameters, MACs per position."""
    from pathlib import Path

    from go_cnn.features import get_feature_set
    from go_cnn.model import PRESETS, make_spec
    from shared.network import spec_from_dict
    from shared.summary import summary

    try:
        planes = get_feature_set(features).num_planes
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--features") from None
    if list_:
        for name in PRESETS.names():
            s = summary(make_spec(name, planes, size))
            click.echo(f"{name:<12} {s.total_params:>12,} params {s.total_macs:>15,} MACs/position")
        return
    if preset not in PRESETS and Path(preset).is_file():
        from go_cnn.policy import Policy, PolicyError
        try:
            pol = Policy.load(preset, "cpu")
        except PolicyError as e:
            raise _fail(e) from None
        click.echo(str(summary(spec_from_dict(pol.meta["spec"]))))
        return
    try:
        click.echo(str(summary(make_spec(preset, planes, size))))
    except KeyError as e:
        raise click.BadParameter(str(e.args[0]), param_hint="--preset") from None


@main.command()
@click.option("--games", type=int, required=True, help="Games to play.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Archive to write (.tar.gz).")
@click.option("--level", type=click.IntRange(0, 10), default=0, show_default=True, help="GNU Go level.")
@click.option("--workers", type=int, default=1, show_default=True, help="Games played in parallel.")
@click.option("--seed", type=int, default=0, show_default=True, help="Game i uses seed + i.")
@click.option("--gnugo", default="/usr/games/gnugo", show_default=True, help="GNU Go binary.")
def selfplay(games, out, level, workers, seed, gnugo):
    """Play GNU Go against itself; write the games as SGF files in a .tar.gz (the embedded data)."""
    from go_cnn.gtp_client import GtpError
    from go_cnn.selfplay import SelfPlayConfig, write_selfplay_archive

    if games < 1:
        raise click.BadParameter("must be >= 1", param_hint="--games")
    cfg = SelfPlayConfig(gnugo=gnugo, level=level, seed=seed)
    try:
        path = write_selfplay_archive(out, games, cfg, workers,
                                      progress=lambda i, n: click.echo(f"game {i}/{n}", err=True))
    except (GtpError, OSError) as e:
        raise _fail(e) from None
    click.echo(str(path))


@main.command()
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for data, model, figures.")
@click.option("--minutes", type=float, default=1.5, show_default=True, help="Training time.")
@click.option("--preset", default="cpu-small", show_default=True)
@click.option("--archive", type=click.Path(dir_okay=False), default=None,
              help="SGF archive to use instead of the embedded GNU Go self-play games.")
def demo(out, minutes, preset, archive):
    """Prepare the embedded GNU Go games, train a small net for a minute or two, predict a move."""
    from go_cnn.demo import run_demo

    try:
        res = run_demo(out, minutes, preset, archive, log=lambda m: click.echo(m, err=True))
    except (FileNotFoundError, ValueError) as e:
        raise _fail(e) from None
    click.echo(json.dumps({k: res[k] for k in ("model", "curve", "val_top1", "moves")}))

from go_cnn.cli_visualize import visualize  # noqa: E402  (visualize lives in cli_visualize.py)

main.add_command(visualize)
