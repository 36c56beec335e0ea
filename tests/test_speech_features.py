"""Features: librosa parity, batch consistency, shapes, config handling."""
import librosa
import numpy as np
import pytest
import torch

from speech_cnn.features import FeatureConfig, FrontEnd, log_mel, mfcc


def signal(sr=16000, seconds=1.0, seed=0):
    rng = np.random.RandomState(seed)
    t = np.arange(int(sr * seconds)) / sr
    return (0.3 * np.sin(2 * np.pi * 523 * t) * np.exp(-t) + 0.05 * rng.randn(t.size)).astype(np.float32)


def librosa_mel(x, cfg: FeatureConfig):
    return librosa.feature.melspectrogram(
        y=x, sr=cfg.sample_rate, n_fft=cfg.n_fft, win_length=cfg.win_length,
        hop_length=cfg.hop_length, window=cfg.window, n_mels=cfg.n_mels, fmin=cfg.fmin,
        fmax=cfg.f_max, htk=cfg.mel_scale == "htk", norm=cfg.mel_norm, power=cfg.power,
        center=cfg.center, pad_mode=cfg.pad_mode)


@pytest.mark.parametrize("scale,norm", [("slaney", "slaney"), ("htk", None), ("htk", "slaney"),
                                        ("slaney", None)])
def test_logmel_matches_librosa(scale, norm):
    cfg = FeatureConfig(mel_scale=scale, mel_norm=norm)
    x = signal()
    ours = FrontEnd(cfg)(torch.from_numpy(x)[None])[0, 0].numpy()
    ref = np.log(librosa_mel(x, cfg) + cfg.log_offset)
    assert ours.shape == ref.shape == (40, 101)
    np.testing.assert_allclose(ours, ref, atol=2e-3, rtol=0)


def test_db_and_8k_fsdd_settings_match_librosa():
    cfg = FeatureConfig(sample_rate=8000, n_fft=256, win_length=200, hop_length=80, n_mels=32,
                        log="db", top_db=80.0, window="hamming")
    x = signal(sr=8000, seconds=0.7)
    ours = log_mel(torch.from_numpy(x), cfg).numpy()
    ref = librosa.power_to_db(librosa_mel(x, cfg), ref=1.0, amin=1e-10, top_db=80.0)
    np.testing.assert_allclose(ours, ref, atol=2e-3, rtol=0)


@pytest.mark.parametrize("scale,norm", [("slaney", "slaney"), ("htk", None)])
def test_mfcc_matches_librosa(scale, norm):
    cfg = FeatureConfig(kind="mfcc", n_mfcc=13, mel_scale=scale, mel_norm=norm)
    x = signal(seed=3)
    ours = mfcc(torch.from_numpy(x), cfg).numpy()
    S = librosa.power_to_db(librosa_mel(x, cfg), ref=1.0, amin=1e-10, top_db=80.0)
    ref = librosa.feature.mfcc(S=S, n_mfcc=13, dct_type=2, norm="ortho")
    assert ours.shape == (13, 101)
    np.testing.assert_allclose(ours, ref, atol=5e-3, rtol=0)


@pytest.mark.parametrize("kind,log,norm", [("logmel", "log", "none"), ("logmel", "db", "meanvar"),
                                           ("mfcc", "db", "mean")])
def test_batch_equals_one_at_a_time(kind, log, norm):
    cfg = FeatureConfig(kind=kind, log=log, normalize=norm)
    fe = FrontEnd(cfg)
    batch = torch.stack([torch.from_numpy(signal(seed=s)) * (s + 1) for s in range(5)])
    batch[2] = 0.0  # a silent clip in the batch must not change the others (per-clip top_db)
    together = fe(batch)
    assert together.shape == (5, 1, cfg.n_features, 101)
    for i in range(5):
        torch.testing.assert_close(together[i], fe(batch[i:i + 1])[0], atol=1e-4, rtol=1e-5)


def test_meanvar_normalisation_per_band():
    f = FrontEnd(FeatureConfig(normalize="meanvar"))(torch.from_numpy(signal())[None])[0, 0]
    torch.testing.assert_close(f.mean(dim=-1), torch.zeros(40), atol=1e-4, rtol=0)
    torch.testing.assert_close(f.std(dim=-1, unbiased=False), torch.ones(40), atol=1e-3, rtol=0)


def test_fmax_above_nyquist_is_an_error_and_none_means_nyquist():
    with pytest.raises(ValueError, match="fmax=8000 Hz is above the Nyquist frequency 4000"):
        FeatureConfig(sample_rate=8000, fmax=8000)
    assert FeatureConfig(sample_rate=8000).f_max == 4000.0


def test_config_json_roundtrip_and_shapes():
    import json
    cfg = FeatureConfig(kind="mfcc", n_mfcc=20, normalize="meanvar")
    back = FeatureConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back == cfg
    fe = FrontEnd(cfg)
    assert fe.output_shape(16000) == (1, 20, 101)
    assert fe.state_dict() == {}  # buffers are rebuilt from the config, not stored
    assert fe(torch.zeros(3, 12345)).shape == (3, 1, 20, cfg.n_frames(12345))


def test_frequency_axis_orientation():
    # a low tone lights low mel bands, a high tone high bands (row 0 = lowest frequency)
    sr = 16000
    t = torch.arange(sr) / sr
    fe = FrontEnd(FeatureConfig())
    low = fe(torch.sin(2 * torch.pi * 200 * t)[None])[0, 0].mean(-1).argmax().item()
    high = fe(torch.sin(2 * torch.pi * 6000 * t)[None])[0, 0].mean(-1).argmax().item()
    assert low < 8 and high > 32


def test_meanvar_active_ignores_padding():
    """A clip padded with silence is normalised like the unpadded clip (plain meanvar is not)."""
    rng = np.random.default_rng(0)
    speech = (rng.normal(0, 0.1, 2400) * np.hanning(2400)).astype(np.float32)  # 0.3 s at 8 kHz
    short = np.zeros(8000, np.float32)
    short[2800:5200] = speech
    out = {}
    for mode in ("meanvar", "meanvar-active"):
        fe = FrontEnd(FeatureConfig(sample_rate=8000, n_fft=256, win_length=200, hop_length=80, n_mels=24,
                                    normalize=mode))
        f_short = fe(torch.from_numpy(short)[None])[0, 0][:, 37:63]  # frames inside the speech
        f_alone = fe(torch.from_numpy(speech.copy())[None])[0, 0][:, 3:-3]
        out[mode] = (f_short.mean() - f_alone.mean()).abs().item()
    assert out["meanvar-active"] < 0.3 < out["meanvar"], out
    with pytest.raises(ValueError, match="meanvar-active"):
        FeatureConfig(kind="mfcc", normalize="meanvar-active")
