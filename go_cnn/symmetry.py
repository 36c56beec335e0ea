"""The 8 symmetries of the square board (dihedral group D4), for planes and move indices.

Symmetry s in 0..7: first transpose when s & 4, then flip rows (up-down) when s & 1, then flip
columns (left-right) when s & 2. s = 0 is the identity. Every symmetry is stored as a gather table
`src[s]` (N,): new_planes[..., q] = planes[..., src[s][q]], and a scatter table `dst[s]` (N,):
a move at flat p goes to dst[s][p]. Pass (-1) is unchanged. Works on numpy arrays and torch
tensors, batched, with one symmetry per sample.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

NUM_SYMMETRIES = 8


def _grid(s: int, g: np.ndarray) -> np.ndarray:
    if s & 4:
        g = g.T
    if s & 1:
        g = g[::-1, :]
    if s & 2:
        g = g[:, ::-1]
    return g


@lru_cache(maxsize=None)
def tables(size: int = 19) -> tuple[np.ndarray, np.ndarray]:
    """(src, dst), each (8, N) int64: gather table for planes, scatter table for moves."""
    n = size * size
    src = np.stack([_grid(s, np.arange(n).reshape(size, size)).ravel() for s in range(8)])
    dst = np.argsort(src, axis=1)
    src.setflags(write=False)
    dst.setflags(write=False)
    return src, dst


def inverse(s: int, size: int = 19) -> int:
    """The symmetry t with t(s(x)) = x."""
    src, dst = tables(size)
    return next(t for t in range(8) if (dst[t][dst[s]] == np.arange(size * size)).all())


def compose(a: int, b: int, size: int = 19) -> int:
    """The symmetry c with c(x) = b(a(x)) (a first, then b)."""
    src, dst = tables(size)
    target = dst[b][dst[a]]
    return next(c for c in range(8) if (dst[c] == target).all())


def apply_moves(moves, syms, size: int = 19):
    """moves (B,) flat indices (-1 pass kept), syms (B,) or int -> transformed moves (same type)."""
    _, dst = tables(size)
    if isinstance(moves, torch.Tensor):
        table = torch.as_tensor(dst.copy(), device=moves.device)
        syms = torch.as_tensor(syms, device=moves.device).expand(moves.shape)
        out = table[syms, moves.clamp(min=0)]
        return torch.where(moves < 0, moves, out)
    moves = np.asarray(moves)
    out = dst[np.broadcast_to(syms, moves.shape), np.maximum(moves, 0)]
    return np.where(moves < 0, moves, out).astype(moves.dtype)


def apply_planes(planes, syms, size: int = 19):
    """planes (B, C, size, size), syms (B,) or int -> transformed planes (numpy or torch)."""
    src, _ = tables(size)
    b, c = planes.shape[:2]
    if isinstance(planes, torch.Tensor):
        idx = torch.as_tensor(src.copy(), device=planes.device)[torch.as_tensor(syms, device=planes.device).expand(b)]
        flat = planes.reshape(b, c, size * size)
        return torch.gather(flat, 2, idx[:, None, :].expand(b, c, -1)).reshape(planes.shape)
    idx = src[np.broadcast_to(syms, (b,))]  # (B, N)
    flat = planes.reshape(b, c, size * size)
    return np.take_along_axis(flat, idx[:, None, :], axis=2).reshape(planes.shape)
