"""cnn-compare: domain discovery, a --quick run on synthetic data (md/csv/json agree), cache resume,
design files, bad input."""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from torch.utils.data import TensorDataset

from shared import compare as C
from shared.domains import (
    Budget,
    DomainData,
    TrainedDomain,
    domain_names,
    get_domain,
    register_domain,
    unregister_domain,
)
from shared.train import TrainConfig


class BlobDomain(TrainedDomain):
    """3 classes: a bright 2x2 blob in the left, middle or right third of an 8x8 image."""
    name = "blobs"
    metrics = ("accuracy", "shifted")
    description = "synthetic blobs (test domain)"
    input_shape = (1, 8, 8)
    num_classes = 3
    train_config = TrainConfig(optimizer="adamw", lr=3e-3, batch_size=32, device="cpu")
    loads = 0       # how often load_data ran (class-wide, the harness builds fresh objects)
    trained = 0

    def designs(self, quick=False):
        return {
            "fc": {"name": "fc", "description": "dense", "layers": [{"type": "Flatten"}, {"type": "Dense", "out": 16},
                                                                     {"type": "ReLU"}]},
            "cnn": {"name": "cnn", "description": "conv", "layers": [
                {"type": "Conv", "out": 4, "kernel": 3, "padding": "same"}, {"type": "ReLU"},
                {"type": "Pool", "kind": "max", "window": 2}]},
        }

    def fingerprint(self, data_root, quick):
        return "blobs-v1"

    @staticmethod
    def make(n, seed, shift=0):
        g = torch.Generator().manual_seed(seed)
        y = torch.randint(0, 3, (n,), generator=g)
        x = 0.1 * torch.randn(n, 1, 8, 8, generator=g)
        for i in range(n):
            c = int(y[i]) * 3 + shift % 2
            r = int(torch.randint(0, 7, (1,), generator=g))
            x[i, 0, r:r + 2, c:c + 2] += 1.0
        return TensorDataset(x, y)

    def load_data(self, data_root, quick):
        type(self).loads += 1
        return DomainData(self.make(240, 0), {"accuracy": self.make(90, 1), "shifted": self.make(90, 2, 1)},
                          {"train": 240})

    def train_and_score(self, design, budget, seed, data):
        type(self).trained += 1
        return super().train_and_score(design, budget, seed, data)


@pytest.fixture
def blobs():
    register_domain("blobs", BlobDomain, replace=True)
    BlobDomain.loads = BlobDomain.trained = 0
    yield
    unregister_domain("blobs")


def _register_apps():
    """Both app domains: through the installed entry points, else their plugins' register functions."""
    names = domain_names()
    if "go" not in names:
        from go_cnn.domain import register
        register()
    if "speech" not in names:
        from speech_cnn.domain import register
        register()


def test_registry_lists_both_domains():
    _register_apps()
    names = domain_names()
    assert "go" in names and "speech" in names
    go, sp = get_domain("go"), get_domain("speech")
    assert go.metrics == ("top1", "top5") and sp.metrics == ("accuracy", "speaker_disjoint_accuracy")
    for dom, want in ((go, {"fc", "cnn-3x3", "cnn-5x5", "cnn-5x5-maxpool"}), (sp, {"fc", "freq", "time", "2d"})):
        grid = dom.designs()
        assert want <= set(grid)
        for d in grid.values():   # every built-in design builds on its domain's input
            dom.spec(d)


def test_unknown_domain_is_a_clear_error(tmp_path):
    r = CliRunner().invoke(C.main, ["--domains", "nope", "--out", str(tmp_path)])
    assert r.exit_code != 0 and "unknown domain(s) ['nope']" in r.output
    assert "Traceback" not in r.output


def _md_rows(md: str, section: str) -> dict[str, list[str]]:
    part = md.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in part.splitlines():
        if line.startswith("| ") and not line.startswith("| design"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0]] = cells
    return rows


