"""A lean, fast SGF reader (FF[1]-FF[4]) for game records: main line, setup, moves, root facts.

Bytes first, text later: the file is tokenised as bytes, so moves and setup never depend on the text
encoding. Only when the encoding is known to hide ASCII `\\` or `]` inside multi-byte characters
(Shift-JIS, GBK, Big5) or the file is UTF-16, the whole file is first transcoded to UTF-8 (when that
decode succeeds). Text properties are decoded from UTF-8 with replacement, so reading never fails on
text. Each game becomes a `Game` whose `events` replay the main line (first variation):

    event code 1 = black move, 2 = white move (point = flat index or PASS),
               3 = add black stone, 4 = add white stone, 5 = clear point (AB/AW/AE, any node),
               6 = player to move (point = 1 black / 2 white; PL)

Speed: a record is mostly runs of bare move nodes (`;B[pd];W[dp]...`). The tokeniser hands each
run of >= 4 such nodes to two small compiled scans (no Python object per move) and keeps the events
also as an int16 array for the replay kernel (`Game.event_array`). `fast=False` reads token by
token; both give the same `Game`s (tested on every kgs-dev game and on edge cases).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from go_cnn.coords import PASS

BLACK_MOVE, WHITE_MOVE, ADD_BLACK, ADD_WHITE, CLEAR, SET_PLAYER = 1, 2, 3, 4, 5, 6
_SETUP = {b"AB": ADD_BLACK, b"AW": ADD_WHITE, b"AE": CLEAR}
_EVENT_IDENTS = {b"B", b"W", b"PL", *_SETUP, None}  # None: a run of move nodes (see _run_end)
_LETTER = {c: i for i, c in enumerate(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")}

_TOKEN = re.compile(rb"([();])|([A-Za-z]+)\s*((?:\[(?:[^\\\]]|\\.)*\]\s*)+)", re.S)
_VALUE = re.compile(rb"\[((?:[^\\\]]|\\.)*)\]", re.S)
_LETTER_LUT = np.full(256, 99, np.int16)  # byte -> coordinate (as _LETTER), 99 for any other byte
_LETTER_LUT[list(_LETTER)] = list(_LETTER.values())
_MOVE_EVENTS = np.empty(2 * 2705, object)  # (code - 1) * 2705 + point + 1 -> (code, point), shared
for _c in (BLACK_MOVE, WHITE_MOVE):
    for _p in range(PASS, 52 * 52):
        _MOVE_EVENTS[(_c - 1) * 2705 + _p + 1] = (_c, _p)
del _c, _p
_CA = re.compile(rb"CA\s*\[([^\]]{1,40})\]")
_SOFT_BREAK = re.compile(r"\\(?:\r\n|\n\r|\r|\n)")
_ESCAPE = re.compile(r"\\(.)", re.S)
# encodings whose multi-byte characters may contain the bytes "\" or "]"
_ASCII_UNSAFE = {"shift_jis", "cp932", "gbk", "gb2312", "gb18030", "big5", "big5hkscs", "cp950", "cp936"}
_GUESSES = ("cp932", "gb18030", "big5")  # tried in order when CA is missing/wrong and not UTF-8
_CA_ALIASES = {"ms_kanji": "cp932", "shift_jis": "cp932", "sjis": "cp932", "gb2312": "gb18030",
               "gbk": "gb18030", "euc-kr": "cp949", "big5": "big5hkscs", "iso-8859-1": "cp1252",
               "latin1": "cp1252", "latin-1": "cp1252"}


class SGFError(ValueError):
    """A file that holds no readable game; the message is the precise reason."""


@dataclass
class Game:
    """One game record's main line, ready for replay."""

    size: int = 19                     # board size (SZ; square boards only)
    events: list = field(default_factory=list)  # [(code, point)], see module docstring
    komi: float | None = None          # KM, Fox scaled values normalised (KM[375] -> 7.5)
    handicap: int = 0                  # HA
    result: str = ""                   # RE, e.g. "B+R", "W+3.5"
    black_rank: str = ""               # BR, e.g. "6d"
    white_rank: str = ""               # WR
    rules: str = ""                    # RU
    black: str = ""                    # PB
    white: str = ""                    # PW
    encoding: str = "utf-8"            # how the text was decoded
    root: dict = field(default_factory=dict)  # every root property: ident -> [decoded text]
    error: str = ""                    # set when reading stopped early (events before it are kept)
    _array: np.ndarray | None = field(default=None, repr=False, compare=False)  # (2, E) int16 events

    def event_array(self) -> np.ndarray:
        """events as a (2, E) int16 array: row 0 codes, row 1 points (each row contiguous). The
        parser's copy; rebuilt from `events` when their length no longer matches it."""
        if self._array is None or self._array.shape[1] != len(self.events):
            self._array = np.ascontiguousarray(np.asarray(self.events, np.int16).reshape(-1, 2).T)
        return self._array

    @property
    def moves(self) -> list[tuple[int, int]]:
        """(colour 1 black / 2 white, flat point or PASS) for each move of the main line."""
        return [(c, p) for c, p in self.events if c <= WHITE_MOVE]


