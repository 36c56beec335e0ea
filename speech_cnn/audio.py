"""Audio loading: decode any common format -> mono -> model rate -> fixed length.

Policy (the same in training, evaluation and `classify`):
- decode with soundfile (WAV/FLAC/OGG/MP3 via libsndfile); anything soundfile refuses is retried
  with librosa (audioread backends); if both fail -> AudioError naming the file and the reason.
- channels are averaged to mono.
- resampled to `AudioConfig.sample_rate` with torchaudio's windowed-sinc resampler.
- fixed length `AudioConfig.num_samples`:
  * longer clips are cropped (`crop`): "energy" keeps the window of num_samples samples with the
    largest total energy (sum of squares; the earliest such window on ties, so an all-silent clip
    keeps its start); "centre" keeps the middle; "start" keeps the beginning.
  * shorter clips are zero-padded (`pad`): "centre" puts the clip in the middle (the extra sample of
    an odd padding goes at the end); "end" appends zeros after the clip.
- optional normalisation after cropping: "peak" scales to max |x| = `level`, "rms" scales to RMS =
  `level`; an all-zero clip is left as zeros (never divided by zero).
- zero-byte files, files soundfile/librosa cannot parse (including compressed streams that fail
  part way, e.g. FLAC "decoder lost sync": no partial salvage), WAV files shorter than their header
  says (truncated), clips with no samples and clips with NaN/Inf samples raise AudioError.
"""
from __future__ import annotations

import functools
import struct
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".oga", ".opus", ".aif", ".aiff", ".m4a")


class AudioError(Exception):
    """A clip that cannot be used; str() names the file and the reason."""

    def __init__(self, path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass
class AudioConfig:
    sample_rate: int = 16000  # Hz the model sees; every clip is resampled to this
    clip_seconds: float = 1.0  # fixed clip length in seconds -> num_samples
    crop: str = "energy"  # long clips: "energy" | "centre" | "start" (see module doc)
    pad: str = "centre"  # short clips: "centre" | "end" (zero padding)
    normalise: str = "none"  # "none" | "peak" | "rms" (applied after crop/pad)
    level: float = 0.1  # target peak (normalise="peak") or RMS (normalise="rms")

    def __post_init__(self):
        if self.sample_rate <= 0 or self.clip_seconds <= 0:
            raise ValueError("sample_rate and clip_seconds must be positive")
        if self.crop not in ("energy", "centre", "start"):
            raise ValueError(f"crop must be energy|centre|start, got {self.crop!r}")
        if self.pad not in ("centre", "end"):
            raise ValueError(f"pad must be centre|end, got {self.pad!r}")
        if self.normalise not in ("none", "peak", "rms"):
            raise ValueError(f"normalise must be none|peak|rms, got {self.normalise!r}")

    @property
    def num_samples(self) -> int:
        return int(round(self.sample_rate * self.clip_seconds))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "AudioConfig":
        return cls(**d)


def _check_wav_header(path: Path, size: int) -> None:
    """Raise AudioError when a RIFF/WAVE file holds fewer data bytes than its header declares."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return  # not RIFF (RF64/W64/other): leave it to the decoder
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            cid, csize = struct.unpack("<4sI", f.read(8))
            if cid == b"data":
                if csize in (0, 0xFFFFFFFF):  # streamed writer: size unknown, not truncated
                    return
                have = size - (pos + 8)
                if have < csize:
                    raise AudioError(path, f"truncated WAV: header declares {csize} data bytes, "
                                           f"file holds {have}")
                return
            pos += 8 + csize + (csize & 1)
        raise AudioError(path, "truncated WAV: no complete 'data' chunk")


def _precheck(path) -> Path:
    """The checks every read starts with: readable, not empty, a WAV header that fits the file."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as e:
        raise AudioError(path, f"cannot read file ({e.strerror or e})") from None
    if size == 0:
        raise AudioError(path, "empty file (0 bytes)")
    _check_wav_header(path, size)
    return path


def decode(path) -> tuple[np.ndarray, int]:
    """File -> (samples float32 (channels, n), sample_rate). Raises AudioError."""
    path = _precheck(path)
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)  # (n, channels)
        data = data.T
    except Exception as e:  # libsndfile refuses: try librosa/audioread (MP3/M4A without libmpg123...)
        first = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        try:
            import librosa
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                y, sr = librosa.load(str(path), sr=None, mono=False)
            data = np.atleast_2d(np.asarray(y, dtype=np.float32))
        except Exception:
            raise AudioError(path, f"not a readable audio file ({first})") from None
    if data.shape[-1] == 0:
        raise AudioError(path, "no audio samples")
    if not np.isfinite(data).all():
        raise AudioError(path, "contains NaN or Inf samples")
    return np.ascontiguousarray(data), int(sr)


