"""The speech domain of `cnn-compare`: spoken-digit designs on FSDD (DATA_ROOT/speech/fsdd).

Split of seed s (one training run gives both metrics): speaker ``speakers[s % 6]`` (sorted names) is
held out entirely; the model trains on takes 5-49 of the other five speakers.
- ``accuracy``: takes 0-4 of those five speakers (FSDD's conventional test takes: speakers seen
  in training, other recordings);
- ``speaker_disjoint_accuracy``: all 500 clips of the held-out speaker (a voice never heard).

Clips: 8 kHz, fixed 1 s (energy crop / centre pad); features: the classifier's log-mel front end
(40 bands, 25 ms / 10 ms, per-band mean/variance normalisation), computed once (no augmentation,
so every design sees the same inputs) -> (1, 40, 101). Designs are ``speech_cnn.model`` presets:
FC baseline, time-axis, frequency-axis (with and without frequency pooling), 2-D (with and without
frequency pooling).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import torch
from torch.utils.data import Dataset, TensorDataset

from shared.domains import DomainData, TrainedDomain, design_from_spec, register_domain
from shared.layers import Pool
from shared.network import NetSpec
from shared.train import TrainConfig, evaluate

from .audio import AudioConfig
from .classifier import feature_config
from .dataset import ClipDataset, scan
from .features import FrontEnd
from .model import cnn2d, fc, fcnn, tcnn

SAMPLE_RATE = 8000
CLIP_SECONDS = 1.0


def time_only_pooling(spec: NetSpec) -> NetSpec:
    """The same network with every Pool's frequency (H) window and stride set to 1."""
    def fix(layer):
        if not isinstance(layer, Pool):
            return layer
        w = layer.window if isinstance(layer.window, tuple) else (layer.window, layer.window)
        s = layer.stride if layer.stride is not None else w
        s = s if isinstance(s, tuple) else (s, s)
        return replace(layer, window=(1, w[1]), stride=(1, s[1]))
    return replace(spec, layers=tuple(fix(x) for x in spec.layers))


class SpeechDomain(TrainedDomain):
    name = "speech"
    metrics = ("accuracy", "speaker_disjoint_accuracy")
    description = ("Spoken digits (FSDD, 6 speakers, 8 kHz): 40x101 log-mel image -> 10 digits; "
                   "seed s holds speaker s out; accuracy on seen speakers' test takes 0-4, "
                   "speaker-disjoint accuracy on the held-out speaker.")
    num_classes = 10
    train_config = TrainConfig(optimizer="adamw", lr=3e-3, batch_size=64, log_every=50)

    def __init__(self):
        self.audio = AudioConfig(sample_rate=SAMPLE_RATE, clip_seconds=CLIP_SECONDS)
        self.features = feature_config(SAMPLE_RATE)
        self.input_shape = FrontEnd(self.features).output_shape(self.audio.num_samples)  # (1, 40, 101)

    def designs(self, quick: bool = False) -> dict[str, dict]:
        # widths pinned here (not the presets' defaults) so the grid stays what the docs describe
        shape, k = self.input_shape, self.num_classes
        specs = {
            "fc": (fc(shape, k, hidden=128), "fully connected: flatten -> 128 -> 128 (BN, ReLU, dropout)"),
            "time": (tcnn(shape, k, width=64), "time-axis CNN: first filter spans all 40 bands, filters move along time"),
            "freq": (fcnn(shape, k, width=16), ("frequency-axis CNN: 8-band x 3-frame filters, 3x3 pool (frequency too), "
                                     "max over time, frequency kept")),
            "freq-no-fpool": (time_only_pooling(fcnn(shape, k, width=16)), "freq with pooling along time only"),
            "2d": (cnn2d(shape, k, width=16), "image CNN: 3x3 kernels (16/32/32 maps), 2x2 pooling, global average"),
            "2d-no-fpool": (time_only_pooling(cnn2d(shape, k, width=16)), "2d with pooling along time only (1x2)"),
        }
        return {n: design_from_spec(n, s, d) for n, (s, d) in specs.items()}

    def fingerprint(self, data_root: Path, quick: bool) -> str:
        root = Path(data_root) / "speech" / "fsdd"
        files = sorted((root / "recordings").glob("*.wav")) if (root / "recordings").is_dir() else []
        if not files:
            raise FileNotFoundError(f"{root}: no FSDD recordings (expected DATA_ROOT/speech/fsdd/recordings)")
        h = hashlib.sha1(json.dumps({"v": 1, "quick": quick, "audio": self.audio.to_dict(),
                                     "features": self.features.to_dict()}, sort_keys=True).encode())
        for f in files:
            h.update(f"{f.name}|{f.stat().st_size}".encode())
        return h.hexdigest()[:16]

    def load_data(self, data_root: Path, quick: bool) -> DomainData:
        ix = scan(Path(data_root) / "speech" / "fsdd", layout="fsdd")
        clips = [c for c in ix.clips if not quick or c.take < 10]
        waves = ClipDataset(clips, ix.classes, self.audio).waveforms()   # (n, num_samples)
        fe = FrontEnd(self.features)
        with torch.no_grad():
            feats = torch.cat([fe(waves[i:i + 256]) for i in range(0, len(waves), 256)])  # (n, 1, F, T)
        labels = torch.tensor([ix.classes.index(c.label) for c in clips])
        speakers = sorted({c.speaker for c in clips})
        info = {"clips": len(clips), "speakers": speakers, "input": list(feats.shape[1:]),
                "sample_rate": SAMPLE_RATE, "clip_seconds": CLIP_SECONDS}
        return DomainData(TensorDataset(feats, labels), {}, info,
                          extra={"feats": feats, "labels": labels, "speakers": speakers,
                                 "speaker": [c.speaker for c in clips], "take": [c.take for c in clips]})

    def datasets(self, data: DomainData, seed: int) -> tuple[Dataset, dict[str, Dataset]]:
        e = data.extra
        held = e["speakers"][seed % len(e["speakers"])]
        train, seen, unseen = [], [], []
        for i, (spk, take) in enumerate(zip(e["speaker"], e["take"])):
            (unseen if spk == held else seen if take < 5 else train).append(i)

        def part(idx):
            idx = torch.tensor(idx)
            return TensorDataset(e["feats"][idx], e["labels"][idx])
        return part(train), {"accuracy": part(seen), "speaker_disjoint_accuracy": part(unseen)}

    def score(self, model: torch.nn.Module, evals: dict) -> dict[str, float]:
        return {k: evaluate(model, ds, batch_size=256, device=self.train_config.device)["top1"]
                for k, ds in evals.items()}


def register() -> None:
    """Register the speech domain without the entry point (tests, notebooks)."""
    register_domain("speech", SpeechDomain, replace=True)
