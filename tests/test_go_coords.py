import pytest

from go_cnn.coords import (PASS, flat_to_gtp, flat_to_sgf, from_flat, gtp_to_flat, sgf_to_flat,
                           to_flat)


@pytest.mark.parametrize("size", [5, 9, 13, 19])
def test_corners_round_trip(size):
    s = size - 1
    corners = {(0, 0): ("aa", f"A{size}"), (0, s): (chr(97 + s) + "a", None),
               (s, 0): ("a" + chr(97 + s), "A1"), (s, s): (chr(97 + s) * 2, None)}
    for (r, c), (sgf, gtp) in corners.items():
        p = to_flat(r, c, size)
        assert p == r * size + c
        assert from_flat(p, size) == (r, c)
        assert flat_to_sgf(p, size) == sgf and sgf_to_flat(sgf, size) == p
        g = flat_to_gtp(p, size)
        if gtp:
            assert g == gtp
        assert gtp_to_flat(g, size) == p


def test_19x19_names():
    assert flat_to_gtp(0) == "A19" and flat_to_gtp(18) == "T19"
    assert flat_to_gtp(342) == "A1" and flat_to_gtp(360) == "T1"
    assert gtp_to_flat("D16") == 60 == sgf_to_flat("dd")
    assert gtp_to_flat("j10") == 9 * 19 + 8  # no letter I: J is the 9th column
    assert flat_to_gtp(9 * 19 + 8) == "J10"


def test_pass_forms():
    assert sgf_to_flat("") == PASS and sgf_to_flat("tt") == PASS
    assert sgf_to_flat("tt", 21) == 19 * 21 + 19  # a real point on big boards
    assert gtp_to_flat("PASS") == PASS and flat_to_gtp(PASS) == "pass" and flat_to_sgf(PASS) == ""
    assert from_flat(PASS) is None


@pytest.mark.parametrize("bad", ["I5", "Z1", "A20", "A0", "11", ""])
def test_bad_gtp(bad):
    with pytest.raises(ValueError):
        gtp_to_flat(bad, 19)


def test_bad_sgf_and_flat():
    for bad in ("a", "a!", "zz"):
        with pytest.raises(ValueError):
            sgf_to_flat(bad, 19)
    with pytest.raises(ValueError):
        from_flat(361, 19)
