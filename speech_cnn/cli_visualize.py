"""`speech-cnn visualize`: what a speech classifier learned, for one audio clip."""
from __future__ import annotations

import json
from pathlib import Path

import click

WHAT = ("filters", "maps", "maximize", "saliency")


def _spectrogram_figure(feat, sal, title: str):
    """Features (F, T) and saliency (F, T) stacked, frequency upwards."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 5))
    axes = fig.subplots(2, 1, sharex=True)
    for ax, img, name, cmap in ((axes[0], feat, "features (log-mel)", "viridis"),
                                (axes[1], sal, "saliency |d score / d input|", "magma")):
        im = ax.imshow(img, origin="lower", aspect="auto", cmap=cmap)
        fig.colorbar(im, ax=ax, fraction=0.046)
        ax.set_ylabel(f"{name}\nmel band", fontsize=8)
    axes[1].set_xlabel("frame")
    fig.suptitle(title, fontsize=9)
    return fig


@click.command("visualize")
@click.argument("model", type=click.Path(dir_okay=False))
@click.argument("audio", type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for the PNG files.")
@click.option("--what", default=",".join(WHAT), show_default=True, help="Comma-separated: " + ", ".join(WHAT))
@click.option("--layer", type=int, default=None,
              help="Network body layer for maps/maximize (default: maps of every conv layer, maximize the first).")
@click.option("--filter", "filt", default=0, show_default=True, help="Filter (channel) to maximise.")
@click.option("--steps", default=200, show_default=True, help="Gradient-ascent steps for maximize.")
def visualize(model, audio, out, what, layer, filt, steps):
    """Pictures of MODEL on the clip AUDIO: first-layer filters (frequency x time), feature maps, a
    spectrogram that maximises a filter (gradient ascent), and the saliency of the predicted class."""
    import torch

    from shared import visualize as V
    from shared.checkpoint import CheckpointError

    from .audio import AudioError, load_audio
    from .classifier import SpeechClassifier

    todo = [w.strip() for w in what.split(",") if w.strip()]
    bad = [w for w in todo if w not in WHAT]
    if bad:
        raise click.BadParameter(f"unknown {bad}; choose from {', '.join(WHAT)}", param_hint="--what")
    try:
        clf = SpeechClassifier.load(model)
        wave = load_audio(audio, clf.audio)
    except (CheckpointError, AudioError) as e:
        raise click.ClickException(str(e)) from None
    with torch.no_grad():
        x = clf.frontend(wave)[0]          # (1, F, T) = the network's input
    net = clf.net
    out = Path(out)
    try:   # filter tiles: rows = mel bands (low at the top), columns = frames
        files, report = V.render_views(net, x, out, todo, layer=layer, filt=filt, steps=steps,
                                       clip=(-3.0, 3.0), scale=4, input_image=lambda xm: xm[0].numpy()[::-1],
                                       warn=lambda m: click.echo(m, err=True))
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    report = {"model": str(model), "audio": str(audio), **report}
    if "saliency" in todo:
        sal, t = V.saliency(net, x)
        label = clf.labels[t]
        fig = _spectrogram_figure(x[0].numpy(), sal.numpy(), f"{Path(audio).name}: predicted {label!r}")
        files.append(V.save_figure(fig, out / "saliency.png"))
        report["saliency"] = {"predicted": label}
    files.append(V.write_bytes_atomic(out / "visualize.json", json.dumps(report, indent=1).encode()))
    for f in files:
        click.echo(str(f))
