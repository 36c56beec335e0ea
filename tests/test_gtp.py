"""GTP v2 conformance of `go-cnn gtp`, driven over a real pipe (a spawned `python -m go_cnn gtp`),
plus a fuzz run, plus in-process checks of the move choice (legality, passing, sampling)."""
import queue
import random
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from go_cnn.board import BLACK, WHITE
from go_cnn.coords import PASS, flat_to_gtp, gtp_to_flat
from go_cnn.features import get_feature_set
from go_cnn.game import Game
from go_cnn.gtp import Engine, EngineConfig
from go_cnn.model import make_spec
from go_cnn.policy import Policy
from shared import build, save_checkpoint, spec_to_dict

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = ["protocol_version", "name", "version", "known_command", "list_commands", "quit", "boardsize",
            "clear_board", "komi", "play", "genmove", "fixed_handicap", "place_free_handicap",
            "set_free_handicap", "undo", "showboard", "loadsgf", "final_score", "time_settings", "time_left",
            "gogui-analyze_commands"]


def tiny_model(path: Path, features: str = "alphago") -> Path:
    torch.manual_seed(0)
    spec = make_spec("cpu-tiny", get_feature_set(features).num_planes, 19)
    meta = {"spec": spec_to_dict(spec), "app": "go", "feature_set": features, "board_size": 19, "preset": "cpu-tiny"}
    save_checkpoint(path, {"model": build(spec).state_dict(), "meta": meta})
    return path


class Pipe:
    """Raw GTP over the child's stdin/stdout: bytes in, full response texts out."""

    def __init__(self, model: Path, *args: str):
        self.proc = subprocess.Popen([sys.executable, "-m", "go_cnn", "gtp", str(model), *args], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def send_raw(self, data: bytes) -> None:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def response(self, timeout: float = 60) -> str:
        """Next response: everything up to and including the terminating blank line."""
        out = b""
        while True:
            line = self.lines.get(timeout=timeout)
            assert line is not None, f"engine exited: {self.proc.stderr.read().decode()[-2000:]}"
            out += line
            if line == b"\n" and out != b"\n":
                return out.decode()

    def cmd(self, text: str) -> str:
        self.send_raw(text.encode() + b"\n")
        return self.response()


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("gtp") / "tiny.pt")


@pytest.fixture(scope="module")
def gtp(model):
    p = Pipe(model, "--seed", "0")
    yield p
    if p.proc.poll() is None:
        p.proc.kill()
    p.proc.wait()


def ok(p: Pipe, text: str) -> str:
    r = p.cmd(text)
    assert r.startswith("= ") and r.endswith("\n\n") and "\n\n" not in r[:-2], (text, r)
    return r[2:-2]


def fail(p: Pipe, text: str) -> str:
    r = p.cmd(text)
    assert r.startswith("? ") and r.endswith("\n\n"), (text, r)
    return r[2:-2]


def test_identity_and_command_list(gtp):
    assert ok(gtp, "protocol_version") == "2"
    assert ok(gtp, "name") == "go-cnn"
    assert "cpu-tiny" in ok(gtp, "version")
    listed = ok(gtp, "list_commands").split("\n")
    assert set(REQUIRED) <= set(listed)
    for c in listed:
        assert ok(gtp, f"known_command {c}") == "true"
    assert ok(gtp, "known_command genmove_black") == "false"
    assert fail(gtp, "known_command").startswith("syntax error")


def test_ids_are_echoed_on_success_and_failure(gtp):
    assert gtp.cmd("17 name") == "=17 go-cnn\n\n"
    assert gtp.cmd("18 frobnicate") == "?18 unknown command\n\n"
    assert gtp.cmd("0 clear_board") == "=0 \n\n"
    assert gtp.cmd("NAME") == "? unknown command\n\n"  # commands are case-sensitive


