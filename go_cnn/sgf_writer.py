"""Write one game as an FF[4] SGF record (the reader lives in `sgf.py`).

Used by `match.py` (every refereed game is saved) and `selfplay.py` (the embedded games).
Moves are (colour, flat index) with colour "B"/"W" and `coords.PASS` for a pass (written `B[]`).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from go_cnn.coords import flat_to_sgf


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("]", "\\]")


def game_to_sgf(moves: Iterable[tuple[str, int]], *, size: int = 19, komi: float = 7.5,
                result: str = "", black: str = "", white: str = "",
                setup_black: Iterable[int] = (), handicap: int = 0,
                rules: str = "Chinese", extra: Mapping[str, str] | None = None) -> str:
    """Return the SGF text of a game (one line of root properties, one node per move)."""
    root = {"GM": "1", "FF": "4", "CA": "UTF-8", "AP": "go_cnn", "SZ": str(size),
            "KM": f"{komi:g}", "RU": rules}
    if black:
        root["PB"] = black
    if white:
        root["PW"] = white
    if result:
        root["RE"] = result
    if handicap:
        root["HA"] = str(handicap)
    root.update(extra or {})
    parts = ["(;" + "".join(f"{k}[{_escape(v)}]" for k, v in root.items())]
    stones = [flat_to_sgf(p, size) for p in setup_black]
    if stones:
        parts.append("AB" + "".join(f"[{s}]" for s in stones))
        parts.append("PL[W]")
    for colour, point in moves:
        if colour not in ("B", "W"):
            raise ValueError(f"move colour must be 'B' or 'W', not {colour!r}")
        parts.append(f"\n;{colour}[{flat_to_sgf(point, size)}]")
    parts.append(")\n")
    return "".join(parts)
