"""The referee (go_cnn.match / `go-cnn match`): scripted fake opponents, failures, and a real GNU Go match."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from go_cnn.cli import main
from go_cnn.coords import gtp_to_flat
from go_cnn.features import get_feature_set
from go_cnn.game import Game
from go_cnn.match import MatchConfig, MatchError, parse_result, play_match, wilson_interval
from go_cnn.model import make_spec
from go_cnn.sgf import parse_sgf
from shared import build, save_checkpoint, spec_to_dict

ROOT = Path(__file__).resolve().parents[1]
FAKE = [sys.executable, str(ROOT / "tests" / "fake_gtp.py")]
GNUGO = "/usr/games/gnugo"


def fake(*args: str) -> list[str]:
    return FAKE + list(args)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    torch.manual_seed(0)
    spec = make_spec("cpu-tiny", get_feature_set("alphago").num_planes, 19)
    path = tmp_path_factory.mktemp("match") / "tiny.pt"
    meta = {"spec": spec_to_dict(spec), "app": "go", "feature_set": "alphago", "board_size": 19, "preset": "cpu-tiny"}
    save_checkpoint(path, {"model": build(spec).state_dict(), "meta": meta})
    return path


def replay(sgf_path: str) -> Game:
    """Replay a saved game with our rules (raises on an illegal move); check it is well formed."""
    rec = parse_sgf(Path(sgf_path).read_bytes())[0]
    assert rec.error == "" and rec.size == 19 and rec.komi == 7.5
    g = Game(19)
    for colour, point in rec.moves:
        g.play(colour, point)
    return g


def test_wilson_interval_and_result_parsing():
    lo, hi = wilson_interval(5, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.2366, 0.7634)
    lo, hi = wilson_interval(0, 2)
    assert lo == 0.0 and round(hi, 4) == 0.6576
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert [parse_result(t) for t in ("B+3.5", "W+R", "w+Resign", "B+F", "0", "W+12")] == ["B", "W", "W", "B", "", "W"]
    with pytest.raises(ValueError):
        parse_result("black wins")


def test_referee_alternates_colours_checks_moves_and_saves_games(tmp_path):
    # "engine" plays from A1 upwards, the opponent from T19 down; both stop after the cap
    cfg = MatchConfig(games=4, max_moves=20, sgf_out=tmp_path)
    res = play_match(fake("--mode", "play"), fake("--mode", "play", "--order", "backward"), cfg)
    s = res.summary()
    assert s["games"] == 4 and s["games_as_black"] == 2 and s["games_as_white"] == 2
    assert [r.engine_colour for r in res.records] == ["B", "W", "B", "W"]
    assert all(r.end == "max-moves" and r.moves == 20 and r.scored_by == "referee" for r in res.records)
    # 10 stones each on an open board: the area is neutral, white wins by komi
    assert [r.result for r in res.records] == ["W+7.5"] * 4
    assert s["wins"] == 2 and s["wins_as_white"] == 2 and s["win_rate"] == 0.5
    assert s["distinct_games"] == 2  # two deterministic programs repeat themselves: the count shows it
    assert s["engine_sec_per_move"] > 0 and s["avg_moves"] == 20
    g = replay(res.records[0].sgf)
    assert g.stones[gtp_to_flat("A1")] == 1 and g.stones[gtp_to_flat("T19")] == 2  # engine black first
    assert parse_sgf(Path(res.records[1].sgf).read_bytes())[0].black == "fake play"


def test_parallel_workers_play_the_same_games_in_order(tmp_path):
    args = (fake("--mode", "play"), fake("--mode", "play", "--order", "backward"))
    one = play_match(*args, MatchConfig(games=4, max_moves=12))
    two = play_match(*args, MatchConfig(games=4, max_moves=12, workers=2, sgf_out=tmp_path))
    key = lambda res: [(r.index, r.engine_colour, r.result, r.moves_played) for r in res.records]  # noqa: E731
    assert key(one) == key(two) and [r.index for r in two.records] == [0, 1, 2, 3]
    assert len(list(tmp_path.glob("game-*.sgf"))) == 4


def test_opponent_final_score_is_used_when_it_has_one(tmp_path):
    cfg = MatchConfig(games=1, max_moves=6, sgf_out=tmp_path)
    res = play_match(fake("--mode", "play"), fake("--mode", "play", "--final-score", "B+12.5"), cfg)
    r = res.records[0]
    assert (r.result, r.scored_by, r.engine_won) == ("B+12.5", "opponent", True)
    assert parse_sgf(Path(r.sgf).read_bytes())[0].result == "B+12.5"


def test_resignation_and_illegal_moves_end_games(tmp_path):
    res = play_match(fake("--mode", "play"), fake("--mode", "resign"), MatchConfig(games=2))
    assert [(r.result, r.end, r.engine_won) for r in res.records] == [("B+R", "resign", True), ("W+R", "resign", True)]
    res = play_match(fake("--mode", "illegal"), fake("--mode", "play", "--order", "backward"),
                     MatchConfig(games=1, sgf_out=tmp_path))
    r = res.records[0]  # the engine plays D4 twice: the second is illegal (occupied) and loses
    assert (r.result, r.end, r.moves) == ("W+F", "illegal", 2) and "D4" in r.note
    assert len(replay(r.sgf).moves) == 2


def test_crashing_opponent_is_a_clear_error_and_finished_games_are_kept(tmp_path):
    cfg = MatchConfig(games=4, max_moves=10, sgf_out=tmp_path)
    with pytest.raises(MatchError, match="exited") as info:
        play_match(fake("--mode", "play"), fake("--mode", "crash", "--crash-at", "8"), cfg)
    res = info.value.result
    s = res.summary()
    assert [r.result for r in res.records][1] == "Void" and len(res.records) == 2
    assert (s["games"], s["void_games"]) == (1, 1) and "exited" in res.error
    assert sorted(p.name for p in tmp_path.glob("*.sgf")) == ["game-000.sgf", "game-001.sgf"]
    assert parse_sgf((tmp_path / "game-001.sgf").read_bytes())[0].result == "Void"


def test_restarts_void_the_broken_game_and_play_another(tmp_path):
    # the fake dies on its 8th genmove: in game 1 (its 6th-8th); restarted, it plays game 2
    cfg = MatchConfig(games=2, max_moves=10, sgf_out=tmp_path, restarts=1)
    res = play_match(fake("--mode", "play"), fake("--mode", "crash", "--crash-at", "8"), cfg)
    s = res.summary()
    assert [r.result == "Void" for r in res.records] == [False, True, False]
    assert (s["games"], s["void_games"], s["error"]) == (2, 1, "") and "exited" in s["void_reasons"][0]
    assert len(list(tmp_path.glob("game-*.sgf"))) == 3


def test_cli_missing_opponent_binary(model, tmp_path):
    r = CliRunner().invoke(main, ["match", str(model), "--opponent", "/nonexistent/gnugo --mode gtp",
                                  "--games", "2", "--json", "--sgf-out", str(tmp_path)])
    assert r.exit_code == 1, r.output
    assert "cannot start GTP engine '/nonexistent/gnugo --mode gtp'" in r.output
    assert "Traceback" not in r.output


def test_cli_missing_model_is_a_clear_error(tmp_path):
    r = CliRunner().invoke(main, ["match", str(tmp_path / "none.pt"), "--opponent", "x"])
    assert r.exit_code == 1 and "none.pt: no such model file" in r.output


def test_cli_match_real_engine_against_a_passing_opponent(model, tmp_path):
    """Our engine over a pipe: after the opponent passes, a flat (untrained) policy passes too."""
    out = tmp_path / "games"
    r = subprocess.run([sys.executable, "-m", "go_cnn", "match", str(model), "--opponent",
                        " ".join(fake("--mode", "pass")), "--games", "2", "--json", "--sgf-out", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert (s["games"], s["wins"], s["win_rate"]) == (2, 2, 1.0)
    assert [(g["result"], g["moves"], g["end"]) for g in s["records"]] == [
        ("B+353.5", 3, "passes"), ("W+7.5", 2, "passes")]  # black: 1 stone owns the board
    assert s["ci95"][0] == pytest.approx(0.3424, abs=1e-4) and s["ci95"][1] == 1.0
    assert "win rate 100.0%" in r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["game-000.sgf", "game-001.sgf"]


def test_cli_crashing_opponent_keeps_partial_results(model, tmp_path):
    r = subprocess.run([sys.executable, "-m", "go_cnn", "match", str(model), "--opponent",
                        " ".join(fake("--mode", "crash", "--crash-at", "3")), "--games", "3", "--json",
                        "--max-moves", "4", "--sgf-out", str(tmp_path)],
                       cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    s = json.loads(r.stdout)
    assert s["games"] == 1 and "exited" in s["error"] and "Error: " in r.stderr


@pytest.mark.skipif(not Path(GNUGO).exists(), reason=f"GNU Go not installed ({GNUGO}); apt-get install gnugo")
def test_real_match_against_gnugo_level_1(model, tmp_path):
    cfg = MatchConfig(games=2, max_moves=40, sgf_out=tmp_path)
    engine = [sys.executable, "-m", "go_cnn", "gtp", str(model)]
    res = play_match(engine, f"{GNUGO} --mode gtp --level 1 --chinese-rules", cfg)
    s = res.summary()
    assert s["games"] == 2 and s["error"] == ""
    for r in res.records:
        assert r.scored_by == "opponent" and parse_result(r.result) in ("B", "W")
        assert r.engine_genmoves >= 15 and r.opponent_genmoves >= 15
        g = replay(r.sgf)
        assert len(g.moves) == r.moves
    assert "GNU Go" in parse_sgf(Path(res.records[0].sgf).read_bytes())[0].white