def test_preprocessing_cr_tabs_comments_control_chars_empty_lines(gtp):
    gtp.send_raw(b"\n   \n# a comment line\n\t\n1 name\r\n")  # only the last line is a command
    assert gtp.response() == "=1 go-cnn\n\n"
    gtp.send_raw(b"2\tknown_command\tplay # is play known?\n")
    assert gtp.response() == "=2 true\n\n"
    gtp.send_raw(b"3 na\x01me\x7f\n")  # control characters are removed before parsing
    assert gtp.response() == "=3 go-cnn\n\n"
    gtp.send_raw(b"4 \xff\xfe\n")  # not UTF-8, still answered
    assert gtp.response() == "?4 unknown command\n\n"


def test_boardsize_komi_clear_board(gtp):
    assert ok(gtp, "boardsize 19") == ""
    assert fail(gtp, "boardsize 9") == "unacceptable size"
    assert fail(gtp, "boardsize nineteen").startswith("syntax error")
    assert fail(gtp, "boardsize").startswith("syntax error")
    assert ok(gtp, "komi 6.5") == "" and ok(gtp, "komi -3") == ""
    assert fail(gtp, "komi lots").startswith("syntax error")
    assert fail(gtp, "komi nan").startswith("syntax error")
    ok(gtp, "komi 7.5")
    ok(gtp, "play b D4")
    ok(gtp, "clear_board")
    assert ok(gtp, "final_score") == "W+7.5"


def test_play_legality_and_undo(gtp):
    ok(gtp, "clear_board")
    assert fail(gtp, "undo") == "cannot undo"
    assert ok(gtp, "play b D4") == ""
    assert fail(gtp, "play w D4") == "illegal move"
    assert fail(gtp, "play w Z99").startswith("syntax error")
    assert fail(gtp, "play w I5").startswith("syntax error")  # no column I in GTP
    assert fail(gtp, "play purple D5").startswith("syntax error")
    assert fail(gtp, "play b").startswith("syntax error")
    for m in ("play white A2", "play WHITE B1", "play b pass", "play W PASS"):
        assert ok(gtp, m) == ""
    assert fail(gtp, "play b A1") == "illegal move"  # suicide
    # ko: white captures at B3 (5x5 corner shape), black may not retake at once
    ok(gtp, "clear_board")
    for m in ("b B4", "b A3", "b C3", "b B2", "w C4", "w D3", "w C2", "w B3"):
        ok(gtp, f"play {m}")
    assert fail(gtp, "play b C3") == "illegal move"
    assert ok(gtp, "play w C3") == ""  # white may fill it (same colour twice is allowed)
    assert ok(gtp, "undo") == ""
    assert fail(gtp, "play b C3") == "illegal move"
    ok(gtp, "undo")  # take back the capture itself
    assert fail(gtp, "play b C3") == "illegal move"  # occupied again by black's own stone
    board = ok(gtp, "showboard").split("\n")
    assert board[0] == "" and len(board) == 21 and board[18].startswith(" 3 X . X O")


def test_genmove_plays_a_legal_move_for_the_given_colour(gtp):
    ok(gtp, "clear_board")
    shadow = Game(19)
    for i in range(40):
        colour = BLACK if i % 2 == 0 else WHITE
        move = ok(gtp, f"genmove {'b' if colour == BLACK else 'w'}")
        assert re.fullmatch(r"[A-HJ-T](1[0-9]|[1-9])|pass", move), move
        shadow.play(colour, gtp_to_flat(move))  # raises if the engine played an illegal move
    rows = [x.split("    ")[0] for x in ok(gtp, "showboard").split("\n")[1:]]
    assert rows == str(shadow.board).splitlines()
    assert fail(gtp, "genmove").startswith("syntax error")
    assert fail(gtp, "genmove red").startswith("syntax error")


