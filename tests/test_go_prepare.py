import io
import json
import os
import tarfile
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from go_cnn.cli import main
from go_cnn.prepare import PrepareConfig, prepare, rank_value

GAME = "(;FF[4]SZ[19]BR[{br}]WR[5d]HA[{ha}];B[{a}];W[dp];B[pq];W[dd];B[qo])"


def game(a="pd", br="6d", ha=0):
    return GAME.format(a=a, br=br, ha=ha).encode()


def run(args):
    r = CliRunner().invoke(main, ["prepare", *args, "--no-progress"])
    return r


@pytest.fixture
def mixed(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    for i, a in enumerate(["pd", "qd", "pc", "qc", "oc"]):
        (d / f"g{i}.sgf").write_bytes(game(a))
    (d / "dup.sgf").write_bytes(game("pd"))
    (d / "empty.sgf").write_bytes(b"")
    (d / "garbage.sgf").write_bytes(bytes(range(256)) * 4)
    (d / "truncated.sgf").write_bytes(game("pd")[:40])
    (d / "small.sgf").write_bytes(b"(;SZ[9];B[aa];W[bb])")
    with open(d / "huge.sgf", "wb") as f:  # 100 MB random; refused after sniffing 4 KiB
        f.write(b"\x00garbage")
        for _ in range(100):
            f.write(os.urandom(1 << 20))
    return d


def test_bad_inputs_reported_and_exit_0(mixed, tmp_path):
    out = tmp_path / "out"
    r = run([str(mixed), "--out", str(out), "--json", "--workers", "2"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout.strip().splitlines()[-1])
    bad = {os.path.basename(n): why for n, why in rep["bad_files"]}
    assert bad.keys() == {"empty.sgf", "garbage.sgf", "truncated.sgf", "huge.sgf"}
    assert bad["empty.sgf"] == "empty file" and bad["truncated.sgf"].startswith("truncated")
    assert bad["huge.sgf"].startswith("not SGF")
    assert rep["files_read"] == 7 and rep["games_read"] == 7 and rep["games_used"] == 5
    assert rep["games_skipped"] == {"duplicate": 1, "board size 9 (19x19 only)": 1}
    assert rep["positions"] == 25 and rep["train_positions"] + rep["val_positions"] == 25
    assert rep["bytes_per_position"] == 114
    assert "Traceback" not in r.output
    assert not list(out.glob("*.tmp")) and (out / "manifest.json").exists()


def test_nothing_usable_and_unwritable(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "x.sgf").write_bytes(b"junk")
    r = run([str(d), "--out", str(tmp_path / "o")])
    assert r.exit_code != 0 and "no usable games" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o" / "manifest.json").exists()
    (d / "g.sgf").write_bytes(game())
    (tmp_path / "file").write_text("x")
    r = run([str(d), "--out", str(tmp_path / "file" / "sub")])
    assert r.exit_code != 0 and "cannot write" in r.output
    r = run([str(d), "--out", str(tmp_path / "o"), "--strict"])
    assert r.exit_code != 0 and "--strict" in r.output


def test_filters_archives_and_split(tmp_path):
    zpath, tpath = tmp_path / "a.zip", tmp_path / "b.tar.gz"
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("x/g1.sgf", game("pd", br="3k"))
        z.writestr("x/g2.sgf", game("qd", ha=2))
        z.writestr("x/readme.txt", "not a game")
    with tarfile.open(tpath, "w:gz") as t:
        data = game("pc", br="7d")
        info = tarfile.TarInfo("y/g3.sgf")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    cfg = PrepareConfig(workers=1, min_rank="1d", no_handicap=True, progress=False, val_fraction=0.5)
    rep = prepare([zpath, tpath], tmp_path / "o", cfg)
    assert rep["files_read"] == 3 and rep["games_used"] == 1
    assert rep["games_skipped"] == {"rank below minimum": 1, "handicap game": 1}
    assert rank_value("30k") == -29 and rank_value("1k") == 0 and rank_value("9d") == 9 and rank_value("1p") == 10


def test_resume_skips_finished_shards(mixed, tmp_path):
    out = tmp_path / "o"
    cfg = PrepareConfig(workers=1, chunk_files=3, progress=False)
    first = prepare([mixed], out, cfg)
    stamp = {p.name: p.stat().st_mtime_ns for p in out.glob("shard-*.pos.npy")}
    victim = sorted(out.glob("shard-*.json"))[0]
    victim.unlink()  # an interrupted run: this shard has no done-marker
    (out / "manifest.json").unlink()
    again = prepare([mixed], out, cfg)
    assert again["shards_reused"] == first["shards"] - 1
    assert {k: again[k] for k in ("positions", "games_used")} == {k: first[k] for k in ("positions", "games_used")}
    changed = [n for n, t in stamp.items() if (out / n).stat().st_mtime_ns != t]
    assert changed == [victim.name.replace(".json", ".pos.npy")]


def test_shard_parts_combine(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    for i, a in enumerate(["pd", "qd", "pc", "qc"]):
        (d / f"g{i}.sgf").write_bytes(game(a))
    out = tmp_path / "o"
    for i in range(2):
        prepare([d], out, PrepareConfig(workers=1, chunk_files=1, shard=(i, 2), progress=False))
    from go_cnn.dataset import GoShardDataset
    ds = GoShardDataset(out, split="all")
    assert len(ds) == 20 and not (out / "manifest.json").exists()


@pytest.mark.slow
def test_kgs_train_end_to_end(tmp_path):
    from pathlib import Path
    src = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "go" / "kgs-train"
    if not src.exists():
        pytest.skip("kgs-train: ../shared/data/go/kgs-train not found")
    rep = prepare([src], tmp_path / "o", PrepareConfig(workers=2, progress=False))
    assert rep["files_read"] == rep["games_read"] == 32047
    assert rep["games_used"] + sum(rep["games_skipped"].values()) == 32047
