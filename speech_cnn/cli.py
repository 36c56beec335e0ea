"""speech-cnn: command line for the speech/audio-clip classifier (each verb is a thin shell)."""
from __future__ import annotations

from pathlib import Path

import click

from .dataset import LAYOUTS, DatasetError, scan


@click.group()
def main():
    """Speech/audio-clip classifier with filters that move along the frequency axis."""


@main.command()
@click.argument("name", type=click.Choice(["fsdd", "speech-commands"]))
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--base-url", default=None, help="Mirror folder URL to fetch the archive from.")
@click.option("--sha256", default=None, help="Expected archive sha256 (overrides the known one).")
@click.option("--force", is_flag=True, help="Download and extract again even if present.")
def download(name, dest, base_url, sha256, force):
    """Download dataset NAME into DEST (resumable, checksummed) and extract it."""
    from .download import DownloadError, download as run
    try:
        root = run(name, dest, base_url=base_url, sha256=sha256, force=force, log=click.echo)
    except DownloadError as e:
        raise click.ClickException(str(e))
    click.echo(f"dataset ready: {root}")


@main.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--layout", type=click.Choice(LAYOUTS), default="auto", show_default=True,
              help="Dataset layout (auto-detected by default).")
def inspect(data, layout):
    """Print the layout, classes, counts, speakers, splits and skipped files of DATA."""
    try:
        ix = scan(data, layout)
    except DatasetError as e:
        raise click.ClickException(str(e))
    click.echo(f"layout: {ix.layout}")
    click.echo(f"clips: {len(ix.clips)} in {len(ix.classes)} classes")
    for name, n in ix.counts().items():
        click.echo(f"  {name}: {n}")
    speakers = ix.speakers
    click.echo(f"speakers: {len(speakers)}" + (f" ({', '.join(speakers[:20])}"
                                               f"{', ...' if len(speakers) > 20 else ''})" if speakers else ""))
    splits = {}
    for c in ix.clips:
        splits[c.split or "-"] = splits.get(c.split or "-", 0) + 1
    click.echo("layout splits: " + ", ".join(f"{k} {v}" for k, v in sorted(splits.items())))
    if ix.noise_files:
        click.echo(f"background noise files: {len(ix.noise_files)}")
    click.echo(f"skipped: {len(ix.skipped)}")
    for path, reason in ix.skipped:
        click.echo(f"  {path}: {reason}")