def test_handicap_commands(gtp):
    ok(gtp, "clear_board")
    assert ok(gtp, "fixed_handicap 9") == "D4 Q16 D16 Q4 D10 Q10 K4 K16 K10"
    assert fail(gtp, "fixed_handicap 2") == "board not empty"
    assert fail(gtp, "set_free_handicap A1 A2") == "board not empty"
    ok(gtp, "clear_board")
    assert fail(gtp, "fixed_handicap 10") == "invalid number of stones"
    assert fail(gtp, "fixed_handicap 1") == "invalid number of stones"
    assert fail(gtp, "place_free_handicap 1") == "invalid number of stones"
    assert ok(gtp, "place_free_handicap 3") == "D4 Q16 D16"
    assert re.fullmatch(r"[A-HJ-T][0-9]+", ok(gtp, "genmove w"))  # white moves after handicap
    ok(gtp, "clear_board")
    assert fail(gtp, "set_free_handicap D4") == "bad vertex list"
    assert fail(gtp, "set_free_handicap D4 D4") == "bad vertex list"
    assert fail(gtp, "set_free_handicap D4 pass") == "bad vertex list"
    assert ok(gtp, "set_free_handicap D4 Q16 K10") == ""
    assert set(ok(gtp, "final_status_list alive").split()) == {"D4", "Q16", "K10"}


def test_loadsgf(gtp, tmp_path):
    sgf = tmp_path / "g.sgf"
    sgf.write_bytes(b"(;GM[1]FF[4]SZ[19]KM[0.5];B[pd];W[dp];B[pp])")
    assert ok(gtp, f"loadsgf {sgf}") == "white"
    assert ok(gtp, "final_score") == "B+0.5"  # stones 2 - 1, the open board is neutral, komi 0.5
    assert ok(gtp, f"loadsgf {sgf} 2") == "white"
    rows = [x.split("    ")[0] for x in ok(gtp, "showboard").split("\n")[2:]]
    assert "".join(rows).count("X") == 1 and "".join(rows).count("O") == 0
    assert fail(gtp, f"loadsgf {tmp_path / 'missing.sgf'}").startswith("cannot load file")
    (tmp_path / "bad.sgf").write_bytes(b"not sgf")
    assert fail(gtp, f"loadsgf {tmp_path / 'bad.sgf'}").startswith("cannot load file")
    (tmp_path / "nine.sgf").write_bytes(b"(;SZ[9];B[ee])")
    assert "board size 9" in fail(gtp, f"loadsgf {tmp_path / 'nine.sgf'}")
    assert fail(gtp, f"loadsgf {sgf} 0").startswith("syntax error")


def test_scoring_status_and_time_commands(gtp):
    ok(gtp, "clear_board")
    ok(gtp, "komi 0.5")
    for m in ("b C3", "w Q16", "b D3", "w R16"):
        ok(gtp, f"play {m}")
    assert ok(gtp, "final_score") == "0" or re.fullmatch(r"[BW]\+[0-9.]+", ok(gtp, "final_score"))
    assert ok(gtp, "final_status_list dead") == ""
    assert ok(gtp, "final_status_list seki") == ""
    assert set(ok(gtp, "final_status_list alive").split()) == {"C3", "D3", "Q16", "R16"}
    assert fail(gtp, "final_status_list undecided").startswith("syntax error")
    assert ok(gtp, "time_settings 300 30 5") == "" and ok(gtp, "time_left b 120 0") == ""
    assert fail(gtp, "time_settings 300 30").startswith("syntax error")
    assert fail(gtp, "time_left b soon 0").startswith("syntax error")
    ok(gtp, "komi 7.5")


def test_gogui_analyze_commands(gtp):
    ok(gtp, "clear_board")
    ok(gtp, "play b Q16")
    entries = ok(gtp, "gogui-analyze_commands").split("\n")
    assert entries and all(re.fullmatch(r"gfx/[^/]+/\S+( %m)?", e) for e in entries)
    for e in entries:
        assert ok(gtp, f"known_command {e.split('/')[2].split()[0]}") == "true"
    heat = ok(gtp, "gogui-policy_heatmap w").split("\n")
    assert all(x.split()[0] in ("COLOR", "LABEL", "TEXT") for x in heat)
    coloured = [v for x in heat if x.startswith("COLOR") for v in x.split()[2:]]
    assert coloured and "Q16" not in coloured  # only empty (legal) points
    assert heat[-1].startswith("TEXT white to move: best ")
    top = ok(gtp, "gogui-top_moves").split("\n")
    assert top[0].startswith("VAR w ") and top[1].startswith("LABEL ") and top[2].startswith("TEXT 1. ")
    assert len(top[2].split("%")) - 1 == 10
    infl = ok(gtp, "gogui-policy_influence b").split("\n")[0].split()
    assert infl[0] == "INFLUENCE" and float(infl[2]) == 1.0 and all(float(v) > 0 for v in infl[2::2])
    area = ok(gtp, "gogui-area").split("\n")
    assert area[-1].startswith("TEXT area estimate B+")
    assert fail(gtp, "gogui-top_moves b w").startswith("syntax error")


