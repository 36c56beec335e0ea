"""CPU `classify` latency per 1-second clip: our model (features + network) vs a peer pipeline.

Ours: SpeechClassifier.predict_proba on (B, N) waveforms -- FrontEnd (torch STFT + mel) and the
network in one batched call. Peer (per clip, the classic recipe): librosa.feature.melspectrogram
+ log on the CPU, then the same network on that feature image. Both in this process, same clips,
after a warm-up; batch 1 (one clip at a time, the latency a user waits for) and batch 32
(throughput). Goal: <= 5 ms per 1-second clip for the default preset.

    nice python benchmarks/bench_speech_model.py [--preset fcnn] [--sample-rate 16000] [--model M.pt]
        [--threads 1] [--clips 64]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from speech_cnn.audio import AudioConfig
from speech_cnn.classifier import AugmentConfig, SpeechClassifier, feature_config
from speech_cnn.ensemble import Ensemble, load_model
from speech_cnn.model import DEFAULT_PRESET


def timed(fn, reps: int) -> float:
    fn()  # warm-up
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t) / reps


def peer_features(waves: np.ndarray, clf) -> torch.Tensor:
    import librosa
    c = clf.features_cfg
    out = []
    for w in waves:
        m = librosa.feature.melspectrogram(y=w, sr=c.sample_rate, n_fft=c.n_fft, win_length=c.win_length,
                                           hop_length=c.hop_length, n_mels=c.n_mels, fmin=c.fmin, pad_mode="constant")
        f = np.log(m + c.log_offset)
        f = (f - f.mean(1, keepdims=True)) / np.sqrt(f.var(1, keepdims=True) + 1e-5)
        out.append(torch.from_numpy(f.astype(np.float32)))
    return torch.stack(out)[:, None]  # (B, 1, F, T)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default=DEFAULT_PRESET)
    ap.add_argument("--sample-rate", type=int, default=16000)
    ap.add_argument("--model", default=None, help="a trained model file (overrides preset/rate)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (latency: 1)")
    ap.add_argument("--clips", type=int, default=64)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.model:
        clf = load_model(a.model)
    else:
        torch.manual_seed(0)
        clf = SpeechClassifier.create(a.preset, [str(i) for i in range(10)], AudioConfig(a.sample_rate, 1.0),
                                      feature_config(a.sample_rate), AugmentConfig(enabled=False)).eval()
    n = clf.audio.num_samples
    waves = torch.randn(a.clips, n) * 0.05
    ensemble = isinstance(clf, Ensemble)  # members' nets and features differ: the whole path only
    if ensemble:
        print(f"{clf.preset}: {sum(p.numel() for p in clf.parameters()):,} params; "
              f"{clf.audio.sample_rate} Hz x {clf.audio.clip_seconds} s; torch threads {a.threads}")
    else:
        from shared.summary import summary
        s = summary(clf.net)
        print(f"preset {clf.preset}: {s.total_params:,} params, {s.total_macs / 1e6:.2f} M MACs per clip; "
              f"{clf.audio.sample_rate} Hz x {clf.audio.clip_seconds} s; torch threads {a.threads}")
    with torch.inference_mode():
        for batch in (1, 32):
            xs = [waves[i:i + batch] for i in range(0, a.clips, batch)]
            ours = timed(lambda xs=xs: [clf.predict_proba(x) for x in xs], 3) / a.clips * 1000
            if ensemble:
                print(f"batch {batch:2d}: ensemble {ours:6.2f} ms/clip")
                continue
            feats = timed(lambda xs=xs: [clf.frontend(x) for x in xs], 3) / a.clips * 1000
            npw = [x.numpy() for x in xs]
            peer = timed(lambda npw=npw: [clf.net(peer_features(x, clf))[0] for x in npw], 2) / a.clips * 1000
            print(f"batch {batch:2d}: ours {ours:6.2f} ms/clip (features {feats:5.2f}) | librosa features + same "
                  f"net {peer:6.2f} ms/clip | peer/ours {peer / ours:5.2f}x | goal 5 ms: "
                  f"{'met' if ours <= 5 else 'NOT met'}")


if __name__ == "__main__":
    main()
