"""go_cnn.tactics: ladders, rescues, captures and vetoes on small ASCII boards (moves in GTP)."""
import numpy as np

from go_cnn.board import BLACK, WHITE
from go_cnn.coords import flat_to_gtp, gtp_to_flat
from go_cnn.fastboard import analyze
from go_cnn.tactics import Reader, assess, pick_forcing


def stones_of(rows: str) -> np.ndarray:
    """Rows top to bottom, X black, O white, . empty."""
    return np.array([{".": 0, "X": 1, "O": 2}[c] for c in "".join(rows.split())], np.int8)


def assessment(stones: np.ndarray, colour: int, size: int = 9):
    a = analyze(stones[None], np.array([colour], np.int8), np.array([-1]), size)
    return assess(stones, colour, -1, a, size)


def at(*names, size=9):
    return [gtp_to_flat(n, size) for n in names]


def named(points, size=9):
    return sorted(flat_to_gtp(int(p), size) for p in points)


# White C3 in atari (liberty D3); extending runs a ladder towards the upper right (J9 corner).
LADDER = """
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
. . X . . . . . .
. X O . . . . . .
. . X X . . . . .
. . . . . . . . .
"""


def test_ladder_works_on_an_open_board_and_fails_against_a_breaker():
    r = Reader(9)
    s = stones_of(LADDER)
    (c3,) = at("C3")
    assert named(r.chain(s, c3)[1]) == ["D3"]
    assert not r.fresh().defender_escapes(s, c3)           # captured at the edge
    for breaker in ("G7", "F6", "H8"):                     # a white stone on the ladder's path
        s2 = s.copy()
        s2[at(breaker)] = WHITE
        assert r.fresh().defender_escapes(s2, c3), breaker


def test_two_liberty_stone_is_taken_by_the_ladder_only_with_the_d2_stone():
    r = Reader(9)
    s = stones_of(LADDER)
    (c3, c2, d2) = at("C3", "C2", "D2")
    s[c2] = 0                                              # white C3 now has C2 and D3
    assert named(r.chain(s, c3)[1]) == ["C2", "D3"]
    assert r.fresh().attacker_captures(s, c3)              # C2 atari, then the ladder
    s[d2] = 0
    assert not r.fresh().attacker_captures(s, c3)          # every atari leaves 3 liberties


def test_assess_finds_the_capture_the_rescue_and_the_vetoes():
    s = stones_of("""
. . . . . . . . .
. . . . . . . . .
. . . X X . . . .
. . X O O . . . .
. . . X X . O O .
. . . . . O X X .
O . . . . . O O .
X O . . . . . . .
. . . . . . . . .
""")
    ass = assessment(s, BLACK)
    (f6, j4) = at("F6", "J4")
    # white D6-E6 in atari at F6; from F6 it would have 3 liberties, so the capture is urgent
    assert ass.value[f6] == 2 and ass.reasons[f6] == "captures 2"
    # black G4-H4 in atari at J4; J4 gives J5 and J3... only 2 liberties -> read on
    assert ass.value[j4] in (0, 2)
    # A1 joins the black A2 stone into a 2-stone chain in atari (self-atari): vetoed
    assert ass.veto[at("A1")[0]]
    assert named(np.flatnonzero(ass.value >= 2)) == sorted(
        named([f6]) + (["J4"] if ass.value[j4] else []))


def test_rescue_that_reaches_three_liberties():
    s = stones_of("""
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
. . . O O . . . .
. . O X X . . . .
. . . O O . . . .
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
""")
    ass = assessment(s, BLACK)
    (f5,) = at("F5")
    assert ass.value[f5] == 2 and ass.reasons[f5] == "saves 2"
    # white to move there instead: F5 captures two stones that could otherwise escape
    assw = assessment(s, WHITE)
    assert assw.value[f5] == 2 and assw.reasons[f5] == "captures 2"


def test_running_a_dead_ladder_is_vetoed():
    s = stones_of(LADDER)
    sw = np.where(s == BLACK, WHITE, np.where(s == WHITE, BLACK, 0)).astype(np.int8)  # black runs
    ass = assessment(sw, BLACK)
    (d3,) = at("D3")
    # D3 makes C3-D3 with two liberties (D4, E3) that white takes by the ladder: no rescue, vetoed
    assert ass.value[d3] == 0 and ass.veto[d3] and ass.reasons[d3] == "runs a dead ladder"
    sw[at("G7")] = BLACK                                   # a black breaker: D3 saves, no veto
    ass = assessment(sw, BLACK)
    assert not ass.veto[d3]


def test_pick_forcing_takes_the_biggest_forcing_move_or_leaves_the_policy_alone():
    s = stones_of("""
. . . . . . . . .
. . . . . . . . .
. . . X X . . . .
. . X O O . . . .
. . . X X . . . .
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
""")
    ass = assessment(s, BLACK)
    cand = np.full(81, 0.001)
    cand[at("E5")[0]] = 0.9
    _, move = pick_forcing(cand, ass)
    assert flat_to_gtp(move, 9) == "F6"
    empty = assessment(np.zeros(81, np.int8), BLACK)
    weights, move = pick_forcing(cand, empty)
    assert move is None and np.array_equal(weights, cand)


def test_a_three_stone_chain_the_opponent_could_capture_is_defended():
    # black C3-C4-C5 between white walls, liberties C2 and D4: white C2 leaves D4 -> E4 only (dead);
    # black C2 (4 liberties) or D4 (E4 + C2, and every atari then runs free) defends it
    s = stones_of("""
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
. . O . . . . . .
. O X O . . . . .
. O X . . . . . .
. O X O . . . . .
. . . . . . . . .
. . . . . . . . .
""")
    r = Reader(9)
    (c5, d4, c2) = at("C5", "D4", "C2")
    assert named(r.chain(s, c5)[1]) == ["C2", "D4"]
    assert r.fresh().attacker_captures(s, c5)
    ass = assessment(s, BLACK)
    assert named(np.flatnonzero(ass.value)) == ["C2", "D4"]
    assert ass.value[c2] == ass.value[d4] == 3 and ass.reasons[c2] == "defends 3"
