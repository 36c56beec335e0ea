"""The team's real data beside the checkout (`../shared/data`), read in place; tests that need it
skip with a message where it is absent."""
import tarfile
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def kgs_dev_sgfs(limit: int | None = None) -> list[bytes]:
    """The bytes of the kgs-dev SGF files, archive by archive in name order (at most `limit`)."""
    tars = sorted((DATA / "go" / "kgs-dev").glob("*.tar.gz"))
    if not tars:
        pytest.skip("kgs-dev: ../shared/data/go/kgs-dev not found")
    out = []
    for tar in tars:
        with tarfile.open(tar) as t:
            for m in t:
                if m.isfile() and m.name.endswith(".sgf"):
                    out.append(t.extractfile(m).read())
                    if limit and len(out) >= limit:
                        return out
    return out