def normalize_komi(value: float, app: str = "") -> float:
    """Komi as played. Fox (AP[foxwq]) and some converters scale it: KM[375] -> 7.5, KM[650] -> 6.5,
    KM[50] -> 0.5 (Fox handicap games); plain values pass through unchanged."""
    fox = "foxwq" in app.lower() or "sgfc:2.0" in app.lower()
    if fox and value == 50:
        return 0.5
    if abs(value) >= 100:  # no real komi is this large: a scaled value, foxwq or not
        v = value / 100
        return v * 2 if abs(v) <= 4 else v
    return value


def _codec(name: str) -> str | None:
    name = name.strip().lower()
    name = _CA_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def to_utf8(data: bytes) -> tuple[bytes, str]:
    """Return (bytes safe to tokenise, encoding name). Never fails: undecodable text stays as is."""
    if data[:3] == b"\xef\xbb\xbf":
        return data[3:], "utf-8-sig"
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(data) > 3 and (data[1] == 0 or data[0] == 0)):
        enc = "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-16-le" if data[1] == 0 else "utf-16-be")
        try:
            return data.decode(enc).encode("utf-8"), enc
        except UnicodeDecodeError:
            pass
    if data.isascii():
        return data, "ascii"
    m = _CA.search(data[:4096])
    ca = _codec(m.group(1).decode("ascii", "replace")) if m else None
    try:
        data.decode("utf-8")
        return data, "utf-8"  # valid UTF-8 wins over a wrong CA (common in converted files)
    except UnicodeDecodeError:
        pass
    for enc in ((ca,) if ca else ()) + _GUESSES:
        try:
            text = data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
        return text.encode("utf-8"), enc
    return data.decode("latin-1").encode("utf-8"), "latin-1"


def _text(raw: bytes) -> str:
    s = raw.decode("utf-8", "replace")
    if "\\" in s:
        s = _ESCAPE.sub(r"\1", _SOFT_BREAK.sub("", s))
    return s


def _point(v: bytes, size: int) -> int:
    """SGF point value -> flat index / PASS; ValueError for anything else."""
    if len(v) == 0 or (v == b"tt" and size <= 19):
        return PASS
    if len(v) != 2:
        v = v.strip()
        if len(v) == 0:
            return PASS
        if len(v) != 2:
            raise ValueError(v)
    col, row = _LETTER.get(v[0], 99), _LETTER.get(v[1], 99)
    if col >= size or row >= size:
        raise ValueError(v)
    return row * size + col


def _points(values: list[bytes], size: int) -> list[int]:
    """Point list with compressed rectangles ("aa:cc")."""
    out = []
    for v in values:
        if b":" in v:
            a, b = v.split(b":", 1)
            p, q = _point(a.strip(), size), _point(b.strip(), size)
            if p == PASS or q == PASS:
                raise ValueError(v)
            (r0, c0), (r1, c1) = divmod(p, size), divmod(q, size)
            out += [r * size + c for r in range(min(r0, r1), max(r0, r1) + 1)
                    for c in range(min(c0, c1), max(c0, c1) + 1)]
        else:
            p = _point(v, size)
            if p != PASS:
                out.append(p)
    return out