def reference_words(line: bytes) -> list[str]:
    """GTP 3.1 preprocessing, written independently of the engine: the line's words ([] = no command)."""
    text = line.decode("utf-8", "replace")
    text = re.sub(r"[\x00-\x08\x0a-\x1f\x7f]", "", text.split("#")[0]).replace("\t", " ")
    return [w for w in text.split(" ") if w]


def test_fuzz_every_command_line_gets_exactly_one_answer(model, tmp_path):
    rng = random.Random(1234)
    vocab = REQUIRED + ["genmove", "play", "undo", "gogui-policy_heatmap", "gogui-top_moves", "reg_genmove"]
    args = ["b", "w", "black", "WHITE", "D4", "pass", "T19", "A1", "Z0", "I9", "-1", "19", "9", "0", "7.5",
            "1e999", "999999999999", "x", "", "#", "\t", "\r", "\x00", "é", "\u3000", str(tmp_path / "none.sgf")]
    lines = []
    for i in range(3000):
        kind = rng.random()
        if kind < 0.15:
            line = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40))).replace(b"\n", b"")
        else:
            words = [rng.choice(vocab)] + [rng.choice(args) for _ in range(rng.randrange(0, 4))]
            if rng.random() < 0.3:
                words.insert(0, str(rng.randrange(10_000)))
            s = " ".join(words)
            if rng.random() < 0.3:  # mutate: delete, duplicate or replace a character
                j = rng.randrange(len(s))
                s = rng.choice([s[:j] + s[j + 1:], s[:j] + s[j] + s[j:], s[:j] + chr(rng.randrange(1, 0x3000)) + s[j + 1:]])
            line = s.replace("\n", " ").encode("utf-8")
        if rng.random() < 0.1:
            line += b"\r"
        lines.append(line)
    def is_quit(words):
        return "quit" in words[:2] and (words[0] == "quit" or words[0].isascii() and words[0].isdigit())
    lines = [ln for ln in lines if not is_quit(reference_words(ln) or ["-"])]
    expected = sum(bool(reference_words(ln)) for ln in lines)
    p = Pipe(model, "--seed", "1")
    try:
        writer = threading.Thread(target=lambda: p.send_raw(b"\n".join(lines) + b"\n999 name\n"), daemon=True)
        writer.start()
        answers = [p.response(timeout=120) for _ in range(expected)]
        assert p.response(timeout=60) == "=999 go-cnn\n\n"  # still alive and in step
        writer.join(timeout=60)
        assert all(a[0] in "=?" and a.endswith("\n\n") and "\n\n" not in a[:-2] for a in answers)
        assert p.cmd("quit") == "= \n\n"
        assert p.proc.wait(timeout=30) == 0
    finally:
        if p.proc.poll() is None:
            p.proc.kill()


def test_quit_ends_the_process_cleanly(model):
    p = Pipe(model)
    assert p.cmd("5 quit") == "=5 \n\n"
    assert p.proc.wait(timeout=30) == 0
    assert b"Traceback" not in p.proc.stderr.read()


def test_bad_model_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    r = subprocess.run([sys.executable, "-m", "go_cnn", "gtp", str(bad)], cwd=ROOT, capture_output=True,
                       text=True, input="name\n", timeout=120, check=False)
    assert r.returncode == 1 and r.stdout == ""
    assert str(bad) in r.stderr and "Traceback" not in r.stderr


# -- in-process: move choice ---------------------------------------------------------------------

