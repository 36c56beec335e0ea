import tarfile
from pathlib import Path

import numpy as np
import pytest

from go_cnn.coords import PASS, sgf_to_flat
from go_cnn.sgf import SGFError, normalize_komi, parse_sgf
from realdata import DATA as SHARED_DATA, kgs_dev_sgfs

DATA = SHARED_DATA / "go"


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
    for d in kgs_dev_sgfs(limit=300):
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


# --- fast path (runs of bare move nodes read by compiled scans) == token-by-token reading ---------

def _same_games(data: bytes) -> list:
    """parse_sgf(data) with and without the fast path: equal Games (every field), or the same error."""
    try:
        slow = parse_sgf(data, fast=False)
    except SGFError as e:
        with pytest.raises(SGFError) as fast_err:
            parse_sgf(data)
        assert str(fast_err.value) == str(e)
        return []
    fast = parse_sgf(data)
    assert fast == slow  # dataclass equality: size, events, komi, ..., root, error
    for g in fast:
        codes, points = g.event_array()
        assert codes.dtype == points.dtype == np.int16
        assert codes.flags.c_contiguous and points.flags.c_contiguous
        assert list(zip(codes.tolist(), points.tolist())) == g.events
    return fast


@pytest.mark.parametrize("data,moves,error", [
    # passes: [] always, [tt] only on boards <= 19x19 (on 21x21 "tt" is T2... a point)
    (b"(;SZ[19];B[aa];W[];B[tt];W[ss];B[bb])", [(1, 0), (2, PASS), (1, PASS), (2, 360), (1, 20)], ""),
    (b"(;SZ[21];B[aa];W[];B[tt];W[ss];B[bb])", [(1, 0), (2, PASS), (1, 19 * 21 + 19), (2, 18 * 21 + 18), (1, 22)], ""),
    # whitespace between nodes, upper-case letters on a big board
    (b"(;SZ[52]\n;B[aa]\r\n;W[AB]\t;B[ZZ] \n ;W[ba])", [(1, 0), (2, 27 * 52 + 26), (1, 51 * 52 + 51), (2, 1)], ""),
    # an off-board point inside a run: the moves before it, the same message
    (b"(;SZ[9];B[aa];W[bb];B[cc];W[dd];B[zz];W[ee])", [(1, 0), (2, 10), (1, 20), (2, 30)],
     "bad point in B[zz] at move 5"),
    # a second value, a space before the value, a long identifier, a trailing property: not bare
    (b"(;SZ[9];B[aa];W[bb];B[cc][ee];W[dd];B[ff];W[gg];B[hh])",
     [(1, 0), (2, 10), (1, 20), (2, 30), (1, 50), (2, 60), (1, 70)], ""),
    (b"(;SZ[9];B[aa];W[bb];B [cc];W[dd];Black[ee];W[ff];B[gg];W[hh]TW[ii];B[ia])",
     [(1, 0), (2, 10), (1, 20), (2, 30), (1, 40), (2, 50), (1, 60), (2, 70), (1, 8)], ""),
    # a further value (after whitespace too) that looks like a move node belongs to the property before
    (b"(;SZ[9];B[aa];W[bb];B[cc];W[dd];B[ee][;W[ab];W[ff];B[gg];W[hh];B[ii]\r\n[;W[ac];W[ia];B[ib])",
     [(1, 0), (2, 10), (1, 20), (2, 30), (1, 40), (2, 50), (1, 60), (2, 70), (1, 80), (2, 8), (1, 17)], ""),
    # three-letter and one-letter values end a run, and are bad points
    (b"(;SZ[9];B[aa];W[bb];B[cc];W[dd];B[eee])", [(1, 0), (2, 10), (1, 20), (2, 30)], "bad point"),
    (b"(;SZ[9];B[aa];W[bb];B[cc];W[dd];B[e])", [(1, 0), (2, 10), (1, 20), (2, 30)], "bad point"),
    # runs inside variations: the main line only
    (b"(;SZ[9];B[aa](;W[bb];B[cc];W[dd];B[ee];W[ff](;B[gg])(;B[hh]))(;W[ii];B[ah];W[bh];B[ch]))",
     [(1, 0), (2, 10), (1, 20), (2, 30), (1, 40), (2, 50), (1, 60)], ""),
])
def test_fast_path_edge_cases(data, moves, error):
    g, = _same_games(data)
    assert g.moves == moves
    assert (error in g.error) if error else g.error == ""


