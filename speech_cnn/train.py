"""`speech-cnn train`: dataset folder -> splits -> cached waveforms -> shared.train.fit -> model file.

    res = train_model("data/fsdd", "runs/fsdd.pt", TrainSettings(split="loso:theo", epochs=20))

Files written next to the model (``runs/fsdd.pt``): ``fsdd.run/`` (fit's best.pt, last.pt for
``--resume``, metrics.jsonl), ``fsdd.curve.png`` (learning curve) and ``fsdd.confusion.png`` (test
confusion matrix, or validation when there is no test split). The model file itself is written
atomically from the best epoch, with the test figures in its meta.

Validation: the split's own val set when it has one; otherwise a per-file hash slice (``val_frac``)
of the training clips (it shares speakers with training, so the held-out test figure stays honest).

Extra data (``TrainSettings.extra_data``, ``--extra-data``): more labelled folders/manifests whose clips
join only the training part of every split (never val or test; a clip whose speaker is in the test part
is left out). Their labels must be a subset of DATA's. The paths are stored with the model's settings,
so speaker cross-validation adds them to every fold's training part.
"""
from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch.utils.data import Subset

from shared.checkpoint import load_checkpoint
from shared.train import TrainConfig, fit

from .audio import AudioConfig, AudioError, probe
from .cache import default_cache_dir
from .classifier import AugmentConfig, SpeechClassifier, feature_config
from .dataset import (ClipDataset, DatasetError, DatasetIndex, assign_splits, hash_split, scan_for,
                      split_loso)
from .evaluate import evaluate_dataset

SPLIT_METHODS = ("auto", "hash", "fsdd-conventional", "all", "loso:SPEAKER")


@dataclass
class TrainSettings:
    preset: str = "fcnn"              # speech_cnn.model.PRESETS name
    features: str = "logmel"          # "logmel" | "mfcc"
    n_mels: int = 40                  # mel bands (also the MFCC filter bank)
    n_mfcc: int = 13                  # MFCC coefficients (features="mfcc")
    normalize: str = "meanvar"        # per-utterance feature normalisation: "none" | "mean" | "meanvar"
    sample_rate: int | None = None    # model rate; None = the most common rate in the data
    clip_seconds: float = 1.0         # fixed clip length (energy crop / centre pad)
    split: str = "auto"               # auto | hash | fsdd-conventional | all | loso:SPEAKER
    extra_data: list = field(default_factory=list)  # absolute paths: extra labelled data, training part only
    val_frac: float = 0.1             # validation share when the split has no val set
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    epochs: int = 30                  # passes over the training clips
    batch_size: int = 64              # clips per step
    lr: float = 3e-3                  # AdamW peak learning rate (cosine schedule, 1 warmup epoch)
    weight_decay: float = 1e-2        # AdamW decoupled weight decay
    label_smoothing: float = 0.1      # cross-entropy label smoothing
    time_budget_min: float = 0.0      # stop cleanly after this many minutes; 0 = no limit
    device: str = "auto"              # "auto" | "cpu" | "cuda" | ...
    seed: int = 0                     # weights, shuffling, augmentation
    progress: str = "auto"            # progress bar: auto | on | off

    def to_dict(self) -> dict:
        d = asdict(self)
        d["augment"] = self.augment.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainSettings:
        d = dict(d)
        d["augment"] = AugmentConfig.from_dict(d.get("augment") or {})
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class TrainResult:
    model_path: Path                  # the model file
    model: SpeechClassifier           # best weights, eval mode
    history: list[dict]               # fit's per-epoch records
    test: dict | None                 # evaluate_dataset on the test split (None: no test split)
    split_sizes: dict                 # {"train": n, "val": n, "test": n}
    skipped: list                     # (path, reason) of unreadable clips
    stop_reason: str = "completed"


def side_paths(out: Path) -> dict[str, Path]:
    """Where the run folder and the figures of model file ``out`` go."""
    out = Path(out)
    return {"run": out.parent / f"{out.stem}.run", "curve": out.parent / f"{out.stem}.curve.png",
            "confusion": out.parent / f"{out.stem}.confusion.png"}