def test_quick_run_outputs_agree_and_resume(tmp_path, blobs):
    out = tmp_path / "cmp"
    args = ["--domains", "blobs", "--quick", "--seeds", "2", "--budget-samples", "1500", "--out", str(out)]
    r = CliRunner().invoke(C.main, args)
    assert r.exit_code == 0, r.output
    assert BlobDomain.trained == 4 and BlobDomain.loads == 1
    for f in ("comparison.md", "blobs.csv", "cross_domain.csv", "results.json", "blobs_accuracy.png"):
        assert (out / f).stat().st_size > 0, f
    assert len(list((out / "cache").glob("blobs-*.json"))) == 4

    doc = json.loads((out / "results.json").read_text())
    summ = {r["design"]: r for r in doc["domains"]["blobs"]["summary"]}
    runs = doc["domains"]["blobs"]["runs"]
    # JSON summary = mean / std of the runs
    for name in ("fc", "cnn"):
        xs = [r["metrics"]["accuracy"] for r in runs if r["design"] == name]
        assert len(xs) == 2
        assert summ[name]["accuracy_mean"] == pytest.approx(sum(xs) / 2)
        assert summ[name]["accuracy_std"] == pytest.approx(abs(xs[0] - xs[1]) / 2 ** 0.5)
        assert all(r["train_samples"] == 1500 for r in runs)
    # learned something: far above chance (1/3) on this easy task
    assert summ["cnn"]["accuracy_mean"] > 0.6
    # params/MACs are the architecture's: cnn = conv 4*9+4 = 40 + head (4*4*4)*3+3 = 195
    assert summ["cnn"]["params"] == 40 + 195 and summ["cnn"]["macs"] == 64 * 4 * 9 + 64 * 3
    assert summ["fc"]["params"] == 64 * 16 + 16 + 16 * 3 + 3

    # CSV = JSON, full precision
    with open(out / "blobs.csv") as f:
        rows = {r["design"]: r for r in csv.DictReader(f)}
    for name in ("fc", "cnn"):
        for k in ("accuracy_mean", "accuracy_std", "shifted_mean", "samples_per_s", "wall_s"):
            assert float(rows[name][k]) == pytest.approx(summ[name][k], rel=1e-9)
        assert int(rows[name]["params"]) == summ[name]["params"]
    with open(out / "cross_domain.csv") as f:
        cross = {r["design"]: r for r in csv.DictReader(f)}
    assert float(cross["cnn"]["mean"]) == pytest.approx(summ["cnn"]["accuracy_mean"])

    # Markdown = JSON to the printed precision
    md = (out / "comparison.md").read_text()
    mrows = _md_rows(md, "blobs")
    for name in ("fc", "cnn"):
        cells = mrows[name]
        assert int(cells[1].replace(",", "")) == summ[name]["params"]
        assert int(cells[2].replace(",", "")) == summ[name]["macs"]
        mean, std = (float(v) for v in re.findall(r"[\d.]+", cells[7]))
        assert mean == pytest.approx(summ[name]["accuracy_mean"], abs=5e-5)
        assert std == pytest.approx(summ[name]["accuracy_std"], abs=5e-5)

    # resume: the same command trains nothing and loads no data; the numbers are unchanged
    before = (out / "blobs.csv").read_text()
    r = CliRunner().invoke(C.main, args)
    assert r.exit_code == 0, r.output
    assert BlobDomain.trained == 4 and BlobDomain.loads == 1
    assert "cached" in r.output
    assert (out / "blobs.csv").read_text() == before
    assert json.loads((out / "results.json").read_text())["domains"]["blobs"]["data"] == {"train": 240}

    # one more seed: only the two new runs train
    r = CliRunner().invoke(C.main, args[:3] + ["--seeds", "3"] + args[5:])
    assert r.exit_code == 0, r.output
    assert BlobDomain.trained == 6


def test_interrupted_run_resumes(tmp_path, blobs, monkeypatch):
    out = tmp_path / "cmp"
    calls = {"n": 0}
    real = BlobDomain.train_and_score

    def dies_on_third(self, *a):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(self, *a)

    monkeypatch.setattr(BlobDomain, "train_and_score", dies_on_third)
    plan = C.Plan(["blobs"], [0, 1], {"blobs": Budget(samples=96)}, tmp_path, out, quick=True)
    with pytest.raises(KeyboardInterrupt):
        C.run_comparison(plan, log=lambda s: None)
    assert len(list((out / "cache").glob("blobs-*.json"))) == 2
    monkeypatch.setattr(BlobDomain, "train_and_score", real)
    BlobDomain.trained = 0
    doc = C.run_comparison(plan, log=lambda s: None)
    assert BlobDomain.trained == 2 and len(doc["domains"]["blobs"]["runs"]) == 4


def test_design_file_adds_and_replaces(tmp_path, blobs):
    toml = tmp_path / "d.toml"
    toml.write_text('''
[[designs]]
domain = "blobs"
name = "cnn-5x5"
description = "5x5 kernels"
layers = [ { type = "Conv", out = 2, kernel = 5, padding = "same" }, { type = "ReLU" } ]
''')
    plan = C.Plan(["blobs"], [0], {"blobs": Budget(samples=64)}, tmp_path, tmp_path / "o", quick=True)
    plan.designs_file, plan.replace = C.load_design_file(toml)
    dom = get_domain("blobs")
    assert list(C.grid_for(dom, plan)) == ["fc", "cnn", "cnn-5x5"]
    plan.replace = True
    assert list(C.grid_for(dom, plan)) == ["cnn-5x5"]
    js = tmp_path / "d.json"
    js.write_text(json.dumps({"designs": [{"domain": "blobs", "name": "x", "layers": [{"type": "Nope"}]}]}))
    plan.designs_file, _ = C.load_design_file(js)
    with pytest.raises(C.CompareError, match="design 'x' does not build on domain 'blobs': .*unknown layer type 'Nope'"):
        C.grid_for(dom, plan)


