"""Spectrogram features: log-mel and MFCC as pure functions + a thin FrontEnd module.

The FrontEnd is part of the model: it maps waveforms (B, N) to features (B, 1, F, T) on whatever
device the model sits on, so `classify` computes exactly what training computed. Its FeatureConfig
is JSON-able (to_dict/from_dict) and stored in the model file; the buffers (window, mel filter
bank, DCT matrix) are rebuilt from it and are not saved in the state dict.

Matching librosa: mel_scale="slaney", mel_norm="slaney", pad_mode="constant", power=2 equal
librosa.feature.melspectrogram's defaults; log="db" equals librosa.power_to_db(S, ref=1.0,
amin=1e-10, top_db=top_db); kind="mfcc" equals librosa.feature.mfcc (DCT-II, ortho) of that.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torchaudio.functional as AF

NORMALIZE = ("none", "mean", "meanvar", "meanvar-active")


@dataclass
class FeatureConfig:
    sample_rate: int = 16000  # Hz of the input waveforms (must equal AudioConfig.sample_rate)
    n_fft: int = 512  # FFT size -> n_fft // 2 + 1 frequency bins
    win_length: int = 400  # window length in samples (25 ms at 16 kHz), zero-padded to n_fft
    hop_length: int = 160  # frame step in samples (10 ms at 16 kHz)
    window: str = "hann"  # "hann" | "hamming" (periodic, like librosa/scipy "hann")
    n_mels: int = 40  # mel bands
    fmin: float = 20.0  # lowest mel edge in Hz
    fmax: float | None = None  # highest mel edge in Hz; None = sample_rate / 2; > sr/2 is an error
    mel_scale: str = "slaney"  # "slaney" | "htk" mel formula
    mel_norm: str | None = "slaney"  # "slaney" (area-normalised triangles) | None
    power: float = 2.0  # 2 = power spectrogram, 1 = magnitude
    center: bool = True  # pad n_fft // 2 on both sides so frame t is centred on sample t * hop
    pad_mode: str = "constant"  # padding for center=True ("constant" = librosa >= 0.10 default)
    kind: str = "logmel"  # "logmel" | "mfcc"
    n_mfcc: int = 13  # MFCC coefficients kept (kind="mfcc")
    log: str = "log"  # "log": ln(mel + log_offset) | "db": 10 log10(max(mel, 1e-10)) with top_db
    log_offset: float = 1e-6  # added before ln (log="log"); keeps silence finite
    top_db: float | None = 80.0  # log="db"/mfcc: floor at (per-clip max - top_db); None = no floor
    normalize: str = "none"  # "none" | "mean" | "meanvar" | "meanvar-active": per clip and band, over time
    active_db: float = 40.0  # "meanvar-active": frames within this many dB of the loudest one count

    def __post_init__(self):
        nyq = self.sample_rate / 2
        if self.fmax is not None and self.fmax > nyq:
            raise ValueError(f"fmax={self.fmax} Hz is above the Nyquist frequency {nyq} Hz of "
                             f"sample_rate={self.sample_rate}; lower fmax or use fmax=None")
        if not 0 <= self.fmin < self.f_max:
            raise ValueError(f"need 0 <= fmin < fmax, got fmin={self.fmin}, fmax={self.f_max}")
        if self.win_length > self.n_fft:
            raise ValueError(f"win_length={self.win_length} > n_fft={self.n_fft}")
        if self.kind not in ("logmel", "mfcc"):
            raise ValueError(f"kind must be logmel|mfcc, got {self.kind!r}")
        if self.log not in ("log", "db"):
            raise ValueError(f"log must be log|db, got {self.log!r}")
        if self.normalize not in NORMALIZE:
            raise ValueError(f"normalize must be {'|'.join(NORMALIZE)}, got {self.normalize!r}")
        if self.normalize == "meanvar-active" and (self.kind != "logmel" or self.log != "log"):
            raise ValueError("normalize='meanvar-active' needs kind='logmel' with log='log'")
        if self.window not in ("hann", "hamming"):
            raise ValueError(f"window must be hann|hamming, got {self.window!r}")
        if self.kind == "mfcc" and self.n_mfcc > self.n_mels:
            raise ValueError("n_mfcc must be <= n_mels")

    @property
    def f_max(self) -> float:
        return self.sample_rate / 2 if self.fmax is None else float(self.fmax)

    @property
    def n_features(self) -> int:
        """Height F of the feature image (B, 1, F, T)."""
        return self.n_mfcc if self.kind == "mfcc" else self.n_mels

    def n_frames(self, num_samples: int) -> int:
        """Width T of the feature image for a clip of num_samples."""
        if self.center:
            return num_samples // self.hop_length + 1
        return (num_samples - self.n_fft) // self.hop_length + 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureConfig":
        return cls(**d)


def make_window(cfg: FeatureConfig) -> torch.Tensor:
    fn = torch.hann_window if cfg.window == "hann" else torch.hamming_window
    return fn(cfg.win_length, periodic=True)  # (win_length,)


def mel_filterbank(cfg: FeatureConfig) -> torch.Tensor:
    """(n_fft // 2 + 1, n_mels) triangular filters."""
    return AF.melscale_fbanks(cfg.n_fft // 2 + 1, cfg.fmin, cfg.f_max, cfg.n_mels, cfg.sample_rate,
                              norm=cfg.mel_norm, mel_scale=cfg.mel_scale)


def dct_matrix(cfg: FeatureConfig) -> torch.Tensor:
    """(n_mels, n_mfcc) orthonormal DCT-II."""
    return AF.create_dct(cfg.n_mfcc, cfg.n_mels, norm="ortho")


def mel_spectrogram(wave: torch.Tensor, window: torch.Tensor, fbank: torch.Tensor,
                    cfg: FeatureConfig) -> torch.Tensor:
    """(..., N) -> (..., n_mels, T) mel power (or magnitude) spectrogram."""
    spec = AF.spectrogram(wave, pad=0, window=window, n_fft=cfg.n_fft, hop_length=cfg.hop_length,
                          win_length=cfg.win_length, power=cfg.power, normalized=False,
                          center=cfg.center, pad_mode=cfg.pad_mode)  # (..., n_freq, T)
    return torch.matmul(spec.transpose(-1, -2), fbank).transpose(-1, -2)


def to_db(mel: torch.Tensor, top_db: float | None) -> torch.Tensor:
    """(..., F, T) power -> dB, floored per clip at max - top_db (like librosa.power_to_db)."""
    db = 10.0 * torch.log10(mel.clamp_min(1e-10))
    if top_db is not None:
        db = torch.maximum(db, db.amax(dim=(-2, -1), keepdim=True) - top_db)
    return db


def normalize_active(feat: torch.Tensor, active_db: float = 40.0, floor: float = -3.0,
                     eps: float = 1e-5) -> torch.Tensor:
    """(..., F, T) natural-log mel: each band's mean/std over the *active* frames only (frame power
    within active_db of the clip's loudest frame), so zero padding and silence do not set the
    statistics (a short clip padded to the fixed length is normalised like a long one); the
    result is floored at ``floor`` (padding and silence become that constant)."""
    energy = torch.logsumexp(feat, dim=-2, keepdim=True)  # (..., 1, T) log frame power
    active = (energy >= energy.amax(dim=-1, keepdim=True) - active_db * 0.2302585).to(feat.dtype)
    n = active.sum(dim=-1, keepdim=True)
    mean = (feat * active).sum(dim=-1, keepdim=True) / n
    var = ((feat - mean).pow(2) * active).sum(dim=-1, keepdim=True) / n
    return ((feat - mean) / (var + eps).sqrt()).clamp_min(floor)


def normalize_over_time(feat: torch.Tensor, mode: str, eps: float = 1e-5, active_db: float = 40.0) -> torch.Tensor:
    """(..., F, T): remove each band's mean over time ("mean"), and scale to unit std ("meanvar");
    "meanvar-active": statistics over the active frames only (``normalize_active``)."""
    if mode == "none":
        return feat
    if mode == "meanvar-active":
        return normalize_active(feat, active_db, eps=eps)
    feat = feat - feat.mean(dim=-1, keepdim=True)
    if mode == "meanvar":
        feat = feat / (feat.pow(2).mean(dim=-1, keepdim=True) + eps).sqrt()
    return feat


def compute_features(wave: torch.Tensor, window: torch.Tensor, fbank: torch.Tensor,
                     dct: torch.Tensor | None, cfg: FeatureConfig) -> torch.Tensor:
    """(..., N) -> (..., F, T) log-mel or MFCC features, normalised per cfg.normalize."""
    mel = mel_spectrogram(wave, window, fbank, cfg)
    if cfg.kind == "mfcc":
        feat = torch.matmul(to_db(mel, cfg.top_db).transpose(-1, -2), dct).transpose(-1, -2)
    elif cfg.log == "db":
        feat = to_db(mel, cfg.top_db)
    else:
        feat = torch.log(mel + cfg.log_offset)
    return normalize_over_time(feat, cfg.normalize, active_db=cfg.active_db)


def log_mel(wave: torch.Tensor, cfg: FeatureConfig) -> torch.Tensor:
    """Convenience: (..., N) -> (..., n_mels, T) log-mel, building the buffers on the fly."""
    cfg = FeatureConfig(**{**cfg.to_dict(), "kind": "logmel"})
    return compute_features(wave, make_window(cfg).to(wave), mel_filterbank(cfg).to(wave), None, cfg)


def mfcc(wave: torch.Tensor, cfg: FeatureConfig) -> torch.Tensor:
    """Convenience: (..., N) -> (..., n_mfcc, T) MFCC."""
    cfg = FeatureConfig(**{**cfg.to_dict(), "kind": "mfcc"})
    return compute_features(wave, make_window(cfg).to(wave), mel_filterbank(cfg).to(wave),
                            dct_matrix(cfg).to(wave), cfg)


class FrontEnd(nn.Module):
    """Waveforms (B, N) -> features (B, 1, F, T); buffers follow .to(device)."""

    def __init__(self, cfg: FeatureConfig):
        super().__init__()
        self.cfg = cfg
        self.register_buffer("window", make_window(cfg), persistent=False)
        self.register_buffer("fbank", mel_filterbank(cfg), persistent=False)
        self.register_buffer("dct", dct_matrix(cfg) if cfg.kind == "mfcc" else None, persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        if wave.dim() == 1:
            wave = wave.unsqueeze(0)  # (N,) -> (1, N)
        # STFT in float32 even under autocast: fp16 power spectra overflow
        with torch.autocast(device_type=wave.device.type, enabled=False):
            feat = compute_features(wave.float(), self.window, self.fbank, self.dct, self.cfg)
        return feat.unsqueeze(1)  # (B, 1, F, T)

    def output_shape(self, num_samples: int) -> tuple[int, int, int]:
        """(C, H, W) = (1, F, T) for NetSpec.input_shape."""
        return (1, self.cfg.n_features, self.cfg.n_frames(num_samples))

    def extra_repr(self) -> str:
        c = self.cfg
        return (f"kind={c.kind}, sr={c.sample_rate}, n_fft={c.n_fft}, win={c.win_length}, "
                f"hop={c.hop_length}, n_mels={c.n_mels}, fmin={c.fmin}, fmax={c.f_max}")
