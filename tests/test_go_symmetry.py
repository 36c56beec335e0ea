import numpy as np
import torch

from go_cnn.symmetry import apply_moves, apply_planes, compose, inverse


def test_identity_and_known_maps():
    x = np.arange(25, dtype=np.float32).reshape(1, 1, 5, 5)
    assert (apply_planes(x, 0, 5) == x).all()
    assert (apply_planes(x, 1, 5)[0, 0] == x[0, 0, ::-1]).all()
    assert (apply_planes(x, 4, 5)[0, 0] == x[0, 0].T).all()
    assert apply_moves(np.array([0, -1]), 2, 5).tolist() == [4, -1]  # top-left -> top-right; pass kept


def test_planes_and_moves_consistent_all_8():
    size = 5
    for s in range(8):
        for p in range(size * size):
            x = np.zeros((1, 1, size, size), np.float32)
            x.reshape(-1)[p] = 1
            y = apply_planes(x, s, size).reshape(-1)
            assert y.argmax() == apply_moves(np.array([p]), s, size)[0]


def test_inverse_and_composition():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 3, 19, 19)).astype(np.float32)
    seen = set()
    for a in range(8):
        assert np.array_equal(apply_planes(apply_planes(x, a), inverse(a)), x)
        seen.add(apply_planes(x, a).tobytes())
        for b in range(8):
            assert np.array_equal(apply_planes(apply_planes(x, a), b), apply_planes(x, compose(a, b)))
    assert len(seen) == 8


def test_batched_torch_matches_numpy():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 2, 19, 19)).astype(np.float32)
    syms = np.arange(8)
    moves = rng.integers(-1, 361, 8)
    want = np.stack([apply_planes(x[i:i + 1], int(s))[0] for i, s in enumerate(syms)])
    assert np.array_equal(apply_planes(x, syms), want)
    assert np.array_equal(apply_planes(torch.from_numpy(x), torch.from_numpy(syms)).numpy(), want)
    assert apply_moves(torch.from_numpy(moves), torch.from_numpy(syms)).tolist() == apply_moves(moves, syms).tolist()
