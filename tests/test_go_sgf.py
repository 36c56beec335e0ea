import tarfile
from pathlib import Path

import pytest

from go_cnn.coords import PASS, sgf_to_flat
from go_cnn.sgf import SGFError, normalize_komi, parse_sgf

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "go"


def test_basic_record():
    g, = parse_sgf(b"(;FF[4]GM[1]SZ[19]KM[6.5]HA[0]RE[B+R]BR[6d]WR[5d]RU[Japanese]PB[a]PW[b]"
                   b";B[pd];W[dp];B[];W[tt])")
    assert (g.size, g.komi, g.result, g.black_rank, g.white_rank, g.rules) == (19, 6.5, "B+R", "6d", "5d", "Japanese")
    assert g.moves == [(1, sgf_to_flat("pd")), (2, sgf_to_flat("dp")), (1, PASS), (2, PASS)]


def test_main_line_collection_and_setup():
    data = (b"(;SZ[9]AB[aa:bb][ee]AW[cc]PL[W](;W[dd];B[ff](;W[gg])(;W[hh]))(;W[ii]))"
            b"\n(;SZ[5];B[cc])")
    g1, g2 = parse_sgf(data)
    setup = [(c, p) for c, p in g1.events if c in (3, 4)]
    assert setup == [(3, 0), (3, 1), (3, 9), (3, 10), (3, 40), (4, 20)]
    assert (6, 2) in g1.events
    assert g1.moves == [(2, 30), (1, 50), (2, 60)]  # main line: dd, ff, then the first variation gg
    assert g2.size == 5 and g2.moves == [(1, 12)]


def test_escapes_soft_breaks_and_ff3_idents():
    g, = parse_sgf(b"(;FF[3]GaMe[1]C[a \\] b \\\\ c\\\nd]PlayerBlack[x];Black[aa])")
    assert g.root["C"] == ["a ] b \\ cd"]
    assert g.black == "x" and g.moves == [(1, 0)]


@pytest.mark.parametrize("km,app,want", [(375, "foxwq", 7.5), (650, "", 6.5), (50, "foxwq", 0.5),
                                         (0, "foxwq", 0.0), (6.5, "", 6.5), (-2.5, "", -2.5)])
def test_fox_komi(km, app, want):
    assert normalize_komi(km, app) == want


def test_encodings():
    text = "古力"
    for enc, ca in (("gb2312", "GB2312"), ("utf-8", "UTF-8")):
        g, = parse_sgf(f"(;CA[{ca}]PB[{text}];B[aa])".encode(enc))
        assert g.black == text and g.moves == [(1, 0)]
    g, = parse_sgf("(;PB[井山 裕太]SZ[19];B[aa])".encode("utf-16"))
    assert g.black == "井山 裕太"
    # Shift-JIS hides a backslash in "ソ" (0x83 0x5C): the value must still end at its own "]"
    g, = parse_sgf("(;PB[申眞ソ]BR[九段];B[pd])".encode("cp932"))
    assert g.black == "申眞ソ" and g.black_rank == "九段" and len(g.moves) == 1
    # moves survive undecodable text
    g, = parse_sgf(b"(;CA[UTF-8]PB[\xff\xfe\x80];B[bb])")
    assert g.moves == [(1, 20)]


@pytest.mark.parametrize("data,reason", [(b"", "empty"), (b"   \n", "empty"), (b"hello", "not SGF"),
                                         (b"(;SZ[19];B[aa]", "truncated")])
def test_refused(data, reason):
    with pytest.raises(SGFError, match=reason):
        parse_sgf(data)


def test_bad_point_keeps_moves_before():
    g, = parse_sgf(b"(;SZ[9];B[aa];W[zz];B[bb])")
    assert g.moves == [(1, 0)] and "bad point" in g.error and "move 2" in g.error


EDGE = {"sabaki-chinese.sgf": ("古力", 2), "sabaki-japanese.sgf": ("井山 裕太", 2),
        "sabaki-korean.sgf": ("이세돌", 2), "sabaki-nihon-kiin.sgf": ("申眞ソ", 8),
        "sabaki-utf16le.sgf": ("Kitani Minoru", 164), "sabaki-utf8bom.sgf": ("Kitani Minoru", 164),
        "sabaki-complex.sgf": (None, 186), "sabaki-no-ca.sgf": (None, 7), "sabaki-japanese_bad.sgf": (None, 2)}


def test_every_sgf_edge_file():
    folder = DATA / "sgf-edge"
    if not folder.exists():
        pytest.skip("sgf-edge: ../shared/data/go/sgf-edge not found")
    assert sorted(p.name for p in folder.iterdir()) == sorted(EDGE)
    for name, (black, moves) in EDGE.items():
        g, = parse_sgf((folder / name).read_bytes())
        assert len(g.moves) == moves, name
        if black:
            assert g.black == black, name
    g, = parse_sgf((folder / "sabaki-no-ca.sgf").read_bytes())
    assert "第三型" in g.root["C"][0]  # GB text without CA, guessed


def test_same_as_sgfmill_on_kgs():
    sgfmill = pytest.importorskip("sgfmill.sgf")
    tars = sorted((DATA / "kgs-dev").glob("*.tar.gz"))
    if not tars:
        pytest.skip("kgs-dev: ../shared/data/go/kgs-dev not found")
    with tarfile.open(tars[0]) as t:
        datas = [t.extractfile(m).read() for m in t if m.isfile()][:300]
    for d in datas:
        g, = parse_sgf(d)
        ref = sgfmill.Sgf_game.from_bytes(d)
        root = ref.get_root()
        moves = [n.get_move() for n in ref.get_main_sequence()[1:]]
        ours = [(c, p) for c, p in g.moves]
        theirs = [(1 if c == "b" else 2, PASS if m is None else (18 - m[0]) * 19 + m[1]) for c, m in moves if c]
        assert ours == theirs
        assert g.komi == ref.get_komi() and g.handicap == (ref.get_handicap() or 0)
        ab = root.get("AB") if root.has_property("AB") else set()
        assert {p for c, p in g.events if c == 3} == {(18 - r) * 19 + c for r, c in ab}
        assert g.black == (root.get("PB") if root.has_property("PB") else "")
