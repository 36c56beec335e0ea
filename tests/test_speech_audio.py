"""Audio loading policy: formats, rates, channels, lengths, bad files."""
import numpy as np
import pytest
import soundfile as sf
import torch

from speech_cnn.audio import AudioConfig, AudioError, decode, fix_length, load_audio, normalise, probe
from speech_cnn.features import FeatureConfig, FrontEnd


def tone(sr, seconds, freq=440.0, amp=0.5):
    t = np.arange(int(round(sr * seconds))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_stereo_48k_is_mixed_and_resampled(tmp_path):
    left, right = tone(48000, 1.0, 440), tone(48000, 1.0, 440) * 0.0
    p = tmp_path / "stereo.wav"
    sf.write(p, np.stack([left, right], 1), 48000, subtype="PCM_16")
    w = load_audio(p, AudioConfig(sample_rate=16000, clip_seconds=1.0))
    assert w.shape == (16000,) and w.dtype == torch.float32
    # mono mix halves the amplitude; a 440 Hz tone survives resampling at the same frequency
    assert abs(w[2000:14000].abs().max().item() - 0.25) < 0.01
    spec = np.abs(np.fft.rfft(w.numpy()))
    assert abs(np.argmax(spec) - 440) <= 1  # 1 Hz bins for a 1 s clip


def test_44k1_flac_ogg_resampled(tmp_path):
    cfg = AudioConfig(sample_rate=16000, clip_seconds=0.5)
    for ext, fmt in ((".flac", "FLAC"), (".ogg", "OGG")):
        p = tmp_path / f"a{ext}"
        sf.write(p, tone(44100, 0.5, 1000), 44100, format=fmt)
        w = load_audio(p, cfg)
        assert w.shape == (8000,)
        assert abs(np.argmax(np.abs(np.fft.rfft(w.numpy()))) * 2 - 1000) <= 2


def test_short_clip_padded_centre_and_end(tmp_path):
    p = tmp_path / "short.wav"
    sf.write(p, np.ones(1600, np.float32) * 0.5, 16000, subtype="FLOAT")  # 0.1 s
    c = load_audio(p, AudioConfig(clip_seconds=1.0, pad="centre"))
    assert c.shape == (16000,)
    nz = torch.nonzero(c)[:, 0]
    assert nz.min().item() == 7200 and nz.max().item() == 8799
    e = load_audio(p, AudioConfig(clip_seconds=1.0, pad="end"))
    nz = torch.nonzero(e)[:, 0]
    assert nz.min().item() == 0 and nz.max().item() == 1599


def test_long_clip_cropped_on_energy(tmp_path):
    x = np.zeros(16000 * 10, np.float32)
    x[16000 * 7: 16000 * 7 + 8000] = tone(16000, 0.5)  # a burst at 7.0-7.5 s in a 10 s clip
    p = tmp_path / "long.wav"
    sf.write(p, x, 16000, subtype="FLOAT")
    w = load_audio(p, AudioConfig(clip_seconds=1.0, crop="energy"))
    assert w.shape == (16000,)
    assert torch.allclose(w.pow(2).sum(), torch.tensor(float((x ** 2).sum())), rtol=1e-4)
    # earliest window containing the whole burst starts at 6.5 s: burst sits at the window end
    assert torch.equal(w, torch.from_numpy(x[16000 * 6 + 8000: 16000 * 7 + 8000]))
    mid = load_audio(p, AudioConfig(clip_seconds=1.0, crop="centre"))
    assert torch.equal(mid, torch.from_numpy(x[72000:88000]))
    start = load_audio(p, AudioConfig(clip_seconds=1.0, crop="start"))
    assert start.abs().sum() == 0


def test_fix_length_exact_and_silence_keeps_start():
    w = torch.arange(10.0)
    assert torch.equal(fix_length(w, 10), w)
    assert torch.equal(fix_length(torch.zeros(50), 10), torch.zeros(10))
    assert torch.equal(fix_length(w, 13, pad="centre"), torch.cat([torch.zeros(1), w, torch.zeros(2)]))


def test_silent_clip_loads_and_gives_finite_features(tmp_path):
    p = tmp_path / "silence.wav"
    sf.write(p, np.zeros(16000, np.int16), 16000, subtype="PCM_16")
    for mode in ("none", "peak", "rms"):
        w = load_audio(p, AudioConfig(normalise=mode))
        assert torch.equal(w, torch.zeros(16000))
    for cfg in (FeatureConfig(), FeatureConfig(log="db"), FeatureConfig(kind="mfcc"),
                FeatureConfig(normalize="meanvar")):
        f = FrontEnd(cfg)(torch.zeros(2, 16000))
        assert torch.isfinite(f).all()


def test_normalise_peak_and_rms():
    w = torch.tensor([[0.0, 0.2, -0.4, 0.1]])
    assert normalise(w, "peak", 0.5).abs().max().item() == pytest.approx(0.5)
    assert normalise(w, "rms", 0.1).pow(2).mean().sqrt().item() == pytest.approx(0.1)


def test_zero_byte_file(tmp_path):
    p = tmp_path / "empty.wav"
    p.write_bytes(b"")
    with pytest.raises(AudioError, match="empty.wav: empty file"):
        load_audio(p, AudioConfig())
    with pytest.raises(AudioError, match="empty file"):
        probe(p)


def test_truncated_wav(tmp_path):
    p = tmp_path / "cut.wav"
    sf.write(p, tone(16000, 1.0), 16000, subtype="PCM_16")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioError, match=r"cut\.wav: truncated WAV: header declares 32000 data bytes"):
        load_audio(p, AudioConfig())
    with pytest.raises(AudioError, match="truncated"):
        probe(p)
    h = tmp_path / "header_only.wav"
    h.write_bytes(data[:20])
    with pytest.raises(AudioError, match="header_only.wav: truncated WAV"):
        decode(h)


