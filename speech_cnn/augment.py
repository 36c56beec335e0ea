"""On-the-fly training augmentation, batch-capable; every module is the identity in eval mode.

Waveform stage (B, N) -> (B, N):  TimeShift, SpeedPerturb, NoiseMix   (WaveAugment chains them)
Feature stage (B, 1, F, T):       SpecAugment (frequency and time masks)
Randomness comes from torch's global generator (seeded by the trainer) unless a Generator is given.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torchaudio.functional as AF

from .audio import fix_length


def _uniform(n: int, lo: float, hi: float, g, device) -> torch.Tensor:
    return torch.rand(n, generator=g, device="cpu").to(device) * (hi - lo) + lo


def colored_noise(n: int, length: int, color: str = "white", generator=None) -> torch.Tensor:
    """(n, length) unit-RMS noise: white (flat), pink (1/f power), brown (1/f^2 power)."""
    white = torch.randn(n, length, generator=generator)
    if color == "white":
        noise = white
    else:
        exponent = {"pink": 0.5, "brown": 1.0}[color]  # amplitude ~ f^-exponent
        spec = torch.fft.rfft(white, dim=-1)
        f = torch.arange(spec.shape[-1], dtype=torch.float32)
        f[0] = 1.0  # keep DC finite
        spec = spec / f.pow(exponent)
        noise = torch.fft.irfft(spec, n=length, dim=-1)
    return noise / noise.pow(2).mean(dim=-1, keepdim=True).sqrt().clamp_min(1e-12)


class TimeShift(nn.Module):
    """Shift each clip by a random number of samples in [-max_shift, max_shift], zero-filling."""

    def __init__(self, max_shift: int, generator: torch.Generator | None = None):
        super().__init__()
        self.max_shift = int(max_shift)
        self.generator = generator

    def forward(self, wave: torch.Tensor) -> torch.Tensor:  # (B, N)
        if not self.training or self.max_shift == 0:
            return wave
        B, N = wave.shape
        shift = torch.randint(-self.max_shift, self.max_shift + 1, (B,), generator=self.generator)
        shift = shift.to(wave.device)
        idx = torch.arange(N, device=wave.device)[None, :] - shift[:, None]  # (B, N) source index
        valid = (idx >= 0) & (idx < N)
        out = torch.gather(wave, 1, idx.clamp(0, N - 1))
        return out * valid


class NoiseMix(nn.Module):
    """Add background noise at a random SNR (dB) in snr_db to each clip with probability p.

    Noise comes from `noises` (list of 1-D tensors at the model rate, e.g. Speech Commands'
    _background_noise_ files; a random segment is taken, looped if short) or, when none are
    given, from synthetic white/pink/brown noise. The SNR is relative to the clip's own power, so
    an all-silent clip stays silent.
    """

    def __init__(self, noises: list[torch.Tensor] | None = None, snr_db=(5.0, 20.0), p: float = 0.8,
                 colors=("white", "pink", "brown"), generator: torch.Generator | None = None):
        super().__init__()
        self.noises = [n.float() for n in (noises or []) if n.numel() > 0]
        self.snr_db = snr_db
        self.p = p
        self.colors = colors
        self.generator = generator

    def _noise(self, n: int, length: int) -> torch.Tensor:  # (n, length) unit RMS
        g = self.generator
        if not self.noises:
            kinds = torch.randint(len(self.colors), (n,), generator=g).tolist()
            return torch.stack([colored_noise(1, length, self.colors[k], g)[0] for k in kinds])
        rows = []
        for k in torch.randint(len(self.noises), (n,), generator=g).tolist():
            src = self.noises[k]
            if src.numel() < length:
                src = src.repeat(length // src.numel() + 1)
            s = int(torch.randint(src.numel() - length + 1, (1,), generator=g))
            seg = src[s:s + length]
            rows.append(seg / seg.pow(2).mean().sqrt().clamp_min(1e-12))
        return torch.stack(rows)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:  # (B, N)
        if not self.training or self.p <= 0:
            return wave
        B, N = wave.shape
        apply = torch.rand(B, generator=self.generator) < self.p
        if not apply.any():
            return wave
        idx = torch.nonzero(apply)[:, 0]
        noise = self._noise(len(idx), N).to(wave)  # (b, N)
        snr = _uniform(len(idx), *self.snr_db, self.generator, wave.device)
        sig_rms = wave[idx.to(wave.device)].pow(2).mean(dim=-1).sqrt()  # (b,)
        gain = sig_rms / (10.0 ** (snr / 20.0))
        out = wave.clone()
        out[idx.to(wave.device)] += gain[:, None] * noise
        return out


class SpeedPerturb(nn.Module):
    """Play each clip at a speed factor drawn from `factors` (pitch changes too, like Kaldi's
    speed perturbation), then centre crop/pad back to N samples."""

    def __init__(self, factors=(0.9, 1.0, 1.1), generator: torch.Generator | None = None):
        super().__init__()
        self.factors = tuple(factors)
        self.generator = generator

    def forward(self, wave: torch.Tensor) -> torch.Tensor:  # (B, N)
        if not self.training:
            return wave
        B, N = wave.shape
        choice = torch.randint(len(self.factors), (B,), generator=self.generator)
        out = wave.clone()
        for k, f in enumerate(self.factors):
            rows = torch.nonzero(choice == k)[:, 0].to(wave.device)
            if f == 1.0 or len(rows) == 0:
                continue
            # treat the clip as recorded at f * 100 Hz-units and resample to 100: length N / f
            sped = AF.resample(wave[rows], int(round(f * 100)), 100)
            out[rows] = torch.stack([fix_length(r, N, "centre", "centre") for r in sped])
        return out


class SpecAugment(nn.Module):
    """Zero (or mean-fill) `freq_masks` bands of width <= freq_width and `time_masks` spans of
    width <= time_width, independently per clip, on features (B, 1, F, T)."""

    def __init__(self, freq_masks: int = 2, freq_width: int = 8, time_masks: int = 2,
                 time_width: int = 10, fill: str = "mean"):
        super().__init__()
        self.freq_masks, self.freq_width = freq_masks, freq_width
        self.time_masks, self.time_width = time_masks, time_width
        self.fill = fill  # "mean": the batch's mean feature value (neutral after log); "zero"

    def forward(self, feat: torch.Tensor) -> torch.Tensor:  # (B, 1, F, T)
        if not self.training:
            return feat
        out = feat
        value = out.mean().item() if self.fill == "mean" else 0.0
        for _ in range(self.freq_masks):
            out = AF.mask_along_axis_iid(out, self.freq_width, value, axis=2)
        for _ in range(self.time_masks):
            out = AF.mask_along_axis_iid(out, self.time_width, value, axis=3)
        return out


class WaveAugment(nn.Sequential):
    """The waveform chain used in training: speed -> shift -> noise (any may be None)."""

    def __init__(self, shift: TimeShift | None = None, speed: SpeedPerturb | None = None,
                 noise: NoiseMix | None = None):
        super().__init__(*[m for m in (speed, shift, noise) if m is not None])