@pytest.mark.parametrize("text, msg", [
    ("designs = 3", "needs a non-empty 'designs' list"),
    ("[[designs]]\ndomain = 'blobs'\nname = 'a'", "missing 'layers'"),
    ("[[designs]]\ndomain = 'blobs'\nname = 'a'\nlayers = []\nlr = 1", "unknown key(s) ['lr']"),
    ("[[designs", "not valid TOML"),
])
def test_bad_design_file(tmp_path, blobs, text, msg):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    r = CliRunner().invoke(C.main, ["--domains", "blobs", "--designs", str(p), "--out", str(tmp_path / "o")])
    assert r.exit_code != 0 and str(p) in r.output and msg in r.output, r.output
    assert not (tmp_path / "o").exists()


def test_budget_options():
    assert C.parse_per_domain("go=40,speech=25", float, "x") == {"go": 40.0, "speech": 25.0}
    assert C.parse_per_domain("30", float, "x") == {"*": 30.0}
    with pytest.raises(C.CompareError):
        C.parse_per_domain("go=fast", float, "--budget-seconds")
    with pytest.raises(ValueError):
        Budget()
    assert Budget(seconds=40).key() != Budget(samples=40).key()


def test_example_design_file_builds_on_both_domains():
    _register_apps()
    path = Path(__file__).resolve().parents[1] / "docs" / "compare" / "example-designs.toml"
    designs, replace = C.load_design_file(path)
    assert set(designs) == {"go", "speech"} and not replace
    plan = C.Plan(["go", "speech"], [0], {}, Path("."), Path("."), designs_file=designs)
    go = C.grid_for(get_domain("go"), plan)
    assert "cnn-7x7" in go and "fc" in go
    assert get_domain("go").spec(go["cnn-7x7"]).layers[0].kernel == 7
    assert "freq-lws" in C.grid_for(get_domain("speech"), plan)


def test_time_budget_stops_training(blobs):
    dom = get_domain("blobs")
    data = dom.load_data(None, True)
    res = dom.train_and_score(dom.designs()["cnn"], Budget(seconds=1.0), 0, data)
    assert res.extra["stop"] == "time_budget"
    assert res.train_samples > 0 and 0.5 < res.train_seconds < 10
    assert set(res.metrics) == {"accuracy", "shifted"}


def test_speech_split_holds_one_speaker_out():
    from speech_cnn.domain import SpeechDomain, time_only_pooling
    from speech_cnn.model import cnn2d

    dom = SpeechDomain()
    speakers = ["a", "b", "c"]
    spk = [s for s in speakers for _ in range(10 * 50)][:1500]
    take = [t for _ in range(3) for _ in range(10) for t in range(50)]
    feats, labels = torch.arange(1500.0)[:, None], torch.zeros(1500, dtype=torch.long)
    data = DomainData(None, {}, {}, {"feats": feats, "labels": labels, "speakers": speakers, "speaker": spk,
                                     "take": take})
    for seed, held in ((0, "a"), (1, "b"), (4, "b")):
        train, evals = dom.datasets(data, seed)
        rows = lambda ds: {int(x) for x in ds.tensors[0][:, 0]}
        tr, seen, unseen = rows(train), rows(evals["accuracy"]), rows(evals["speaker_disjoint_accuracy"])
        assert not (tr & seen) and not (tr & unseen) and not (seen & unseen)
        assert {spk[i] for i in unseen} == {held} and len(unseen) == 500
        assert held not in {spk[i] for i in tr | seen}
        assert all(take[i] < 5 for i in seen) and all(take[i] >= 5 for i in tr)
        assert len(tr) == 2 * 450 and len(seen) == 2 * 50
    spec = time_only_pooling(cnn2d((1, 40, 101), 10, width=8))
    pools = [x for x in spec.layers if type(x).__name__ == "Pool"]
    assert pools and all(p.window[0] == 1 and p.stride[0] == 1 for p in pools)


DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.mark.data
def test_go_domain_quick_data():
    if not (DATA / "go" / "kgs-train").is_dir():
        pytest.skip("Go domain: ../shared/data/go/kgs-train not found")
    from go_cnn.domain import GoDomain

    dom = GoDomain()
    data = dom.load_data(DATA, quick=True)
    x, y = data.train[0]
    assert x.shape == (31, 19, 19) and x.dtype == torch.float32 and set(x.unique().tolist()) <= {0.0, 1.0}
    assert 0 <= int(y) < 361
    assert len(data.train) > 1000 and 0 < len(data.evals["kgs-dev"]) < len(data.train)
    assert dom.fingerprint(DATA, True) != dom.fingerprint(DATA, False)
