"""SGF sources: files, folders (recursive), .zip and .tar(.gz/.tgz/.bz2/.xz) archives, read in place.

`iter_sources(paths)` yields `SourceFile(name, data, error)` in a deterministic order; archives are
streamed member by member, never unpacked to disk. Inside folders and archives only names ending in
`.sgf` (any case) are read (and nested archives inside folders); a file named on the command line is
always tried. A file whose first non-blank byte is not `(` is refused after reading 4 KiB, so a huge
random file costs nothing.
"""

from __future__ import annotations

import os
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

SNIFF_BYTES = 4096
MAX_FILE_BYTES = 256 << 20  # larger "SGF" files are refused
_TAR = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


@dataclass
class SourceFile:
    """One candidate SGF file: its display name, its bytes (None when refused), the reason."""

    name: str
    data: bytes | None
    error: str = ""


def sniff(head: bytes) -> str:
    """'' when `head` (the first bytes of a file) can start an SGF file, else the reason."""
    if not head.strip():
        return "empty file"
    h = head
    if h[:3] == b"\xef\xbb\xbf":
        h = h[3:]
    elif h[:2] in (b"\xff\xfe", b"\xfe\xff"):
        h = h[2:].replace(b"\x00", b"")
    elif len(h) > 1 and (h[0] == 0 or h[1] == 0):
        h = h.replace(b"\x00", b"")
    h = h.lstrip()
    if not h.startswith(b"("):
        return f"not SGF: starts with {h[:8]!r} instead of '('"
    return ""


def _read_stream(name: str, f, size: int | None) -> SourceFile:
    if size is not None and size > MAX_FILE_BYTES:
        return SourceFile(name, None, f"too large for an SGF file ({size >> 20} MiB)")
    head = f.read(SNIFF_BYTES)
    reason = sniff(head)
    if reason:
        return SourceFile(name, None, reason)
    return SourceFile(name, head + f.read())


def is_archive(path: str) -> bool:
    p = path.lower()
    return p.endswith(".zip") or p.endswith(_TAR)


def _iter_archive(path: Path) -> Iterator[SourceFile]:
    name = str(path)
    try:
        if name.lower().endswith(".zip"):
            with zipfile.ZipFile(path) as z:
                for info in sorted(z.infolist(), key=lambda i: i.filename):
                    if info.is_dir() or not info.filename.lower().endswith(".sgf"):
                        continue
                    with z.open(info) as f:
                        yield _read_stream(f"{name}:{info.filename}", f, info.file_size)
        else:
            with tarfile.open(path, "r:*") as t:
                for m in t:  # streamed in archive order (deterministic)
                    if not m.isfile() or not m.name.lower().endswith(".sgf"):
                        continue
                    yield _read_stream(f"{name}:{m.name}", t.extractfile(m), m.size)
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError, RuntimeError) as e:
        yield SourceFile(name, None, f"unreadable archive: {e.__class__.__name__}: {e}")


def _iter_path(path: Path, explicit: bool) -> Iterator[SourceFile]:
    if path.is_dir():
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for f in sorted(files):
                p = Path(root) / f
                if f.lower().endswith(".sgf") or is_archive(f):
                    yield from _iter_path(p, explicit=False)
        return
    if is_archive(str(path)):
        yield from _iter_archive(path)
        return
    try:
        with open(path, "rb") as f:
            yield _read_stream(str(path), f, os.fstat(f.fileno()).st_size)
    except OSError as e:
        yield SourceFile(str(path), None, f"unreadable: {e.strerror or e}")


def iter_sources(paths) -> Iterator[SourceFile]:
    """Every candidate SGF file under `paths` (files, folders, archives), in a stable order."""
    for p in paths:
        path = Path(p)
        if not path.exists():
            yield SourceFile(str(path), None, "no such file or directory")
            continue
        yield from _iter_path(path, explicit=True)
