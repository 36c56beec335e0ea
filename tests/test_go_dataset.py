import numpy as np
import pytest
import torch

from go_cnn.board import Board
from go_cnn.dataset import DatasetError, GoShardDataset, make_loader, positions_from_sources
from go_cnn.features import get_feature_set
from go_cnn.prepare import PrepareConfig, prepare
from go_cnn.shards import pack_stones, unpack_stones

MOVES = ["pd", "dp", "pq", "dd", "qo"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("in")
    for i in range(6):
        seq = "".join(f";{'BW'[j % 2]}[{m}]" for j, m in enumerate(MOVES[: 2 + i % 4]))
        (d / f"g{i}.sgf").write_text(f"(;SZ[19];B[{'abcdef'[i]}a];W[{'abcdef'[i]}s]{seq.replace(';B', ';B', 1)})")
    out = tmp_path_factory.mktemp("out")
    prepare([d], out, PrepareConfig(workers=1, val_fraction=0.3, progress=False, features="alphago"))
    return d, out


def test_pack_round_trip():
    s = np.random.default_rng(0).integers(0, 3, (7, 361)).astype(np.int8)
    assert pack_stones(s).shape == (7, 91) and np.array_equal(unpack_stones(pack_stones(s)), s)


def test_dataset_splits_and_samples(data):
    d, out = data
    tr, va = GoShardDataset(out, "train"), GoShardDataset(out, "val")
    assert tr.feature_set == "alphago" and tr.num_planes == 31
    assert len(tr) + len(va) == len(GoShardDataset(out, "all")) == sum(4 + i % 4 for i in range(6))
    x, y = tr[0]
    assert x.shape == (31, 19, 19) and x.dtype == torch.int8 and y.dtype == torch.int64  # the model casts
    # first position of a game: empty board, black to move: ones/empty planes full, no stones
    first = [i for i in range(len(tr)) if tr.records([i])["move_number"][0] == 0][0]
    x, y = tr[first]
    assert x[0].sum() == 0 and x[1].sum() == 0 and x[2].sum() == 361 and x[3].sum() == 361


def test_planes_match_direct_replay(data):
    d, out = data
    ds = GoShardDataset(out, "all")
    direct = list(positions_from_sources([d], "alphago"))
    planes = np.concatenate([g["planes"] for g in direct])
    moves = np.concatenate([g["moves"] for g in direct])
    got = ds.batch(np.arange(len(ds)))
    order = np.lexsort((moves, planes.reshape(len(planes), -1).sum(1)))
    order2 = np.lexsort((got[1].numpy(), got[0].numpy().reshape(len(planes), -1).sum(1)))
    assert np.array_equal(planes[order], got[0].numpy()[order2])
    assert direct[0]["legal"].shape == (direct[0]["moves"].shape[0], 361)


def test_augment_consistent(data):
    _, out = data
    ds = GoShardDataset(out, "all", augment=True, seed=0)
    x, y = ds.batch(np.arange(len(ds)))
    own = x[:, 0].reshape(len(ds), -1)
    legal = x[:, get_feature_set("alphago").plane_names().index("legal")].reshape(len(ds), -1)
    assert (legal[torch.arange(len(ds)), y] == 1).all()  # target stays on a legal point
    assert own.sum() >= 0


def test_loader_batches(data):
    _, out = data
    dl = make_loader(GoShardDataset(out, "all"), batch_size=4, num_workers=0)
    x, y = next(iter(dl))
    assert x.shape == (4, 31, 19, 19) and y.shape == (4,)


def test_missing_manifest(tmp_path):
    with pytest.raises(DatasetError, match="no manifest"):
        GoShardDataset(tmp_path)
