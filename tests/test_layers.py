"""Layer specs -> modules: shapes, padding, pooling, residual, plane bias, band conv, JSON round trip."""
import json

import pytest
import torch
import torch.nn.functional as F

from shared import (
    BandConv,
    BatchNorm,
    Conv,
    Dense,
    Dropout,
    Flatten,
    GlobalPool,
    NetSpec,
    PlaneBias,
    Pool,
    Registry,
    ReLU,
    Residual,
    build,
    spec_from_dict,
    spec_to_dict,
    summary,
)
from shared.layers import band_sizes


def out_of(spec_layers, in_shape):
    """(declared feature shape, actual output shape) of a body."""
    net = build(NetSpec(in_shape, tuple(spec_layers)))
    net.eval()
    y = net.features(torch.randn(2, *in_shape))
    return net.feature_shape, tuple(y.shape[1:])


@pytest.mark.parametrize("layer,in_shape,expected", [
    (Conv(4, 3), (2, 9, 9), (4, 7, 7)),
    (Conv(4, (5, 1)), (1, 40, 11), (4, 36, 11)),                  # frequency-only kernel
    (Conv(4, (5, 1), padding="same"), (1, 40, 11), (4, 40, 11)),
    (Conv(4, 3, stride=(2, 1)), (1, 9, 9), (4, 4, 7)),             # per-axis stride
    (Conv(4, 3, padding=(1, 0)), (1, 9, 9), (4, 9, 7)),
    (Conv(4, 2, padding="same"), (1, 19, 19), (4, 19, 19)),        # even kernel, asymmetric pad
    (Conv(4, 4, padding="same"), (1, 19, 19), (4, 19, 19)),
    (Conv(4, (2, 5), padding="same"), (1, 8, 10), (4, 8, 10)),
    (Conv(4, 3, stride=2, padding="same"), (1, 9, 10), (4, 5, 5)),  # ceil(n / s)
    (Pool("max", 2), (3, 7, 7), (3, 3, 3)),
    (Pool("max", 2, ceil=True), (3, 7, 7), (3, 4, 4)),
    (Pool("avg", (3, 1), stride=(3, 1)), (3, 40, 5), (3, 13, 5)),
    (Pool("avg", (3, 1), stride=(2, 1), ceil=True), (3, 40, 5), (3, 20, 5)),
    (Pool("max", 3, stride=1, padding=1), (2, 6, 6), (2, 6, 6)),
    (GlobalPool("avg", "all"), (5, 4, 6), (5,)),
    (GlobalPool("max", "w"), (5, 4, 6), (5, 4, 1)),
    (GlobalPool("avg", "h"), (5, 4, 6), (5, 1, 6)),
    (Flatten(), (5, 4, 6), (120,)),
    (BatchNorm(), (5, 4, 6), (5, 4, 6)),
    (Dropout(0.3), (5, 4, 6), (5, 4, 6)),
    (BandConv(8, (3, 3), bands=4), (1, 40, 10), (8, 4 * 8, 8)),
    (BandConv(8, (3, 1), bands=3, padding="same"), (1, 40, 10), (8, 40, 10)),
    (Residual((Conv(4, 3, padding="same"), BatchNorm(), ReLU(), Conv(4, 3, padding="same"))), (4, 9, 9), (4, 9, 9)),
    (Residual((Conv(8, 3, stride=2, padding=1), ReLU())), (4, 9, 9), (8, 5, 5)),
])
def test_declared_shape_matches_forward(layer, in_shape, expected):
    declared, actual = out_of([layer], in_shape)
    assert declared == actual == expected


def test_same_padding_even_kernel_puts_extra_pixel_after():
    net = build(NetSpec((1, 4, 4), (Conv(1, 2, padding="same", bias=False),)))
    with torch.no_grad():
        net.body[0][1].weight.fill_(1.0)
    y = net.features(torch.ones(1, 1, 4, 4))[0, 0]
    # last row / column see the zero padding: 2x2 window covers only 2 ones, corner 1 one
    assert y.tolist() == [[4, 4, 4, 2], [4, 4, 4, 2], [4, 4, 4, 2], [2, 2, 2, 1]]


def test_avg_pool_partial_window_averages_real_cells():
    net = build(NetSpec((1, 1, 3), (Pool("avg", (1, 2), ceil=True),)))
    assert net.features(torch.tensor([[[[2.0, 4.0, 9.0]]]]))[0, 0].tolist() == [[3.0, 9.0]]


def test_dense_needs_flat_input_clear_error():
    with pytest.raises(ValueError, match=r"layer 1 \(Dense\).*Flatten"):
        build(NetSpec((1, 5, 5), (Conv(2, 3), Dense(4))))


def test_conv_too_big_kernel_error():
    with pytest.raises(ValueError, match="does not fit"):
        build(NetSpec((1, 3, 3), (Conv(2, 5),)))


def test_residual_identity_adds_input():
    net = build(NetSpec((2, 5, 5), (Residual((Conv(2, 3, padding="same"),)),)))
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
    x = torch.randn(1, 2, 5, 5)
    assert torch.equal(net.features(x), x)                    # zero body -> identity skip
    assert net.body[0].proj is None
    proj = build(NetSpec((2, 6, 6), (Residual((Conv(4, 3, stride=2, padding=1),)),))).body[0].proj
    assert tuple(proj.weight.shape) == (4, 2, 1, 1) and proj.stride == (2, 2)


