"""Layouts, splits, leave-one-speaker-out, ClipDataset, cache, `speech-cnn inspect`."""
import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

from speech_cnn.audio import AudioConfig, AudioError
from speech_cnn.cache import WaveformCache
from speech_cnn.cli import main
from speech_cnn.dataset import (ClipDataset, DatasetError, assign_splits, detect_layout, hash_split,
                                iter_loso, scan, split_loso, subset)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "speech"


def wav(path, value=0.1, n=4000, sr=8000):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.full(n, value, np.float32), sr, subtype="FLOAT")


@pytest.fixture
def folders(tmp_path):
    root = tmp_path / "my clips"
    for i, name in enumerate(["smart mirror", "hey you", "zz"]):
        for k in range(4):
            wav(root / name / f"take {k}.wav", value=0.1 * (i + 1))
    (root / "zz" / "sub").mkdir()
    sf.write(root / "zz" / "sub" / "x.flac", np.zeros(800, np.float32), 8000)
    (root / "zz" / "bad.wav").write_bytes(b"")
    (root / "zz" / "notes.wav").write_text("hello")
    (root / "readme.txt").write_text("ignored")
    return root


def test_folders_layout_spaces_and_skipped(folders):
    ix = scan(folders)
    assert ix.layout == "folders"
    assert ix.classes == ["hey you", "smart mirror", "zz"]
    assert ix.counts() == {"hey you": 4, "smart mirror": 4, "zz": 5}
    assert sorted((p.name, r.split(" (")[0]) for p, r in ix.skipped) == [
        ("bad.wav", "empty file"), ("notes.wav", "not a readable audio file")]
    assert CliRunner().invoke(main, ["inspect", str(folders)]).output.count("skipped: 2") == 1


def test_fsdd_layout_and_conventional_split(tmp_path):
    for d in range(3):
        for spk in ("ann", "bob"):
            for take in range(7):
                wav(tmp_path / "recordings" / f"{d}_{spk}_{take}.wav")
    ix = scan(tmp_path)
    assert ix.layout == "fsdd" and ix.speakers == ["ann", "bob"] and ix.classes == ["0", "1", "2"]
    c = next(c for c in ix.clips if c.path.name == "2_bob_6.wav")
    assert (c.label, c.speaker, c.take) == ("2", "bob", 6)
    split = assign_splits(ix.clips, "fsdd-conventional")
    assert Counter(c.split for c in split) == {"test": 30, "train": 12}
    assert all((c.split == "test") == (c.take < 5) for c in split)


def test_speech_commands_layout(tmp_path):
    for word in ("yes", "no"):
        for spk in ("aa11", "bb22", "cc33"):
            wav(tmp_path / word / f"{spk}_nohash_0.wav")
    wav(tmp_path / "_background_noise_" / "white.wav", n=16000)
    (tmp_path / "validation_list.txt").write_text("yes/bb22_nohash_0.wav\nno/bb22_nohash_0.wav\n")
    (tmp_path / "testing_list.txt").write_text("yes/cc33_nohash_0.wav\n")
    ix = scan(tmp_path)
    assert ix.layout == "speech-commands" and ix.classes == ["no", "yes"]
    assert [p.name for p in ix.noise_files] == ["white.wav"]
    got = {(c.label, c.speaker): c.split for c in assign_splits(ix.clips)}
    assert got[("yes", "bb22")] == "val" and got[("no", "bb22")] == "val"
    assert got[("yes", "cc33")] == "test" and got[("no", "cc33")] == "train"
    assert got[("yes", "aa11")] == "train"


def test_manifest_csv_and_json(tmp_path):
    wav(tmp_path / "a.wav")
    wav(tmp_path / "clips" / "b.wav")
    (tmp_path / "m.csv").write_text("path,label,speaker,split\na.wav,go,s1,train\n"
                                    "clips/b.wav,stop,,validation\n")
    ix = scan(tmp_path / "m.csv")
    assert ix.layout == "manifest"
    assert [(c.path.name, c.label, c.speaker, c.split) for c in ix.clips] == [
        ("a.wav", "go", "s1", "train"), ("b.wav", "stop", None, "val")]
    (tmp_path / "m.json").write_text(json.dumps([{"path": str(tmp_path / "a.wav"), "label": "go"}]))
    assert scan(tmp_path / "m.json").clips[0].label == "go"
    (tmp_path / "bad.csv").write_text("path,label\na.wav,\n")
    with pytest.raises(DatasetError, match=r"bad.csv: row 1 needs 'path' and 'label'"):
        scan(tmp_path / "bad.csv")


def test_unknown_layout_errors(tmp_path):
    (tmp_path / "x.txt").write_text("no audio")
    with pytest.raises(DatasetError, match="no audio found"):
        detect_layout(tmp_path)
    r = CliRunner().invoke(main, ["inspect", str(tmp_path)])
    assert r.exit_code != 0 and "no audio found" in r.output and "Traceback" not in r.output


def _speaker_clips(n_speakers=10, per=20):
    from speech_cnn.dataset import Clip
    return [Clip(Path(f"/d/{s}_{k}.wav"), str(k % 3), f"spk{s}") for s in range(n_speakers)
            for k in range(per)]


def test_hash_split_keeps_speakers_on_one_side_and_is_deterministic():
    clips = _speaker_clips()
    a, b = hash_split(clips, 0.1, 0.2), hash_split(list(reversed(clips)), 0.1, 0.2)
    sides = {}
    for c in a:
        sides.setdefault(c.speaker, set()).add(c.split)
    assert all(len(s) == 1 for s in sides.values())
    assert {c.path: c.split for c in a} == {c.path: c.split for c in b}
    counts = Counter(c.split for c in a)
    assert counts["test"] == 40 and counts["val"] == 20 and counts["train"] == 140


