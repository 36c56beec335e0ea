"""Dataset layouts -> Clip records -> honest splits -> a torch Dataset of fixed-length waveforms.

Layouts (`scan(root, layout="auto")`):
- "speech-commands": root holds validation_list.txt / testing_list.txt; one folder per word;
  `_background_noise_/` is noise, not a class; speaker = file name before `_nohash_`;
  split from the lists (everything else is train).
- "fsdd": files `{digit}_{speaker}_{take}.wav` in root or root/recordings -> label, speaker, take.
- "manifest": a .csv (header: path,label[,speaker][,split]) or .json (list of such objects) file;
  relative paths are relative to the manifest's folder.
- "folders": one sub-folder per class (names may contain spaces), audio files anywhere below it.
Auto-detection tries them in that order (manifest when root is a file).

Unreadable clips (zero-byte, non-audio, truncated, no samples) are probed at scan time and listed in
`DatasetIndex.skipped` as (path, reason); they never reach training.
"""
from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torch.utils.data import Dataset

from .audio import AUDIO_EXTENSIONS, AudioConfig, AudioError, load_audio, probe

LAYOUTS = ("auto", "speech-commands", "fsdd", "manifest", "folders")
SPLITS = ("train", "val", "test")
FSDD_NAME = re.compile(r"^(\d)_([A-Za-z0-9-]+)_(\d+)\.wav$")
NOISE_DIR = "_background_noise_"


class DatasetError(Exception):
    """A dataset folder/manifest that cannot be used; the message names it and says why."""


@dataclass(frozen=True)
class Clip:
    path: Path  # absolute audio file path
    label: str  # class name (folder name, digit, manifest label)
    speaker: str | None = None  # speaker id when the layout knows it
    split: str | None = None  # "train" | "val" | "test" when the layout or a split rule set it
    take: int | None = None  # FSDD take index


@dataclass
class DatasetIndex:
    root: Path  # what was scanned
    layout: str  # the layout used (never "auto")
    clips: list[Clip]  # readable clips, sorted by path
    classes: list[str]  # sorted class names; label index = position here
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (file, reason) not used
    noise_files: list[Path] = field(default_factory=list)  # background noise (speech-commands)

    @property
    def speakers(self) -> list[str]:
        return sorted({c.speaker for c in self.clips if c.speaker is not None})

    def counts(self) -> dict[str, int]:
        out = {k: 0 for k in self.classes}
        for c in self.clips:
            out[c.label] += 1
        return out


def _is_audio(p: Path) -> bool:
    return p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS and not p.name.startswith(".")


def detect_layout(root) -> str:
    root = Path(root)
    if not root.exists():
        raise DatasetError(f"{root}: no such file or folder")
    if root.is_file():
        if root.suffix.lower() in (".csv", ".json"):
            return "manifest"
        raise DatasetError(f"{root}: a file that is not a .csv/.json manifest")
    if (root / "validation_list.txt").is_file() or (root / "testing_list.txt").is_file():
        return "speech-commands"
    for d in (root / "recordings", root):
        if d.is_dir():
            wavs = [p.name for p in d.iterdir() if _is_audio(p)]
            if wavs and all(FSDD_NAME.match(n) for n in wavs):
                return "fsdd"
    if any(d.is_dir() and any(_is_audio(p) for p in d.rglob("*")) for d in root.iterdir()):
        return "folders"
    raise DatasetError(f"{root}: no audio found in a known layout (class folders, Speech Commands, "
                       f"FSDD names or a manifest)")


def _scan_fsdd(root: Path) -> tuple[list[Clip], list[Path]]:
    d = root / "recordings" if (root / "recordings").is_dir() else root
    clips = []
    for p in sorted(d.iterdir()):
        m = FSDD_NAME.match(p.name) if _is_audio(p) else None
        if m:
            clips.append(Clip(p.resolve(), m.group(1), m.group(2), None, int(m.group(3))))
    return clips, []


def _scan_folders(root: Path, skip=()) -> list[Clip]:
    clips = []
    for d in sorted(root.iterdir()):
        if not d.is_dir() or d.name.startswith(".") or d.name in skip:
            continue
        for p in sorted(d.rglob("*")):
            if _is_audio(p):
                clips.append(Clip(p.resolve(), d.name))
    return clips


