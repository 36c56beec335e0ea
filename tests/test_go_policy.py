import numpy as np
import pytest
import torch

from go_cnn.board import Board, IllegalMove
from go_cnn.model import make_spec
from go_cnn.policy import Policy, PolicyError, masked_softmax
from go_cnn.symmetry import apply_moves, tables
from shared.checkpoint import save_checkpoint
from shared.network import build, spec_to_dict


@pytest.fixture(scope="module")
def policy():
    torch.manual_seed(1)
    return Policy.from_network(build(make_spec("cpu-tiny", 31)), "alphago")


def random_positions(n: int, seed: int = 0) -> tuple[dict, list[Board]]:
    """n positions reached by random legal play (0..300 moves), with their last-move history."""
    rng = np.random.default_rng(seed)
    boards, lasts = [], []
    for _ in range(n):
        b, last = Board(19), [-1] * 8
        for _ in range(int(rng.integers(0, 300))):
            for p in rng.permutation(361)[:40]:
                try:
                    b.play(int(p))
                    last = [int(p)] + last[:-1]
                    break
                except IllegalMove:
                    continue
        boards.append(b)
        lasts.append(last)
    pos = {"stones": np.stack([b.stones for b in boards]), "to_move": np.array([b.to_move for b in boards], np.int8),
           "ko": np.array([b.ko for b in boards]), "last": np.array(lasts, np.int16)}
    return pos, boards


def legal_by_rules(b: Board) -> np.ndarray:
    """Independent legality: try every point on a copy of the board (board.py rules)."""
    ok = np.zeros(361, bool)
    for p in range(361):
        try:
            b.copy().play(p)
            ok[p] = True
        except IllegalMove:
            pass
    return ok


def test_masking_never_gives_an_illegal_move(policy):
    pos, boards = random_positions(40)
    p = policy.probabilities(pos)
    assert p.shape == (40, 361) and p.dtype == np.float32
    for i, b in enumerate(boards):
        legal = legal_by_rules(b)
        assert (p[i][~legal] == 0).all()
        assert (p[i][legal] > 0).all()
        assert abs(p[i].sum() - 1) < 1e-5
        assert legal[p[i].argmax()]


def test_ko_point_gets_zero():
    from go_cnn.coords import gtp_to_flat as g
    b = Board(19)
    for v in ("D6", "C5", "D4"):
        b.stones[g(v)] = 1
    for v in ("E6", "D5", "F5", "E4"):
        b.stones[g(v)] = 2
    b.play(g("E5"))  # black E5 captures D5: white may not retake at D5 at once
    assert b.ko == g("D5") and b.to_move == 2
    pol = Policy.from_network(build(make_spec("cpu-tiny", 31)), "alphago")
    pos = {"stones": b.stones[None], "to_move": np.array([b.to_move], np.int8), "ko": np.array([b.ko]),
           "last": np.full((1, 8), -1, np.int16)}
    p = pol.probabilities(pos)[0]
    assert p[g("D5")] == 0 and p[g("E5")] == 0 and abs(p.sum() - 1) < 1e-5
    assert (p > 0).sum() == 361 - 7 - 1  # every empty point but the ko point


def transform(pos: dict, s: int) -> dict:
    src, dst = tables(19)
    return {"stones": pos["stones"][:, src[s]], "to_move": pos["to_move"],
            "ko": np.where(pos["ko"] >= 0, dst[s][np.maximum(pos["ko"], 0)], -1),
            "last": apply_moves(pos["last"].astype(np.int64), s).astype(np.int16)}


def test_symmetry_averaged_prediction_is_invariant_under_rotation(policy):
    pos, _ = random_positions(6, seed=3)
    src, _ = tables(19)
    p8 = policy.probabilities(pos, symmetries=8)
    p1 = policy.probabilities(pos)
    for s in (1, 4, 5, 7):  # flips, transpose, rotations
        q8 = policy.probabilities(transform(pos, s), symmetries=8)
        np.testing.assert_allclose(q8, p8[:, src[s]], atol=1e-6)
        q1 = policy.probabilities(transform(pos, s))
        assert np.abs(q1 - p1[:, src[s]]).max() > 1e-4  # an untrained net alone is not symmetric
    np.testing.assert_allclose(p8.sum(1), 1, atol=1e-5)


def test_masked_softmax_rows():
    z = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    legal = np.array([[True, False, True], [False, False, False]])
    p = masked_softmax(z, legal)
    np.testing.assert_allclose(p[0], [np.exp(1) / (np.exp(1) + np.exp(3)), 0, np.exp(3) / (np.exp(1) + np.exp(3))],
                               rtol=1e-6)
    assert (p[1] == 0).all()


def test_load_round_trip_and_bad_files(tmp_path, policy):
    spec = make_spec("cpu-tiny", 31)
    path = save_checkpoint(tmp_path / "m.pt", {"model": policy.net.state_dict(), "meta": {
        "app": "go", "spec": spec_to_dict(spec), "feature_set": "alphago", "board_size": 19}})
    pol = Policy.load(path, device="cpu")
    pos, _ = random_positions(3, seed=5)
    np.testing.assert_allclose(pol.probabilities(pos), policy.probabilities(pos), atol=1e-6)
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(PolicyError, match="junk.pt"):
        Policy.load(tmp_path / "junk.pt")
    other = save_checkpoint(tmp_path / "speech.pt", {"model": {}, "meta": {"app": "speech", "spec": spec_to_dict(spec)}})
    with pytest.raises(PolicyError, match="not a Go policy"):
        Policy.load(other)
    with pytest.raises(PolicyError, match="no such"):
        Policy.load(tmp_path / "missing.pt")
