"""`go-cnn prepare`: SGF sources -> filtered, deduplicated, split, compact training shards.

Files are enumerated in a stable order and cut into chunks of `chunk_files` files; chunk i becomes
shard `shard-<i>` (built by a worker process). A finished shard has its done-marker (shards.py), so
a re-run skips it; the manifest is written last. Duplicates (same record hash) and the train/val
split are decided per game from the hash, so shards built on several machines (`shard=(i, N)`)
combine. Bad files and skipped games are counted with their reason, never raised.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import re
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from go_cnn.board import replay_game
from go_cnn.features import get_feature_set
from go_cnn.sgf import SGFError, parse_sgf
from go_cnn.shards import (GAME_DTYPE, POSITION_DTYPE, game_hash, is_val, pack_stones, read_marker,
                           write_shard)
from go_cnn.sources import iter_sources

MANIFEST_VERSION = 1


class PrepareError(Exception):
    """Nothing usable, or the output cannot be written; the message says why."""


@dataclass
class PrepareConfig:
    features: str = "alphago"       # feature set the loader builds (recorded in the manifest)
    workers: int = 0                # worker processes; 0 = all cores
    val_fraction: float = 0.05      # share of games (by record hash) in the validation split
    min_rank: str | None = None     # e.g. "6d": both players at least this rank
    no_handicap: bool = False       # skip games with HA >= 2 or setup stones
    min_moves: int = 0              # skip records with fewer moves
    strict: bool = False            # any skipped file/game makes the run fail
    shard: tuple = (0, 1)           # (i, N): build only chunks with index % N == i
    chunk_files: int = 1000         # files per shard
    progress: bool = True           # tqdm bar on stderr


def rank_value(rank: str) -> float | None:
    """'30k' -> -29, '1k' -> 0, '1d' -> 1, '9d' -> 9, '1p' -> 10 (pros above amateur 9d)."""
    m = re.match(r"\s*(\d+)\s*([kdp])", rank.lower())
    if not m:
        return None
    n, kind = int(m.group(1)), m.group(2)
    return {"k": 1 - n, "d": n, "p": 9 + n}[kind]


def _filter(game, cfg: PrepareConfig, min_rank: float | None) -> str:
    if game.size != 19:
        return f"board size {game.size} (19x19 only)"
    if cfg.no_handicap and (game.handicap >= 2 or any(c in (3, 4) for c, _ in game.events)):
        return "handicap game"
    if min_rank is not None:
        b, w = rank_value(game.black_rank), rank_value(game.white_rank)
        if b is None or w is None:
            return "rank missing"
        if min(b, w) < min_rank:
            return "rank below minimum"
    if len(game.moves) < max(cfg.min_moves, 1):
        return "too few moves" if game.moves else "no moves"
    return ""


def process_chunk(args) -> dict:
    """Worker: parse, filter, replay one chunk of files; write its shard; return its marker."""
    out, name, files, cfg, key = args
    stats = {"chunk_key": key, "files_read": 0, "bad_files": [], "games_read": 0, "games_skipped": Counter(),
             "games_truncated": Counter(), "passes": 0}
    min_rank = rank_value(cfg.min_rank) if cfg.min_rank else None
    recs, games, start = [], [], 0
    for fname, data, error in files:
        if data is None:
            stats["bad_files"].append([fname, error])
            continue
        try:
            parsed = parse_sgf(data)
        except SGFError as e:
            stats["bad_files"].append([fname, str(e)])
            continue
        stats["files_read"] += 1
        for g in parsed:
            stats["games_read"] += 1
            reason = g.error if g.error and not g.events else _filter(g, cfg, min_rank)
            if reason:
                stats["games_skipped"][reason] += 1
                continue
            r = replay_game(g)
            err = g.error or r["error"]
            if err:
                stats["games_truncated"][re.sub(r" ?\(.*|\[.*| at move.*", "", err)] += 1
            n = len(r["target"])
            stats["passes"] += sum(1 for _, p in g.moves if p < 0)
            if n == 0:
                stats["games_skipped"]["no positions before the first illegal move" if err else "no moves"] += 1
                continue
            rec = np.empty(n, POSITION_DTYPE)
            rec["stones"] = pack_stones(r["stones"])
            rec["last"], rec["ko"], rec["target"] = r["last"], r["ko"], r["target"]
            rec["move_number"], rec["to_move"] = r["move_number"], r["to_move"]
            recs.append(rec)
            games.append((game_hash(g.size, g.events), start, n))
            start += n
    positions = np.concatenate(recs) if recs else np.empty(0, POSITION_DTYPE)
    game_arr = np.array(games, GAME_DTYPE) if games else np.empty(0, GAME_DTYPE)
    stats["games_skipped"] = dict(stats["games_skipped"])
    stats["games_truncated"] = dict(stats["games_truncated"])
    return write_shard(Path(out), name, positions, game_arr, stats)


def _chunk_key(chunk, cfg) -> str:
    """Identity of a chunk's inputs and settings: a finished shard is reused only when it matches."""
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((cfg.min_rank, cfg.no_handicap, cfg.min_moves)).encode())
    for name, data, error in chunk:
        h.update(f"{name}\0{len(data) if data is not None else error}\0".encode())
        if data is not None:
            h.update(hashlib.blake2b(data, digest_size=8).digest())
    return h.hexdigest()


