"""Checkpoint files: atomic writes, safe loads, self-describing models.

A checkpoint is a dict of tensors and plain containers saved with ``torch.save``:

    {"format": "cnn-two-domains-checkpoint", "version": 1,
     "model": state_dict, "meta": {...JSON-able...}, ...optimizer/scheduler/RNG/progress for resume}

``meta`` is stored as a JSON string (so only plain data ever goes in) and holds ``"spec"``
(``spec_to_dict``), ``"app"`` and the app's settings (features, labels, audio settings): enough to
rebuild and use the model from the file alone (``load_model``).

Loading uses ``torch.load(weights_only=True)``: it never unpickles arbitrary objects, so a file
carrying a pickled payload is refused (``CheckpointError``) before anything in it can run.
"""
from __future__ import annotations

import json
import os
import pickle
import re
import tempfile
from pathlib import Path
from typing import Any

import torch

FORMAT = "cnn-two-domains-checkpoint"
VERSION = 1


class CheckpointError(Exception):
    """A checkpoint file is missing, truncated, foreign, or carries non-weights pickled objects."""


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``path`` atomically: a temp file in the same directory, flushed and fsynced,
    then ``os.replace``d over the final name. A crash leaves either the old file or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = dict(state)
    state["format"], state["version"] = FORMAT, VERSION
    state["meta"] = json.dumps(state.get("meta") or {}, sort_keys=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file normal permissions
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by ``save_checkpoint``; ``state["meta"]`` comes back as a dict.
    Raises ``CheckpointError`` naming the file and the reason for anything else."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: empty file, not a checkpoint")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        msg = str(e)
        if "weights_only" in msg or "Unsupported global" in msg or "Weights only" in msg:
            what = re.search(r"Unsupported global: GLOBAL (\S+)", msg)
            raise CheckpointError(f"{path}: refused: it contains pickled Python objects that are not weights"
                                  f"{f' ({what.group(1)})' if what else ''}; only tensors and plain containers "
                                  f"are loaded, nothing in the file was run") from None
        raise CheckpointError(f"{path}: not a readable checkpoint ({_first_line(e)})") from None
    except Exception as e:  # zip/pickle/EOF errors of a truncated or foreign file
        raise CheckpointError(f"{path}: truncated or not a checkpoint file ({_first_line(e)})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: a PyTorch file but not a checkpoint of this project (no {FORMAT!r} marker)")
    if state.get("version", 0) > VERSION:
        raise CheckpointError(f"{path}: checkpoint version {state.get('version')} is newer than this code ({VERSION})")
    try:
        state["meta"] = json.loads(state.get("meta") or "{}")
    except (TypeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: corrupt meta ({e})") from None
    return state


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _first_line(e: BaseException) -> str:
    s = str(e).strip().splitlines()
    return s[0][:200] if s else type(e).__name__


def load_model(path: str | os.PathLike, map_location: str | torch.device = "cpu"):
    """Rebuild the ``Network`` stored in a checkpoint from ``meta["spec"]`` and load its weights.
    -> ``(network in eval mode, meta)``."""
    from .network import build, spec_from_dict

    state = load_checkpoint(path, map_location)
    meta = state["meta"]
    if "spec" not in meta or "model" not in state:
        raise CheckpointError(f"{Path(path)}: checkpoint has no network spec in its meta; cannot rebuild the model")
    try:
        net = build(spec_from_dict(meta["spec"]))
        net.load_state_dict(state["model"])
    except (ValueError, RuntimeError) as e:
        raise CheckpointError(f"{Path(path)}: stored spec and weights do not match ({_first_line(e)})") from None
    return net.eval(), meta
