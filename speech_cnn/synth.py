"""Spoken digits synthesized with espeak-ng: the embedded default data (`speech-cnn synth`).

Each "speaker" is one espeak-ng voice: an English accent (`en-us`, `en-gb-scotland`, ...) with a
voice variant (`+m3`, `+f2`, ...). Each take of a digit varies the speaking rate and pitch a little.
Clips are trimmed of leading/trailing silence (as FSDD's are), resampled to `sample_rate` and written
as 16-bit WAV with FSDD's file names, `{digit}_{speaker}_{take}.wav`, so the FSDD layout reads them
with label and speaker, and speaker-disjoint splits work on them.

Needs the `espeak-ng` program (Debian/Ubuntu: `apt-get install espeak-ng`).
"""
from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from speech_cnn.audio import decode, resample, to_mono

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan",
           "en-gb-x-gbcwmd")
VARIANTS = ("m1", "m3", "m7", "f2", "f4")


@dataclass(frozen=True)
class SynthConfig:
    accents: tuple[str, ...] = ACCENTS     # espeak-ng language/accent voices
    variants: tuple[str, ...] = VARIANTS   # espeak-ng voice variants (m = male, f = female)
    takes: int = 2                         # takes per digit and speaker (rate/pitch jittered)
    sample_rate: int = 8000                # Hz of the written WAV files (FSDD's rate)
    seed: int = 0                          # rate/pitch jitter seed
    words: tuple[str, ...] = field(default=DIGIT_WORDS)  # label i is spoken as words[i]
    espeak: str = "espeak-ng"              # program name or path


class SynthError(RuntimeError):
    """espeak-ng is missing or failed."""


def speakers(cfg: SynthConfig) -> list[tuple[str, str]]:
    """(speaker name, espeak-ng voice) pairs, e.g. ("en-gb-scotland-f2", "en-gb-scotland+f2")."""
    return [(f"{a}-{v}", f"{a}+{v}") for a in cfg.accents for v in cfg.variants]


def trim_silence(wave: np.ndarray, rate: int, threshold_db: float = -40.0) -> np.ndarray:
    """Drop leading/trailing samples whose 10 ms frame energy is below peak + threshold_db."""
    hop = max(1, rate // 100)
    n = len(wave) // hop
    if n == 0:
        return wave
    frames = wave[: n * hop].reshape(n, hop)
    energy = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)
    keep = np.nonzero(energy > energy.max() + threshold_db)[0]
    return wave[keep[0] * hop: (keep[-1] + 1) * hop] if len(keep) else wave


def say(text: str, voice: str, rate_wpm: int, pitch: int, out_rate: int, espeak: str) -> np.ndarray:
    """Speak `text` with espeak-ng; return float32 mono samples at out_rate, silence trimmed."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "say.wav"
        cmd = [espeak, "-v", voice, "-s", str(rate_wpm), "-p", str(pitch), "-w", str(wav), text]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except FileNotFoundError:
            raise SynthError(f"'{espeak}' not found: install espeak-ng "
                             "(Debian/Ubuntu: apt-get install espeak-ng)") from None
        if proc.returncode != 0 or not wav.exists():
            raise SynthError(f"espeak-ng failed for voice {voice!r}: {proc.stderr.strip()}")
        data, sr = decode(wav)
    wave = resample(torch.from_numpy(to_mono(data).copy()), sr, out_rate).numpy()
    return trim_silence(wave, out_rate)


def synthesize(out_dir: str | os.PathLike, cfg: SynthConfig = SynthConfig(), progress=None) -> int:
    """Write every digit x speaker x take into out_dir (replaced atomically); return the clip count."""
    out = Path(out_dir)
    if shutil.which(cfg.espeak) is None and not Path(cfg.espeak).exists():
        raise SynthError(f"'{cfg.espeak}' not found: install espeak-ng "
                         "(Debian/Ubuntu: apt-get install espeak-ng)")
    rng = random.Random(cfg.seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=out.parent))
    try:
        jobs = [(d, s, v, t) for s, v in speakers(cfg) for d in range(len(cfg.words))
                for t in range(cfg.takes)]
        for i, (digit, name, voice, take) in enumerate(jobs):
            rate_wpm, pitch = rng.randint(120, 200), rng.randint(25, 75)
            wave = say(cfg.words[digit], voice, rate_wpm, pitch, cfg.sample_rate, cfg.espeak)
            sf.write(tmp / f"{digit}_{name}_{take}.wav", wave, cfg.sample_rate, subtype="PCM_16")
            if progress is not None:
                progress(i + 1, len(jobs))
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return len(jobs)