def data_sample_rate(index: DatasetIndex, limit: int = 50) -> int:
    """Most common sample rate among (up to) ``limit`` clips spread over the dataset."""
    step = max(1, len(index.clips) // limit)
    rates = Counter()
    for c in index.clips[::step][:limit]:
        try:
            rates[probe(c.path)[0]] += 1
        except AudioError:
            pass
    return rates.most_common(1)[0][0] if rates else 16000


def split_indices(index: DatasetIndex, method: str, val_frac: float = 0.1, seed: str = "") -> dict[str, list[int]]:
    """-> {"train": [...], "val": [...], "test": [...]} positions in ``index.clips``."""
    clips = index.clips
    pos = {c.path: i for i, c in enumerate(clips)}
    if method.startswith("loso:"):
        train, test = split_loso(clips, method[5:])
        parts = {"train": train, "val": [], "test": test}
    elif method == "all":
        parts = {"train": list(clips), "val": [], "test": []}
    elif method in ("auto", "hash", "fsdd-conventional", "layout"):
        split = assign_splits(clips, method, val_frac=val_frac, test_frac=val_frac, seed=seed)
        parts = {s: [c for c in split if c.split == s] for s in ("train", "val", "test")}
    else:
        raise DatasetError(f"unknown split {method!r}; choose one of {', '.join(SPLIT_METHODS)}")
    if not parts["val"] and method != "all" and val_frac > 0:  # carve val from train, per file
        carved = hash_split([dataclasses.replace(c, speaker=None) for c in parts["train"]], val_frac, 0.0, seed)
        keep = {c.path for c in carved if c.split == "train"}
        parts["val"] = [c for c in parts["train"] if c.path not in keep]
        parts["train"] = [c for c in parts["train"] if c.path in keep]
    if not parts["train"]:
        raise DatasetError(f"split {method!r} leaves no training clips")
    return {k: [pos[c.path] for c in v] for k, v in parts.items()}


def scan_extra(paths, index: DatasetIndex, log: Callable[[str], None] = print) -> list:
    """Clips of every extra-data folder/manifest, checked against the main dataset ``index``:
    labels must be a subset of its classes and no clip may be one of its files."""
    main = {c.path for c in index.clips}
    out = []
    for p in paths:
        try:
            ix = scan_for(p, index.classes, str(index.root), log)
        except DatasetError as e:
            raise DatasetError(f"extra data: {e}") from None  # every scan error names the path
        dup = [c.path for c in ix.clips if c.path in main]
        if dup:
            raise DatasetError(f"extra data {p}: {len(dup)} clips are also in {index.root}, e.g. {dup[0]}")
        out += [dataclasses.replace(c, split="train") for c in ix.clips]
    return out


def prepare_data(data, settings: TrainSettings, cache_dir=None, log: Callable[[str], None] = print):
    """Scan + decode once (waveform cache). -> (index, ClipDataset, AudioConfig). The dataset holds every
    readable clip of ``data`` (positions as in ``index.clips``) followed by the extra-data clips."""
    index = scan_for(data, log=log)
    extra = scan_extra(settings.extra_data, index, log)
    sr = settings.sample_rate or data_sample_rate(index)
    audio = AudioConfig(sample_rate=sr, clip_seconds=settings.clip_seconds)
    ds = ClipDataset(index.clips + extra, index.classes, audio, cache=cache_dir or default_cache_dir())
    return index, ds, audio


def extra_indices(index: DatasetIndex, ds: ClipDataset, test: list[int]) -> list[int]:
    """Positions of the extra clips in ``ds`` that may train: all but those of a test-part speaker."""
    held = {ds.clips[i].speaker for i in test if ds.clips[i].speaker is not None}
    return [i for i in range(len(index.clips), len(ds)) if ds.clips[i].speaker not in held]


def _good(ds: ClipDataset, idx: list[int], log) -> list[int]:
    failed = ds.cache.failed if ds.cache is not None else {}
    for i in idx:
        if i in failed:
            log(f"skipped {ds.clips[i].path}: {failed[i]}")
    return [i for i in idx if i not in failed]


def train_model(data, out, settings: TrainSettings | None = None, resume: bool = False, cache_dir=None,
                log: Callable[[str], None] = print, prepared=None) -> TrainResult:
    """Train a fresh model on ``data`` (any layout) and write the best one to ``out``."""
    s = settings or TrainSettings()
    out = Path(out)
    index, ds, audio = prepared or prepare_data(data, s, cache_dir, log)
    parts = {k: _good(ds, v, log) for k, v in split_indices(index, s.split, s.val_frac).items()}
    extra_idx = _good(ds, extra_indices(index, ds, parts["test"]), log)
    parts["train"] += extra_idx
    log(f"{index.layout}: {len(index.clips)} clips, {len(index.classes)} classes, split {s.split}: "
        + ", ".join(f"{k} {len(v)}" for k, v in parts.items()) + f"; {audio.sample_rate} Hz, {audio.clip_seconds} s"
        + (f"; train includes {len(extra_idx)} extra-data clips" if len(ds) > len(index.clips) else ""))
    fcfg = feature_config(audio.sample_rate, s.features, s.n_mels, s.normalize, s.n_mfcc)
    torch.manual_seed(s.seed)
    clf = SpeechClassifier.create(s.preset, index.classes, audio, fcfg, s.augment, s.to_dict())
    cfg = TrainConfig(epochs=s.epochs, batch_size=s.batch_size, optimizer="adamw", lr=s.lr,
                      weight_decay=s.weight_decay, schedule="cosine", warmup=1.0 if s.epochs > 3 else 0.0,
                      label_smoothing=s.label_smoothing, device=s.device, seed=s.seed,
                      time_budget_min=s.time_budget_min, progress=s.progress, log_every=20)
    paths = side_paths(out)
    train_set = Subset(ds, parts["train"])
    val_set = Subset(ds, parts["val"]) if parts["val"] else None
    t0 = time.monotonic()
    hist = fit(clf, train_set, val_set, cfg, out=paths["run"], meta=clf.meta(), resume=resume)
    if hist.best_path is not None:  # back to the best epoch's weights
        clf.load_state_dict(load_checkpoint(hist.best_path)["model"])
    clf.cpu().eval()
    test = evaluate_dataset(clf, Subset(ds, parts["test"]), index.classes) if parts["test"] else None
    extra = {"split": s.split, "data": str(Path(data).resolve()), "split_sizes": {k: len(v) for k, v in parts.items()},
             "extra_data": list(s.extra_data), "extra_train": len(extra_idx),
             "best_epoch": hist.best_epoch, "train_minutes": round((time.monotonic() - t0) / 60, 2),
             "test": None if test is None else {"accuracy": test["accuracy"], "count": test["count"]}}
    clf.save(out, extra)
    _figures(hist.epochs, test or (evaluate_dataset(clf, val_set, index.classes) if val_set else None),
             index.classes, paths, log)
    if test is not None:
        log(f"test accuracy {test['accuracy']:.4f} on {test['count']} clips")
    log(f"model written to {out}")
    return TrainResult(out, clf, hist.epochs, test, extra["split_sizes"], list(index.skipped), hist.stop_reason)


def _figures(epochs: list[dict], report: dict | None, labels: list[str], paths: dict, log) -> None:
    from .plots import plot_confusion, plot_learning_curve
    try:
        plot_learning_curve(epochs, paths["curve"])
        if report is not None:
            plot_confusion(report["confusion"], labels, paths["confusion"],
                           title=f"accuracy {report['accuracy']:.4f} ({report['count']} clips)")
    except (OSError, ValueError) as e:  # a figure must never lose a trained model
        log(f"warning: could not write figures: {e}")
