"""`speech-cnn ensemble`: several models answer as one (mean probabilities); classify and evaluate take
the file; speaker cross-validation trains every member's recipe per fold and re-uses finished folds."""
import json

import pytest
import soundfile as sf
import torch
from click.testing import CliRunner
from test_speech_extra_data import FAST, MAIN_SPEAKERS, _manifest, _write

from speech_cnn.classifier import SpeechClassifier
from speech_cnn.cli import main
from speech_cnn.ensemble import Ensemble, load_model
from speech_cnn.evaluate import _reusable
from speech_cnn.train import TrainSettings


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Two 1-epoch models of the same tone data (seeds 0 and 1) and their ensemble file."""
    root = tmp_path_factory.mktemp("ens")
    data = _manifest(root / "main", MAIN_SPEAKERS, 3, 0)
    paths = []
    for seed in (0, 1):
        p = root / f"m{seed}.pt"
        r = CliRunner().invoke(main, ["train", str(data), "--out", str(p), "--split", "hash", "--seed", str(seed),
                                      *FAST])
        assert r.exit_code == 0, r.output
        paths.append(p)
    ens = root / "ens.pt"
    r = CliRunner().invoke(main, ["ensemble", *map(str, paths), "--out", str(ens)])
    assert r.exit_code == 0, r.output
    assert "2 members" in r.output
    return {"data": data, "members": paths, "ensemble": ens, "root": root}


def test_ensemble_answers_with_the_members_mean(models):
    ens = load_model(models["ensemble"])
    assert isinstance(ens, Ensemble) and len(ens.members) == 2
    a, b = (SpeechClassifier.load(p) for p in models["members"])
    waves = torch.stack([torch.from_numpy(sf.read(p, dtype="float32")[0])
                         for p in sorted((models["data"].parent / "s0").glob("*.wav"))])
    pa, pb = a.predict_proba(waves), b.predict_proba(waves)
    assert not torch.allclose(pa, pb, atol=1e-4)  # different seeds: different members
    torch.testing.assert_close(ens.predict_proba(waves), (pa + pb) / 2, atol=1e-6, rtol=0)
    logits, loss = ens(waves, torch.zeros(len(waves), dtype=torch.long))
    torch.testing.assert_close(logits.exp(), (pa + pb) / 2, atol=1e-5, rtol=0)
    assert loss is not None and float(loss.detach()) > 0

    wav = sorted((models["data"].parent / "s1").glob("high-*.wav"))[0]
    r = CliRunner().invoke(main, ["classify", str(models["ensemble"]), str(wav), "--json", "--top", "3"])
    assert r.exit_code == 0, r.output
    (row,) = json.loads(r.stdout)
    w = torch.from_numpy(sf.read(wav, dtype="float32")[0])[None]
    mean = ((a.predict_proba(w) + b.predict_proba(w)) / 2)[0]
    assert row["label"] == a.labels[int(mean.argmax())]
    assert row["score"] == pytest.approx(float(mean.max()), abs=1e-5)


def test_ensemble_refuses_members_with_other_labels(models, tmp_path):
    two = tmp_path / "two"
    for k, kind in enumerate(["high", "low"]):
        for i in range(3):
            _write(two / kind / f"{i}.wav", kind, 700 + 10 * k + i)
    other = tmp_path / "other.pt"
    r = CliRunner().invoke(main, ["train", str(two), "--out", str(other), *FAST])
    assert r.exit_code == 0, r.output
    out = tmp_path / "bad.pt"
    r = CliRunner().invoke(main, ["ensemble", str(models["members"][0]), str(other), "--out", str(out)])
    assert r.exit_code != 0 and "Traceback" not in r.output
    assert str(other) in r.output and "labels" in r.output
    assert not out.exists()
    r = CliRunner().invoke(main, ["ensemble", str(models["members"][0]), "--out", str(out)])
    assert r.exit_code != 0 and "at least two" in r.output and not out.exists()


def test_speaker_cv_of_an_ensemble_trains_each_member_and_resumes(models, tmp_path):
    cv_dir = tmp_path / "cv"

    def cv_args(epochs):
        return ["evaluate", str(models["ensemble"]), str(models["data"]), "--cross-validate", "speakers",
                "--epochs", str(epochs), "--device", "cpu", "--cv-out", str(cv_dir), "--json"]
    r = CliRunner().invoke(main, cv_args(1))
    assert r.exit_code == 0, r.output
    cv = json.loads(r.stdout)
    assert sorted(cv["speakers"]) == MAIN_SPEAKERS and len(cv["members"]) == 2
    assert "re-using" not in r.stderr
    for spk in MAIN_SPEAKERS:  # the ensemble figure is the mean of the two fold models' probabilities
        folds = [SpeechClassifier.load(cv_dir / f"member-{i}" / f"loso-{spk}.pt") for i in (0, 1)]
        assert [f.train_settings["seed"] for f in folds] == [0, 1]
        assert all(f.file_meta["split"] == f"loso:{spk}" for f in folds)
        waves, labels = [], []
        for p in sorted((models["data"].parent / spk).glob("*.wav")):
            waves.append(torch.from_numpy(sf.read(p, dtype="float32")[0]))
            labels.append(folds[0].labels.index(p.stem.rsplit("-", 1)[0]))
        waves, labels = torch.stack(waves), torch.tensor(labels)
        probs = [f.predict_proba(waves) for f in folds]
        for i in (0, 1):
            alone = float((probs[i].argmax(1) == labels).float().mean())
            assert cv["members"][i]["speakers"][spk] == pytest.approx(alone)
        both = float((((probs[0] + probs[1]) / 2).argmax(1) == labels).float().mean())
        assert cv["speakers"][spk] == pytest.approx(both)

    again = CliRunner().invoke(main, cv_args(1))  # every fold is already there: nothing is retrained
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == cv
    assert again.stderr.count("re-using") == 2 * len(MAIN_SPEAKERS)
    assert "epoch 1" not in again.stderr

    fold = cv_dir / "member-1" / f"loso-{MAIN_SPEAKERS[0]}.pt"
    settings = TrainSettings.from_dict(SpeechClassifier.load(fold).train_settings)
    assert _reusable(fold, settings, print) is not None
    settings.epochs = 2  # other settings: that fold would be trained again
    assert _reusable(fold, settings, print) is None
    settings.epochs, settings.split = 1, f"loso:{MAIN_SPEAKERS[1]}"
    assert _reusable(fold, settings, print) is None
