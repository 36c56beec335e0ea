import numpy as np
import pytest

from go_cnn.board import Board
from go_cnn.coords import gtp_to_flat
from go_cnn.features import FEATURE_SETS, get_feature_set


def pos_of(b: Board, last=()):
    lst = np.full((1, 8), -1, np.int16)
    for i, v in enumerate(last):
        lst[0, i] = gtp_to_flat(v, b.size)
    return {"stones": b.stones[None].copy(), "to_move": np.array([b.to_move], np.int8),
            "ko": np.array([b.ko], np.int16), "last": lst}


def plane(planes, fs, name, size):
    return planes[0, fs.plane_names().index(name)].reshape(size * size)


def test_plane_counts_and_unknown():
    assert {k: v.num_planes for k, v in FEATURE_SETS.items()} == {"slides": 2, "clark-storkey": 8, "alphago": 31}
    with pytest.raises(ValueError, match="known: slides"):
        get_feature_set("nope")


def test_slides_and_player_relative():
    b = Board(5)
    b.play_gtp("C3", "D4")  # black to move
    x = get_feature_set("slides").encode(pos_of(b), 5)
    assert x.shape == (1, 2, 5, 5) and x.dtype == np.int8
    assert x[0, 0, 2, 2] == 1 and x[0, 0, 1, 3] == -1 and x[0, 0].sum() == 0 and x[0, 1].min() == 1
    b.play_gtp("E5")  # white to move: alphago's own plane is now white's stones
    a = get_feature_set("alphago").encode(pos_of(b), 5)
    assert a[0, 0, 1, 3] == 1 and a[0, 1, 2, 2] == 1 and a[0, 0].sum() == 1 and a[0, 1].sum() == 2


def test_alphago_tactical_planes_5x5():
    # black A1 in atari (white A2 B2); white to move captures at B1
    b = Board(5)
    b.play_gtp("A1", "A2", "E5", "B2", "E4")  # white to move
    fs = get_feature_set("alphago")
    x = fs.encode(pos_of(b, last=("E4", "B2", "E5")), 5)
    p = lambda n: plane(x, fs, n, 5)  # noqa: E731
    b1, a1 = gtp_to_flat("B1", 5), gtp_to_flat("A1", 5)
    assert p("capture_size[0]")[b1] == 1 and p("capture_size[0]").sum() == 1
    assert p("liberties[0]")[a1] == 1 and p("liberties[0]").sum() == 1  # only A1 is in atari
    assert p("liberties[2]")[gtp_to_flat("E5", 5)] == 1 and p("liberties[3]")[gtp_to_flat("A2", 5)] == 1
    assert p("turns_since[0]")[gtp_to_flat("E4", 5)] == 1 and p("turns_since[1]")[gtp_to_flat("B2", 5)] == 1
    assert p("legal").sum() == 25 - 5 and p("ones").sum() == 25
    assert p("liberties_after[3]")[gtp_to_flat("C3", 5)] == 1  # 4 liberties in open space


def test_clark_storkey_and_ko_plane():
    b = Board(5)
    for v in ("B3", "C3", "A2", "B2", "B1", "C1", "pass", "D2", "C2"):
        b.play_gtp(v)  # black C2 takes the ko at B2
    fs = get_feature_set("clark-storkey")
    x = fs.encode(pos_of(b), 5)
    assert plane(x, fs, "ko", 5)[gtp_to_flat("B2", 5)] == 1 and plane(x, fs, "ko", 5).sum() == 1
    own1 = plane(x, fs, "libs_own_opp[0]", 5)  # white (to move) stones with 1 liberty
    assert own1[gtp_to_flat("C1", 5)] == 1
    opp1 = plane(x, fs, "libs_own_opp[3]", 5)  # black C2 in atari (only liberty B2)
    assert opp1[gtp_to_flat("C2", 5)] == 1
    a = get_feature_set("alphago").encode(pos_of(b), 5)
    assert plane(a, get_feature_set("alphago"), "legal", 5)[gtp_to_flat("B2", 5)] == 0  # ko retake illegal


def test_sensible_excludes_own_eye_and_self_atari():
    b = Board(5)
    for v in ("B1", "E5", "A2", "E4", "B2"):  # black eye at A1; white to move
        b.play_gtp(v)
    b.play_gtp("pass")  # black to move
    fs = get_feature_set("alphago")
    x = fs.encode(pos_of(b), 5)
    a1 = gtp_to_flat("A1", 5)
    assert plane(x, fs, "legal", 5)[a1] == 1 and plane(x, fs, "sensible", 5)[a1] == 0
    assert plane(x, fs, "sensible", 5).sum() == 25 - 5 - 1


def test_int8_default_and_float32_option_same_values():
    b = Board(5)
    b.play_gtp("C3", "D4", "B2")  # white to move; slides has +1 and -1
    pos = pos_of(b, last=("B2", "D4"))
    for name, fs in FEATURE_SETS.items():
        x8, x32 = fs.encode(pos, 5), fs.encode(pos, 5, dtype=np.float32)
        assert x8.dtype == np.int8 and x32.dtype == np.float32, name
        assert np.array_equal(x8, x32) and x8.sum() == x32.sum() > 0, name
    assert get_feature_set("slides").encode(pos, 5).min() == -1
    with pytest.raises(ValueError, match="int8 or float32"):
        get_feature_set("slides").encode(pos, 5, dtype=np.float16)
