"""`speech-cnn demo`: the README's first command, on data shipped in the package (no downloads).

Trains the default preset for about a minute on CPU on ``speech_cnn/data/espeak-digits`` (spoken
digits made by ``speech-cnn synth``: 35 espeak-ng voices x 10 digits), with a speaker-disjoint
split (whole voices held out for validation and test), prints the test accuracy and classifies a
few held-out clips.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from .classifier import AugmentConfig
from .classify import classify_paths, format_line
from .model import DEFAULT_PRESET
from .train import TrainSettings, split_indices, train_model


def embedded_digits() -> Path:
    """Folder of the shipped espeak-ng digit clips."""
    root = Path(str(resources.files("speech_cnn") / "data" / "espeak-digits"))
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: the embedded clips are missing from this installation")
    return root


NAME = re.compile(r"^(\d)_([A-Za-z0-9-]+)_(\d+)\.wav$")  # digit_voice_take.wav; voices contain '-'


def write_manifest(folder, manifest) -> Path:
    """CSV manifest (path,label,speaker) for ``speech-cnn synth`` output, whose voice names contain
    hyphens; written atomically. Files not named digit_voice_take.wav are left out."""
    folder, manifest = Path(folder).resolve(), Path(manifest)
    rows = ["path,label,speaker"]
    for p in sorted(folder.iterdir()):
        m = NAME.match(p.name)
        if m:
            rows.append(f"{p},{m.group(1)},{m.group(2)}")
    if len(rows) == 1:
        raise FileNotFoundError(f"{folder}: no digit_voice_take.wav clips")
    manifest.parent.mkdir(parents=True, exist_ok=True)
    tmp = manifest.with_name(f".{manifest.name}.tmp")
    tmp.write_text("\n".join(rows) + "\n")
    os.replace(tmp, manifest)
    return manifest


def run_demo(out_dir, minutes: float = 1.0, epochs: int = 40, device: str = "cpu", show: int = 6,
             log: Callable[[str], None] = print) -> dict:
    """Train on the embedded clips, report test accuracy, classify ``show`` test clips.
    -> {"model": path, "accuracy": float, "count": int, "examples": [classify results]}."""
    data = write_manifest(embedded_digits(), Path(out_dir) / "espeak-digits.csv")
    settings = TrainSettings(preset=DEFAULT_PRESET, split="hash", epochs=epochs, time_budget_min=minutes,
                             device=device, augment=AugmentConfig(), progress="off")
    out = Path(out_dir) / "espeak-digits.pt"
    res = train_model(data, out, settings, log=log)
    from .dataset import scan
    index = scan(data)
    test = [index.clips[i].path for i in split_indices(index, "hash")["test"]]
    step = max(1, len(test) // max(1, show))
    examples = classify_paths(res.model, test[::step][:show], top=2)
    log(f"speaker-disjoint test accuracy: {res.test['accuracy']:.4f} ({res.test['count']} clips of "
        f"voices never seen in training)")
    for r in examples:
        log(format_line(r) + f"   [true: {Path(r['path']).name.split('_')[0]}]")
    return {"model": out, "accuracy": res.test["accuracy"], "count": res.test["count"], "examples": examples}