RUN_MIN = 4  # shorter runs of bare move nodes are read token by token


@njit(cache=True)
def _run_end(buf, p):
    """Runs of bare move nodes: from p, nodes `;B[xy]`/`;W[xy]`/`;B[]` (letters a-z A-Z, nothing
    between `;`, colour and `[`), each followed by whitespace only and then not by another value
    `[` (that node is not bare). Returns (end of the run, nodes in it); (p, 0) when none."""
    n = buf.shape[0]
    end, k = p, 0
    while p + 3 < n and buf[p] == 59 and (buf[p + 1] == 66 or buf[p + 1] == 87) and buf[p + 2] == 91:
        q = p + 3
        if buf[q] != 93:  # not "]": two letters, then "]"
            if (q + 2 >= n or buf[q + 2] != 93 or not (65 <= buf[q] <= 90 or 97 <= buf[q] <= 122)
                    or not (65 <= buf[q + 1] <= 90 or 97 <= buf[q + 1] <= 122)):
                break
            q += 2
        q += 1
        while q < n and (buf[q] == 32 or 9 <= buf[q] <= 13):  # bytes regex \s
            q += 1
        if q < n and buf[q] == 91:
            break
        end = p = q
        k += 1
    return end, k


@njit(cache=True)
def _run_decode(buf, p, end, size, out):
    """Events of the run buf[p:end] (see _run_end) into out (2, >= K) int16: codes, points.
    Returns K, or -1 when a point is off the board (the run is then read token by token)."""
    k = 0
    while p < end:
        if buf[p] != 59:  # whitespace between nodes
            p += 1
            continue
        out[0, k] = BLACK_MOVE if buf[p + 1] == 66 else WHITE_MOVE
        if buf[p + 3] == 93:  # "[]"
            out[1, k] = PASS
            p += 4
        else:
            a, b = buf[p + 3], buf[p + 4]
            col, row = _LETTER_LUT[a], _LETTER_LUT[b]
            if size <= 19 and a == 116 and b == 116:  # "tt"
                out[1, k] = PASS
            elif col >= size or row >= size:
                return -1
            else:
                out[1, k] = row * size + col
            p += 6
        k += 1
    return k