def test_hash_split_without_speakers_is_by_file():
    from speech_cnn.dataset import Clip
    clips = [Clip(Path(f"/d/{k}.wav"), "a") for k in range(2000)]
    counts = Counter(c.split for c in hash_split(clips, 0.1, 0.1))
    assert 150 < counts["test"] < 250 and 150 < counts["val"] < 250


def test_loso():
    clips = _speaker_clips(4, 5)
    train, test = split_loso(clips, "spk2")
    assert {c.speaker for c in test} == {"spk2"} and len(test) == 5
    assert "spk2" not in {c.speaker for c in train} and len(train) == 15
    folds = list(iter_loso(clips))
    assert [f[0] for f in folds] == ["spk0", "spk1", "spk2", "spk3"]
    with pytest.raises(DatasetError, match="no clips"):
        split_loso(clips, "nobody")


def test_clip_dataset_and_cache(folders, tmp_path):
    ix = scan(folders)
    cfg = AudioConfig(sample_rate=16000, clip_seconds=0.5)
    plain = ClipDataset(ix.clips, ix.classes, cfg)
    cached = ClipDataset(ix.clips, ix.classes, cfg, cache=tmp_path / "cache")
    assert len(plain) == len(cached) == 13
    for i in range(len(plain)):
        (w1, y1), (w2, y2) = plain[i], cached[i]
        assert w1.shape == (8000,) and w1.dtype == torch.float32 and y1.dtype == torch.int64
        assert torch.equal(w1, w2) and y1 == y2
    assert plain[0][1].item() == ix.classes.index(ix.clips[0].label)
    files = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert len(files) == 2 and not any("tmp" in f for f in files)
    # same settings reuse the file; other settings or a touched file make a new one
    ClipDataset(ix.clips, ix.classes, cfg, cache=tmp_path / "cache")
    assert len(list((tmp_path / "cache").iterdir())) == 2
    ClipDataset(ix.clips, ix.classes, AudioConfig(clip_seconds=0.25), cache=tmp_path / "cache")
    assert len(list((tmp_path / "cache").iterdir())) == 4
    st = os.stat(ix.clips[0].path)
    os.utime(ix.clips[0].path, ns=(st.st_atime_ns, st.st_mtime_ns + 10 ** 9))
    ClipDataset(ix.clips, ix.classes, cfg, cache=tmp_path / "cache")
    assert len(list((tmp_path / "cache").iterdir())) == 6


def test_cache_records_failed_rows(tmp_path):
    good, bad = tmp_path / "g.wav", tmp_path / "b.wav"
    wav(good)
    bad.write_bytes(b"")
    c = WaveformCache.build([good, bad], AudioConfig(clip_seconds=0.5), tmp_path / "c")
    assert c.get(0).shape == (8000,)
    with pytest.raises(AudioError, match="b.wav: empty file"):
        c.get(1)


def test_default_cache_dir_follows_xdg_cache_home(monkeypatch, tmp_path):
    from speech_cnn.cache import default_cache_dir
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "speech_cnn"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "speech_cnn"


def _need(name):
    d = DATA / name
    if not d.is_dir():
        pytest.skip(f"real data: ../shared/data/speech/{name} not found")
    return d


@pytest.mark.data
def test_real_fsdd():
    ix = scan(_need("fsdd"))
    assert ix.layout == "fsdd" and len(ix.clips) == 3000 and not ix.skipped
    assert ix.classes == [str(d) for d in range(10)]
    assert ix.speakers == ["george", "jackson", "lucas", "nicolas", "theo", "yweweler"]
    assert set(ix.counts().values()) == {300}
    per = Counter((c.label, c.speaker) for c in ix.clips)
    assert len(per) == 60 and set(per.values()) == {50}
    conv = assign_splits(ix.clips, "fsdd-conventional")
    assert Counter(c.split for c in conv) == {"test": 300, "train": 2700}
    for spk, train, test in iter_loso(ix.clips):
        assert len(test) == 500 and len(train) == 2500
    h = assign_splits(ix.clips)  # no layout lists -> speaker-disjoint hash split
    sides = {}
    for c in h:
        sides.setdefault(c.speaker, set()).add(c.split)
    assert all(len(s) == 1 for s in sides.values()) and {c.split for c in h} == {"train", "val", "test"}


@pytest.mark.data
def test_real_wakewords():
    ix = scan(_need("wakewords"))
    assert ix.layout == "folders" and len(ix.clips) + len(ix.skipped) == 1382
    # 6 alexa FLAC files fail part way through with libsndfile 1.2.2 ("flac decoder lost sync"):
    # they are skipped and reported, and every other file loads
    assert len(ix.skipped) <= 6
    assert all(p.parent.name == "alexa" and p.suffix == ".flac" and "lost sync" in r
               for p, r in ix.skipped)
    assert ix.counts() == {"alexa": 201 - len(ix.skipped), "computer": 239, "jarvis": 231,
                           "smart mirror": 234, "snowboy": 254, "view glass": 223}
    assert ix.speakers == []
    assert sum(c.path.suffix == ".flac" for c in ix.clips) == 201 - len(ix.skipped)
    ds = ClipDataset(subset(assign_splits(ix.clips), "test"), ix.classes, AudioConfig())
    w, y = ds[0]
    assert w.shape == (16000,) and torch.isfinite(w).all() and w.abs().max() > 0.01
    r = CliRunner().invoke(main, ["inspect", str(_need("wakewords"))])
    assert r.exit_code == 0 and "smart mirror: 234" in r.output
    assert f"clips: {len(ix.clips)} in 6 classes" in r.output and f"skipped: {len(ix.skipped)}" in r.output
