"""`speech-cnn evaluate`: accuracy, per-class precision/recall, confusion matrix; speaker cross-validation.

    report = evaluate_path("model.pt", "data/fsdd")                 # every clip in the folder
    report = evaluate_path("model.pt", "data/fsdd", split="fsdd-conventional")   # its test part only
    cv = cross_validate_speakers("model.pt", "data/fsdd", "runs/cv")   # {"speakers": {...}, "mean": m}

A report: ``{"accuracy", "count", "labels", "per_class": {label: {"precision", "recall", "support"}},
"confusion": [[...]] (row = true, column = predicted)}``.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, Subset

from shared.metrics import accuracy, confusion_matrix, precision_recall

from .dataset import ClipDataset, DatasetError, scan


def confusion_report(pred: torch.Tensor, target: torch.Tensor, labels: list[str]) -> dict:
    """Predicted / true label indices (n,) -> the report dict."""
    cm = confusion_matrix(pred, target, len(labels))
    prec, rec = precision_recall(cm)
    per = {lab: {"precision": round(float(prec[i]), 6), "recall": round(float(rec[i]), 6),
                 "support": int(cm[i].sum())} for i, lab in enumerate(labels)}
    return {"accuracy": accuracy(cm), "count": int(cm.sum()), "labels": list(labels), "per_class": per,
            "confusion": cm.tolist()}


@torch.no_grad()
def predict_dataset(clf, dataset: Dataset, batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """-> (predicted indices (n,), target indices (n,)) over a dataset of (wave, label)."""
    preds, targets = [], []
    for wave, y in DataLoader(dataset, batch_size=batch_size):
        preds.append(clf.predict_proba(wave).argmax(1))
        targets.append(y)
    if not preds:
        return torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long)
    return torch.cat(preds), torch.cat(targets)


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
    from .classifier import SpeechClassifier
    from .train import split_indices

    clf = model if isinstance(model, SpeechClassifier) else SpeechClassifier.load(model, device)
    index = scan(data)
    for path, reason in index.skipped:
        log(f"skipped {path}: {reason}")
    unknown = sorted(set(index.classes) - set(clf.labels))
    if unknown:
        raise DatasetError(f"{data}: classes the model does not know: {', '.join(unknown[:10])} "
                           f"(model labels: {', '.join(clf.labels)})")
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


def cross_validate_speakers(model, data, out_dir, epochs: int | None = None, time_budget_min: float | None = None,
                            device: str | None = None, cache_dir=None,
                            log: Callable[[str], None] = print) -> dict:
    """Leave-one-speaker-out with the settings stored in the model file (preset, features,
    augmentation, epochs, extra data): one fresh model per speaker, trained on all others, tested on
    that one. Folds are the speakers of ``data`` only; extra-data clips join every fold's training part.
    -> ``{"speakers": {name: accuracy}, "mean": float, "counts": {name: n}}``."""
    from .classifier import SpeechClassifier
    from .train import TrainSettings, prepare_data, train_model

    clf = model if isinstance(model, SpeechClassifier) else SpeechClassifier.load(model)
    s = TrainSettings.from_dict(clf.train_settings or {})
    s.sample_rate, s.clip_seconds = clf.audio.sample_rate, clf.audio.clip_seconds
    if epochs is not None:
        s.epochs = epochs
    if time_budget_min is not None:
        s.time_budget_min = time_budget_min
    if device is not None:
        s.device = device
    prepared = prepare_data(data, s, cache_dir, log)
    speakers = prepared[0].speakers
    if len(speakers) < 2:
        raise DatasetError(f"{data}: leave-one-speaker-out needs speaker ids on the clips (found {len(speakers)})")
    for extra in s.extra_data:
        log(f"extra training data in every fold: {extra}")
    out_dir = Path(out_dir)
    res, counts = {}, {}
    for spk in speakers:
        s.split = f"loso:{spk}"
        r = train_model(data, out_dir / f"loso-{spk}.pt", s, log=log, prepared=prepared)
        res[spk], counts[spk] = r.test["accuracy"], r.test["count"]
        log(f"speaker {spk}: {res[spk]:.4f} ({counts[spk]} clips)")
    return {"speakers": res, "mean": sum(res.values()) / len(res), "counts": counts}
