"""The speech model: waveform -> FrontEnd (features) -> [augmentation, training only] -> Network.

    clf = SpeechClassifier.create("fcnn", labels, AudioConfig(8000), feature_config(8000))
    logits, loss = clf(waves, targets)      # waves (B, N) at audio.sample_rate, N = num_samples
    clf.save(path) / SpeechClassifier.load(path)   # the file alone rebuilds it (spec, settings, labels)

The model file is a ``shared.checkpoint`` file whose meta holds ``app="speech_cnn"``, ``spec``
(``spec_to_dict``), ``audio`` (AudioConfig), ``features`` (FeatureConfig), ``labels`` (class names in
logit order), ``preset``, ``augment`` and ``train`` (the settings that made it, for cross-validation).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from shared.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from shared.network import NetSpec, build, spec_from_dict, spec_to_dict

from .audio import AudioConfig
from .augment import NoiseMix, SpecAugment, SpeedPerturb, TimeShift, WaveAugment
from .features import FeatureConfig, FrontEnd
from .model import make_spec

APP = "speech_cnn"


def feature_config(sample_rate: int, kind: str = "logmel", n_mels: int = 40, normalize: str = "meanvar",
                   n_mfcc: int = 13, **kw) -> FeatureConfig:
    """25 ms windows, 10 ms hop and the next power-of-two FFT at any sample rate."""
    win = int(round(0.025 * sample_rate))
    n_fft = 1 << (win - 1).bit_length()
    return FeatureConfig(sample_rate=sample_rate, n_fft=n_fft, win_length=win,
                         hop_length=int(round(0.010 * sample_rate)), n_mels=n_mels, kind=kind,
                         n_mfcc=n_mfcc, normalize=normalize, **kw)


@dataclass
class AugmentConfig:
    enabled: bool = True                      # master switch (augmentation runs in train mode only)
    shift_s: float = 0.1                      # random time shift up to +-shift_s seconds
    speed: tuple = (1.0,)                     # waveform speed/pitch factors (resampling; slow on CPU)
    warp_freq: float = 0.12                   # VTLP-like frequency scaling of the features by 1 +- warp_freq
    warp_time: float = 0.15                   # time stretch of the features by 1 +- warp_time
    noise_p: float = 0.5                      # probability of mixing synthetic noise into a clip
    snr_db: tuple = (10.0, 30.0)              # noise SNR range (dB) relative to the clip
    freq_masks: int = 2                       # SpecAugment frequency masks per clip
    freq_width: int = 4                       # max width of a frequency mask (bands)
    time_masks: int = 2                       # SpecAugment time masks per clip
    time_width: int = 10                      # max width of a time mask (frames)
    mixup: float = 0.0                        # mixup Beta(a, a) on features + targets; 0 = off

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> AugmentConfig:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def make_augment(cfg: AugmentConfig, sample_rate: int) -> tuple[nn.Module, nn.Module]:
    """-> (waveform augmentation (B, N) -> (B, N), feature augmentation (B, 1, F, T) -> same)."""
    if not cfg.enabled:
        return nn.Identity(), nn.Identity()
    wave = WaveAugment(shift=TimeShift(int(cfg.shift_s * sample_rate)) if cfg.shift_s > 0 else None,
                       speed=SpeedPerturb(cfg.speed) if len(cfg.speed) > 1 else None,
                       noise=NoiseMix(None, cfg.snr_db, cfg.noise_p) if cfg.noise_p > 0 else None)
    spec = nn.Sequential(FeatureWarp(cfg.warp_freq, cfg.warp_time),
                         SpecAugment(cfg.freq_masks, cfg.freq_width, cfg.time_masks, cfg.time_width))
    return wave, spec


class FeatureWarp(nn.Module):
    """Speaker-like variation on features (B, 1, F, T), training only: each clip's frequency axis is
    scaled by a factor in [1 - freq, 1 + freq] about the lowest band (vocal-tract-length style, in
    band-index units) and its time axis stretched by [1 - time, 1 + time] about the centre;
    bilinear resampling, edges repeated. Much cheaper than resampling waveforms."""

    def __init__(self, freq: float = 0.1, time: float = 0.1):
        super().__init__()
        self.freq, self.time = freq, time

    def forward(self, feat: torch.Tensor) -> torch.Tensor:  # (B, 1, F, T)
        if not self.training or (self.freq <= 0 and self.time <= 0):
            return feat
        b, _, f, t = feat.shape
        a = 1 + (torch.rand(b, device=feat.device) * 2 - 1) * self.freq   # (B,) frequency scale
        s = 1 + (torch.rand(b, device=feat.device) * 2 - 1) * self.time   # (B,) time stretch
        ys = torch.linspace(0, f - 1, f, device=feat.device)[None, :] / a[:, None]  # source band (B, F)
        xs = (torch.linspace(0, t - 1, t, device=feat.device)[None, :] - (t - 1) / 2) / s[:, None] + (t - 1) / 2
        gy = (2 * ys / max(f - 1, 1) - 1)[:, :, None].expand(b, f, t)
        gx = (2 * xs / max(t - 1, 1) - 1)[:, None, :].expand(b, f, t)
        grid = torch.stack([gx, gy], dim=-1)  # (B, F, T, 2) as (x, y) in [-1, 1]
        return nn.functional.grid_sample(feat, grid, mode="bilinear", padding_mode="border", align_corners=True)


class SpeechClassifier(nn.Module):
    """``forward(wave (B, N), targets=None, label_smoothing=0) -> (logits (B, K), loss | None)``."""

    def __init__(self, spec: NetSpec, audio: AudioConfig, features: FeatureConfig, labels: list[str],
                 augment: AugmentConfig | None = None, preset: str = "", train_settings: dict | None = None):
        super().__init__()
        if features.sample_rate != audio.sample_rate:
            raise ValueError(f"feature sample rate {features.sample_rate} != audio sample rate {audio.sample_rate}")
        if spec.num_classes != len(labels):
            raise ValueError(f"spec has {spec.num_classes} classes, {len(labels)} labels given")
        self.audio, self.labels, self.preset = audio, list(labels), preset
        self.augment_cfg = augment or AugmentConfig(enabled=False)
        self.train_settings = dict(train_settings or {})
        self.frontend = FrontEnd(features)
        self.wave_aug, self.feat_aug = make_augment(self.augment_cfg, audio.sample_rate)
        self.net = build(spec)

    @classmethod
    def create(cls, preset: str, labels: list[str], audio: AudioConfig, features: FeatureConfig,
               augment: AugmentConfig | None = None, train_settings: dict | None = None) -> SpeechClassifier:
        shape = FrontEnd(features).output_shape(audio.num_samples)  # (1, F, T)
        return cls(make_spec(preset, shape, len(labels)), audio, features, labels, augment, preset, train_settings)

    @property
    def features_cfg(self) -> FeatureConfig:
        return self.frontend.cfg

    def features(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, N) waveforms -> (B, 1, F, T) network input (augmented in train mode)."""
        return self.feat_aug(self.frontend(self.wave_aug(wave)))

    def forward(self, wave: torch.Tensor, targets: torch.Tensor | None = None, label_smoothing: float = 0.0):
        a = self.augment_cfg.mixup if self.augment_cfg.enabled else 0.0
        if not (self.training and targets is not None and a > 0 and len(wave) > 1):
            return self.net(self.features(wave), targets, label_smoothing)
        x = self.features(wave)  # mixup: convex pairs of clips (features) and of their losses
        lam = float(torch.distributions.Beta(a, a).sample())
        perm = torch.randperm(len(x), device=x.device)
        logits, _ = self.net(lam * x + (1 - lam) * x[perm])
        ce = nn.functional.cross_entropy
        loss = (lam * ce(logits, targets, label_smoothing=label_smoothing)
                + (1 - lam) * ce(logits, targets[perm], label_smoothing=label_smoothing))
        return logits, loss

    @torch.no_grad()
    def predict_proba(self, wave: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """(B, N) -> (B, K) class probabilities, in eval mode, on the model's device."""
        was = self.training
        self.eval()
        dev = next(self.parameters()).device
        out = [torch.softmax(self(wave[i:i + batch_size].to(dev))[0].float(), 1).cpu()
               for i in range(0, len(wave), batch_size)]
        self.train(was)
        return torch.cat(out) if out else torch.zeros(0, len(self.labels))

    def meta(self) -> dict:
        return {"app": APP, "spec": spec_to_dict(self.net.spec), "audio": self.audio.to_dict(),
                "features": self.features_cfg.to_dict(), "labels": self.labels, "preset": self.preset,
                "augment": self.augment_cfg.to_dict(), "train": self.train_settings}

    @classmethod
    def from_meta(cls, meta: dict) -> SpeechClassifier:
        if meta.get("app") != APP:
            raise ValueError(f"not a speech_cnn model (app={meta.get('app')!r})")
        return cls(spec_from_dict(meta["spec"]), AudioConfig.from_dict(meta["audio"]),
                   FeatureConfig.from_dict(meta["features"]), meta["labels"],
                   AugmentConfig.from_dict(meta.get("augment") or {"enabled": False}),
                   meta.get("preset", ""), meta.get("train"))

    def save(self, path, extra_meta: dict | None = None) -> Path:
        """Atomic write of weights + meta (a ``shared.checkpoint`` file)."""
        return save_checkpoint(path, {"model": self.state_dict(), "meta": {**self.meta(), **(extra_meta or {})}})

    @classmethod
    def load(cls, path, device: str | torch.device = "cpu") -> SpeechClassifier:
        """Rebuild from a model file alone, in eval mode. Raises ``CheckpointError`` naming the file."""
        return cls.from_state(load_checkpoint(path, map_location="cpu"), path).to(device).eval()

    @classmethod
    def from_state(cls, state: dict, path="") -> SpeechClassifier:
        """Rebuild from a loaded checkpoint dict ``{"model", "meta"}``; errors name ``path``."""
        try:
            meta = state["meta"]
            clf = cls.from_meta(meta)
            clf.load_state_dict(state["model"])
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise CheckpointError(f"{path}: not a usable speech model ({str(e).splitlines()[0][:200]})") from None
        clf.file_meta = meta  # everything stored, incl. test metrics
        return clf.eval()