def _chunks(sources, size):
    chunk = []
    for f in iter_sources(sources):
        chunk.append((f.name, f.data, f.error))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def combine(out: Path, markers: list[dict], val_fraction: float) -> dict:
    """Dedup (first record in shard order wins) and split over all shards; returns counts."""
    hashes, counts = [], []
    for m in markers:
        g = np.load(out / m["files"]["games"])
        hashes.append(g["hash"])
        counts.append(g["count"])
    h = np.concatenate(hashes) if hashes else np.empty(0, np.uint64)
    c = np.concatenate(counts) if counts else np.empty(0, np.int32)
    _, first = np.unique(h, return_index=True)
    keep = np.zeros(len(h), bool)
    keep[first] = True
    val = is_val(h, val_fraction)
    return {"duplicates": int((~keep).sum()), "games_used": int(keep.sum()),
            "positions": int(c[keep].sum()), "train_positions": int(c[keep & ~val].sum()),
            "val_positions": int(c[keep & val].sum()), "train_games": int((keep & ~val).sum()),
            "val_games": int((keep & val).sum())}


def prepare(sources, out, cfg: PrepareConfig = PrepareConfig()) -> dict:
    """Build shards + manifest in `out`; returns the report dict. Raises PrepareError."""
    t0 = time.time()
    fs = get_feature_set(cfg.features)  # ValueError for an unknown name
    if not 0 <= cfg.val_fraction < 1:
        raise PrepareError(f"--val-fraction must be in [0, 1), got {cfg.val_fraction}")
    if cfg.min_rank and rank_value(cfg.min_rank) is None:
        raise PrepareError(f"--min-rank {cfg.min_rank!r} is not a rank like 30k, 1d, 9d or 1p")
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise PrepareError(f"cannot write to {out}: {e.strerror or e}") from None
    si, sn = cfg.shard
    workers = cfg.workers or os.cpu_count() or 1
    markers, pending = {}, []
    reused = 0
    bar = None
    if cfg.progress:
        from tqdm import tqdm
        bar = tqdm(desc="prepare", unit=" files", file=sys.stderr, dynamic_ncols=True)
    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    sources = [str(s) for s in sources]
    with ctx.Pool(workers) as pool:
        for i, chunk in enumerate(_chunks(sources, cfg.chunk_files)):
            if i % sn != si:
                continue
            name = f"shard-{i:05d}"
            key = _chunk_key(chunk, cfg)
            done = read_marker(out, name)
            if done is not None and done["stats"].get("chunk_key") == key:
                markers[i] = done
                reused += 1
                if bar is not None:
                    bar.update(len(chunk))
                continue
            while len(pending) >= 2 * workers:  # bound memory: few chunks in flight
                j, res, n = pending.pop(0)
                markers[j] = res.get()
                if bar is not None:
                    bar.update(n)
            pending.append((i, pool.apply_async(process_chunk, ((str(out), name, chunk, cfg, key),)), len(chunk)))
        for j, res, n in pending:
            markers[j] = res.get()
            if bar is not None:
                bar.update(n)
    if bar is not None:
        bar.close()
    ordered = [markers[i] for i in sorted(markers)]
    report = _report(out, ordered, cfg, fs, time.time() - t0, reused, sources)
    if report["games_used"] == 0:
        bad = "".join(f"\n  {n}: {why}" for n, why in report["bad_files"][:20])
        raise PrepareError("no usable games found; skipped games: " + json.dumps(report["games_skipped"]) +
                           (f"; {len(report['bad_files'])} bad file(s):{bad}" if report["bad_files"] else ""))
    if cfg.strict and (report["bad_files"] or report["games_skipped"] or report["games_truncated"]):
        raise PrepareError("--strict: some files or games were skipped (see the report); no manifest written")
    manifest = {"version": MANIFEST_VERSION, "feature_set": fs.name, "num_planes": fs.num_planes,
                "board_size": 19, "val_fraction": cfg.val_fraction, "shard": f"{si}/{sn}",
                "shards": [m["name"] for m in ordered], "report": report}
    mname = "manifest.json" if sn == 1 else f"manifest-{si}-of-{sn}.json"
    tmp = out / (mname + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, out / mname)
    return report


