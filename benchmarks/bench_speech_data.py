"""Clips/s of load + resample + fixed length + log-mel: speech_cnn vs a librosa per-clip pipeline.

Peer (as honk does it): per clip librosa.load(path, sr=16000) -> librosa.util.fix_length ->
librosa.feature.melspectrogram(n_fft=512, win 400, hop 160, 40 mels, fmin 20) -> log.
Ours: soundfile decode + torchaudio resample + energy crop / centre pad per clip (in a thread
pool of --workers threads, or 1 thread for the per-core figure), then ONE batched FrontEnd call
per --batch clips. Both run in this process, on the same files, same order, after a warm-up.

    nice python benchmarks/bench_speech_data.py [--data ../shared/data/speech] [--limit 600]
"""
from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from speech_cnn.audio import AudioConfig, load_audio
from speech_cnn.dataset import scan
from speech_cnn.features import FeatureConfig, FrontEnd


def ours(paths, acfg, front, workers, batch, device):
    out = []
    with ThreadPoolExecutor(workers) as pool:
        for s in range(0, len(paths), batch):
            waves = torch.stack(list(pool.map(lambda p: load_audio(p, acfg), paths[s:s + batch])))
            with torch.no_grad():
                out.append(front(waves.to(device)).cpu())
    return torch.cat(out)  # (n, 1, 40, T)


def peer(paths, acfg, fcfg):
    import librosa
    feats = []
    for p in paths:
        y, _ = librosa.load(p, sr=acfg.sample_rate)
        y = librosa.util.fix_length(y, size=acfg.num_samples)
        S = librosa.feature.melspectrogram(y=y, sr=acfg.sample_rate, n_fft=fcfg.n_fft,
                                           win_length=fcfg.win_length, hop_length=fcfg.hop_length,
                                           n_mels=fcfg.n_mels, fmin=fcfg.fmin, fmax=fcfg.f_max)
        feats.append(np.log(S + fcfg.log_offset))
    return np.stack(feats)


def timed(fn):
    t = time.perf_counter()
    r = fn()
    return r, time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "speech"
    ap.add_argument("--data", type=Path, default=default)
    ap.add_argument("--limit", type=int, default=0, help="clips per dataset (0 = all)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--device", default="cpu", help="cpu | cuda (front end only)")
    a = ap.parse_args()
    device = torch.device(a.device)
    acfg, fcfg = AudioConfig(sample_rate=16000, clip_seconds=1.0), FeatureConfig()
    front = FrontEnd(fcfg).to(device)
    print(f"torch {torch.__version__}, {os.cpu_count()} CPU cores, device {device}, "
          f"torch threads {torch.get_num_threads()}")
    for name in ("fsdd", "wakewords"):
        root = a.data / name
        if not root.is_dir():
            print(f"{name}: {root} not found, skipped")
            continue
        ix = scan(root)  # probes every file; unreadable ones are skipped (and counted)
        paths = [str(c.path) for c in ix.clips]
        if a.limit:
            paths = paths[:: max(1, len(paths) // a.limit)][: a.limit]
        ours(paths[:8], acfg, front, 1, 8, device)  # warm-up (resampler kernels, librosa/numba)
        peer(paths[:8], acfg, fcfg)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        _, t1 = timed(lambda: ours(paths, acfg, front, 1, a.batch, device))
        torch.set_num_threads(threads)
        got, tn = timed(lambda: ours(paths, acfg, front, a.workers, a.batch, device))
        ref, tp = timed(lambda: peer(paths, acfg, fcfg))
        n = len(paths)
        print(f"\n{name}: {n} clips ({len(ix.skipped)} unreadable skipped), features {tuple(got.shape[1:])} vs {ref.shape[1:]}")
        print(f"  librosa per clip (1 thread)        {n / tp:8.1f} clips/s")
        print(f"  ours, 1 thread + 1 torch thread    {n / t1:8.1f} clips/s   x{tp / t1:.2f} (per core)")
        print(f"  ours, {a.workers} decode threads, batched  {n / tn:8.1f} clips/s   x{tp / tn:.2f}")


if __name__ == "__main__":
    main()
