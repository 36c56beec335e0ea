"""`speech-cnn train --extra-data`: extra labelled clips join only the training part of a split, their
labels must be DATA's, and speaker cross-validation re-uses them in every fold (CliRunner, tone clips)."""
import csv
import json

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from test_speech_model import SR, TONE_LABELS, tone_clip

import speech_cnn.train as train_mod
from speech_cnn.classifier import SpeechClassifier
from speech_cnn.cli import main

MAIN_SPEAKERS = ["s0", "s1", "s2"]
FAST = ["--n-mels", "24", "--device", "cpu", "--no-augment", "--batch-size", "8", "--epochs", "1"]


def _write(path, kind, seed):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, tone_clip(kind, np.random.default_rng(seed)), SR)
    return path


def _manifest(root, speakers, per_label, seed0):
    rows = []
    for s, spk in enumerate(speakers):
        for k, kind in enumerate(TONE_LABELS):
            for i in range(per_label):
                p = _write(root / spk / f"{kind}-{i}.wav", kind, seed0 + 100 * s + 10 * k + i)
                rows.append({"path": str(p.relative_to(root)), "label": kind, "speaker": spk})
    with open(root / "clips.csv", "w", newline="") as f:
        w = csv.DictWriter(f, ["path", "label", "speaker"])
        w.writeheader()
        w.writerows(rows)
    return root / "clips.csv"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """main: manifest, 3 speakers x 3 labels x 3 clips; extra_folder: class folders (no speakers,
    two of the three labels); extra_manifest: speakers x9 (new) and s1 (a main speaker)."""
    root = tmp_path_factory.mktemp("extra")
    main_csv = _manifest(root / "main", MAIN_SPEAKERS, 3, 0)
    folder = root / "extra-folder"
    for k, kind in enumerate(["high", "low"]):
        for i in range(4):
            _write(folder / kind / f"{i}.wav", kind, 5000 + 10 * k + i)
    extra_csv = _manifest(root / "extra-manifest", ["x9", "s1"], 2, 9000)
    return {"main": main_csv, "folder": folder, "manifest": extra_csv}


@pytest.fixture
def seen(monkeypatch):
    """Records the clip paths of the train/val sets given to fit and of the test set evaluated."""
    got = {}
    real_fit, real_eval = train_mod.fit, train_mod.evaluate_dataset

    def paths(subset):
        return {str(subset.dataset.clips[i].path) for i in subset.indices}

    def fit(model, train_set, val_set, *a, **k):
        got["train"], got["val"] = paths(train_set), paths(val_set) if val_set is not None else set()
        return real_fit(model, train_set, val_set, *a, **k)

    def evaluate_dataset(clf, subset, *a, **k):
        got.setdefault("test", paths(subset))
        return real_eval(clf, subset, *a, **k)

    monkeypatch.setattr(train_mod, "fit", fit)
    monkeypatch.setattr(train_mod, "evaluate_dataset", evaluate_dataset)
    return got


def _wavs(root):
    return {str(p.resolve()) for p in root.rglob("*.wav")}


def test_extra_clips_go_to_the_train_part_only(data, seen, tmp_path):
    out = tmp_path / "m.pt"
    r = CliRunner().invoke(main, ["train", str(data["main"]), "--out", str(out), "--split", "hash",
                                  "--extra-data", str(data["folder"]), "--extra-data", str(data["manifest"]), *FAST])
    assert r.exit_code == 0, r.output
    extra = _wavs(data["folder"]) | _wavs(data["manifest"].parent)
    main_clips = _wavs(data["main"].parent)
    assert len(extra) == 8 + 12 and len(main_clips) == 27
    assert seen["test"] and seen["val"] and not (seen["test"] | seen["val"]) & extra
    test_speakers = {p.split("/")[-2] for p in seen["test"]}
    held = {p for p in _wavs(data["manifest"].parent) if p.split("/")[-2] in test_speakers}
    assert seen["train"] & extra == extra - held  # every extra clip trains, but none of a test speaker
    assert (seen["train"] | seen["val"] | seen["test"]) & main_clips == main_clips
    assert "extra-data clips" in r.output
    meta = SpeechClassifier.load(out).train_settings
    assert meta["extra_data"] == [str(data["folder"].resolve()), str(data["manifest"].resolve())]


def test_loso_leaves_out_the_held_out_speakers_extra_clips(data, seen, tmp_path):
    r = CliRunner().invoke(main, ["train", str(data["main"]), "--out", str(tmp_path / "m.pt"), "--split",
                                  "loso:s1", "--extra-data", str(data["manifest"]), *FAST])
    assert r.exit_code == 0, r.output
    extra = _wavs(data["manifest"].parent)
    assert {p.split("/")[-2] for p in seen["test"]} == {"s1"}
    assert seen["train"] & extra == {p for p in extra if "/x9/" in p}
    assert not seen["val"] & extra


def test_extra_labels_must_be_a_subset(data, tmp_path):
    bad = tmp_path / "bad"
    _write(bad / "low" / "0.wav", "low", 1)
    _write(bad / "beep" / "0.wav", "high", 2)
    out = tmp_path / "m.pt"
    r = CliRunner().invoke(main, ["train", str(data["main"]), "--out", str(out), "--extra-data", str(bad), *FAST])
    assert r.exit_code != 0 and "Traceback" not in r.output
    assert str(bad.resolve()) in r.output and "beep" in r.output and "labels not in" in r.output
    assert not out.exists()
    r = CliRunner().invoke(main, ["train", str(data["main"]), "--out", str(out), "--extra-data",
                                  str(tmp_path / "missing"), *FAST])
    assert r.exit_code != 0 and "missing" in r.output and "extra data" in r.output


def test_extra_data_that_repeats_data_clips_is_refused(data, tmp_path):
    r = CliRunner().invoke(main, ["train", str(data["main"]), "--out", str(tmp_path / "m.pt"),
                                  "--extra-data", str(data["main"]), *FAST])
    assert r.exit_code != 0 and "also in" in r.output


def test_cross_validation_reuses_extra_data_with_the_same_folds(data, tmp_path):
    model = tmp_path / "m.pt"
    r = CliRunner().invoke(main, ["train", str(data["main"]), "--out", str(model), "--split", "hash",
                                  "--extra-data", str(data["manifest"]), *FAST])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["evaluate", str(model), str(data["main"]), "--cross-validate", "speakers",
                                  "--epochs", "1", "--device", "cpu", "--cv-out", str(tmp_path / "cv"), "--json"])
    assert r.exit_code == 0, r.output
    cv = json.loads(r.stdout)
    assert sorted(cv["speakers"]) == MAIN_SPEAKERS  # extra speakers (x9) never become folds
    assert cv["counts"] == {s: 9 for s in MAIN_SPEAKERS}
    for spk in MAIN_SPEAKERS:
        fold = SpeechClassifier.load(tmp_path / "cv" / f"loso-{spk}.pt")
        assert fold.train_settings["extra_data"] == [str(data["manifest"].resolve())]
        extra_train = 6 if spk == "s1" else 12  # s1's own extra clips never train its fold
        assert f"train includes {extra_train} extra-data clips" in r.stderr
