"""Checkpoints: atomic writes, safe loading (no unpickling of payloads), clear errors, self-describing models."""
import os

import pytest
import torch

import shared.checkpoint as ck
from shared import (
    CheckpointError,
    Conv,
    Flatten,
    NetSpec,
    ReLU,
    build,
    load_checkpoint,
    load_model,
    save_checkpoint,
    spec_to_dict,
)

SPEC = NetSpec((1, 7, 7), (Conv(4, 3), ReLU(), Flatten()), num_classes=3)


def test_round_trip_meta_and_tensors(tmp_path):
    net = build(SPEC)
    meta = {"spec": spec_to_dict(SPEC), "app": "go", "labels": ["a", "b", "c"], "sample_rate": 16000}
    save_checkpoint(tmp_path / "m.pt", {"model": net.state_dict(), "meta": meta, "epoch": 3})
    state = load_checkpoint(tmp_path / "m.pt")
    assert state["meta"] == meta and state["epoch"] == 3
    assert torch.equal(state["model"]["body.0.weight"], net.body[0].weight)
    assert os.listdir(tmp_path) == ["m.pt"]  # no temp files left behind


def test_load_model_rebuilds_from_file_alone(tmp_path):
    net = build(SPEC).eval()
    save_checkpoint(tmp_path / "m.pt", {"model": net.state_dict(), "meta": {"spec": spec_to_dict(SPEC), "app": "x"}})
    again, meta = load_model(tmp_path / "m.pt")
    x = torch.randn(2, 1, 7, 7)
    assert torch.equal(again(x)[0], net(x)[0]) and meta["app"] == "x" and not again.training


def test_load_model_without_spec_is_clear(tmp_path):
    save_checkpoint(tmp_path / "m.pt", {"model": {}, "meta": {}})
    with pytest.raises(CheckpointError, match=r"m\.pt: checkpoint has no network spec"):
        load_model(tmp_path / "m.pt")


def test_crash_mid_write_leaves_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"model": {"w": torch.ones(3)}, "meta": {"v": 1}})
    before = path.read_bytes()
    real_save = torch.save

    def half_then_die(obj, f, *a, **kw):
        f.write(b"PK\x03\x04 partial bytes of a zip")  # part of the file reaches the disk ...
        raise OSError("disk full")                      # ... then the write fails

    monkeypatch.setattr(ck.torch, "save", half_then_die)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"model": {"w": torch.zeros(3)}, "meta": {"v": 2}})
    monkeypatch.setattr(ck.torch, "save", real_save)
    assert path.read_bytes() == before                  # the old checkpoint is untouched
    assert os.listdir(tmp_path) == ["last.pt"]          # and the partial temp file is gone
    assert load_checkpoint(path)["meta"] == {"v": 1}


def test_crash_on_first_write_leaves_no_file(tmp_path, monkeypatch):
    def die(obj, f, *a, **kw):
        f.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(ck.torch, "save", die)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path / "best.pt", {"model": {}})
    assert os.listdir(tmp_path) == []


class Payload:
    """Unpickling this object creates ``marker`` (a stand-in for os.system('...'))."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_pickled_payload_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"format": ck.FORMAT, "version": 1, "meta": "{}", "model": {}, "x": Payload(marker)}, evil)
    with pytest.raises(CheckpointError, match=r"evil\.pt: refused: it contains pickled Python objects"):
        load_checkpoint(evil)
    with pytest.raises(CheckpointError, match="refused"):
        load_model(evil)
    assert not marker.exists()
    # the payload is live: an unsafe load would have run it (so the test above can fail)
    torch.load(evil, weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize("content,reason", [
    (b"", "empty file"),
    (b"hello, I am a text file\n", "truncated or not a checkpoint"),
    (None, "truncated or not a checkpoint"),  # first half of a real checkpoint
])
def test_truncated_empty_foreign_files(tmp_path, content, reason):
    path = tmp_path / "bad.pt"
    if content is None:
        save_checkpoint(path, {"model": build(SPEC).state_dict(), "meta": {}})
        content = path.read_bytes()[: path.stat().st_size // 2]
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=rf"bad\.pt: {reason}"):
        load_checkpoint(path)


def test_foreign_torch_file_and_missing_file(tmp_path):
    torch.save({"state_dict": {"w": torch.ones(2)}}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match=r"other\.pt: a PyTorch file but not a checkpoint of this project"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match=r"nope\.pt: no such checkpoint file"):
        load_checkpoint(tmp_path / "nope.pt")
