"""Board coordinates: every system the Go data path meets, and exact conversions between them.

Board size is always a parameter (default 19). Rows are counted from the TOP in the flat index
and in SGF, from the BOTTOM in GTP. Example points on a 19x19 board:

| system        | top-left  | top-right | bottom-left | bottom-right | 4-4 point top-left | pass            |
|---------------|-----------|-----------|-------------|--------------|--------------------|-----------------|
| flat index    | 0         | 18        | 342         | 360          | 60                 | PASS (= -1)     |
| (row, col)    | (0, 0)    | (0, 18)   | (18, 0)     | (18, 18)     | (3, 3)             | None            |
| SGF           | "aa"      | "sa"      | "as"        | "ss"         | "dd"               | "" or "tt" [1]  |
| GTP           | "A19"     | "T19"     | "A1"        | "T1"         | "D16"              | "pass"          |

- flat index = row * size + col; row 0 is the top edge (SGF "a", GTP row `size`).
- (row, col): row 0 = top, col 0 = left.
- SGF: two letters, column first then row, "a" = top/left; letters run a..z then A..Z (sizes up to 52).
  [1] "tt" means pass only on boards <= 19x19 (on 20x20 and larger it is a real point).
- GTP: column letter A..Z skipping I (so 19x19 runs A..T), then the row number counted from the
  bottom (1 = bottom edge). Case-insensitive on input; "pass" (any case) is a pass.
- Training targets use the flat index; a pass is never a training target (see docs/design.md).
"""

from __future__ import annotations

PASS = -1  # flat index of a pass move

GTP_COLUMNS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"  # no "I"
SGF_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def to_flat(row: int, col: int, size: int = 19) -> int:
    """(row, col) -> flat index; raises ValueError when off the board."""
    if not (0 <= row < size and 0 <= col < size):
        raise ValueError(f"point ({row}, {col}) is off a {size}x{size} board")
    return row * size + col


def from_flat(index: int, size: int = 19) -> tuple[int, int] | None:
    """flat index -> (row, col); PASS -> None."""
    if index == PASS:
        return None
    if not 0 <= index < size * size:
        raise ValueError(f"flat index {index} is off a {size}x{size} board")
    return divmod(index, size)


def sgf_to_flat(text: str, size: int = 19) -> int:
    """SGF point ("dd") -> flat index; "" and ("tt" when size <= 19) -> PASS."""
    if text == "" or (text == "tt" and size <= 19):
        return PASS
    if len(text) != 2:
        raise ValueError(f"SGF point {text!r} is not two letters")
    col, row = SGF_LETTERS.find(text[0]), SGF_LETTERS.find(text[1])
    if col < 0 or row < 0:
        raise ValueError(f"SGF point {text!r} has a character outside a-z, A-Z")
    return to_flat(row, col, size)


def flat_to_sgf(index: int, size: int = 19) -> str:
    """flat index -> SGF point; PASS -> "" (the FF[4] form)."""
    rc = from_flat(index, size)
    if rc is None:
        return ""
    row, col = rc
    return SGF_LETTERS[col] + SGF_LETTERS[row]


def gtp_to_flat(text: str, size: int = 19) -> int:
    """GTP vertex ("D16", "pass") -> flat index."""
    t = text.strip().upper()
    if t == "PASS":
        return PASS
    if len(t) < 2 or t[0] not in GTP_COLUMNS or not t[1:].isdigit():
        raise ValueError(f"GTP vertex {text!r} is not a letter (no I) followed by a number")
    col = GTP_COLUMNS.index(t[0])
    row = size - int(t[1:])
    return to_flat(row, col, size)


def flat_to_gtp(index: int, size: int = 19) -> str:
    """flat index -> GTP vertex ("D16"); PASS -> "pass"."""
    rc = from_flat(index, size)
    if rc is None:
        return "pass"
    row, col = rc
    if size > len(GTP_COLUMNS):
        raise ValueError(f"GTP has no column letters for a {size}x{size} board")
    return f"{GTP_COLUMNS[col]}{size - row}"
