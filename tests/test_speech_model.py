"""Speech model: presets (params/MACs), frequency equivariance, a net learning a two-tone task,
model-file round trip, feature warping."""
import math

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from shared.checkpoint import CheckpointError
from shared.network import spec_from_dict, spec_to_dict
from shared.summary import summary
from shared.train import TrainConfig, fit
from speech_cnn.audio import AudioConfig
from speech_cnn.classifier import AugmentConfig, FeatureWarp, SpeechClassifier, feature_config
from speech_cnn.model import DEFAULT_PRESET, PRESETS, fcnn, make_spec

SR = 8000
TONE_LABELS = ["_background_", "high", "low"]


def tone_clip(kind: str, rng: np.random.Generator, n: int = SR, sr: int = SR, burst=(0.25, 0.45)) -> np.ndarray:
    """1 s of faint noise with (for "low"/"high") a tone burst of 0.25-0.45 s at a random place."""
    x = rng.normal(0, 1, n) * 10 ** (rng.uniform(-70, -50) / 20)
    if kind != "_background_":
        f = rng.uniform(300, 500) if kind == "low" else rng.uniform(1800, 2400)
        dur = int(rng.uniform(*burst) * sr)
        start = int(rng.integers(0, n - dur))
        t = np.arange(dur) / sr
        x[start:start + dur] += rng.uniform(0.1, 0.5) * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.3)) * np.hanning(dur)
    return x.astype(np.float32)


def tone_set(per_class: int, seed: int) -> TensorDataset:
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for k, name in enumerate(TONE_LABELS):
        for _ in range(per_class):
            xs.append(tone_clip(name, rng))
            ys.append(k)
    return TensorDataset(torch.from_numpy(np.stack(xs)), torch.tensor(ys))


def train_tone_model(epochs: int = 8) -> tuple[SpeechClassifier, dict]:
    """A small frequency CNN trained on the two-tone (+ background) task, ~10 s on CPU."""
    torch.manual_seed(0)
    spec = fcnn((1, 24, 101), len(TONE_LABELS), width=12)  # a narrow fcnn keeps the test fast
    clf = SpeechClassifier(spec, AudioConfig(SR, 1.0), feature_config(SR, n_mels=24), TONE_LABELS,
                           AugmentConfig(enabled=False), preset="fcnn")
    hist = fit(clf, tone_set(30, 1), tone_set(12, 2),
               TrainConfig(epochs=epochs, batch_size=24, optimizer="adamw", lr=5e-3, device="cpu", progress="off"))
    return clf.eval(), hist.epochs[-1]


@pytest.fixture(scope="module")
def tone_model():
    return train_tone_model()


def test_net_learns_two_tone_task(tone_model):
    clf, last = tone_model
    assert last["val_top1"] >= 0.95
    test = tone_set(10, 3)
    pred = clf.predict_proba(test.tensors[0]).argmax(1)
    assert (pred == test.tensors[1]).float().mean().item() >= 0.95


def test_model_file_round_trip(tone_model, tmp_path):
    clf, _ = tone_model
    path = clf.save(tmp_path / "tones.pt", {"note": "x"})
    back = SpeechClassifier.load(path)
    assert back.labels == TONE_LABELS and back.audio == clf.audio and back.features_cfg == clf.features_cfg
    assert back.file_meta["note"] == "x" and back.file_meta["spec"] == spec_to_dict(clf.net.spec)
    x = tone_set(3, 9).tensors[0]
    assert torch.equal(back.predict_proba(x), clf.predict_proba(x))
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(CheckpointError, match="junk.pt"):
        SpeechClassifier.load(tmp_path / "junk.pt")


def test_default_preset_small_and_golden_size():
    s = summary(make_spec(DEFAULT_PRESET, (1, 40, 101), 10))
    assert s.total_params == 50_266 and s.total_params < 100_000
    assert s.total_macs == 11_621_808
    # the frequency axis survives into the classifier: (72 maps, 11 bands, 1) after the time pooling
    assert [r.out_shape for r in s.rows if r.kind == "GlobalPool"] == [(72, 11, 1)]


