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
    from .download import DownloadError
    from .download import download as run
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


# ------------------------------------------------------------------ model commands (train ... demo)

def _fail(e: Exception):
    raise click.ClickException(str(e))


def _model_errors():
    from shared.checkpoint import CheckpointError

    from .audio import AudioError
    return (DatasetError, CheckpointError, AudioError, FileNotFoundError, ValueError, KeyError)


def _load_model(path, device="cpu"):
    from .ensemble import load_model
    try:
        return load_model(path, device)
    except _model_errors() as e:
        _fail(e)


def _json(obj) -> None:
    import json
    click.echo(json.dumps(obj, indent=1))


def _threads(n: int) -> None:
    if n > 0:  # one thread is much faster than two on a CPU shared with other busy processes
        import torch
        torch.set_num_threads(n)


def _floats(s: str) -> tuple:
    return tuple(float(x) for x in s.split(",") if x.strip())


@main.command()
@click.option("--preset", default="fcnn", show_default=True, help="Network preset (see `speech-cnn summary`).")
@click.option("--n-mels", default=40, show_default=True, help="Mel bands.")
@click.option("--features", "kind", type=click.Choice(["logmel", "mfcc"]), default="logmel", show_default=True)
@click.option("--sample-rate", default=16000, show_default=True, help="Model sample rate.")
@click.option("--clip-seconds", default=1.0, show_default=True)
@click.option("--classes", default=10, show_default=True)
def summary(preset, n_mels, kind, sample_rate, clip_seconds, classes):
    """Print the layers, output shapes, parameters and multiply-accumulates of a preset."""
    from shared.summary import summary as summarise

    from .classifier import feature_config
    from .features import FrontEnd
    from .model import PRESETS, make_spec
    if preset not in PRESETS:
        _fail(ValueError(f"unknown preset {preset!r}; known: {', '.join(PRESETS.names())}"))
    fcfg = feature_config(sample_rate, kind, n_mels)
    shape = FrontEnd(fcfg).output_shape(int(round(sample_rate * clip_seconds)))
    click.echo(f"preset {preset}: {kind} {fcfg.n_features} x {shape[2]} frames ({sample_rate} Hz, {clip_seconds} s)")
    click.echo(str(summarise(make_spec(preset, shape, classes))))


@main.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Model file to write.")
@click.option("--preset", default="fcnn", show_default=True, help="Network preset (see `speech-cnn summary`).")
@click.option("--features", "kind", type=click.Choice(["logmel", "mfcc"]), default="logmel", show_default=True)
@click.option("--n-mels", default=40, show_default=True, help="Mel bands.")
@click.option("--normalize", type=click.Choice(["none", "mean", "meanvar", "meanvar-active"]), default="meanvar",
              show_default=True,
              help="Per-utterance feature normalisation over time.")
@click.option("--sample-rate", type=int, default=None, help="Model rate in Hz [default: the data's rate].")
@click.option("--clip-seconds", default=1.0, show_default=True, help="Fixed clip length (energy crop / pad).")
@click.option("--augment/--no-augment", default=True, show_default=True, help="Training augmentation.")
@click.option("--noise-p", default=0.5, show_default=True, help="Probability of added noise per clip.")
@click.option("--snr", default="10,30", show_default=True, help="Noise SNR range in dB, LOW,HIGH.")
@click.option("--warp-freq", default=0.12, show_default=True, help="Frequency scaling +- (speaker variation).")
@click.option("--warp-time", default=0.15, show_default=True, help="Time stretch +-.")
@click.option("--shift", default=0.1, show_default=True, help="Random time shift +- seconds.")
@click.option("--speed", default="1.0", show_default=True, help="Waveform speed factors, e.g. 0.9,1.0,1.1 (slow).")
@click.option("--spec-masks", default=2, show_default=True, help="SpecAugment masks per axis.")
@click.option("--mixup", default=0.0, show_default=True, help="Mixup Beta(a, a) of clip pairs; 0 = off.")
@click.option("--split", default="auto", show_default=True,
              help="auto | hash | fsdd-conventional | all | loso:SPEAKER.")
@click.option("--extra-data", "extra_data", multiple=True, type=click.Path(path_type=Path),
              help="More labelled data (folder or manifest; repeatable) for the training part only; its "
                   "labels must be DATA's. Stored with the model: cross-validation re-uses it.")