class FixedPolicy:
    """A 'policy' that puts its weight where the test says, legal or not (to test the engine's guards)."""
    size = 19
    meta = None

    def __init__(self, weights: np.ndarray):
        self.weights = weights

    def probabilities(self, pos, symmetries=1):
        return (self.weights / self.weights.sum())[None].astype(np.float32)


def test_engine_never_plays_illegal_or_eye_filling_points():
    w = np.full(361, 1e-6)
    e = Engine(FixedPolicy(w))
    for m in ("b B4", "b A3", "b C3", "b B2", "w C4", "w D3", "w C2", "w B3"):  # ko at C3 for black
        e.handle(f"play {m}")
    ko, occupied = gtp_to_flat("C3"), gtp_to_flat("D3")
    w[[ko, occupied]] = 1.0
    move = e.handle("reg_genmove b")
    assert move not in ("= C3\n\n", "= D3\n\n") and move.startswith("= ")
    e.handle("play w D4")  # white moved again: the ko no longer binds black
    assert e.handle("reg_genmove b") == "= C3\n\n"
    # an own eye: black A1 surrounded by black A2, B1 -> never filled, even if the net wants it
    e.handle("clear_board")
    for m in ("b A2", "b B1", "b B2"):
        e.handle(f"play {m}")
    w[:] = 1e-6
    w[gtp_to_flat("A1")] = 1.0
    assert e.handle("genmove b") != "= A1\n\n"


def test_engine_passes_when_nothing_sensible_is_left_or_after_opponent_pass_on_a_flat_policy():
    e = Engine(FixedPolicy(np.ones(361)), EngineConfig(pass_threshold=0.02))
    e.handle("play b D4")
    e.handle("play w pass")
    assert e.handle("genmove b") == "= pass\n\n"  # flat net (1/359 < 0.02) after an opponent pass
    e2 = Engine(FixedPolicy(np.ones(361)))
    assert e2.handle("genmove b") != "= pass\n\n"  # the opponent did not pass: play on


def test_temperature_samples_from_top_k_and_default_is_deterministic():
    w = np.ones(361)
    w[[0, 1, 2]] = [100.0, 90.0, 80.0]
    greedy = Engine(FixedPolicy(w))
    assert {greedy.handle("reg_genmove b") for _ in range(5)} == {f"= {flat_to_gtp(0)}\n\n"}
    sampler = Engine(FixedPolicy(w), EngineConfig(temperature=1.0, top_k=3, seed=0))
    got = {sampler.handle("reg_genmove b")[2:-2] for _ in range(60)}
    assert got == {flat_to_gtp(p) for p in (0, 1, 2)}


def test_random_opening_samples_only_the_first_moves():
    w = np.full(361, 1e-9)
    w[:6] = [0.3, 0.25, 0.2, 0.15, 0.1, 0.5e-9]  # A19..E19 sampled, F19 (rank 6) never
    e = Engine(FixedPolicy(w), EngineConfig(random_opening=30, seed=3))
    first = {e.handle("reg_genmove b")[2:-2] for _ in range(80)}
    assert first == {"A19", "B19", "C19", "D19", "E19"}
    for _ in range(30):
        e.game.play(BLACK, PASS)
    assert {e.handle("reg_genmove b")[2:-2] for _ in range(10)} == {"A19"}  # greedy after the opening


def test_policy_from_network_drives_the_engine_in_process():
    feats = "slides"
    net = build(make_spec("cpu-tiny", get_feature_set(feats).num_planes, 19))
    e = Engine(Policy.from_network(net, feats))
    move = e.handle("genmove w")[2:-2]
    assert gtp_to_flat(move) != PASS and e.game.to_move == BLACK


def test_heatmap_golden_output():
    w = np.full(361, 1e-9)
    w[[gtp_to_flat("D4"), gtp_to_flat("Q16"), gtp_to_flat("K10")]] = [0.5, 0.3, 0.05]
    e = Engine(FixedPolicy(w))
    out = e.handle("gogui-policy_heatmap")[2:-2].split("\n")
    assert out == ["COLOR #d7191c D4", "COLOR #fdae61 Q16", "COLOR #2c7bb6 K10",
                   "LABEL D4 59 Q16 35 K10 5.9", "TEXT black to move: best D4 58.8%"]
    labels = "LABEL Q16 2 K10 3 A19 4 B19 5 C19 6 D19 7 E19 8 F19 9 G19 10"
    assert e.handle("gogui-top_moves")[2:-2].split("\n")[:2] == ["VAR b D4", labels]


