"""shared.visualize (filters, feature maps, activation maximisation, saliency) and the two apps'
`visualize` commands on tiny untrained models."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from matplotlib.image import imread

from shared import visualize as V
from shared.checkpoint import save_checkpoint
from shared.layers import Conv, Flatten, GlobalPool, Pool, ReLU
from shared.network import NetSpec, build, spec_to_dict


def small_net(seed=0):
    torch.manual_seed(seed)
    spec = NetSpec((2, 8, 8), (Conv(4, 3, padding="same"), ReLU(), Pool("max", 2), Conv(3, 3), ReLU(),
                               GlobalPool("avg")), num_classes=5)
    return build(spec).eval()


def test_filter_grid_shapes_and_values():
    w = torch.randn(6, 1, 3, 3)
    g = V.filter_grid(w)   # one input channel: 6 filters in a 2 x 3 grid, 1-pixel NaN padding
    assert g.shape == (2 * 4 + 1, 3 * 4 + 1)
    assert np.isnan(g[0]).all() and np.isnan(g[:, 0]).all()
    t = g[1:4, 5:8]        # filter 1 (row 0, column 1), scaled by its largest |weight|
    np.testing.assert_allclose(t, (w[1, 0] / w[1, 0].abs().max()).numpy(), rtol=1e-6)
    g2 = V.filter_grid(torch.randn(4, 2, 5, 5))   # several inputs: a row per filter, a column per input
    assert g2.shape == (4 * 6 + 1, 2 * 6 + 1)
    assert np.nanmax(np.abs(g2)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="conv weights"):
        V.filter_grid(torch.randn(3, 3))


def test_write_png_exact_pixels(tmp_path):
    img = V.filter_grid(torch.randn(6, 1, 3, 3))
    p = V.write_png(img, tmp_path / "f.png", scale=8)
    a = imread(p)
    assert a.shape[:2] == (9 * 8, 13 * 8)
    assert not list(tmp_path.glob(".*tmp"))   # no temp file left behind


def test_feature_maps_are_the_layer_outputs():
    net = small_net()
    x = torch.randn(2, 8, 8)
    maps = V.feature_maps(net, x, [1, 2, 4])
    assert maps[1].shape == (4, 8, 8) and maps[2].shape == (4, 4, 4) and maps[4].shape == (3, 2, 2)
    conv = net.body[0]
    want = torch.relu(conv(x[None]))[0]
    torch.testing.assert_close(maps[1], want.detach())
    assert V.activation_layers(net) == [1, 4] and V.conv_layers(net) == [0, 3]
    with pytest.raises(ValueError, match="out of range"):
        V.feature_maps(net, x, [9])


def test_maps_image_grid_shape():
    img = V.maps_image(torch.randn(5, 4, 6))
    assert img.shape == (2 * 5 + 1, 3 * 7 + 1)       # 5 maps -> 3 columns, 2 rows
    assert np.nanmin(img) == 0.0 and np.nanmax(img) == 1.0


@pytest.mark.parametrize("layer, channel", [(1, 2), (4, 0), (None, 3)])
def test_gradient_ascent_increases_the_activation(layer, channel):
    net = small_net(1)
    x, trace = V.maximize_activation(net, layer, channel, steps=60, lr=0.1, clip=(-2.0, 2.0))
    assert len(trace) == 61 and x.shape == (2, 8, 8)
    assert trace[-1] > trace[0] + 0.5, trace[::10]
    assert float(x.min()) >= -2.0 and float(x.max()) <= 2.0
    with torch.no_grad():  # the reported final value is the activation of the returned input
        if layer is None:
            again = net(x[None])[0][0, channel]
        else:
            again = V.feature_maps(net, x, [layer])[layer][channel].mean()
    assert float(again) == pytest.approx(trace[-1], rel=1e-5, abs=1e-6)
    assert all(p.requires_grad for p in net.parameters())   # the model is left as it was


def test_saliency_of_a_linear_model_is_its_weights():
    torch.manual_seed(0)
    net = build(NetSpec((3, 4, 5), (Flatten(),), num_classes=6)).eval()
    x = torch.randn(3, 4, 5)
    sal, t = V.saliency(net, x)
    assert sal.shape == x.shape[1:]
    assert t == int(net(x[None])[0].argmax())
    w = net.head.weight[t].detach().reshape(3, 4, 5)
    torch.testing.assert_close(sal, w.abs().amax(0))
    sal2, t2 = V.saliency(net, x, target=2)
    assert t2 == 2 and torch.allclose(sal2, net.head.weight[2].detach().reshape(3, 4, 5).abs().amax(0))


def test_saliency_shape_of_a_cnn():
    net = small_net()
    sal, t = V.saliency(net, torch.randn(2, 8, 8))
    assert sal.shape == (8, 8) and (sal >= 0).all() and 0 <= t < 5


# ----------------------------------------------------------------------------------- the two CLIs

SGF = b"(;GM[1]FF[4]SZ[19];B[pd];W[dp];B[pp];W[dd];B[fq];W[cn])"


def test_go_visualize_cli(tmp_path):
    from go_cnn.cli import main
    from go_cnn.model import PolicyConfig, policy_spec

    spec = policy_spec(PolicyConfig(layers=3, filters=4, first_kernel=5), planes=2)
    torch.manual_seed(0)
    net = build(spec)
    model = tmp_path / "m.pt"
    save_checkpoint(model, {"model": net.state_dict(),
                            "meta": {"app": "go", "feature_set": "slides", "board_size": 19, "spec": spec_to_dict(spec)}})
    sgf = tmp_path / "g.sgf"
    sgf.write_bytes(SGF)
    out = tmp_path / "viz"
    r = CliRunner().invoke(main, ["visualize", str(model), str(sgf), "--move", "3", "--out", str(out), "--steps", "20"])
    assert r.exit_code == 0, r.output
    assert imread(out / "filters.png").shape[:2] == ((4 * 6 + 1) * 8, (2 * 6 + 1) * 8)   # 4 filters x 2 planes of 5x5
    assert (out / "maps_layer1.png").exists() and (out / "maps_layer3.png").exists()
    assert (out / "saliency.png").stat().st_size > 0
    rep = json.loads((out / "visualize.json").read_text())
    assert rep["saliency"]["played"] == "Q4"            # move 3 is B[pp]
    assert rep["maximize"]["end"] > rep["maximize"]["start"]
    r = CliRunner().invoke(main, ["visualize", str(model), str(sgf), "--move", "50", "--out", str(out)])
    assert r.exit_code != 0 and "the game has 6 moves" in r.output
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"nope")
    r = CliRunner().invoke(main, ["visualize", str(bad), str(sgf), "--out", str(out)])
    assert r.exit_code != 0 and str(bad) in r.output and "Traceback" not in r.output


def test_speech_visualize_cli(tmp_path):
    import soundfile as sf

    from speech_cnn.audio import AudioConfig
    from speech_cnn.classifier import SpeechClassifier, feature_config
    from speech_cnn.cli import main

    torch.manual_seed(0)
    clf = SpeechClassifier.create("tcnn", [str(i) for i in range(3)], AudioConfig(8000, 0.5), feature_config(8000))
    model = clf.save(tmp_path / "s.pt")
    t = np.arange(4000) / 8000
    wav = tmp_path / "tone.wav"
    sf.write(wav, 0.3 * np.sin(2 * np.pi * 440 * t), 8000)
    out = tmp_path / "viz"
    r = CliRunner().invoke(main, ["visualize", str(model), str(wav), "--out", str(out), "--steps", "20"])
    assert r.exit_code == 0, r.output
    w = clf.net.body[0].weight          # (64, 1, 40, 3): filters span all 40 bands x 3 frames
    assert imread(out / "filters.png").shape[:2] == ((8 * 41 + 1) * 8, (8 * 4 + 1) * 8) and w.shape[2:] == (40, 3)
    assert (out / "saliency.png").stat().st_size > 0
    rep = json.loads((out / "visualize.json").read_text())
    assert rep["saliency"]["predicted"] in ("0", "1", "2")
    assert rep["maximize"]["end"] > rep["maximize"]["start"]
    r = CliRunner().invoke(main, ["visualize", str(model), str(tmp_path / "missing.wav"), "--out", str(out)])
    assert r.exit_code != 0 and "missing.wav" in r.output and "Traceback" not in r.output
