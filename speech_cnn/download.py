"""`speech-cnn download fsdd|speech-commands DEST`: resumable, checksummed, atomic.

Flow: DEST/<archive>.part grows by HTTP Range requests (a server answering 200 instead of 206
restarts it from zero); once complete its sha256 is checked (when known) and it is renamed to
DEST/<archive>; the archive is extracted into a temporary folder in DEST which is then renamed
to DEST/<target>. A checksum mismatch deletes the .part (a retry starts clean) and raises
DownloadError naming the URL and both digests.

Checksums: Speech Commands v0.02 has a published sha256. GitHub's generated tag archives for FSDD
have no published digest (and GitHub does not promise byte-stable archives), so for FSDD only the
extraction is verified and the computed sha256 is printed for the user to record.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path


class DownloadError(Exception):
    """Download, checksum or extraction failure; the message names the URL/file and the reason."""


@dataclass(frozen=True)
class Source:
    url: str  # default full URL of the archive
    archive: str  # file name stored in DEST
    target: str  # folder in DEST the dataset ends up in
    sha256: str | None  # expected digest of the archive, None when none is published
    root: str = ""  # path inside target that scan() should be given ("" = target itself)


SOURCES = {
    "fsdd": Source(
        url="https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/tags/v1.0.10.tar.gz",
        archive="free-spoken-digit-dataset-1.0.10.tar.gz",
        target="fsdd",
        sha256=None,
        root="free-spoken-digit-dataset-1.0.10"),
    "speech-commands": Source(
        url="http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz",
        archive="speech_commands_v0.02.tar.gz",
        target="speech_commands_v0.02",
        sha256="af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58"),
}


def sha256_file(path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def fetch(url: str, dest: Path, sha256: str | None = None, timeout: float = 60.0,
          chunk: int = 1 << 16, log=print) -> Path:
    """Download url to dest via dest + '.part', resuming a partial .part with a Range request."""
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"User-Agent": "speech-cnn"})
    if have:
        req.add_header("Range", f"bytes={have}-")
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # range not satisfiable: the .part is already complete
            resp = None
        else:
            raise DownloadError(f"{url}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        raise DownloadError(f"{url}: {getattr(e, 'reason', e)}") from None
    if resp is not None:
        with resp:
            mode = "ab" if have and resp.status == 206 else "wb"
            if have and mode == "wb":
                log(f"{url}: server ignored the range request, restarting")
            elif have:
                log(f"resuming {dest.name} at {have} bytes")
            try:
                with open(part, mode) as f:
                    while block := resp.read(chunk):
                        f.write(block)
            except OSError as e:
                raise DownloadError(f"{url}: interrupted ({e}); run again to resume") from None
    if sha256 is not None:
        got = sha256_file(part)
        if got != sha256:
            part.unlink()
            raise DownloadError(f"{url}: checksum mismatch: expected sha256 {sha256}, got {got}")
    os.replace(part, dest)
    return dest


def _safe_members(names: list[str], archive: Path) -> None:
    for n in names:
        p = Path(n)
        if p.is_absolute() or ".." in p.parts:
            raise DownloadError(f"{archive}: unsafe path in archive: {n}")


def extract(archive: Path, into: Path) -> None:
    """Extract a .tar.gz/.tgz/.tar/.zip into the folder `into` (created)."""
    into.mkdir(parents=True, exist_ok=True)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                _safe_members(z.namelist(), archive)
                z.extractall(into)
        else:
            with tarfile.open(archive) as t:
                _safe_members(t.getnames(), archive)
                if hasattr(tarfile, "data_filter"):
                    t.extractall(into, filter="data")
                else:
                    t.extractall(into)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as e:
        raise DownloadError(f"{archive}: cannot extract ({e})") from None


def download(name: str, dest, base_url: str | None = None, sha256: str | None = None,
             force: bool = False, log=print) -> Path:
    """Download and extract dataset `name` into DEST; returns the folder to pass to scan().

    base_url replaces the URL's folder (the archive's remote file name is kept), e.g. a mirror
    or a local test server; sha256 overrides the known digest.
    """
    if name not in SOURCES:
        raise DownloadError(f"unknown dataset {name!r}; choose one of {', '.join(SOURCES)}")
    src = SOURCES[name]
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    url = src.url if base_url is None else base_url.rstrip("/") + "/" + src.url.rsplit("/", 1)[1]
    expected = sha256 or src.sha256
    target = dest / src.target
    if target.is_dir() and not force:
        log(f"{target} exists; use --force to fetch again")
        return target / src.root
    archive = dest / src.archive
    if archive.is_file() and (force or (expected and sha256_file(archive) != expected)):
        archive.unlink()
    if not archive.is_file():
        log(f"downloading {url}")
        fetch(url, archive, expected, log=log)
    digest = sha256_file(archive)
    log(f"{archive.name} sha256 {digest}" + (" (verified)" if expected else " (no published digest)"))
    tmp = dest / f".{src.target}.extracting"
    shutil.rmtree(tmp, ignore_errors=True)
    extract(archive, tmp)
    if target.exists():
        shutil.rmtree(target)
    os.replace(tmp, target)
    log(f"extracted to {target}")
    return target / src.root