@click.option("--epochs", default=30, show_default=True)
@click.option("--time-budget", default=0.0, show_default=True, help="Stop after MINUTES (0 = none).")
@click.option("--batch-size", default=64, show_default=True)
@click.option("--lr", default=3e-3, show_default=True, help="AdamW peak learning rate.")
@click.option("--seed", default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda | cuda:N | mps.")
@click.option("--resume", is_flag=True, help="Continue from MODEL's run folder (last.pt).")
@click.option("--threads", default=0, show_default=True, help="CPU threads for torch (0 = torch's default).")
def train(data, out, preset, kind, n_mels, normalize, sample_rate, clip_seconds, augment, noise_p, snr,
          warp_freq, warp_time, shift, speed, spec_masks, mixup, split, extra_data, epochs, time_budget,
          batch_size, lr, seed, device, resume, threads):
    """Train a model on DATA (class folders, FSDD, Speech Commands or a manifest) and write MODEL,
    its learning curve and confusion matrix PNGs next to it."""
    from .classifier import AugmentConfig
    from .model import PRESETS
    from .train import TrainSettings, train_model
    if preset not in PRESETS:
        _fail(ValueError(f"unknown preset {preset!r}; known: {', '.join(PRESETS.names())}"))
    aug = AugmentConfig(enabled=augment, shift_s=shift, speed=_floats(speed), noise_p=noise_p, snr_db=_floats(snr),
                        warp_freq=warp_freq, warp_time=warp_time, freq_masks=spec_masks, time_masks=spec_masks,
                        mixup=mixup)
    _threads(threads)
    s = TrainSettings(preset=preset, features=kind, n_mels=n_mels, normalize=normalize, sample_rate=sample_rate,
                      clip_seconds=clip_seconds, split=split, augment=aug, epochs=epochs, batch_size=batch_size,
                      extra_data=[str(Path(p).resolve()) for p in extra_data],
                      lr=lr, time_budget_min=time_budget, device=device, seed=seed)
    try:
        train_model(data, out, s, resume=resume, log=click.echo)
    except _model_errors() as e:
        _fail(e)


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--split", default="none", show_default=True,
              help="none (every clip) | auto | hash | fsdd-conventional | loso:SPEAKER (its test part).")
@click.option("--cross-validate", type=click.Choice(["speakers"]), default=None,
              help="Train + test leave-one-speaker-out with MODEL's settings (an ensemble: each member's).")
@click.option("--cv-out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the cross-validation models (ones trained with the same settings are "
                   "re-used) [default: beside MODEL].")