@pytest.mark.parametrize("name", PRESETS.names())
@pytest.mark.parametrize("shape", [(1, 40, 101), (1, 13, 101), (1, 40, 151)])
def test_every_preset_builds_and_round_trips(name, shape):
    spec = make_spec(name, shape, 7)
    assert spec_from_dict(spec_to_dict(spec)) == spec
    from shared.network import build
    logits, loss = build(spec)(torch.randn(3, *shape), torch.tensor([0, 1, 6]))
    assert logits.shape == (3, 7) and loss.item() > 0


def test_frequency_shift_moves_feature_map_along_frequency():
    torch.manual_seed(0)
    net = SpeechClassifier.create("fcnn", ["a", "b"], AudioConfig(SR), feature_config(SR)).net.eval()
    conv = net.body[0]  # Conv((8, 3)) over (1, 40, 101)
    x = torch.randn(2, 1, 40, 101)
    shifted = torch.zeros_like(x)
    shifted[:, :, 3:] = x[:, :, :-3]  # 3 bands up in frequency
    y, ys = conv(x), conv(shifted)    # (2, 24, 33, 101)
    assert torch.allclose(ys[:, :, 3:], y[:, :, :-3], atol=1e-5)  # the same map, moved 3 bands
    assert not torch.allclose(ys, y, atol=1e-2)
    # after the first block (conv, BN, ReLU, max-pool 3 along frequency) a 3-band shift is 1 pooled band
    block = net.body[:4]
    z, zs = block(x), block(shifted)  # (2, 24, 11, 34)
    assert torch.allclose(zs[:, :, 2:], z[:, :, 1:-1], atol=1e-5)


def test_band_conv_shares_weights_only_within_a_band():
    torch.manual_seed(0)
    net = SpeechClassifier.create("fcnn-lws", ["a", "b"], AudioConfig(SR), feature_config(SR)).net.eval()
    band = net.body[0]  # 4 bands of 10 rows, (8, 3) kernels -> 3 rows per band
    x = torch.zeros(1, 1, 40, 101)
    x[0, 0, 0:8, 50] = 1.0      # the same pattern at the bottom of band 0 ...
    y0 = band(x)[0, :, 0, 50]
    x2 = torch.zeros(1, 1, 40, 101)
    x2[0, 0, 10:18, 50] = 1.0   # ... and of band 1
    y1 = band(x2)[0, :, 3, 50]
    assert not torch.allclose(y0, y1)  # different weights per band
    x3 = torch.zeros(1, 1, 40, 101)
    x3[0, 0, 1:9, 50] = 1.0     # shifted by one row inside band 0: same response one row up
    assert torch.allclose(band(x3)[0, :, 1, 50], y0, atol=1e-6)


def test_feature_warp_scales_frequency_and_is_identity_in_eval():
    feat = torch.zeros(4, 1, 40, 101)
    feat[:, :, 20] = 1.0
    warp = FeatureWarp(freq=0.2, time=0.0)
    assert torch.equal(warp.eval()(feat), feat)
    torch.manual_seed(1)
    out = warp.train()(feat)
    rows = (out[:, 0, :, 50] * torch.arange(40.0)).sum(1) / out[:, 0, :, 50].sum(1)  # centre of mass per clip
    assert ((rows > 16) & (rows < 25)).all() and rows.std() > 0.3  # moved, by up to 20% of 20 bands


def test_feature_config_scales_with_rate():
    f8, f16 = feature_config(8000), feature_config(16000)
    assert (f8.win_length, f8.hop_length, f8.n_fft) == (200, 80, 256)
    assert (f16.win_length, f16.hop_length, f16.n_fft) == (400, 160, 512)
    assert f8.n_frames(8000) == f16.n_frames(16000) == 101
    assert math.isclose(f8.f_max, 4000)
