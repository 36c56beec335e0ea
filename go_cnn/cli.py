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
@click.option("--lr", type=float, default=None, help="Peak learning rate [sgd: 0.05, adamw: 0.002].")
@click.option("--optimizer", type=click.Choice(["sgd", "adamw"]), default="sgd", show_default=True)
@click.option("--weight-decay", type=float, default=1e-4, show_default=True)
@click.option("--schedule", type=click.Choice(["cosine", "step", "constant"]), default="cosine", show_default=True)
@click.option("--warmup", type=float, default=0.1, show_default=True, help="Linear warmup, in epochs.")
@click.option("--time-budget", type=float, default=0.0, help="Minutes; stop cleanly and keep the best model.")
@click.option("--resume", is_flag=True, help="Continue from OUT.run/last.pt.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1, mps.")
@click.option("--amp", type=click.Choice(["auto", "bf16", "fp16", "off"]), default="auto", show_default=True,
              help="Mixed precision (GPU only).")
@click.option("--threads", type=int, default=0, help="torch CPU threads (0 = default).")
@click.option("--workers", type=int, default=0, show_default=True, help="Data loader processes.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def train(data, out, preset, layers, filters, first_kernel, residual, batch_norm, epochs, epoch_size,
          val_positions, batch_size, lr, optimizer, weight_decay, schedule, warmup, time_budget, resume, device,
          amp, threads, workers, seed, as_json):
    """Train a policy net on DATA (a folder from `go-cnn prepare`); write the best model to OUT.

    The feature set comes from the data. Each epoch is --epoch-size random positions with a random
    board symmetry; validation (top-1, top-5, NLL) runs after each. With --time-budget and no
    --epochs, the epochs are estimated from a timing run so the cosine schedule ends with the budget.
    Writes OUT, OUT.run/ (checkpoints for --resume), <stem>.metrics.jsonl and <stem>.curve.png."""
    from go_cnn.dataset import DatasetError
    from go_cnn.train import GoTrainConfig
    from go_cnn.train import train as run_train
    from shared.train import TrainConfig

    custom = {k: v for k, v in dict(layers=layers, filters=filters, first_kernel=first_kernel, residual=residual,
                                    batch_norm=batch_norm).items() if v is not None}
    if custom and preset:
        raise click.UsageError("give --preset or layer options (--layers, --filters, ...), not both")
    tc = TrainConfig(epochs=epochs or 10, batch_size=batch_size, optimizer=optimizer,
                     lr=lr if lr is not None else (0.05 if optimizer == "sgd" else 0.002), momentum=0.9,
                     nesterov=True, weight_decay=weight_decay, schedule=schedule, warmup=warmup,
                     amp=amp, device=device, seed=seed, time_budget_min=time_budget, num_workers=workers,
                     progress="auto")
    cfg = GoTrainConfig(preset=None if custom else (preset or "cpu"), layers=custom, epoch_size=epoch_size,
                        val_positions=val_positions, threads=threads, train=tc, epochs_given=epochs is not None)
    try:
        res = run_train(data, out, cfg, resume=resume, log=lambda m: click.echo(m, err=True))
    except (DatasetError, ValueError, KeyError, OSError) as e:
        raise _fail(e) from None
    click.echo(f"best model: {res['model']} (val top-1 {res['val_top1'] or 0:.4f}, epoch {res['best_epoch']}, "
               f"{res['positions_seen']:,} positions in {res['train_time_s']:.0f} s; {res['stop_reason']})", err=True)
    if as_json:
        click.echo(json.dumps(res))