@click.option("--epochs", type=int, default=None, help="Cross-validation: override MODEL's epochs.")
@click.option("--device", default="auto", show_default=True)
@click.option("--threads", default=0, show_default=True, help="CPU threads for torch (0 = torch's default).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def evaluate(model, data, split, cross_validate, cv_out, epochs, device, threads, as_json):
    """Accuracy, per-class precision/recall and confusion matrix of MODEL on DATA."""
    _threads(threads)
    from .evaluate import cross_validate_speakers, evaluate_path
    log = (lambda m: click.echo(m, err=True)) if as_json else click.echo
    try:
        if cross_validate:
            cv = cross_validate_speakers(model, data, cv_out or Path(model).parent / f"{Path(model).stem}.cv",
                                         epochs=epochs, device=device, log=log)
            if as_json:
                return _json(cv)
            for spk, acc in cv["speakers"].items():
                click.echo(f"{spk}: {acc:.4f}")
            for i, m in enumerate(cv.get("members", [])):
                click.echo(f"member {i} alone: mean {m['mean']:.4f}")
            return click.echo(f"mean: {cv['mean']:.4f}")
        r = evaluate_path(_load_model(model), data, split=split, log=log)
    except _model_errors() as e:
        _fail(e)
    if as_json:
        return _json(r)
    click.echo(f"accuracy: {r['accuracy']:.4f} ({r['count']} clips)")
    click.echo(f"{'label':>16}  precision  recall  support")
    for lab, m in r["per_class"].items():
        click.echo(f"{lab:>16}  {m['precision']:9.4f}  {m['recall']:6.4f}  {m['support']:7d}")
    click.echo("confusion (row = true, column = predicted):")
    for lab, row in zip(r["labels"], r["confusion"]):
        click.echo(f"{lab:>16}  " + " ".join(f"{v:4d}" for v in row))


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--top", default=3, show_default=True, help="Alternatives listed per file.")
@click.option("--batch-size", default=64, show_default=True)
@click.option("--threads", default=0, show_default=True, help="CPU threads for torch (0 = torch's default).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def classify(model, inputs, top, batch_size, threads, as_json):
    """Label audio FILES or folders (any format and rate), one line per file; exit status 1 when
    some input could not be read."""
    _threads(threads)
    from .classify import classify_paths, format_line
    results = classify_paths(_load_model(model), inputs, top=top, batch_size=batch_size)
    if as_json:
        _json(results)
    else:
        for r in results:
            click.echo(format_line(r))
    failed = sum("error" in r for r in results)
    if failed:
        click.echo(f"{failed} of {len(results)} inputs could not be classified", err=True)
        raise SystemExit(1)


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("audio", type=click.Path(path_type=Path))
@click.option("--threshold", default=0.8, show_default=True, help="Minimum smoothed top score.")
@click.option("--hop", default=0.1, show_default=True, help="Seconds between windows.")
@click.option("--smooth", default=3, show_default=True, help="Moving average over this many windows.")
@click.option("--min-db", default=-50.0, show_default=True, help="Quieter windows (RMS dBFS) are background.")
@click.option("--threads", default=0, show_default=True, help="CPU threads for torch (0 = torch's default).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def detect(model, audio, threshold, hop, smooth, min_db, threads, as_json):
    """Slide MODEL over a long recording (streamed) and list labelled segments."""
    _threads(threads)
    from .audio import AudioError
    from .detect import DetectConfig
    from .detect import detect as run
    clf = _load_model(model)
    try:
        segs = run(clf, audio, DetectConfig(hop_s=hop, threshold=threshold, smooth=smooth, min_db=min_db))
    except AudioError as e:
        _fail(e)
    if as_json:
        return _json(segs)
    for s in segs:
        click.echo(f"{s['start']:9.2f} {s['end']:9.2f}  {s['label']}  {s['score']:.3f}")
    click.echo(f"{len(segs)} segments", err=True)


@main.command()
@click.argument("models", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Ensemble file to write.")
def ensemble(models, out):
    """Combine trained MODELS (same labels and audio settings) into one file that answers with the
    mean of their probabilities; classify, evaluate and detect take it like a single model, and
    `evaluate --cross-validate speakers` trains every member's recipe in each fold."""
    from .ensemble import make_ensemble
    try:
        ens = make_ensemble(list(models), out)
    except _model_errors() as e:
        _fail(e)
    click.echo(f"{out}: {len(ens.members)} members, {ens.preset}, labels {', '.join(ens.labels)}")


@main.command()
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--accents", default=None, help="Comma-separated espeak-ng accents [default: synth.ACCENTS].")
@click.option("--variants", default=None, help="Comma-separated voice variants, e.g. m2,m5,f1.")
@click.option("--takes", default=2, show_default=True, help="Takes per digit and voice.")
@click.option("--sample-rate", default=8000, show_default=True)
@click.option("--seed", default=0, show_default=True)
def synth(out_dir, accents, variants, takes, sample_rate, seed):
    """Synthesize spoken digits with espeak-ng into OUT_DIR (FSDD names: digit_voice_take.wav)."""
    from .synth import ACCENTS, VARIANTS, SynthConfig, SynthError, synthesize

    def split(s, default):
        return tuple(x.strip() for x in s.split(",") if x.strip()) if s else default
    cfg = SynthConfig(accents=split(accents, ACCENTS), variants=split(variants, VARIANTS), takes=takes,
                      sample_rate=sample_rate, seed=seed)
    try:
        n = synthesize(out_dir, cfg)
    except SynthError as e:
        _fail(e)
    click.echo(f"{n} clips written to {out_dir}")


@main.command()
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output folder.")
@click.option("--minutes", default=1.0, show_default=True, help="Training time budget.")
@click.option("--device", default="cpu", show_default=True)
@click.option("--threads", default=0, show_default=True, help="CPU threads for torch (0 = torch's default).")
def demo(out, minutes, device, threads):
    """Train the default model on the shipped espeak-ng digits (~1 minute, CPU), print its accuracy
    on voices it never heard and classify a few of their clips."""
    _threads(threads)
    from .demo import run_demo
    try:
        run_demo(out, minutes=minutes, device=device, log=click.echo)
    except _model_errors() as e:
        _fail(e)


from .cli_visualize import visualize  # noqa: E402  (visualize lives in cli_visualize.py)

main.add_command(visualize)
