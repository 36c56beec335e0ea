import json

import numpy as np
import pytest
from click.testing import CliRunner

from go_cnn.board import Board, IllegalMove
from go_cnn.cli import main
from go_cnn.coords import flat_to_gtp
from go_cnn.sgf_writer import game_to_sgf

OPENING = [72, 288, 60, 300, 62]  # same first moves in every game: the net can learn them


def random_game(seed: int, n: int = 80) -> tuple[str, list]:
    rng = np.random.default_rng(seed)
    b, moves = Board(19), []
    for i in range(n):
        cands = [OPENING[i]] if i < len(OPENING) else rng.permutation(361)[:50]
        for p in cands:
            try:
                b.play(int(p))
                moves.append(("BW"[i % 2], int(p)))
                break
            except IllegalMove:
                continue
    return game_to_sgf(moves, result="B+R"), moves


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    src = tmp_path_factory.mktemp("sgf")
    for i in range(12):
        (src / f"g{i:02d}.sgf").write_text(random_game(i)[0])
    work = tmp_path_factory.mktemp("work")
    r = CliRunner().invoke(main, ["prepare", str(src), "--out", str(work / "data"), "--workers", "1",
                                  "--val-fraction", "0.25", "--no-progress"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["train", str(work / "data"), "--out", str(work / "m.pt"), "--preset", "cpu-tiny",
                                  "--epochs", "3", "--epoch-size", "512", "--val-positions", "200", "--batch-size",
                                  "64", "--optimizer", "adamw", "--lr", "0.003", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout.strip().splitlines()[-1])
    return src, work, res


def test_train_writes_model_log_and_curve(trained):
    _, work, res = trained
    assert res["preset"] == "cpu-tiny" and res["feature_set"] == "alphago" and res["epochs_run"] == 3
    assert res["positions_seen"] == 3 * 512
    for f in ("m.pt", "m.metrics.jsonl", "m.curve.png", "m.pt.run/last.pt"):
        assert (work / f).exists(), f
    epochs = [json.loads(x) for x in (work / "m.metrics.jsonl").read_text().splitlines()
              if json.loads(x)["type"] == "epoch"]
    assert len(epochs) == 3 and all(0 <= e["val_top1"] <= 1 for e in epochs)
    assert (work / "m.curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_init_starts_from_the_model_weights(trained, tmp_path):
    import torch
    from shared.checkpoint import load_checkpoint, load_model
    _, work, _ = trained
    # lr 0: a warm restart must hand back exactly the weights it started from
    r = CliRunner().invoke(main, ["train", str(work / "data"), "--out", str(tmp_path / "w.pt"), "--init",
                                  str(work / "m.pt"), "--epochs", "1", "--epoch-size", "128", "--val-positions",
                                  "64", "--batch-size", "64", "--lr", "0", "--weight-decay", "0", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["preset"] == "cpu-tiny"
    a, b = load_model(work / "m.pt")[0].state_dict(), load_model(tmp_path / "w.pt")[0].state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a if "running" not in k)
    assert load_checkpoint(tmp_path / "w.pt")["meta"]["init"] == str((work / "m.pt").resolve())
    # a model for other planes is refused with the file named; so is --init with a preset
    ck = load_checkpoint(work / "m.pt")
    ck["meta"]["feature_set"] = "simple"
    from shared.checkpoint import save_checkpoint
    save_checkpoint(tmp_path / "other.pt", {"model": ck["model"], "meta": ck["meta"]})
    r = CliRunner().invoke(main, ["train", str(work / "data"), "--out", str(tmp_path / "x.pt"), "--init",
                                  str(tmp_path / "other.pt"), "--epochs", "1"])
    assert r.exit_code != 0 and "other.pt" in r.output and "'simple'" in r.output
    assert not (tmp_path / "x.pt").exists()
    r = CliRunner().invoke(main, ["train", str(work / "data"), "--out", str(tmp_path / "x.pt"), "--init",
                                  str(work / "m.pt"), "--preset", "cpu"])
    assert r.exit_code != 0 and "--init" in r.output


def test_evaluate_json_schema_and_phases(trained):
    src, work, _ = trained
    r = CliRunner().invoke(main, ["evaluate", str(work / "m.pt"), str(src), "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["games"] == 12 and d["positions"] == 12 * 80
    assert 0 <= d["top1"] <= d["top5"] <= 1 and d["nll"] > 0
    assert set(d["phases"]) == {"1-50", "51-150", "151+"}
    assert d["phases"]["1-50"]["positions"] == 12 * 50 and d["phases"]["51-150"]["positions"] == 12 * 30
    assert d["phases"]["151+"]["positions"] == 0
    # the shared opening (5 moves x 12 games) is learnable: early accuracy beats chance (1/361) by far
    assert d["phases"]["1-50"]["top5"] > 0.05


def test_evaluate_with_symmetries_and_text(trained):
    src, work, _ = trained
    r = CliRunner().invoke(main, ["evaluate", str(work / "m.pt"), str(src), "--symmetries", "8", "--max-games", "2"])
    assert r.exit_code == 0, r.output
    assert "games 2  positions 160" in r.output and "151+" in r.output


def test_predict_board_and_json(trained, tmp_path):
    src, work, _ = trained
    game = src / "g00.sgf"
    _, moves = random_game(0)
    r = CliRunner().invoke(main, ["predict", str(work / "m.pt"), str(game), "--move", "3", "--top", "4"])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].split() == list("ABCDEFGHJKLMNOPQRST")
    assert lines[1].startswith("19 ") and lines[19].startswith(" 1 ")
    # after 3 moves: Q16 (flat 72) black, D4 (288) white, D16 (60) black
    row16, row4 = lines[1 + 3].split(), lines[1 + 15].split()
    assert row16[0] == "16" and row16[4] == "X" and row16[16] == "X" and row16.count("X") == 2
    assert row4[0] == "4" and row4[4] == "O"
    assert f"after move 3 of 80; White to play; played in the game: {flat_to_gtp(moves[3][1])}" in r.output
    r = CliRunner().invoke(main, ["predict", str(work / "m.pt"), str(game), "--move", "4", "--top", "3", "--json",
                                  "--heatmap", str(tmp_path / "h.png")])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["to_play"] == "B" and len(d["moves"]) == 3
    assert all(set(m) == {"move", "prob"} and 0 < m["prob"] <= 1 for m in d["moves"])
    assert d["moves"][0]["prob"] >= d["moves"][1]["prob"] >= d["moves"][2]["prob"]
    occupied = {flat_to_gtp(p) for _, p in moves[:4]}
    assert not occupied & {m["move"] for m in d["moves"]}
    assert (tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"


def test_summary_prints_hand_checked_totals():
    r = CliRunner().invoke(main, ["summary", "--preset", "cpu", "--features", "alphago"])
    assert r.exit_code == 0, r.output
    assert "total params: 197,801" in r.output and "total MACs: 71,160,320" in r.output
    r = CliRunner().invoke(main, ["summary", "--preset", "cpu", "--features", "slides"])
    assert "total params: 151,401" in r.output  # 197,801 - 29 fewer planes x 25 x 64 weights (46,400)
    r = CliRunner().invoke(main, ["summary", "--list"])
    assert "gpu-13x192" in r.output and "fc" in r.output


def test_clear_errors(trained, tmp_path):
    src, work, _ = trained
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    r = CliRunner().invoke(main, ["evaluate", str(bad), str(src)])
    assert r.exit_code != 0 and "bad.pt" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(main, ["predict", str(work / "m.pt"), str(src / "g00.sgf"), "--move", "500"])
    assert r.exit_code != 0 and "the game has 80 moves" in r.output
    r = CliRunner().invoke(main, ["train", str(tmp_path), "--out", str(tmp_path / "x.pt")])
    assert r.exit_code != 0 and "manifest" in r.output and not (tmp_path / "x.pt").exists()
    r = CliRunner().invoke(main, ["train", str(tmp_path), "--out", str(tmp_path / "x.pt"), "--preset", "cpu",
                                  "--layers", "4"])
    assert r.exit_code != 0 and "not both" in r.output
    r = CliRunner().invoke(main, ["summary", "--preset", "nope"])
    assert r.exit_code != 0 and "known" in r.output


def test_demo_on_a_small_archive(tmp_path):
    import io
    import tarfile
    arc = tmp_path / "games.tar.gz"
    with tarfile.open(arc, "w:gz") as tar:
        for i in range(6):
            data = random_game(100 + i, 60)[0].encode()
            info = tarfile.TarInfo(f"games/g{i}.sgf")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    r = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / "demo"), "--archive", str(arc), "--minutes", "0.1",
                                  "--preset", "cpu-tiny"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout.strip().splitlines()[-1])
    assert (tmp_path / "demo" / "model.pt").exists() and len(d["moves"]) == 5
    assert "3/3 predict games/g0.sgf after move 40" in r.output and "played in the game" in r.output