def _scan_speech_commands(root: Path) -> tuple[list[Clip], list[Path]]:
    lists = {}
    for name, split in (("validation_list.txt", "val"), ("testing_list.txt", "test")):
        f = root / name
        if f.is_file():
            for line in f.read_text().splitlines():
                if line.strip():
                    lists[line.strip()] = split
    clips = []
    for c in _scan_folders(root, skip=(NOISE_DIR,)):
        rel = c.path.relative_to(root.resolve()).as_posix()
        speaker = c.path.stem.split("_nohash_")[0] if "_nohash_" in c.path.stem else None
        clips.append(replace(c, speaker=speaker, split=lists.get(rel, "train")))
    noise_dir = root / NOISE_DIR
    noise = sorted(p.resolve() for p in noise_dir.glob("*") if _is_audio(p)) if noise_dir.is_dir() else []
    return clips, noise


def _scan_manifest(path: Path) -> list[Clip]:
    base = path.parent.resolve()
    try:
        if path.suffix.lower() == ".json":
            rows = json.loads(path.read_text())
            if isinstance(rows, dict):
                rows = rows.get("clips", [])
        else:
            with open(path, newline="") as f:
                rows = list(csv.DictReader(f))
    except (OSError, ValueError, csv.Error) as e:
        raise DatasetError(f"{path}: cannot read manifest ({e})") from None
    clips = []
    for i, r in enumerate(rows):
        if not isinstance(r, dict) or not r.get("path") or not str(r.get("label", "")).strip():
            raise DatasetError(f"{path}: row {i + 1} needs 'path' and 'label'")
        split = (r.get("split") or "").strip().lower() or None
        if split == "validation":
            split = "val"
        if split is not None and split not in SPLITS:
            raise DatasetError(f"{path}: row {i + 1}: split must be train|val|test, got {split!r}")
        p = Path(r["path"])
        clips.append(Clip((p if p.is_absolute() else base / p).resolve(), str(r["label"]).strip(),
                          (str(r.get("speaker") or "").strip() or None), split))
    return clips


def scan(root, layout: str = "auto", check: bool = True) -> DatasetIndex:
    """Index a dataset. check=True probes every file and moves unreadable ones to .skipped."""
    root = Path(root)
    if layout not in LAYOUTS:
        raise DatasetError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    if layout == "auto":
        layout = detect_layout(root)
    elif not root.exists():
        raise DatasetError(f"{root}: no such file or folder")
    noise: list[Path] = []
    if layout == "fsdd":
        clips, noise = _scan_fsdd(root)
    elif layout == "speech-commands":
        clips, noise = _scan_speech_commands(root)
    elif layout == "manifest":
        clips = _scan_manifest(root)
    else:
        clips = _scan_folders(root)
    skipped: list[tuple[Path, str]] = []
    if check:
        good = []
        for c in clips:
            try:
                probe(c.path)
                good.append(c)
            except AudioError as e:
                skipped.append((c.path, e.reason))
        clips = good
    if not clips:
        raise DatasetError(f"{root}: no readable clips for layout {layout!r}"
                           + (f" ({len(skipped)} skipped)" if skipped else ""))
    clips.sort(key=lambda c: str(c.path))
    return DatasetIndex(root, layout, clips, sorted({c.label for c in clips}), skipped, noise)


def scan_for(root, known: list[str] | None = None, known_by: str = "", log=print) -> DatasetIndex:
    """scan() for a command: log each skipped file, and with ``known`` refuse labels outside it
    (``known_by`` names who knows them: the model, the main dataset)."""
    index = scan(root)
    for path, reason in index.skipped:
        log(f"skipped {path}: {reason}")
    unknown = sorted(set(index.classes) - set(known or index.classes))
    if unknown:
        more = " ..." if len(unknown) > 10 else ""
        raise DatasetError(f"{root}: labels not in {known_by}: {', '.join(unknown[:10])}{more} "
                           f"(known: {', '.join(known)})")
    return index


# ---------------------------------------------------------------------------------- splits

