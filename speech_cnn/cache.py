"""Waveform cache: decode + resample + fix length once, then memory-map for every later epoch.

One float32 .npy of shape (n_clips, num_samples) per (clip list, audio settings). The key is a
sha256 over AudioConfig.to_dict() and, per clip in order, its resolved path, size and mtime_ns, so
changing any setting or touching/replacing any file builds a new cache file. Location: the given
folder, default $XDG_CACHE_HOME/speech_cnn, else ~/.cache/speech_cnn (resolved when called, never at
import).

Files: <dir>/waves-<key16>.npy and <dir>/waves-<key16>.json (settings, paths, failed rows). Both are
written to temporary names in the same folder and moved into place with os.replace, so an
interrupted build leaves nothing half-written. A clip that fails to decode is a zero row listed in
the .json; get() on it raises AudioError.
"""
from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from .audio import AudioConfig, AudioError, load_audio


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/speech_cnn (the XDG base-directory rule), else ~/.cache/speech_cnn."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "speech_cnn"


def cache_key(paths: list[Path], cfg: AudioConfig) -> str:
    h = hashlib.sha256(json.dumps(cfg.to_dict(), sort_keys=True).encode())
    for p in paths:
        st = os.stat(p)
        h.update(f"\n{Path(p).resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()


class WaveformCache:
    """Memory-mapped (n, num_samples) float32 waveforms; .get(i) -> tensor (num_samples,)."""

    def __init__(self, npy_path: Path, failed: dict[int, str], paths: list[Path]):
        self.npy_path = Path(npy_path)
        self.failed = failed  # row -> reason
        self.paths = paths
        self._array = None  # opened lazily, so each DataLoader worker maps it itself

    @property
    def array(self) -> np.ndarray:
        if self._array is None:
            self._array = np.load(self.npy_path, mmap_mode="r")
        return self._array

    def __len__(self) -> int:
        return len(self.paths)

    def __getstate__(self):  # pickled into DataLoader workers without the open map
        return {**self.__dict__, "_array": None}

    def get(self, i: int) -> torch.Tensor:
        if i in self.failed:
            raise AudioError(self.paths[i], self.failed[i])
        return torch.from_numpy(np.array(self.array[i], dtype=np.float32))

    @classmethod
    def build(cls, paths, cfg: AudioConfig, cache_dir=None, workers: int = 4,
              progress: bool = False) -> "WaveformCache":
        """Open the cache for these clips and settings, decoding them first if it is missing."""
        paths = [Path(p).resolve() for p in paths]
        cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        cache_dir.mkdir(parents=True, exist_ok=True)
        key = cache_key(paths, cfg)[:16]
        npy, meta = cache_dir / f"waves-{key}.npy", cache_dir / f"waves-{key}.json"
        if npy.is_file() and meta.is_file():
            info = json.loads(meta.read_text())
            arr = np.load(npy, mmap_mode="r")
            if arr.shape == (len(paths), cfg.num_samples):
                return cls(npy, {int(k): v for k, v in info["failed"].items()}, paths)
        tmp_npy = cache_dir / f".waves-{key}.{os.getpid()}.tmp.npy"
        out = np.lib.format.open_memmap(tmp_npy, mode="w+", dtype=np.float32,
                                        shape=(len(paths), cfg.num_samples))
        failed: dict[int, str] = {}

        def work(i: int):
            try:
                out[i] = load_audio(paths[i], cfg).numpy()
            except AudioError as e:
                out[i] = 0.0
                failed[i] = e.reason

        it = range(len(paths))
        with ThreadPoolExecutor(max(1, workers)) as pool:  # soundfile/resample release the GIL
            results = pool.map(work, it)
            if progress:
                from tqdm import tqdm
                results = tqdm(results, total=len(paths), desc="decode", unit="clip")
            for _ in results:
                pass
        out.flush()
        del out
        os.replace(tmp_npy, npy)
        tmp_meta = cache_dir / f".waves-{key}.{os.getpid()}.tmp.json"
        tmp_meta.write_text(json.dumps({"audio": cfg.to_dict(), "paths": [str(p) for p in paths],
                                        "failed": {str(k): v for k, v in failed.items()}}))
        os.replace(tmp_meta, meta)
        return cls(npy, failed, paths)