def test_plane_bias_one_parameter_per_position():
    net = build(NetSpec((1, 19, 19), (Conv(1, 3, padding="same", bias=False), PlaneBias())))
    s = summary(net)
    assert s.rows[1].params == 361
    with torch.no_grad():
        net.body[0].weight.zero_()
        net.body[1].bias[0, 3, 4] = 2.5
    logits, _ = net(torch.randn(2, 1, 19, 19))
    assert logits.shape == (2, 361)                            # num_classes=None: flattened map
    assert logits[0].argmax().item() == 3 * 19 + 4 and logits[1, 3 * 19 + 4].item() == 2.5


def test_band_conv_bands_have_independent_weights():
    assert band_sizes(10, 3) == [4, 3, 3]
    net = build(NetSpec((1, 12, 5), (BandConv(2, (3, 1), bands=3, bias=False),)))
    assert summary(net).total_params == 3 * 2 * 3             # bands x out x kh*kw
    assert net.feature_shape == (2, 3 * 2, 5)                  # each 4-row band -> 2 rows
    with torch.no_grad():
        for i, conv in enumerate(net.body[0].convs):
            conv.weight.fill_(float(i + 1))                    # band i weights = i + 1
    y = net.features(torch.ones(1, 1, 12, 5))[0, 0]
    assert y[:, 0].tolist() == [3, 3, 6, 6, 9, 9]              # band-specific outputs
    x = torch.zeros(1, 1, 12, 5)
    x[0, 0, 4:8] = 1.0                                          # only band 1 has input
    y = net.features(x)[0, 0]
    assert y[0:2].abs().sum() == 0 and y[4:6].abs().sum() == 0 and y[2:4].sum() > 0
    with pytest.raises(ValueError, match="bands"):
        build(NetSpec((1, 2, 5), (BandConv(2, 1, bands=3),)))


def test_network_loss_is_cross_entropy_and_label_smoothing():
    torch.manual_seed(0)
    net = build(NetSpec((1, 7, 7), (Conv(3, 3), ReLU(), Flatten()), num_classes=6))
    x, y = torch.randn(4, 1, 7, 7), torch.tensor([0, 5, 2, 1])
    logits, loss = net(x, y)
    assert logits.shape == (4, 6)
    assert loss.item() == pytest.approx(F.cross_entropy(logits, y).item())
    _, ls = net(x, y, label_smoothing=0.1)
    assert ls.item() == pytest.approx(F.cross_entropy(logits, y, label_smoothing=0.1).item())
    assert net(x)[1] is None
    with pytest.raises(ValueError, match=r"expects input \(B, 1, 7, 7\)"):
        net(torch.randn(4, 1, 8, 8))


def test_network_casts_integer_input_to_its_dtype():
    # Go planes arrive as int8 (0/1, slides also -1): same logits as the float input, also in float64
    torch.manual_seed(0)
    net = build(NetSpec((3, 5, 5), (Conv(4, 3, padding="same"), ReLU(), PlaneBias(), Flatten()), num_classes=7))
    x8 = torch.randint(-1, 2, (6, 3, 5, 5), dtype=torch.int8)
    want, _ = net(x8.float())
    got, _ = net(x8)
    assert got.dtype == torch.float32 and torch.equal(got, want)
    assert torch.equal(net.features(x8), net.features(x8.float()))
    net64 = net.double()
    got64, _ = net64(x8)
    assert got64.dtype == torch.float64 and torch.allclose(got64, want.double(), atol=1e-5)


ALL_LAYERS = NetSpec((1, 40, 20), (
    Conv(4, (5, 1), stride=(1, 1), padding="same"), BatchNorm(), ReLU(), BandConv(4, (3, 3), bands=2, padding=1),
    Pool("max", (2, 1), ceil=True), Residual((Conv(4, 3, padding="same"), BatchNorm(momentum=0.2), ReLU())),
    PlaneBias(), Dropout(0.1), GlobalPool("avg", "w"), Flatten(), Dense(16, bias=False), ReLU()), num_classes=5)


def test_spec_json_round_trip_and_rebuild():
    d = spec_to_dict(ALL_LAYERS)
    text = json.dumps(d)
    back = spec_from_dict(json.loads(text))
    assert back == ALL_LAYERS
    a, b = build(ALL_LAYERS).eval(), build(back).eval()
    b.load_state_dict(a.state_dict())
    x = torch.randn(3, 1, 40, 20)
    assert torch.equal(a(x)[0], b(x)[0])


def test_spec_from_dict_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown layer type 'Lambda'; known: BandConv"):
        spec_from_dict({"input_shape": [1, 4, 4], "layers": [{"type": "Lambda"}]})
    with pytest.raises(ValueError, match="unknown field"):
        spec_from_dict({"input_shape": [1, 4, 4], "layers": [{"type": "Conv", "out": 2, "activation": "relu"}]})
    with pytest.raises(ValueError, match="not a network spec"):
        spec_from_dict({"layers": []})


def test_registry_register_create_names():
    reg = Registry("presets")
    reg.register("tiny", lambda k=2: NetSpec((1, 5, 5), (Flatten(),), num_classes=k))

    @reg.register("small")
    def small(k: int = 3) -> NetSpec:
        return NetSpec((1, 5, 5), (Conv(2, 3), Flatten()), num_classes=k)

    assert reg.names() == ["small", "tiny"] and "small" in reg
    assert reg.create("small", k=7).num_classes == 7
    assert small(4).num_classes == 4                           # decorator returns the function
    with pytest.raises(KeyError, match="unknown name 'big'; known: small, tiny"):
        reg.create("big")
    with pytest.raises(ValueError, match="already registered"):
        reg.register("tiny", lambda: None)
