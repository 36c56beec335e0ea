"""speech-cnn classify / evaluate / train / summary / synth through click's CliRunner."""
import json
import shutil

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from test_speech_model import SR, TONE_LABELS, tone_clip, train_tone_model

from speech_cnn.cli import main


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    clf, _ = train_tone_model()
    return clf.save(tmp_path_factory.mktemp("m") / "tones.pt")


def write_tone(path, kind, seed, sr=SR, channels=1, fmt=None):
    x = tone_clip(kind, np.random.default_rng(seed), n=sr, sr=sr)
    data = np.stack([x] * channels, 1) if channels > 1 else x
    sf.write(path, data, sr, format=fmt)
    return path


def test_classify_json_schema_errors_and_exit_status(model_file, tmp_path):
    good = [write_tone(tmp_path / "low.wav", "low", 1),
            write_tone(tmp_path / "high 44k stereo.wav", "high", 2, sr=44100, channels=2),
            write_tone(tmp_path / "low.flac", "low", 3, sr=16000)]
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "text.wav").write_text("hello")
    r = CliRunner().invoke(main, ["classify", str(model_file), *map(str, good), str(tmp_path / "empty.wav"),
                                  str(tmp_path / "text.wav"), str(tmp_path / "missing.wav"), "--json", "--top", "2"])
    assert r.exit_code == 1, r.output
    out = json.loads(r.stdout)
    assert [o["path"] for o in out[:3]] == list(map(str, good))
    assert [o["label"] for o in out[:3]] == ["low", "high", "low"]
    for o in out[:3]:
        assert set(o) == {"path", "label", "score", "top"} and len(o["top"]) == 2
        assert o["top"][0] == {"label": o["label"], "score": o["score"]} and 0.5 < o["score"] <= 1
        assert o["top"][0]["score"] >= o["top"][1]["score"]
    assert [set(o) for o in out[3:]] == [{"path", "error"}] * 3
    assert out[3]["error"].startswith("empty file") and "not a readable audio file" in out[4]["error"]
    assert "could not be classified" in r.stderr


def test_classify_folder_text_lines_exit_zero(model_file, tmp_path):
    for i, kind in enumerate(["low", "high", "_background_"]):
        write_tone(tmp_path / f"{i}.wav", kind, 10 + i)
    r = CliRunner().invoke(main, ["classify", str(model_file), str(tmp_path)])
    assert r.exit_code == 0, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 3 and [ln.split("\t")[1].split()[0] for ln in lines] == ["low", "high", "_background_"]


def test_classify_bad_model_is_a_clean_error(tmp_path):
    (tmp_path / "m.pt").write_text("nope")
    r = CliRunner().invoke(main, ["classify", str(tmp_path / "m.pt"), str(tmp_path)])
    assert r.exit_code == 1 and "m.pt" in r.output and "Traceback" not in r.output


@pytest.fixture(scope="module")
def tone_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("tones")
    for k, kind in enumerate(TONE_LABELS):
        (root / kind).mkdir()
        for i in range(8):
            write_tone(root / kind / f"{i}.wav", kind, 100 * k + i)
    return root


def test_evaluate_json_on_every_clip(model_file, tone_folder, tmp_path):
    r = CliRunner().invoke(main, ["evaluate", str(model_file), str(tone_folder), "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["count"] == 24 and rep["accuracy"] >= 0.9
    assert set(rep["per_class"]) == set(TONE_LABELS) and rep["per_class"]["low"]["support"] == 8
    assert sum(map(sum, rep["confusion"])) == 24 and len(rep["confusion"]) == 3
    acc = sum(rep["confusion"][i][i] for i in range(3)) / 24
    assert acc == pytest.approx(rep["accuracy"])


def test_evaluate_refuses_labels_the_model_does_not_know(model_file, tone_folder, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(tone_folder, data)
    (data / "whistle").mkdir()
    write_tone(data / "whistle" / "w0.wav", "low", 0)
    r = CliRunner().invoke(main, ["evaluate", str(model_file), str(data), "--json"])
    assert r.exit_code == 1 and "{" not in r.stdout  # an error, no JSON report
    assert f"{data}: labels not in the model: whistle (known: {', '.join(TONE_LABELS)})" in r.output


def test_train_cli_writes_model_and_figures(tone_folder, tmp_path):
    out = tmp_path / "m.pt"
    r = CliRunner().invoke(main, ["train", str(tone_folder), "--out", str(out), "--epochs", "2", "--n-mels", "24",
                                  "--split", "hash", "--device", "cpu", "--no-augment", "--batch-size", "8"])
    assert r.exit_code == 0, r.output
    assert out.is_file() and (tmp_path / "m.curve.png").stat().st_size > 1000
    assert (tmp_path / "m.confusion.png").stat().st_size > 1000
    assert "test accuracy" in r.output and "8000 Hz" in r.output  # the data's rate picked
    r = CliRunner().invoke(main, ["classify", str(out), str(tone_folder / "low" / "0.wav"), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["label"] in TONE_LABELS


def test_train_cli_resume_continues_the_run(tone_folder, tmp_path):
    args = ["train", str(tone_folder), "--out", str(tmp_path / "m.pt"), "--n-mels", "24", "--split", "hash",
            "--device", "cpu", "--no-augment", "--batch-size", "8"]
    assert CliRunner().invoke(main, [*args, "--epochs", "1"]).exit_code == 0
    r = CliRunner().invoke(main, [*args, "--epochs", "2", "--resume"])
    assert r.exit_code == 0, r.output
    epochs = [json.loads(line) for line in (tmp_path / "m.run" / "metrics.jsonl").read_text().splitlines()]
    assert [e["epoch"] for e in epochs if e["type"] == "epoch"] == [1, 2]  # epoch 1 not trained again


def test_train_cli_bad_data_and_preset(tmp_path):
    r = CliRunner().invoke(main, ["train", str(tmp_path / "nothing"), "--out", str(tmp_path / "m.pt")])
    assert r.exit_code == 1 and "no such file" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(main, ["train", str(tmp_path), "--out", str(tmp_path / "m.pt"), "--preset", "x"])
    assert r.exit_code == 1 and "unknown preset" in r.output
    assert not (tmp_path / "m.pt").exists()


def test_summary_prints_params_and_macs():
    r = CliRunner().invoke(main, ["summary", "--preset", "fcnn", "--sample-rate", "8000"])
    assert r.exit_code == 0 and "total params: 50,266" in r.output and "total MACs: 11,621,808" in r.output


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_synth_cli_writes_fsdd_named_clips(tmp_path):
    r = CliRunner().invoke(main, ["synth", str(tmp_path / "d"), "--accents", "en-us", "--variants", "m2",
                                  "--takes", "1"])
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in (tmp_path / "d").iterdir())
    assert names == [f"{d}_en-us-m2_0.wav" for d in range(10)]
    assert sf.info(str(tmp_path / "d" / names[0])).samplerate == 8000


@pytest.mark.slow
def test_demo_trains_on_the_embedded_digits(tmp_path):
    from speech_cnn.demo import embedded_digits, run_demo
    assert len(list(embedded_digits().glob("*.wav"))) == 350
    lines = []
    res = run_demo(tmp_path, minutes=10, epochs=15, log=lines.append)  # epochs bound it, not the clock
    assert res["count"] == 40 and res["accuracy"] >= 0.7  # 4 voices never heard, chance is 0.1
    assert len(res["examples"]) == 6 and all("label" in r for r in res["examples"])
    assert any(line.startswith("speaker-disjoint test accuracy") for line in lines)
