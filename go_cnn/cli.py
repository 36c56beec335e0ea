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
