"""Every worked number of the lectures, computed through the same specs/builder the apps use."""
import math

import pytest
import torch
from torch import nn

from shared import Conv, Dense, Dropout, Flatten, NetSpec, Pool, ReLU, build, conv_output_size, summary

# ---------------------------------------------------------------- feature-map sizes (n + 2p - f) / s + 1


@pytest.mark.parametrize("n,f,p,s,expected", [
    (5, 3, 0, 1, 3),   # 5x5 input, 3x3 kernel -> 3x3
    (6, 5, 0, 1, 2),   # 6x6 with 5x5 -> 2x2
    (5, 3, 0, 2, 2),   # stride 2 on 5x5 -> 2x2
    (5, 3, 1, 1, 5),   # padding 1 on 5x5 -> 5x5
])
def test_conv_output_size_formula(n, f, p, s, expected):
    assert conv_output_size(n, f, p, s) == expected
    # and the built layer agrees
    out = summary(NetSpec((1, n, n), (Conv(1, f, stride=s, padding=p),))).rows[0].out_shape
    assert out == (1, expected, expected)


def test_two_3x3x3_filters_on_5x5x3_give_3x3x2():
    s = summary(NetSpec((3, 5, 5), (Conv(2, 3),)))
    assert s.rows[0].out_shape == (2, 3, 3)


def test_params_of_3x3_filter_with_bias():
    # The issue text says "3x3x3 filter ... = 10; sixteen = 160": those numbers are 3x3 filters over
    # ONE input channel (9 weights + 1 bias). A filter spanning 3 input channels has 27 + 1 = 28.
    assert summary(NetSpec((1, 32, 32), (Conv(1, 3),))).total_params == 10
    assert summary(NetSpec((1, 32, 32), (Conv(16, 3),))).total_params == 160
    assert summary(NetSpec((3, 32, 32), (Conv(1, 3),))).total_params == 28
    assert summary(NetSpec((3, 32, 32), (Conv(16, 3),))).total_params == 448


# ---------------------------------------------------------------- whole networks

MNIST = NetSpec((1, 28, 28), (Conv(32, 3), ReLU(), Conv(64, 3), ReLU(), Pool("max", 2), Dropout(0.25),
                              Flatten(), Dense(128), ReLU(), Dropout(0.5)), num_classes=10)


def test_mnist_cnn_per_layer_and_total():
    s = summary(MNIST)
    by_kind = [(r.kind, r.out_shape, r.params) for r in s.rows if r.kind in ("Conv", "Pool", "Flatten", "Dense")]
    assert by_kind == [
        ("Conv", (32, 26, 26), 320),
        ("Conv", (64, 24, 24), 18_496),
        ("Pool", (64, 12, 12), 0),
        ("Flatten", (9_216,), 0),
        ("Dense", (128,), 1_179_776),
        ("Dense", (10,), 1_290),          # the head appended by num_classes=10
    ]
    assert s.total_params == 1_199_882
    assert sum(p.numel() for p in build(MNIST).parameters()) == 1_199_882
    # MACs: conv = out elements * in_ch * kh * kw, dense = in * out, pool/ReLU 0
    macs = {r.name: r.macs for r in s.rows}
    assert macs["body.0"] == 26 * 26 * 32 * 1 * 9
    assert macs["body.2"] == 24 * 24 * 64 * 32 * 9
    assert macs["body.4"] == 0 and macs["body.1"] == 0
    assert macs["body.7"] == 9216 * 128 and macs["head"] == 128 * 10
    assert s.total_macs == 194_688 + 10_616_832 + 1_179_648 + 1_280
    text = str(s)
    assert "1,199,882" in text and "1,179,776" in text and "64x12x12" in text


def test_keras_small_convnet_104202():
    spec = NetSpec((1, 28, 28), (Conv(32, 3), ReLU(), Pool("max", 2), Conv(64, 3), ReLU(), Pool("max", 2),
                                 Conv(128, 3), ReLU(), Flatten()), num_classes=10)
    s = summary(spec)
    assert [r.params for r in s.rows if r.params] == [320, 18_496, 73_856, 11_530]
    assert s.rows[-2].out_shape == (1_152,)
    assert s.total_params == 104_202


def test_1x28x28_example_shapes_and_filter_weights():
    spec = NetSpec((1, 28, 28), (Conv(25, 3), Pool("max", 2), Conv(50, 3), Pool("max", 2), Flatten()))
    s = summary(spec)
    assert [r.out_shape for r in s.rows] == [(25, 26, 26), (25, 13, 13), (50, 11, 11), (50, 5, 5), (1_250,)]
    net = build(spec)
    assert net.body[0].weight[0].numel() == 9      # one first-layer filter: 1x3x3
    assert net.body[2].weight[0].numel() == 225    # one second-layer filter: 25x3x3
    assert net(torch.zeros(2, 1, 28, 28))[0].shape == (2, 1_250)


def test_summary_of_plain_module_matches_spec():
    plain = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Linear(128, 10))
    s = summary(plain, (1, 28, 28))
    ref = summary(MNIST)
    assert s.total_params == ref.total_params == 1_199_882
    assert s.total_macs == ref.total_macs
    assert [r.kind for r in s.rows][:2] == ["Conv2d", "ReLU"]


