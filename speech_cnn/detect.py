"""`speech-cnn detect`: slide a clip model over a long recording and report labelled segments.

The file is read in blocks (``soundfile.SoundFile`` seek + read, ``block_s`` seconds of windows at a
time, plus a small margin so the resampler has context at block edges); each block is resampled to
the model's rate and cut into windows of the model's clip length every ``hop_s`` seconds, and only
the window scores (W x K floats) are kept -- a 1-hour file never has its audio or features in
memory at once.

Scores: window probabilities are smoothed by a moving average over ``smooth`` windows. A window is
"background" when its top smoothed score is below ``threshold``, its RMS level is below ``min_db``
dBFS, or its top label is a background label (names starting with ``_``, e.g. ``_silence_``).
Consecutive non-background windows with the same top label form a segment. A window also fires
when it holds only part of a word, so the run of window centres overshoots the word by up to half a
clip on each side; the segment is therefore trimmed to the hops (hop-long chunks around the window
centres) whose level is within ``trim_db`` of the loudest hop in it, and spans those hops. Segment
score = the highest smoothed score in it.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from .audio import AudioError, normalise, resample


@dataclass
class DetectConfig:
    hop_s: float = 0.1          # seconds between window starts
    threshold: float = 0.8      # minimum smoothed top score for a non-background window
    smooth: int = 3             # moving average over this many windows (1 = none)
    min_db: float = -50.0       # windows quieter than this RMS level (dBFS) are background
    trim_db: float = 20.0       # segment edges: drop hops more than this below the segment's loudest
    block_s: float = 60.0       # seconds of windows scored per block read from the file
    batch_size: int = 128       # windows per network call


def _open(path: Path) -> sf.SoundFile:
    if not path.is_file():
        raise AudioError(path, "no such file")
    if path.stat().st_size == 0:
        raise AudioError(path, "empty file (0 bytes)")
    try:
        return sf.SoundFile(str(path))
    except Exception as e:  # libsndfile refuses it
        raise AudioError(path, f"not a readable audio file for streaming ({str(e).strip() or type(e).__name__})") from None


def window_scores(clf, path, cfg: DetectConfig) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Yield per block: (probs (w, K), window level dBFS (w,), level of the hop around each window
    centre dBFS (w,)) for consecutive windows of the file."""
    path = Path(path)
    sr, n = clf.audio.sample_rate, clf.audio.num_samples
    hop = max(1, int(round(cfg.hop_s * sr)))
    with _open(path) as f:
        sr_in, total_in = f.samplerate, f.frames
        if total_in <= 0:
            raise AudioError(path, "no audio samples")
        total = int(math.ceil(total_in * sr / sr_in))          # length at the model rate
        n_win = 1 if total <= n else (total - n) // hop + 1
        per_block = max(1, int(cfg.block_s * sr) // hop)
        margin = int(0.05 * sr_in) + 64                          # resampler context at block edges
        for w0 in range(0, n_win, per_block):
            w1 = min(n_win, w0 + per_block)
            t0, t1 = w0 * hop, (w1 - 1) * hop + n                  # model-rate samples needed
            r0 = max(0, int(t0 * sr_in / sr) - margin)
            r1 = min(total_in, int(math.ceil(t1 * sr_in / sr)) + margin)
            try:
                f.seek(r0)
                data = f.read(r1 - r0, dtype="float32", always_2d=True)  # (m, channels)
            except Exception as e:
                raise AudioError(path, f"read failed at sample {r0} ({e})") from None
            if not np.isfinite(data).all():
                raise AudioError(path, f"NaN or Inf samples near {r0 / sr_in:.1f} s")
            wave = resample(torch.from_numpy(data.mean(axis=1)), sr_in, sr)
            off = int(round(r0 * sr / sr_in))                     # model-rate index of wave[0]
            seg = wave[max(0, t0 - off):t1 - off]
            if len(seg) < t1 - t0:                                 # end of file: zero padding
                seg = torch.nn.functional.pad(seg, (0, t1 - t0 - len(seg)))
            wins = seg.unfold(0, n, hop)[: w1 - w0]                 # (w, n)
            level = 10 * torch.log10(wins.pow(2).mean(1).clamp_min(1e-12))  # dBFS (w,)
            c0 = max(0, n // 2 - hop // 2)
            centre = 10 * torch.log10(wins[:, c0:c0 + hop].pow(2).mean(1).clamp_min(1e-12))  # (w,)
            wins = normalise(wins, clf.audio.normalise, clf.audio.level)
            probs = torch.cat([clf.predict_proba(wins[i:i + cfg.batch_size])
                               for i in range(0, len(wins), cfg.batch_size)])
            yield probs, level, centre


def smooth_scores(probs: torch.Tensor, k: int) -> torch.Tensor:
    """Centred moving average over k windows along axis 0 (edges average what exists)."""
    if k <= 1 or len(probs) == 0:
        return probs
    x = probs.T[:, None, :]  # (K, 1, W)
    ones = torch.ones(1, 1, k)
    num = torch.nn.functional.conv1d(x, ones, padding=k // 2)  # window sums
    den = torch.nn.functional.conv1d(torch.ones_like(x[:1]), ones, padding=k // 2)
    return (num / den)[:, 0, : len(probs)].T


def segments(probs: torch.Tensor, level_db: torch.Tensor, centre_db: torch.Tensor, labels: list[str],
             cfg: DetectConfig, clip_s: float, duration_s: float) -> list[dict]:
    """Window scores -> [{"label", "start", "end", "score"}] (see module doc)."""
    if len(probs) == 0:
        return []
    p = smooth_scores(probs, cfg.smooth)
    score, top = p.max(1)
    bg = torch.tensor([lab.startswith("_") for lab in labels])
    active = (score >= cfg.threshold) & (level_db >= cfg.min_db) & ~bg[top]
    out, i, w = [], 0, len(p)
    while i < w:
        if not active[i]:
            i += 1
            continue
        j = i
        while j + 1 < w and active[j + 1] and top[j + 1] == top[i]:
            j += 1
        loud = float(centre_db[i:j + 1].max()) - cfg.trim_db
        a, b = i, j
        while a < b and centre_db[a] < loud:
            a += 1
        while b > a and centre_db[b] < loud:
            b -= 1
        c0, c1 = a * cfg.hop_s + clip_s / 2, b * cfg.hop_s + clip_s / 2
        out.append({"label": labels[int(top[i])], "start": round(max(0.0, c0 - cfg.hop_s / 2), 3),
                    "end": round(min(duration_s, c1 + cfg.hop_s / 2), 3),
                    "score": round(float(score[i:j + 1].max()), 4)})
        i = j + 1
    return out


def detect(clf, path, cfg: DetectConfig | None = None) -> list[dict]:
    """Labelled segments of a long recording (streamed; see module doc)."""
    cfg = cfg or DetectConfig()
    path = Path(path)
    with _open(path) as f:
        duration = f.frames / f.samplerate
    parts = list(window_scores(clf, path, cfg))
    if not parts:
        return []
    probs, level, centre = (torch.cat([p[k] for p in parts]) for k in range(3))
    return segments(probs, level, centre, clf.labels, cfg, clf.audio.clip_seconds, duration)
