"""Augmentation: identity in eval mode, exact effects in train mode."""
import pytest
import torch

from speech_cnn.augment import (NoiseMix, SpecAugment, SpeedPerturb, TimeShift, WaveAugment,
                                colored_noise)


def tone(freq=440.0, n=16000, sr=16000):
    return torch.sin(2 * torch.pi * freq * torch.arange(n) / sr)


@pytest.mark.parametrize("module", [TimeShift(1600), NoiseMix(), SpeedPerturb((0.9, 1.1)),
                                    WaveAugment(TimeShift(100), SpeedPerturb(), NoiseMix())])
def test_wave_modules_identity_in_eval(module):
    x = torch.randn(4, 16000)
    assert torch.equal(module.eval()(x), x)


def test_specaugment_identity_in_eval_and_masks_in_train():
    x = torch.randn(3, 1, 40, 101)
    m = SpecAugment(freq_masks=1, freq_width=10, time_masks=1, time_width=20, fill="zero")
    assert torch.equal(m.eval()(x), x)
    torch.manual_seed(0)
    y = m.train()(x)
    assert y.shape == x.shape
    masked = (y == 0) & (x != 0)
    assert masked.any()
    # masks are whole bands / whole frames of each clip
    for b in range(3):
        rows = masked[b, 0].all(dim=1).sum() + masked[b, 0].all(dim=0).sum()
        assert masked[b, 0].sum() == 0 or rows > 0


def test_time_shift_moves_samples_with_zero_fill():
    x = torch.arange(1, 11, dtype=torch.float32).repeat(64, 1)
    y = TimeShift(3, generator=torch.Generator().manual_seed(1)).train()(x)
    for row in y:
        nz = row[row != 0]
        k = int(row.nonzero()[0, 0]) if row[0] == 0 else -int(10 - len(nz)) if len(nz) < 10 else 0
        # the non-zero part is a contiguous run of the original ramp
        assert torch.equal(nz, torch.arange(nz[0], nz[0] + len(nz)))
        assert len(nz) >= 7 and abs(k) <= 3
    assert len({tuple(r.tolist()) for r in y}) > 3


@pytest.mark.parametrize("snr", [0.0, 10.0, 20.0])
def test_noise_mix_hits_the_snr(snr):
    x = tone().repeat(8, 1) * 0.3
    m = NoiseMix(snr_db=(snr, snr), p=1.0, generator=torch.Generator().manual_seed(0)).train()
    noise = m(x) - x
    measured = 10 * torch.log10(x.pow(2).mean(-1) / noise.pow(2).mean(-1))
    torch.testing.assert_close(measured, torch.full((8,), snr), atol=0.05, rtol=0)


def test_noise_from_files_and_silence_stays_silent():
    bg = torch.randn(5000)
    m = NoiseMix([bg], snr_db=(10, 10), p=1.0, generator=torch.Generator().manual_seed(0)).train()
    x = torch.zeros(2, 16000)
    x[0] = tone()
    y = m(x)
    assert torch.equal(y[1], torch.zeros(16000))
    assert not torch.equal(y[0], x[0])


def test_colored_noise_spectra_slopes():
    g = torch.Generator().manual_seed(0)
    for color, slope in (("white", 0.0), ("pink", -1.0), ("brown", -2.0)):
        n = colored_noise(16, 2 ** 14, color, g)
        assert torch.allclose(n.pow(2).mean(-1), torch.ones(16), atol=1e-4)
        p = torch.fft.rfft(n, dim=-1).abs().pow(2).mean(0)
        f = torch.arange(p.numel(), dtype=torch.float64)
        sel = (f > 50) & (f < 4000)
        fit = torch.linalg.lstsq(torch.stack([torch.log(f[sel]), torch.ones(int(sel.sum()),
                                 dtype=torch.float64)], 1), torch.log(p[sel].double())[:, None]).solution
        assert abs(fit[0].item() - slope) < 0.1, color


def test_speed_perturb_changes_pitch_and_keeps_length():
    x = tone(1000).repeat(1, 1)
    y = SpeedPerturb((1.25,)).train()(x)
    assert y.shape == x.shape
    peak = torch.fft.rfft(y[0, 4000:12000]).abs().argmax().item() * 2  # 2 Hz bins
    assert abs(peak - 1250) <= 4


def test_mixup_mixes_pairs_in_train_mode_only():
    from speech_cnn.audio import AudioConfig
    from speech_cnn.classifier import AugmentConfig, SpeechClassifier, feature_config
    aug = AugmentConfig(shift_s=0, noise_p=0, warp_freq=0, warp_time=0, freq_masks=0, time_masks=0, mixup=0.4)
    torch.manual_seed(0)
    clf = SpeechClassifier.create("fcnn", ["a", "b", "c"], AudioConfig(8000), feature_config(8000, n_mels=24), aug)
    x, y = torch.randn(6, 8000), torch.tensor([0, 1, 2, 0, 1, 2])
    clf.eval()
    logits, loss = clf(x, y)
    assert torch.allclose(loss, torch.nn.functional.cross_entropy(logits, y))  # eval: plain loss
    clf.train()
    torch.manual_seed(1)
    _, mixed = clf(x, y)
    clf.augment_cfg.mixup = 0.0
    torch.manual_seed(1)
    _, plain = clf(x, y)
    assert torch.isfinite(mixed) and not torch.allclose(mixed, plain)
    assert SpeechClassifier.from_meta(clf.meta()).augment_cfg.mixup == 0.0