def test_summary_needs_input_shape_for_plain_module():
    with pytest.raises(ValueError, match="input_shape"):
        summary(nn.Linear(3, 2))


# ---------------------------------------------------------------- hand computations through the layers


def run_conv(x, kernel, **conv_kw):
    """One Conv spec (bias off) built by ``build`` with its weight set to ``kernel``; -> (H', W') map."""
    x = torch.tensor(x, dtype=torch.float32)
    k = torch.tensor(kernel, dtype=torch.float32)
    net = build(NetSpec((1, *x.shape), (Conv(1, tuple(k.shape), bias=False, **conv_kw),)))
    with torch.no_grad():
        net.body[0].weight.copy_(k[None, None])
        return net.features(x[None, None])[0, 0]


SMILEY = [[0, 0, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 0],
          [0, 1, 0, 0, 0, 1, 0], [0, 0, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0, 0]]
DETECTOR = [[0, 0, 1], [1, 0, 0], [0, 1, 1]]
SMILEY_MAP = [[0, 1, 0, 0, 0], [0, 1, 1, 1, 0], [1, 0, 0, 2, 1], [1, 4, 2, 1, 0], [0, 0, 1, 2, 1]]


def test_smiley_feature_map():
    # the slide prints a 1 in the centre; the arithmetic (tested here) gives 0
    assert run_conv(SMILEY, DETECTOR).tolist() == SMILEY_MAP


def test_smiley_max_pool_keeps_partial_edge_windows():
    net = build(NetSpec((1, 7, 7), (Conv(1, 3, bias=False), Pool("max", 2, ceil=True))))
    with torch.no_grad():
        net.body[0].weight.copy_(torch.tensor(DETECTOR, dtype=torch.float32)[None, None])
        out = net.features(torch.tensor(SMILEY, dtype=torch.float32)[None, None])[0, 0]
    assert out.tolist() == [[1, 1, 0], [4, 2, 1], [0, 2, 1]]
    assert net.feature_shape == (1, 3, 3)
    # without ceil the partial windows are dropped: 5x5 -> 2x2
    assert summary(NetSpec((1, 5, 5), (Pool("max", 2),))).rows[0].out_shape == (1, 2, 2)


X5 = [[1, 0, 1, 0, 1], [1, 0, 0, 1, 1], [0, 1, 1, 0, 0], [1, 0, 0, 1, 0], [0, 0, 1, 1, 0]]
K5 = [[0, 1, 0], [1, 0, -1], [0, 1, 0]]


def test_5x5_conv_relu_padding_stride():
    assert run_conv(X5, K5).tolist() == [[2, 1, -1], [-1, 1, 3], [2, 1, 1]]
    net = build(NetSpec((1, 5, 5), (Conv(1, 3, bias=False), ReLU())))
    with torch.no_grad():
        net.body[0].weight.copy_(torch.tensor(K5, dtype=torch.float32)[None, None])
        relu = net.features(torch.tensor(X5, dtype=torch.float32)[None, None])[0, 0]
    assert relu.tolist() == [[2, 1, 0], [0, 1, 3], [2, 1, 1]]
    padded = run_conv(X5, K5, padding=1)
    assert padded.shape == (5, 5)
    assert padded[1:4, 1:4].tolist() == [[2, 1, -1], [-1, 1, 3], [2, 1, 1]]  # interior unchanged
    assert run_conv(X5, K5, padding="same").tolist() == padded.tolist()
    assert run_conv(X5, K5, stride=2).tolist() == [[2, -1], [2, 1]]


def test_vertical_edge_detector():
    img = [[1, 1, 0, 0, 0]] * 5
    assert run_conv(img, [[1, 0, -1]] * 3).tolist() == [[3, 3, 0]] * 3


def test_4x4_max_pool():
    x = torch.tensor([[4, 123, 1, 34], [56, 99, 222, 253], [45, 122, 165, 12], [21, 187, 133, 124]],
                     dtype=torch.float32)
    net = build(NetSpec((1, 4, 4), (Pool("max", 2, stride=2),)))
    assert net.features(x[None, None])[0, 0].tolist() == [[123, 253], [187, 165]]


def test_softmax_and_cross_entropy_natural_log():
    net = build(NetSpec((3,), ()))  # no layers, no head: the input is the logits
    logits, _ = net(torch.tensor([[2.0, 1.0, 0.1]]))
    p = torch.softmax(logits, dim=1)[0]
    assert [round(v, 2) for v in p.tolist()] == [0.66, 0.24, 0.10]  # the slide rounds to 0.7/0.2/0.1
    # cross-entropy of a prediction [0.3, 0.6, 0.1] against class 1: feed log-probabilities as logits
    _, loss = net(torch.log(torch.tensor([[0.3, 0.6, 0.1]])), torch.tensor([1]))
    assert loss.item() == pytest.approx(-math.log(0.6), abs=1e-6)
    assert round(loss.item(), 3) == 0.511
    assert round(-math.log10(0.6), 3) == 0.222  # the slide's number is the base-10 logarithm
