"""The training engine: learning, determinism, exact resume, time budget, early stopping, metrics."""
import json
import math

import pytest
import torch
from ddp_task import edge_config, edge_dataset, edge_spec
from torch.utils.data import TensorDataset

import shared.train as train_mod
from shared import (
    BatchNorm,
    Conv,
    Dropout,
    Flatten,
    NetSpec,
    ReLU,
    TrainConfig,
    build,
    evaluate,
    fit,
    load_model,
    seed_everything,
    spec_to_dict,
)
from shared.metrics import accuracy, confusion_matrix, nll, precision_recall, topk_correct
from shared.optim import lr_factor, param_groups


def test_learns_vertical_edge_position(tmp_path):
    seed_everything(0)
    model = build(edge_spec())
    hist = fit(model, edge_dataset(600, 1), edge_dataset(300, 2), edge_config(epochs=3), out=tmp_path,
               meta={"spec": spec_to_dict(edge_spec()), "app": "test"})
    assert hist.epochs[-1]["val_top1"] >= 0.95
    assert hist.epochs[-1]["val_count"] == 300 and hist.stop_reason == "completed"
    lines = [json.loads(ln) for ln in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    epochs = [ln for ln in lines if ln["type"] == "epoch"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert {"train_loss", "train_top1", "val_top1", "val_top5", "val_nll", "lr", "samples_per_s"} <= set(epochs[0])
    assert [ln["step"] for ln in lines if ln["type"] == "train"] == [10, 20, 30, 40, 50]  # 19 steps/epoch, log_every 10
    # the best model file alone rebuilds the network and reproduces its accuracy
    net, meta = load_model(tmp_path / "best.pt")
    assert meta["app"] == "test" and hist.best_epoch is not None
    assert evaluate(net, edge_dataset(300, 2), device="cpu")["top1"] == pytest.approx(
        hist.epochs[hist.best_epoch - 1]["val_top1"])


# A net that uses every stateful piece: dropout (RNG), batch norm (buffers), momentum (optimizer state).
RESUME_SPEC = NetSpec((1, 7, 7), (Conv(6, 3, padding="same"), BatchNorm(), ReLU(), Dropout(0.3), Flatten()),
                      num_classes=6)


def resume_config(**kw):
    base = dict(epochs=2, batch_size=16, optimizer="sgd", lr=0.05, momentum=0.9, nesterov=True,
                weight_decay=1e-3, schedule="cosine", warmup=0.5, clip_grad=1.0, label_smoothing=0.1,
                progress="off", log_every=5)
    base.update(kw)
    return TrainConfig(**base)


def run(out, cfg, resume=False, model=None):
    if model is None:
        seed_everything(1)
        model = build(RESUME_SPEC)
    hist = fit(model, edge_dataset(200, 3), edge_dataset(64, 4), cfg, out=out, meta={"spec": spec_to_dict(RESUME_SPEC)},
               resume=resume)
    return model, hist


def assert_same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def test_same_seed_same_run(tmp_path):
    a, ha = run(tmp_path / "a", resume_config(epochs=1))
    b, hb = run(tmp_path / "b", resume_config(epochs=1))
    assert_same_weights(a, b)
    assert ha.epochs[0]["train_loss"] == hb.epochs[0]["train_loss"]
    c, _ = run(tmp_path / "c", resume_config(epochs=1, seed=5))
    assert not torch.equal(a.body[0].weight, c.body[0].weight)


class Crash(Exception):
    pass


def test_two_epochs_equal_one_plus_resume_plus_one(tmp_path, monkeypatch):
    full, hfull = run(tmp_path / "full", resume_config())
    real_save = train_mod.save_checkpoint

    def save_then_crash(path, state):  # the process dies right after epoch 1's last.pt is on disk
        real_save(path, state)
        if path.name == "last.pt" and state["epoch"] == 1:
            raise Crash()

    monkeypatch.setattr(train_mod, "save_checkpoint", save_then_crash)
    with pytest.raises(Crash):
        run(tmp_path / "split", resume_config())
    monkeypatch.setattr(train_mod, "save_checkpoint", real_save)
    seed_everything(123)  # a fresh process: different RNG, different initial weights
    fresh = build(RESUME_SPEC)
    resumed, hres = run(tmp_path / "split", resume_config(), resume=True, model=fresh)
    assert_same_weights(full, resumed)
    assert [e["val_nll"] for e in hres.epochs] == [e["val_nll"] for e in hfull.epochs]


def test_time_budget_stops_mid_epoch_and_resume_is_exact(tmp_path, monkeypatch):
    full, _ = run(tmp_path / "full", resume_config())
    ticks = iter(range(10**6))
    monkeypatch.setattr(train_mod, "_clock", lambda: 60.0 * next(ticks))  # each clock read = 1 minute
    # budget of 3.5 min: t0 read (0), epoch-start read (1), step checks at 2, 3, 4 -> stop after 3 steps
    _, h = run(tmp_path / "split", resume_config(time_budget_min=3.5))
    assert h.stop_reason == "time_budget"
    assert h.epochs[-1]["partial"] and h.epochs[-1]["step"] == 3 and "val_top1" in h.epochs[-1]
    assert (tmp_path / "split" / "best.pt").exists() and (tmp_path / "split" / "last.pt").exists()
    monkeypatch.setattr(train_mod, "_clock", __import__("time").monotonic)
    resumed, hres = run(tmp_path / "split", resume_config(), resume=True, model=build(RESUME_SPEC))
    assert_same_weights(full, resumed)
    assert hres.stop_reason == "completed" and hres.epochs[-1]["epoch"] == 2


def test_early_stopping_on_patience(tmp_path):
    seed_everything(0)
    cfg = edge_config(epochs=10, lr=0.0, schedule="constant", early_stop_patience=2, early_stop_metric="val_nll")
    hist = fit(build(edge_spec()), edge_dataset(64, 1), edge_dataset(64, 2), cfg, out=tmp_path)
    assert hist.stop_reason == "early_stop"
    assert len(hist.epochs) == 3 and hist.best_epoch == 1  # lr 0: nothing improves after epoch 1


def test_lr_schedules():
    cfg = TrainConfig(epochs=4, lr=1.0, warmup=1.0, schedule="cosine")
    f = [lr_factor(s, cfg, 10) for s in range(40)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0)          # linear warmup over 1 epoch
    assert f[10] == pytest.approx(1.0) and f[39] == pytest.approx(0.5 * (1 + math.cos(math.pi * 29 / 30)))
    assert all(a >= b for a, b in zip(f[10:], f[11:]))                         # monotone decay
    step = TrainConfig(epochs=4, schedule="step", step_size=2, gamma=0.5)
    assert [lr_factor(s, step, 10) for s in (0, 19, 20, 39)] == [1.0, 1.0, 0.5, 0.5]
    assert lr_factor(7, TrainConfig(schedule="constant"), 10) == 1.0


def test_no_weight_decay_on_biases_and_norms():
    net = build(RESUME_SPEC)
    decay, no_decay = param_groups(net, 0.1)
    assert {id(p) for p in decay["params"]} == {id(net.body[0].weight), id(net.head.weight)}
    assert no_decay["weight_decay"] == 0.0 and len(no_decay["params"]) == 4  # conv/head biases, BN w/b


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="optimizer must be one of"):
        TrainConfig(optimizer="rmsprop")


def test_metrics_values():
    logits = torch.tensor([[3.0, 2.0, 1.0, 0.0], [0.0, 1.0, 2.0, 3.0], [1.0, 3.0, 2.0, 0.0]])
    y = torch.tensor([0, 1, 2])
    assert topk_correct(logits, y, (1, 2, 5)).tolist() == [1, 2, 3]   # k > K counts every sample
    assert nll(logits, y).item() == pytest.approx(-torch.log_softmax(logits, 1)[[0, 1, 2], y].sum().item())
    cm = confusion_matrix(torch.tensor([0, 1, 1, 2, 2]), torch.tensor([0, 1, 2, 2, 0]), 3)
    assert cm.tolist() == [[1, 0, 1], [0, 1, 0], [0, 1, 1]]           # rows true, columns predicted
    assert accuracy(cm) == pytest.approx(3 / 5)
    p, r = precision_recall(cm)
    assert p.tolist() == pytest.approx([1.0, 0.5, 0.5]) and r.tolist() == pytest.approx([0.5, 1.0, 0.5])


def test_evaluate_counts():
    net = build(NetSpec((4,), ()))  # identity: inputs are logits
    x = torch.tensor([[5.0, 0, 0, 0], [0, 5.0, 0, 0], [0, 0, 5.0, 1.0], [1.0, 0, 0, 5.0]])
    m = evaluate(net, TensorDataset(x, torch.tensor([0, 1, 3, 2])), batch_size=3, device="cpu")
    assert m["count"] == 4 and m["top1"] == 0.5 and m["top5"] == 1.0
