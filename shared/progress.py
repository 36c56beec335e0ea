"""Progress bar (tqdm: samples/s and ETA) and the JSON-lines metrics log."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from tqdm import tqdm


def progress_enabled(mode: str, is_main: bool) -> bool:
    """``"on"``/``"off"``, or ``"auto"``: only on the main process and when stderr is a terminal."""
    if not is_main or mode == "off":
        return False
    return mode == "on" or sys.stderr.isatty()


class Progress:
    """One bar per epoch counting samples; a no-op when disabled."""

    def __init__(self, total: int, desc: str, enabled: bool, initial: int = 0):
        self.bar = tqdm(total=total, initial=initial, desc=desc, unit="sample", unit_scale=True,
                        dynamic_ncols=True, leave=False) if enabled else None

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def postfix(self, **kw) -> None:
        if self.bar is not None:
            self.bar.set_postfix(kw, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def write(msg: str, enabled: bool = True) -> None:
    """Print a line without breaking a running bar."""
    if enabled:
        tqdm.write(msg, file=sys.stderr)


class JsonlLog:
    """Appends one JSON object per line; ``path=None`` logs nothing (non-main ranks, no out dir)."""

    def __init__(self, path: Path | None):
        self.path = path

    def log(self, record: dict) -> None:
        if self.path is None:
            return
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")
