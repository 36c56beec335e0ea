"""Ensembles: several trained speech models that answer as one (the mean of their probabilities).

    ens = Ensemble([SpeechClassifier.load(p) for p in paths])   # same labels and audio settings
    ens.predict_proba(waves)          # (B, K): mean of the members' softmax outputs
    ens.save("ens.pt"); load_model("ens.pt")                     # load_model also opens single models

An ensemble file is a ``shared.checkpoint`` file whose meta holds ``app="speech_cnn_ensemble"`` and
each member's own meta (spec, features, labels, training settings), so every member is rebuilt from
the file alone and ``evaluate --cross-validate speakers`` can retrain each member's recipe per fold.
Members may differ in preset, features and training; they must share labels (in order) and the audio
settings (rate, clip length), because one decoded clip is fed to all of them.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from shared.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

from .classifier import SpeechClassifier

APP = "speech_cnn_ensemble"


class Ensemble(nn.Module):
    """``forward(wave (B, N), targets=None) -> (log of the mean probabilities (B, K), NLL | None)``."""

    def __init__(self, members: list[SpeechClassifier], names: list[str] | None = None):
        super().__init__()
        names = names or [f"member {i}" for i in range(len(members))]
        if len(members) < 2:
            raise ValueError("an ensemble needs at least two models")
        first = members[0]
        for m, name in zip(members[1:], names[1:]):
            if m.labels != first.labels:
                raise ValueError(f"{name}: labels {m.labels} differ from {names[0]}'s {first.labels}")
            if m.audio != first.audio:
                raise ValueError(f"{name}: audio settings {m.audio} differ from {names[0]}'s {first.audio}")
        self.members = nn.ModuleList(members)
        self.labels, self.audio = list(first.labels), first.audio
        self.preset = "ensemble(" + ", ".join(m.preset or "?" for m in members) + ")"

    def forward(self, wave: torch.Tensor, targets: torch.Tensor | None = None, label_smoothing: float = 0.0):
        probs = torch.stack([torch.softmax(m(wave)[0].float(), 1) for m in self.members]).mean(0)  # (B, K)
        logits = probs.clamp_min(1e-12).log()
        loss = None if targets is None else nn.functional.nll_loss(logits, targets)
        return logits, loss

    @torch.no_grad()
    def predict_proba(self, wave: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """(B, N) -> (B, K): the mean of the members' probabilities."""
        return torch.stack([m.predict_proba(wave, batch_size) for m in self.members]).mean(0)

    def meta(self) -> dict:
        return {"app": APP, "labels": self.labels, "members": [m.meta() for m in self.members]}

    def save(self, path) -> Path:
        """Atomic write of every member's weights and meta."""
        return save_checkpoint(path, {"members": [m.state_dict() for m in self.members], "meta": self.meta()})


def load_model(path, device: str | torch.device = "cpu") -> SpeechClassifier | Ensemble:
    """A single model or an ensemble file, in eval mode. Raises ``CheckpointError`` naming the file."""
    state = load_checkpoint(path, map_location="cpu")
    meta = state.get("meta") or {}
    if meta.get("app") != APP:
        return SpeechClassifier.from_state(state, path).to(device).eval()
    try:
        members = [SpeechClassifier.from_state({"model": sd, "meta": m}, path)
                   for sd, m in zip(state["members"], meta["members"], strict=True)]
        ens = Ensemble(members, [f"{path} member {i}" for i in range(len(members))])
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: not a usable speech ensemble ({str(e).splitlines()[0][:200]})") from None
    return ens.to(device).eval()


def make_ensemble(paths: list, out) -> Ensemble:
    """Combine model files (single models; an ensemble's members are taken in turn) into ``out``."""
    members, names = [], []
    for p in paths:
        m = load_model(p)
        parts = list(m.members) if isinstance(m, Ensemble) else [m]
        members += parts
        names += [str(p)] * len(parts)
    ens = Ensemble(members, names)
    ens.save(out)
    return ens


def member_settings(model) -> list[tuple[dict, object]]:
    """-> [(training settings dict, AudioConfig)] of a model or of each ensemble member."""
    parts = list(model.members) if isinstance(model, Ensemble) else [model]
    return [(dict(m.train_settings or {}), m.audio) for m in parts]