def _build(data: bytes, buf: np.ndarray, props: list, encoding: str) -> Game:
    """props: [(node number, ident bytes, raw values group)] of one main line; ident None marks a
    run of bare move nodes, raw then its (start, end) in data (buf: data as uint8)."""
    g = Game(encoding=encoding)
    root = {}
    for node, ident, raw in props:
        if node > 0:
            break
        if b"\\" in raw or raw.count(b"]") > 1:
            values = [_text(v) for v in _VALUE.findall(raw)]
        else:  # one value, no escapes (the common case)
            values = [raw[1:raw.index(b"]")].decode("utf-8", "replace")]
        key = ident.decode("ascii")
        if key in root:
            root[key] += values
        else:
            root[key] = values
    g.root = root
    sz = root.get("SZ", ["19"])[0].strip()
    if ":" in sz:
        a, b = sz.split(":", 1)
        if a.strip() != b.strip():
            g.error = f"non-square board SZ[{sz}]"
            return g
        sz = a
    try:
        g.size = int(sz)
    except ValueError:
        g.error = f"bad board size SZ[{sz}]"
        return g
    if not 2 <= g.size <= 52:
        g.error = f"board size {g.size} outside 2..52"
        return g
    first = lambda k: root[k][0].strip() if root.get(k) else ""  # noqa: E731
    g.result, g.rules, g.black, g.white = first("RE"), first("RU"), first("PB"), first("PW")
    g.black_rank, g.white_rank = first("BR"), first("WR")
    try:
        g.handicap = int(first("HA") or 0)
    except ValueError:
        g.handicap = 0
    try:
        g.komi = normalize_komi(float(first("KM")), first("AP")) if first("KM") else None
    except ValueError:
        g.komi = None
    size, events, move_no = g.size, g.events, 0
    chunks, flushed = [], 0  # event_array pieces, covering events[:flushed]
    for node, ident, raw in props:
        if ident not in _EVENT_IDENTS:
            continue
        if ident is None:
            run = np.empty((2, (raw[1] - raw[0]) // 4), np.int16)
            k = _run_decode(buf, raw[0], raw[1], size, run)
            if k >= 0:
                run = run[:, :k]
                if len(events) > flushed:
                    chunks.append(np.array(events[flushed:], np.int16).reshape(-1, 2).T)
                events += _MOVE_EVENTS[(run[0] - 1) * 2705 + run[1] + 1].tolist()
                chunks.append(run)
                flushed = len(events)
                move_no += k
                continue
            todo = [(t.group(2), t.group(3)) for t in _TOKEN.finditer(data, *raw) if t.group(2)]
        else:
            todo = ((ident, raw),)
        for ident, raw in todo:
            try:
                if ident == b"B" or ident == b"W":
                    move_no += 1
                    v = raw[1:3] if len(raw) == 4 and raw[3] == 93 else _VALUE.match(raw).group(1)
                    events.append((BLACK_MOVE if ident == b"B" else WHITE_MOVE, _point(v, size)))
                elif ident in _SETUP:
                    code = _SETUP[ident]
                    events.extend((code, p) for p in _points(_VALUE.findall(raw), size))
                elif ident == b"PL":
                    c = _VALUE.match(raw).group(1).strip().upper()[:1]
                    events.append((SET_PLAYER, 1 if c in (b"B", b"1") else 2))
            except ValueError:
                g.error = f"bad point in {ident.decode()}[{_text(raw.strip()[1:-1])[:20]}] at move {move_no}"
                break
        if g.error:
            break
    if len(events) > flushed or not chunks:
        chunks.append(np.array(events[flushed:], np.int16).reshape(-1, 2).T)
    g._array = np.ascontiguousarray(chunks[0] if len(chunks) == 1 else np.concatenate(chunks, 1))
    return g


def parse_sgf(data: bytes, fast: bool = True) -> list[Game]:
    """Every game of an SGF collection (main lines). Raises SGFError when the bytes hold none.
    fast=False reads move runs token by token too (same result; the reference for tests)."""
    if not data.strip():
        raise SGFError("empty file")
    data, encoding = to_utf8(data)
    start = data.find(b"(")
    if start < 0 or data.find(b";", start) < 0 and not _TOKEN.search(data, start):
        raise SGFError("not SGF: no '(' followed by a node")
    games, props = [], []
    depth, following, node = 0, False, -1
    search, pos = _TOKEN.search, start
    buf = np.frombuffer(data, np.uint8)
    while (m := search(data, pos)) is not None:
        pos = m.end()
        punct = m.group(1)
        if punct is None:
            if following:
                ident = m.group(2)
                if not ident.isupper():
                    ident = bytes(c for c in ident if 65 <= c <= 90)
                props.append((max(node, 0), ident, m.group(3)))
        elif punct == b";":
            if following:
                node += 1  # a run below counts as one node: only node 0 (the root) vs > 0 matters
                if node > 0 and fast:
                    end, k = _run_end(buf, m.start())
                    if k >= RUN_MIN:
                        props.append((node, None, (m.start(), end)))
                        pos = end
        elif punct == b"(":
            if depth == 0:
                following, node, props = True, -1, []
            depth += 1
        else:  # ")"
            if depth == 0:
                continue
            if following:
                following = False
                games.append(props)
            depth -= 1
    if depth > 0:
        raise SGFError(f"truncated: {depth} unclosed '(' at end of file")
    if not games:
        raise SGFError("not SGF: no game tree found")
    return [_build(data, buf, p, encoding) for p in games]
