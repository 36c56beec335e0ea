"""speech-cnn detect: tone bursts in a long recording are found at the right times, streamed."""
import json

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner
from test_speech_model import train_tone_model

from speech_cnn.cli import main
from speech_cnn.detect import DetectConfig, detect, smooth_scores, window_scores

BURSTS = [("low", 2.0, 2.35), ("high", 6.0, 6.4), ("low", 9.5, 9.8)]


@pytest.fixture(scope="module")
def tone_model():
    return train_tone_model()[0]


@pytest.fixture(scope="module")
def long_file(tmp_path_factory):
    """12 s at 16 kHz (the model runs at 8 kHz): faint noise + three tone bursts."""
    sr, rng = 16000, np.random.default_rng(5)
    x = rng.normal(0, 1, 12 * sr) * 10 ** (-60 / 20)
    for kind, a, b in BURSTS:
        n = int((b - a) * sr)
        t = np.arange(n) / sr
        f = 400 if kind == "low" else 2000
        x[int(a * sr):int(a * sr) + n] += 0.3 * np.sin(2 * np.pi * f * t) * np.hanning(n)
    path = tmp_path_factory.mktemp("long") / "long.wav"
    sf.write(path, x.astype(np.float32), sr)
    return path


def test_detect_finds_bursts_at_the_right_times(tone_model, long_file):
    segs = detect(tone_model, long_file, DetectConfig(hop_s=0.1, threshold=0.7, smooth=3, block_s=2.0))
    assert [s["label"] for s in segs] == [k for k, _, _ in BURSTS], segs
    for s, (_, a, b) in zip(segs, BURSTS):
        assert abs(s["start"] - a) <= 0.15 and abs(s["end"] - b) <= 0.15, (s, a, b)
        assert 0.7 <= s["score"] <= 1.0


def test_blocks_give_the_same_scores_as_one_pass(tone_model, long_file):
    small = list(window_scores(tone_model, long_file, DetectConfig(hop_s=0.1, block_s=1.5)))
    one = list(window_scores(tone_model, long_file, DetectConfig(hop_s=0.1, block_s=100)))
    assert len(small) == 8 and len(one) == 1  # 111 windows in blocks of 15
    p_small, p_one = torch.cat([p[0] for p in small]), one[0][0]
    assert p_small.shape == p_one.shape == (111, 3)
    assert torch.allclose(p_small, p_one, atol=2e-3)


def test_smoothing_is_a_centred_moving_average():
    p = torch.tensor([[1.0, 0], [0, 1], [1, 0], [1, 0]])
    s = smooth_scores(p, 3)
    assert torch.allclose(s[:, 0], torch.tensor([0.5, 2 / 3, 2 / 3, 1.0]))


def test_detect_cli_json_and_bad_file(tone_model, long_file, tmp_path):
    model = tone_model.save(tmp_path / "t.pt")
    r = CliRunner().invoke(main, ["detect", str(model), str(long_file), "--json", "--threshold", "0.7"])
    assert r.exit_code == 0, r.output
    segs = json.loads(r.stdout)
    assert [s["label"] for s in segs] == ["low", "high", "low"]
    assert all(set(s) == {"label", "start", "end", "score"} for s in segs)
    (tmp_path / "bad.wav").write_text("x")
    r = CliRunner().invoke(main, ["detect", str(model), str(tmp_path / "bad.wav")])
    assert r.exit_code == 1 and "bad.wav" in r.output and "Traceback" not in r.output