def to_mono(x: np.ndarray) -> np.ndarray:
    """(channels, n) -> (n,) by averaging the channels."""
    return x[0] if x.shape[0] == 1 else x.mean(axis=0)


@functools.lru_cache(maxsize=32)
def _resampler(orig: int, new: int) -> torchaudio.transforms.Resample:
    # the sinc kernel is built once per rate pair and reused
    return torchaudio.transforms.Resample(orig, new)


def resample(wave: torch.Tensor, orig_rate: int, new_rate: int) -> torch.Tensor:
    """(..., n) at orig_rate -> (..., n * new / orig) at new_rate (torchaudio sinc-Hann)."""
    if orig_rate == new_rate:
        return wave
    return _resampler(int(orig_rate), int(new_rate)).to(wave.device)(wave)


def energy_crop_start(wave: torch.Tensor, n: int) -> int:
    """Start of the n-sample window of (N,) wave with the most energy (earliest on ties)."""
    total = wave.shape[-1]
    if total <= n:
        return 0
    e = torch.cumsum(wave.double() ** 2, 0)
    e = torch.cat([e.new_zeros(1), e])
    window = e[n:] - e[:-n]  # energy of window starting at i, (total - n + 1,)
    # tolerate float noise so silence/constant energy picks the earliest window
    best = window.max()
    idx = torch.nonzero(window >= best - 1e-9 * max(best.item(), 1e-30))[0, 0]
    return int(idx)


def fix_length(wave: torch.Tensor, n: int, crop: str = "energy", pad: str = "centre") -> torch.Tensor:
    """(N,) -> (n,) by the crop/pad policy in the module doc."""
    total = wave.shape[-1]
    if total > n:
        if crop == "energy":
            s = energy_crop_start(wave, n)
        elif crop == "centre":
            s = (total - n) // 2
        else:
            s = 0
        return wave[s:s + n]
    if total < n:
        extra = n - total
        left = extra // 2 if pad == "centre" else 0
        return torch.nn.functional.pad(wave, (left, extra - left))
    return wave


def normalise(wave: torch.Tensor, mode: str, level: float = 0.1) -> torch.Tensor:
    """Scale (..., n) to a peak or RMS level per clip; all-zero clips stay zero."""
    if mode == "none":
        return wave
    if mode == "peak":
        ref = wave.abs().amax(dim=-1, keepdim=True)
    else:
        ref = wave.pow(2).mean(dim=-1, keepdim=True).sqrt()
    return torch.where(ref > 0, wave * (level / ref.clamp_min(1e-12)), wave)


def load_audio(path, cfg: AudioConfig | None = None, *, sample_rate: int | None = None) -> torch.Tensor:
    """File -> float32 (cfg.num_samples,) mono at cfg.sample_rate. Raises AudioError.

    With cfg=None the whole clip is returned (no crop/pad/normalise) at `sample_rate`
    (or its own rate when that is None too), e.g. for background-noise files.
    """
    data, sr = decode(path)
    wave = torch.from_numpy(to_mono(data).copy())  # (n,)
    target = cfg.sample_rate if cfg is not None else (sample_rate or sr)
    wave = resample(wave, sr, target)
    if cfg is None:
        return wave.float()
    wave = fix_length(wave, cfg.num_samples, cfg.crop, cfg.pad)
    return normalise(wave, cfg.normalise, cfg.level).float().contiguous()


def probe(path) -> tuple[int, int, float]:
    """Validity check: (sample_rate, channels, seconds). Raises AudioError.

    Uncompressed WAV-family files are checked from the header and file size only (fast);
    compressed files (FLAC/OGG/MP3/...) are decoded in full, because a header does not prove the
    stream behind it decodes (e.g. FLAC files where the decoder "lost sync" part way).
    """
    path = _precheck(path)
    try:
        info = sf.info(str(path))
    except Exception:
        data, sr = decode(path)  # librosa fallback (or its AudioError)
        return sr, data.shape[0], data.shape[1] / sr
    if info.frames == 0:
        raise AudioError(path, "no audio samples")
    if info.format not in ("WAV", "WAVEX", "RF64", "W64", "AIFF"):
        data, sr = decode(path)
        return sr, data.shape[0], data.shape[1] / sr
    return int(info.samplerate), int(info.channels), info.frames / info.samplerate
