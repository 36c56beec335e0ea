"""`speech-cnn classify`: label audio files of any format and rate with a model file.

    results = classify_paths(clf, ["a.wav", "folder/"], top=3)
    # [{"path": "a.wav", "label": "7", "score": 0.98, "top": [{"label": "7", "score": 0.98}, ...]},
    #  {"path": "bad.wav", "error": "empty file (0 bytes)"}]

Each file goes through the model's own preprocessing (decode, mono, resample to its rate, energy
crop / centre pad to its clip length, its normalisation); clips are batched through the network.
A file that cannot be read gets an error entry and the rest carry on.
"""
from __future__ import annotations

from pathlib import Path

import torch

from .audio import AUDIO_EXTENSIONS, AudioError, load_audio


def expand_inputs(inputs) -> list[Path]:
    """Files as given (any extension: the decoder decides) plus audio files found under folders,
    sorted per folder. A missing path is kept so that it is reported as an error."""
    out: list[Path] = []
    for p in map(Path, inputs):
        if p.is_dir():
            out += sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in AUDIO_EXTENSIONS
                          and not q.name.startswith("."))
        else:
            out.append(p)
    return out


def classify_paths(clf, inputs, top: int = 3, batch_size: int = 64) -> list[dict]:
    """-> one dict per file, in input order (see module doc)."""
    paths = expand_inputs(inputs)
    results: list[dict] = [{} for _ in paths]
    top = max(1, min(top, len(clf.labels)))
    for start in range(0, len(paths), batch_size):
        waves, rows = [], []
        for i in range(start, min(start + batch_size, len(paths))):
            try:
                waves.append(load_audio(paths[i], clf.audio))
                rows.append(i)
            except AudioError as e:
                results[i] = {"path": str(paths[i]), "error": e.reason}
        if not waves:
            continue
        probs = clf.predict_proba(torch.stack(waves))  # (b, K)
        scores, idx = probs.topk(top, dim=1)
        for r, s, k in zip(rows, scores.tolist(), idx.tolist()):
            results[r] = {"path": str(paths[r]), "label": clf.labels[k[0]], "score": round(s[0], 6),
                          "top": [{"label": clf.labels[j], "score": round(v, 6)} for j, v in zip(k, s)]}
    return results


def format_line(r: dict) -> str:
    """Human-readable line: ``path<TAB>label score (alt score, ...)`` or ``path<TAB>ERROR reason``."""
    if "error" in r:
        return f"{r['path']}\tERROR {r['error']}"
    alts = ", ".join(f"{t['label']} {t['score']:.3f}" for t in r["top"][1:])
    return f"{r['path']}\t{r['label']} {r['score']:.3f}" + (f"  ({alts})" if alts else "")