def walls_engine(config=None, gap: str = "") -> Engine:
    """19x19, settled: black wall on E, white walls on F, L and Q; every empty region touches one
    colour and has at most 76 points. `gap`: a point of the F wall left open (a neutral region)."""
    w = np.full(361, 1e-6)
    w[gtp_to_flat("H10")] = 1.0  # the 'net' wants to play inside white's own area
    e = Engine(FixedPolicy(w), config)
    for row in range(1, 20):
        e.game.board.stones[gtp_to_flat(f"E{row}")] = BLACK
        for col in "FLQ":
            if f"{col}{row}" != gap:
                e.game.board.stones[gtp_to_flat(f"{col}{row}")] = WHITE
    return e


def test_engine_passes_after_an_opponent_pass_only_when_the_game_is_settled():
    e = walls_engine()
    assert e.handle("reg_genmove w") == "= H10\n\n"  # black has not passed: play on
    e.handle("play b pass")
    assert e.handle("genmove w") == "= pass\n\n"  # settled: nothing left to play for
    e = walls_engine(gap="F10")
    e.handle("play b pass")
    assert e.handle("genmove w") == "= H10\n\n"  # a neutral region is left: H10 lies in it
    e = walls_engine(gap="F10")
    e.game.board.stones[gtp_to_flat("G10")] = WHITE  # now F10 alone is neutral (dame)
    e.handle("play b pass")
    assert e.handle("genmove w") == "= F10\n\n"  # the dame, not the net's favourite H10 (own area)
    e.handle("play b pass")
    assert e.handle("genmove w") == "= pass\n\n"


def test_engine_passes_after_an_opponent_pass_when_the_position_repeats():
    e = walls_engine(gap="F10")
    e.handle("play b pass")
    assert e.handle("genmove w") == "= H10\n\n"  # neutral region left: play in it
    e.game.board.stones[gtp_to_flat("H10")] = 0  # as if H10 had been captured: the same board ...
    e.handle("play b pass")  # ... with white to move again, after another black pass
    assert e.game.repeats(WHITE)
    assert e.handle("genmove w") == "= pass\n\n" and e.player.last_reason == "repetition"
    e.handle("play b D10")  # a new board: no repetition, play on
    assert not e.game.repeats(WHITE)
    assert e.handle("reg_genmove w") == "= H10\n\n"


def test_resign_only_when_enabled_and_far_behind():
    assert walls_engine().handle("genmove b") != "= resign\n\n"  # off by default
    e = walls_engine(EngineConfig(resign_threshold=50, resign_after=0))
    assert e.game.score().result() == "W+178.5"  # black 95 (A-E), white 19 * 14 = 266, komi 7.5
    assert e.handle("genmove b") == "= resign\n\n"
    assert e.handle("genmove w") != "= resign\n\n"  # white is the one ahead


def test_tactics_capture_a_running_chain_unless_switched_off():
    # white D10-E10 in atari at F10 (black C10, D11, E11, D9, E9); from F10 it would run free
    w = np.full(361, 1e-6)
    w[gtp_to_flat("Q16")] = 0.9  # the 'net' prefers a big point elsewhere
    stones = {"b": ["C10", "D11", "E11", "D9", "E9"], "w": ["D10", "E10"]}
    for cfg, expected in ((EngineConfig(), "F10"), (EngineConfig(tactics=False), "Q16")):
        e = Engine(FixedPolicy(w), cfg)
        for colour, pts in stones.items():
            for p in pts:
                e.game.board.stones[gtp_to_flat(p)] = BLACK if colour == "b" else WHITE
        assert e.handle("reg_genmove b") == f"= {expected}\n\n"
        assert e.player.last_reason == ("captures 2" if cfg.tactics else "policy")
