import numpy as np
import pytest
import torch

from go_cnn.model import PRESETS, PolicyConfig, fc_spec, make_spec, policy_spec
from shared.layers import Conv, Pool
from shared.network import build
from shared.summary import summary


def test_cpu_preset_params_and_macs_by_hand():
    # cpu: 5x5 conv 31->64 (+bias), 4 x 3x3 conv 64->64 (+bias), 1x1 conv 64->1 (no bias), 361 per-point biases
    params = (31 * 25 * 64 + 64) + 4 * (64 * 9 * 64 + 64) + 64 + 361
    macs = 361 * (31 * 25 * 64 + 4 * 64 * 9 * 64 + 64)
    s = summary(make_spec("cpu", 31))
    assert (s.total_params, s.total_macs) == (params, macs) == (197_801, 71_160_320)


def test_fc_baseline_params_by_hand():
    n_in = 31 * 361
    params = (n_in * 1024 + 1024) + (1024 * 1024 + 1024) + (1024 * 361 + 361)
    assert summary(fc_spec(31)).total_params == params == 12_880_233


@pytest.mark.parametrize("name", PRESETS.names())
def test_presets_map_planes_to_one_logit_per_point(name):
    spec = make_spec(name, 8)
    assert not any(isinstance(x, Pool) for x in spec.layers)  # no pooling anywhere
    if name != "fc":
        assert spec.layers[0] == Conv(spec.layers[0].out, 5, padding="same", bias=spec.layers[0].bias)
    net = build(spec)
    logits, loss = net(torch.zeros(2, 8, 19, 19), torch.tensor([0, 360]))
    assert logits.shape == (2, 361) and loss.item() > 0


def test_gpu_presets_train_a_step_on_cpu():
    torch.manual_seed(0)
    for name in ("gpu-13x192", "gpu-b6c128"):
        net = build(make_spec(name, 31))
        opt = torch.optim.SGD(net.parameters(), lr=0.01)
        x, y = torch.randn(2, 31, 19, 19), torch.tensor([3, 77])
        _, l0 = net(x, y)
        opt.zero_grad()
        l0.backward()
        opt.step()
        assert torch.isfinite(l0)


def test_layer_count_convention_matches_alphago():
    spec = make_spec("gpu-13x192", 48)
    convs = [x for x in spec.layers if isinstance(x, Conv)]
    assert len(convs) == 13 and [c.kernel for c in convs] == [5] + [3] * 11 + [1]
    assert {c.out for c in convs[:-1]} == {192}


def test_bad_configs_are_refused():
    with pytest.raises(ValueError, match="even"):
        policy_spec(PolicyConfig(layers=5, residual=True), 8)
    with pytest.raises(ValueError, match="odd"):
        policy_spec(PolicyConfig(first_kernel=4), 8)
    with pytest.raises(KeyError, match="known"):
        make_spec("nope", 8)


def test_net_overfits_a_handful_of_positions():
    """A small conv net must learn 16 fixed positions exactly (top-1 = 100%)."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.integers(0, 2, (16, 8, 19, 19)).astype(np.float32))
    y = torch.from_numpy(rng.integers(0, 361, 16))
    net = build(make_spec("cpu-tiny", 8))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(300):
        logits, loss = net(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (logits.argmax(1) == y).all() and loss.item() < 0.1:
            break
    logits, loss = net(x, y)
    assert (logits.argmax(1) == y).float().mean().item() == 1.0
    assert loss.item() < 0.5