def test_fast_path_setup_player_and_collection():
    data = (b"(;SZ[9]AB[aa:ab]B[ee];W[bb];B[cc];W[dd];B[ff]AW[gg];PL[W];W[hh];B[ii];W[ia];B[ib];W[ic])"
            b"(;SZ[5];B[aa];W[bb];B[cc];W[dd];B[ee])\n(;B[aa];W[bb]")
    assert _same_games(data) == []  # the same error both ways
    with pytest.raises(SGFError, match="truncated"):
        parse_sgf(data)
    g1, g2 = _same_games(data[: data.rindex(b"\n")])
    assert g1.events == [(3, 0), (3, 9), (1, 40), (2, 10), (1, 20), (2, 30), (1, 50), (4, 60), (6, 2),
                         (2, 70), (1, 80), (2, 8), (1, 17), (2, 26)]
    assert g2.size == 5 and g2.moves == [(1, 0), (2, 6), (1, 12), (2, 18), (1, 24)]


def test_fast_path_random_records():
    """Seeded random records from pieces that sit at the edges of the fast path's grammar."""
    rng = np.random.default_rng(7)
    roots = [b"SZ[19]", b"SZ[9]", b"SZ[21]", b"SZ[52]", b"HA[2]AB[dd][pp]", b"PL[W]", b"C[a;b(c)\\]d]",
             b"B[pd]", b"KM[6.5]", b"SZ[5:7]", b"CA[UTF-8]PB[\xe4\xba\x95\xe5\xb1\xb1]"]
    letters = b"abcdefghistzAZ"  # t: pass on <= 19x19; z, A, Z: on the board only for big sizes
    nodes = [b";B[]", b";W[tt]", b";B[aa][bb]", b";B [aa]", b";Black[cc]", b";AB[aa:bb]", b";AE[aa]",
             b";PL[B]", b";W[aa]TW[bb]", b";C[x;y(z)]", b";B[aab]", b";W[a]", b"(", b")", b"\n", b" ",
             b";", b"[", b"]", b"\\", b";W[\\]]", b"[;W[ab]", b"\r\n[;B[cd]", b";B[pd]\n", b";W[qq]  \r\n"]
    checked = 0
    for _ in range(400):
        parts = [b"(;", *rng.choice(roots, rng.integers(0, 3)), *([b"SZ[52]"] if rng.random() < 0.3 else [])]
        for _ in range(rng.integers(0, 12)):
            for _ in range(rng.integers(0, 8)):  # a run of move nodes, then an odd piece
                xy = bytes(rng.choice(list(b"abcdes" if rng.random() < 0.9 else letters), 2).tolist())
                parts.append(b";" + b"BW"[rng.integers(2):][:1] + b"[" + (b"tt" if rng.random() < 0.05 else xy) + b"]")
            parts.append(nodes[rng.integers(len(nodes))])
        parts.append([b")", b"", b")(;B[aa];W[bb];B[cc];W[dd])", b")garbage"][rng.integers(4)])
        checked += len(_same_games(b"".join(parts)))
    assert checked > 200  # most records parse


def test_fast_path_on_every_test_sgf():
    """Every SGF literal in this project's tests reads the same both ways."""
    import ast
    found = 0
    for path in sorted(Path(__file__).parent.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, (bytes, str)) and "(;" in str(node.value):
                data = node.value if isinstance(node.value, bytes) else node.value.encode()
                _same_games(data)
                found += 1
    assert found >= 20


def test_fast_path_on_every_edge_and_selfplay_file():
    folder = DATA / "sgf-edge"
    if not folder.exists():
        pytest.skip("sgf-edge: ../shared/data/go/sgf-edge not found")
    for p in sorted(folder.iterdir()):
        assert _same_games(p.read_bytes()), p.name
    selfplay = Path(__file__).resolve().parents[1] / "go_cnn" / "data" / "gnugo-selfplay.tar.gz"
    if selfplay.exists():
        with tarfile.open(selfplay) as t:
            datas = [t.extractfile(m).read() for m in t if m.isfile() and m.name.endswith(".sgf")]
        assert datas and all(_same_games(d) for d in datas)


def test_fast_path_on_every_kgs_dev_game():
    n = sum(len(_same_games(d)) for d in kgs_dev_sgfs())
    assert n == 1975


def test_event_array_follows_events():
    g, = parse_sgf(b"(;SZ[9];B[aa];W[bb];B[cc];W[dd];B[ee])")
    codes, points = g.event_array()
    assert codes.tolist() == [1, 2, 1, 2, 1] and points.tolist() == [0, 10, 20, 30, 40]
    g.events.append((2, 50))  # events changed after parsing: the array is rebuilt
    assert g.event_array()[1].tolist() == [0, 10, 20, 30, 40, 50]