def test_text_renamed_wav(tmp_path):
    p = tmp_path / "notes.wav"
    p.write_text("this is not audio\n" * 20)
    with pytest.raises(AudioError, match=r"notes\.wav: not a readable audio file"):
        load_audio(p, AudioConfig())


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="nope.wav: cannot read file"):
        decode(tmp_path / "nope.wav")


def test_8k_upsampled_length(tmp_path):
    p = tmp_path / "fsddlike.wav"
    sf.write(p, tone(8000, 0.4, 300), 8000, subtype="PCM_16")
    w = load_audio(p, AudioConfig(sample_rate=16000, clip_seconds=1.0, pad="end"))
    assert w.shape == (16000,)
    assert w[6400 + 50:].abs().max() < 1e-3 and w[:6000].abs().max() > 0.4


def test_audio_config_roundtrip_and_validation():
    cfg = AudioConfig(sample_rate=8000, clip_seconds=0.75, normalise="rms")
    assert AudioConfig.from_dict(cfg.to_dict()) == cfg and cfg.num_samples == 6000
    with pytest.raises(ValueError):
        AudioConfig(crop="middle")


def test_mp3_decodes(tmp_path):
    p = tmp_path / "a.mp3"
    sf.write(p, tone(44100, 1.0, 1000), 44100, format="MP3")
    w = load_audio(p, AudioConfig(sample_rate=16000, clip_seconds=1.0))
    assert w.shape == (16000,)
    assert abs(np.argmax(np.abs(np.fft.rfft(w.numpy()))) - 1000) <= 2
    sr, ch, sec = probe(p)
    assert (sr, ch) == (44100, 1) and abs(sec - 1.0) < 0.1


def test_corrupt_flac_stream_is_an_error(tmp_path):
    p = tmp_path / "bad.flac"
    sf.write(p, np.random.RandomState(0).uniform(-0.5, 0.5, 32000).astype(np.float32), 16000,
             format="FLAC")
    data = bytearray(p.read_bytes())
    data[len(data) // 2: len(data) // 2 + 4000] = b"\xff" * 4000  # smash frames mid-stream
    p.write_bytes(bytes(data))
    with pytest.raises(AudioError, match=r"bad\.flac: "):
        probe(p)  # a header-only check would pass; probe decodes compressed files in full