def _report(out, markers, cfg, fs, seconds, reused, sources) -> dict:
    skipped, truncated, bad = Counter(), Counter(), []
    files_read = games_read = passes = 0
    for m in markers:
        s = m["stats"]
        files_read += s["files_read"]
        games_read += s["games_read"]
        passes += s["passes"]
        skipped.update(s["games_skipped"])
        truncated.update(s["games_truncated"])
        bad += s["bad_files"]
    c = combine(out, markers, cfg.val_fraction)
    if c["duplicates"]:
        skipped["duplicate"] += c["duplicates"]
    return {"sources": [str(s) for s in sources], "out": str(out), "feature_set": fs.name,
            "files_read": files_read, "files_bad": len(bad), "bad_files": bad, "games_read": games_read,
            "games_used": c["games_used"], "games_skipped": dict(skipped),
            "games_truncated": dict(truncated), "positions": c["positions"],
            "train_games": c["train_games"], "val_games": c["val_games"],
            "train_positions": c["train_positions"], "val_positions": c["val_positions"],
            "passes_not_positions": passes, "shards": len(markers), "shards_reused": reused,
            "bytes_per_position": POSITION_DTYPE.itemsize, "seconds": round(seconds, 2), "config": asdict(cfg)}


def format_report(r: dict) -> str:
    """Human-readable report (stderr)."""
    lines = [f"files read {r['files_read']:,}, bad files {r['files_bad']:,}",
             f"games read {r['games_read']:,}, used {r['games_used']:,} "
             f"(train {r['train_games']:,} / val {r['val_games']:,})",
             f"positions {r['positions']:,} (train {r['train_positions']:,} / val {r['val_positions']:,}),"
             f" {r['bytes_per_position']} bytes each; shards {r['shards']} ({r['shards_reused']} reused)",
             f"{r['seconds']:.1f} s"]
    for k, v in sorted(r["games_skipped"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  skipped {v:,}: {k}")
    for k, v in sorted(r["games_truncated"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  kept positions before the illegal move, {v:,}: {k}")
    for name, why in r["bad_files"][:50]:
        lines.append(f"  bad file {name}: {why}")
    if len(r["bad_files"]) > 50:
        lines.append(f"  ... and {len(r['bad_files']) - 50} more bad files (see --json)")
    return "\n".join(lines)
