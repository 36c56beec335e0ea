
import numpy as np
import pytest

from go_cnn.board import Board, IllegalMove, replay_game
from go_cnn.coords import gtp_to_flat
from go_cnn.sgf import parse_sgf
from realdata import kgs_dev_sgfs



def board(size, *moves):
    b = Board(size)
    b.play_gtp(*moves)
    return b


def test_ascii_board_and_liberties():
    b = board(5, "B3", "C3", "A3", "C2", "B2", "C4", "B4", "D3", "pass", "C1", "B1")
    assert str(b) == "\n".join([
        "   A B C D E",
        " 5 . . . . .",
        " 4 . X O . .",
        " 3 X X O O .",
        " 2 . X O . .",
        " 1 . X O . ."])
    assert b.liberties(gtp_to_flat("B3", 5)) == 4  # A4 B5 A2 A1
    assert b.liberties(gtp_to_flat("C3", 5)) == 5  # C5 D4 E3 D2 D1
    assert b.liberties(gtp_to_flat("E5", 5)) == 0


def test_capture_counts_and_removes():
    b = Board(5)
    b.play_gtp("A1", "B1", "pass")
    assert b.play_gtp("A2") == 1  # white A2 captures A1
    assert str(b).splitlines()[-2:] == [" 2 O . . . .", " 1 . O . . ."]


def test_suicide_illegal_and_board_unchanged():
    b = board(5, "pass", "B1", "pass", "A2")
    before = str(b)
    with pytest.raises(IllegalMove, match="suicide"):
        b.play_gtp("A1")
    assert str(b) == before


def test_occupied():
    b = board(5, "C3")
    with pytest.raises(IllegalMove, match="occupied"):
        b.play_gtp("C3")


def test_simple_ko():
    b = Board(5)
    for v in ("B3", "C3", "A2", "B2", "B1", "C1", "pass", "D2"):
        b.play_gtp(v)
    assert b.play_gtp("C2") == 1  # black C2 captures B2 -> ko
    with pytest.raises(IllegalMove, match="ko"):
        b.play_gtp("B2")
    b.play_gtp("E5", "E4")  # ko threat and answer
    assert b.play_gtp("B2") == 1  # now white may retake


def test_legal_mask_and_liberties_9x9():
    b = board(9, "E5", "E6", "D6", "F6", "pass", "E7")
    assert b.liberties(gtp_to_flat("E5", 9)) == 3
    assert b.liberties(gtp_to_flat("E6", 9)) == 5  # white E6 F6 E7: F5 G6 F7 E8 D7
    legal = b.legal_mask()
    assert legal.sum() == 81 - 5 and not legal[gtp_to_flat("E5", 9)]


def test_replay_stops_at_illegal_move_keeps_positions_before():
    g, = parse_sgf(b"(;SZ[9];B[aa];W[bb];B[aa];W[cc])")
    r = replay_game(g)
    assert list(r["target"]) == [0, 10] and "occupied" in r["error"] and "move 3" in r["error"]
    g, = parse_sgf(b"(;SZ[9];B[aa];W[bb];W[cc])")
    assert "same colour" in replay_game(g)["error"]
    g, = parse_sgf(b"(;SZ[9]HA[2];B[aa];B[bb];W[cc])")  # handicap stones played as moves: allowed
    assert replay_game(g)["error"] == ""


def _sgfmill_final(d):
    from sgfmill import sgf, sgf_moves
    board, plays = sgf_moves.get_setup_and_moves(sgf.Sgf_game.from_bytes(d))
    for colour, mv in plays:
        if mv is not None:
            board.play(mv[0], mv[1], colour)
    ref = np.zeros(361, np.int8)
    for colour, (r, c) in board.list_occupied_points():
        ref[(18 - r) * 19 + c] = 1 if colour == "b" else 2
    return ref




def _cross_check(datas):
    pytest.importorskip("sgfmill")
    for d in datas:
        g, = parse_sgf(d)
        r = replay_game(g)
        assert r["error"] == ""
        assert (r["final"] == _sgfmill_final(d)).all()


def test_final_positions_match_sgfmill_subset():
    _cross_check(kgs_dev_sgfs(limit=150))


@pytest.mark.slow
def test_final_positions_match_sgfmill_all_kgs_dev():
    datas = kgs_dev_sgfs()
    assert len(datas) == 1975
    _cross_check(datas)