def _unit_hash(key: str, seed: str = "") -> float:
    h = hashlib.sha1(f"{seed}|{key}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2 ** 64


def hash_split(clips: list[Clip], val_frac: float = 0.1, test_frac: float = 0.1,
               seed: str = "") -> list[Clip]:
    """Deterministic split. With speakers known on every clip, whole speakers go to one side:
    speakers are ordered by hash and filled into test, then val, until each holds >= its fraction
    of clips (with >= 3 speakers, test and val get at least one speaker each; the rest is train).
    Without speakers, each clip goes by the hash of its label/file name."""
    if clips and all(c.speaker is not None for c in clips):
        counts: dict[str, int] = {}
        for c in clips:
            counts[c.speaker] = counts.get(c.speaker, 0) + 1
        order = sorted(counts, key=lambda s: (_unit_hash(s, seed), s))
        side, n, target = {}, len(clips), [("test", test_frac), ("val", val_frac)]
        filled = {"test": 0, "val": 0}
        for s in order:
            for name, frac in target:
                if frac > 0 and filled[name] < frac * n and len(order) - len(side) > 1:
                    side[s], filled[name] = name, filled[name] + counts[s]
                    break
            else:
                side[s] = "train"
        return [replace(c, split=side[c.speaker]) for c in clips]
    out = []
    for c in clips:
        u = _unit_hash(f"{c.label}/{c.path.name}", seed)
        out.append(replace(c, split="test" if u < test_frac else "val" if u < test_frac + val_frac
                           else "train"))
    return out


def fsdd_conventional_split(clips: list[Clip]) -> list[Clip]:
    """FSDD's published split: takes 0-4 are test, the rest train (every speaker on both sides)."""
    if any(c.take is None for c in clips):
        raise DatasetError("fsdd-conventional split needs FSDD clips (take numbers)")
    return [replace(c, split="test" if c.take < 5 else "train") for c in clips]


def assign_splits(clips: list[Clip], method: str = "auto", val_frac: float = 0.1,
                  test_frac: float = 0.1, seed: str = "") -> list[Clip]:
    """method: "auto" (layout's own splits when every clip has one, else "hash") | "layout" |
    "hash" | "fsdd-conventional"."""
    if method == "auto":
        method = "layout" if clips and all(c.split for c in clips) else "hash"
    if method == "layout":
        if not all(c.split for c in clips):
            raise DatasetError("layout split requested but some clips have no split")
        return list(clips)
    if method == "hash":
        return hash_split(clips, val_frac, test_frac, seed)
    if method == "fsdd-conventional":
        return fsdd_conventional_split(clips)
    raise DatasetError(f"unknown split method {method!r}")


def subset(clips: list[Clip], split: str) -> list[Clip]:
    return [c for c in clips if c.split == split]


def split_loso(clips: list[Clip], speaker: str) -> tuple[list[Clip], list[Clip]]:
    """Leave one speaker out: (train = everyone else, test = that speaker's clips)."""
    if any(c.speaker is None for c in clips):
        raise DatasetError("leave-one-speaker-out needs a speaker on every clip")
    test = [replace(c, split="test") for c in clips if c.speaker == speaker]
    if not test:
        raise DatasetError(f"speaker {speaker!r} has no clips")
    return [replace(c, split="train") for c in clips if c.speaker != speaker], test


def iter_loso(clips: list[Clip]) -> Iterator[tuple[str, list[Clip], list[Clip]]]:
    """Yield (speaker, train, test) for every speaker in sorted order."""
    for s in sorted({c.speaker for c in clips if c.speaker is not None}):
        yield (s, *split_loso(clips, s))


# ---------------------------------------------------------------------------------- dataset

class ClipDataset(Dataset):
    """Yields (waveform float32 (num_samples,), label int64) at audio_cfg's rate and length.

    labels: the class names in label-index order (stored with the model). cache: a WaveformCache
    (or a folder path to build one in) holding the decoded clips; None decodes on every access.
    """

    def __init__(self, clips: list[Clip], labels: list[str], audio_cfg: AudioConfig, cache=None):
        self.clips = list(clips)
        self.labels = list(labels)
        self.audio_cfg = audio_cfg
        index = {name: i for i, name in enumerate(self.labels)}
        unknown = sorted({c.label for c in self.clips} - set(index))
        if unknown:
            raise DatasetError(f"clip labels not in the label list: {unknown[:5]}")
        self.targets = torch.tensor([index[c.label] for c in self.clips], dtype=torch.int64)
        if cache is not None and not hasattr(cache, "get"):
            from .cache import WaveformCache
            cache = WaveformCache.build([c.path for c in self.clips], audio_cfg, cache)
        self.cache = cache

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.cache is not None:
            wave = self.cache.get(i)
        else:
            wave = load_audio(self.clips[i].path, self.audio_cfg)
        return wave, self.targets[i]

    def waveforms(self) -> torch.Tensor:
        """All clips as one (len, num_samples) tensor (uses the cache when there is one)."""
        if self.cache is not None:
            return torch.from_numpy(np.asarray(self.cache.array, dtype=np.float32))
        return torch.stack([self[i][0] for i in range(len(self))])
