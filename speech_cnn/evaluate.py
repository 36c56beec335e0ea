"""`speech-cnn evaluate`: accuracy, per-class precision/recall, confusion matrix; speaker cross-validation.

    report = evaluate_path("model.pt", "data/fsdd")                 # every clip in the folder
    report = evaluate_path("model.pt", "data/fsdd", split="fsdd-conventional")   # its test part only
    cv = cross_validate_speakers("model.pt", "data/fsdd", "runs/cv")   # {"speakers": {...}, "mean": m}
    cv = cross_validate_speakers("ens.pt", "data/fsdd", "runs/cv")     # per fold: one model per member

A report: ``{"accuracy", "count", "labels", "per_class": {label: {"precision", "recall", "support"}},
"confusion": [[...]] (row = true, column = predicted)}``.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, Subset

from shared.metrics import accuracy, confusion_matrix, precision_recall

from .dataset import ClipDataset, DatasetError, scan_for


def confusion_report(pred: torch.Tensor, target: torch.Tensor, labels: list[str]) -> dict:
    """Predicted / true label indices (n,) -> the report dict."""
    cm = confusion_matrix(pred, target, len(labels))
    prec, rec = precision_recall(cm)
    per = {lab: {"precision": round(float(prec[i]), 6), "recall": round(float(rec[i]), 6),
                 "support": int(cm[i].sum())} for i, lab in enumerate(labels)}
    return {"accuracy": accuracy(cm), "count": int(cm.sum()), "labels": list(labels), "per_class": per,
            "confusion": cm.tolist()}


@torch.no_grad()
def predict_proba_dataset(clf, dataset: Dataset, batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """-> (probabilities (n, K), target indices (n,)) over a dataset of (wave, label)."""
    probs, targets = [], []
    for wave, y in DataLoader(dataset, batch_size=batch_size):
        probs.append(clf.predict_proba(wave))
        targets.append(y)
    if not probs:
        return torch.zeros(0, len(clf.labels)), torch.zeros(0, dtype=torch.long)
    return torch.cat(probs), torch.cat(targets)


def predict_dataset(clf, dataset: Dataset, batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """-> (predicted indices (n,), target indices (n,)) over a dataset of (wave, label)."""
    probs, targets = predict_proba_dataset(clf, dataset, batch_size)
    return probs.argmax(1), targets


def evaluate_dataset(clf, dataset: Dataset, labels: list[str] | None = None, batch_size: int = 256) -> dict:
    """Report of ``clf`` on ``dataset`` (labels = the dataset's label indices' names = the model's)."""
    pred, target = predict_dataset(clf, dataset, batch_size)
    return confusion_report(pred, target, labels or clf.labels)


def evaluate_path(model, data, split: str = "none", device: str = "cpu", cache_dir=None,
                  log: Callable[[str], None] = print) -> dict:
    """Evaluate a model (file or SpeechClassifier) on a dataset folder/manifest.
    ``split="none"``: every readable clip; otherwise only the test part of that split
    (``auto`` | ``hash`` | ``fsdd-conventional`` | ``loso:SPEAKER``)."""
    from .cache import default_cache_dir
    from .ensemble import load_model
    from .train import split_indices

    clf = model if isinstance(model, torch.nn.Module) else load_model(model, device)
    index = scan_for(data, clf.labels, "the model", log)
    ds = ClipDataset(index.clips, clf.labels, clf.audio, cache=cache_dir or default_cache_dir())
    idx = list(range(len(ds))) if split == "none" else split_indices(index, split)["test"]
    failed = ds.cache.failed if ds.cache is not None else {}
    for i in idx:
        if i in failed:
            log(f"skipped {ds.clips[i].path}: {failed[i]}")
    idx = [i for i in idx if i not in failed]
    if not idx:
        raise DatasetError(f"{data}: no clips to evaluate for split {split!r}")
    return evaluate_dataset(clf, Subset(ds, idx), clf.labels)


def _top1(probs: torch.Tensor, target: torch.Tensor) -> float:
    """Exact share of clips whose most probable class is the target (0.0 for none)."""
    return accuracy(confusion_matrix(probs.argmax(1), target, probs.shape[1]))


def cross_validate_speakers(model, data, out_dir, epochs: int | None = None, time_budget_min: float | None = None,
                            device: str | None = None, cache_dir=None,
                            log: Callable[[str], None] = print) -> dict:
    """Leave-one-speaker-out with the settings stored in the model file (preset, features,
    augmentation, epochs, extra data): one fresh model per speaker, trained on all others, tested on
    that one. Folds are the speakers of ``data`` only; extra-data clips join every fold's training part.
    An ensemble file trains one model per member recipe in each fold and scores the mean of their
    probabilities (``members`` then holds each recipe's own figures). A fold model already in
    ``out_dir`` with the same settings is re-used, so a stopped run resumes where it stopped.
    -> ``{"speakers": {name: accuracy}, "mean": float, "counts": {name: n}[, "members": [...]]}``."""
    from .ensemble import load_model, member_settings
    from .train import TrainSettings, _good, prepare_data, split_indices, train_model

    clf = model if isinstance(model, torch.nn.Module) else load_model(model)
    recipes = []
    for stored, audio in member_settings(clf):
        s = TrainSettings.from_dict(stored)
        s.sample_rate, s.clip_seconds = audio.sample_rate, audio.clip_seconds
        if epochs is not None:
            s.epochs = epochs
        if time_budget_min is not None:
            s.time_budget_min = time_budget_min
        if device is not None:
            s.device = device
        recipes.append(s)
    prepared_by_key = {}

    def prepared(s):  # decode once per (extra data, rate, length)
        key = (tuple(s.extra_data), s.sample_rate, s.clip_seconds)
        if key not in prepared_by_key:
            prepared_by_key[key] = prepare_data(data, s, cache_dir, log)
        return prepared_by_key[key]

    index = prepared(recipes[0])[0]
    speakers = index.speakers
    if len(speakers) < 2:
        raise DatasetError(f"{data}: leave-one-speaker-out needs speaker ids on the clips (found {len(speakers)})")
    for extra in sorted({e for s in recipes for e in s.extra_data}):
        log(f"extra training data in every fold: {extra}")
    out_dir, single = Path(out_dir), len(recipes) == 1
    res, counts, per_member = {}, {}, [{} for _ in recipes]
    for spk in speakers:
        probs, target = [], None
        for i, s in enumerate(recipes):
            s.split = f"loso:{spk}"
            path = out_dir / (f"loso-{spk}.pt" if single else f"member-{i}/loso-{spk}.pt")
            fold = _reusable(path, s, log) or train_model(data, path, s, log=log, prepared=prepared(s)).model
            ds = prepared(s)[1]
            p, target = predict_proba_dataset(fold, Subset(ds, _good(ds, split_indices(index, s.split)["test"], log)))
            per_member[i][spk] = _top1(p, target)
            probs.append(p)
        res[spk] = _top1(torch.stack(probs).mean(0), target)
        counts[spk] = len(target)
        log(f"speaker {spk}: {res[spk]:.4f} ({counts[spk]} clips)"
            + ("" if single else "; members " + " ".join(f"{m[spk]:.4f}" for m in per_member)))
    out = {"speakers": res, "mean": sum(res.values()) / len(res), "counts": counts}
    if not single:
        out["members"] = [{"speakers": m, "mean": sum(m.values()) / len(m)} for m in per_member]
    return out


_NOT_COMPARED = ("split", "device", "progress")  # settings that do not change what a fold model learns


def _reusable(path: Path, settings, log):
    """The fold model at ``path`` if it was trained with ``settings`` (same split), else None."""
    from shared.checkpoint import CheckpointError

    from .classifier import SpeechClassifier
    if not path.exists():
        return None
    try:
        m = SpeechClassifier.load(path)
    except CheckpointError:
        return None
    have = {k: v for k, v in (m.train_settings or {}).items() if k not in _NOT_COMPARED}
    want = {k: v for k, v in settings.to_dict().items() if k not in _NOT_COMPARED}
    if m.file_meta.get("split") != settings.split or have != want:
        return None
    log(f"re-using {path} (trained with the same settings)")
    return m
