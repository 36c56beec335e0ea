"""A referee for matches between two GTP programs (our engine and an opponent such as GNU Go).

    result = play_match([sys.executable, "-m", "go_cnn", "gtp", "model.pt"],
                        "/usr/games/gnugo --mode gtp --level 10 --chinese-rules",
                        MatchConfig(games=50, sgf_out="games/"))
    print(format_summary(result.summary()))

Both programs run as child processes over pipes (`gtp_client.GtpProcess`), each started once for
the whole match (with `workers` > 1, one pair per worker thread, games dealt out in order). Game i gives our engine black when i is even, white when odd. The referee keeps
its own `Game`: every move is checked (an illegal or unreadable move loses the game, "B+F"/"W+F")
before it is passed on to the other program. A game ends on two passes in a row, a resignation or
`max_moves`; passed and capped games are scored by the opponent's `final_score` when it has that
command (GNU Go does) and by our area scorer (`game.score`) otherwise. Every game is saved as SGF.

A program that cannot start, dies, or stays silent raises `MatchError`; its `.result` holds the
games finished so far (their SGFs are already written; the broken game is saved with RE[Void]).
"""
from __future__ import annotations

import math
import os
import re
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from go_cnn.board import BLACK, WHITE, IllegalMove
from go_cnn.coords import flat_to_gtp, gtp_to_flat
from go_cnn.game import Game
from go_cnn.gtp_client import GtpCommandError, GtpError, GtpProcess
from go_cnn.sgf_writer import game_to_sgf

_RESULT = re.compile(r"^\s*([BW])\+(R|Resign|T|Time|F|Forfeit|[0-9]+(?:\.[0-9]+)?)?\s*$", re.IGNORECASE)


@dataclass
class MatchConfig:
    games: int = 10                 # games to play (colours alternate, our engine black first)
    komi: float = 7.5               # komi sent to both programs (area scoring)
    size: int = 19                  # board size
    max_moves: int = 500            # move cap; a capped game is scored as it stands
    sgf_out: str | os.PathLike | None = None  # folder for game-NNN.sgf (None: not saved)
    timeout: float = 300.0          # seconds either program may take to answer one command
    seed: int = 0                   # game i sends `set_random_seed seed+i` to programs that know it
    workers: int = 1                # engine/opponent pairs playing games in parallel (one core each)
    restarts: int = 0               # program failures survived (game voided, programs restarted)


@dataclass
class GameRecord:
    index: int                 # game number from 0
    engine_colour: str         # "B" or "W": the colour our engine played
    result: str                # "B+3.5", "W+R", "B+F" (forfeit), "0" (jigo) or "Void"
    winner: str                # "B", "W" or "" (jigo / void)
    engine_won: bool           # our engine won this game
    moves: int                 # moves played (passes included)
    end: str                   # "passes", "resign", "max-moves", "illegal", "error"
    scored_by: str             # "opponent", "referee" or "" (resign / forfeit / void)
    engine_seconds: float      # total time of our engine's genmove answers
    engine_genmoves: int       # how many genmove commands our engine answered
    opponent_seconds: float    # same for the opponent
    opponent_genmoves: int
    sgf: str = ""              # path of the saved game ("" when not saved)
    note: str = ""             # detail for illegal moves / errors
    moves_played: tuple = ()   # the game's moves as GTP vertices (for the distinct-games count)


@dataclass
class MatchResult:
    engine: str                                  # our engine's command line
    opponent: str                                # the opponent's command line
    config: MatchConfig
    records: list = field(default_factory=list)  # [GameRecord] of finished games
    error: str = ""                              # why the match stopped early ("" if it did not)

    def summary(self) -> dict:
        """Counts and rates of the finished games (JSON-able)."""
        recs = [r for r in self.records if r.result != "Void"]
        void = [r for r in self.records if r.result == "Void"]
        n, wins = len(recs), sum(r.engine_won for r in recs)
        lo, hi = wilson_interval(wins, n)
        eng_moves = sum(r.engine_genmoves for r in recs)
        opp_moves = sum(r.opponent_genmoves for r in recs)
        by = {c: [r for r in recs if r.engine_colour == c] for c in "BW"}
        return {
            "games": n, "wins": wins, "losses": n - wins,
            "win_rate": wins / n if n else 0.0, "ci95": [lo, hi],
            "games_as_black": len(by["B"]), "wins_as_black": sum(r.engine_won for r in by["B"]),
            "games_as_white": len(by["W"]), "wins_as_white": sum(r.engine_won for r in by["W"]),
            "avg_moves": sum(r.moves for r in recs) / n if n else 0.0,
            "engine_sec_per_move": sum(r.engine_seconds for r in recs) / eng_moves if eng_moves else 0.0,
            "opponent_sec_per_move": sum(r.opponent_seconds for r in recs) / opp_moves if opp_moves else 0.0,
            "distinct_games": len({r.moves_played for r in recs}),
            "void_games": len(void), "void_reasons": [r.note for r in void],
            "end_reasons": dict(Counter(r.end for r in recs)),
            "scored_by": dict(Counter(r.scored_by for r in recs if r.scored_by)),
            "komi": self.config.komi, "max_moves": self.config.max_moves,
            "engine": self.engine, "opponent": self.opponent,
            "error": self.error,
            "records": [{k: v for k, v in asdict(r).items() if k != "moves_played"} for r in self.records],
        }


class GameAborted(GtpError):
    """A program failed in the middle of a game; `.record` is that game (result "Void")."""

    def __init__(self, message: str, record: GameRecord):
        super().__init__(message)
        self.record = record


class MatchError(RuntimeError):
    """A program could not start, died or hung; `.result` has the games finished before."""

    def __init__(self, message: str, result: MatchResult):
        super().__init__(message)
        self.result = result


def wilson_interval(wins: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a win rate (0, 1) for no games."""
    if n == 0:
        return 0.0, 1.0
    p = wins / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def parse_result(text: str) -> str:
    """A GTP/SGF result ("B+3.5", "W+R", "0", "Jigo") -> "B", "W" or "" (jigo); ValueError otherwise."""
    t = text.strip()
    if t in ("0", "Draw", "Jigo", "B+0", "W+0") or t.lower() == "jigo":
        return ""
    m = _RESULT.match(t)
    if not m:
        raise ValueError(f"not a game result: {text!r}")
    return m.group(1).upper()


def _write_sgf(folder: Path, index: int, text: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"game-{index:03d}.sgf"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return str(path)


def _kill(proc: GtpProcess) -> None:
    """Stop a program that may be broken without talking to it (a polite `quit` to a program whose
    output already ended would wait the whole timeout)."""
    if proc.proc.poll() is None:
        proc.proc.kill()
    proc.proc.wait()


def _name(proc: GtpProcess, fallback: str) -> str:
    try:
        name = proc.send("name")
        try:
            name += " " + proc.send("version")
        except GtpCommandError:
            pass
        return name.strip() or fallback
    except GtpCommandError:
        return fallback


def play_game(engine: GtpProcess, opponent: GtpProcess, index: int, cfg: MatchConfig,
              names: dict[str, str] | None = None) -> GameRecord:
    """One game; our engine is black when `index` is even. A program failing raises GameAborted
    (a GtpError) carrying the game's record, result "Void" (its SGF is saved first)."""
    engine_colour = BLACK if index % 2 == 0 else WHITE
    players = {engine_colour: engine, 3 - engine_colour: opponent}
    spent = {engine: [0.0, 0], opponent: [0.0, 0]}
    game = Game(cfg.size, cfg.komi)
    result = end = scored_by = note = ""
    error = None
    try:
        for p in (engine, opponent):
            p.send(f"boardsize {cfg.size}")
            p.send("clear_board")
            p.send(f"komi {cfg.komi:g}")
            if p.known("set_random_seed"):  # GNU Go: vary its choices between games
                p.send(f"set_random_seed {cfg.seed + index}")
        colour = BLACK
        while True:
            if len(game.moves) >= cfg.max_moves:
                end = "max-moves"
                break
            name = "black" if colour == BLACK else "white"
            mover, other = players[colour], players[3 - colour]
            t0 = time.perf_counter()
            vertex = mover.send(f"genmove {name}")
            spent[mover][0] += time.perf_counter() - t0
            spent[mover][1] += 1
            winner = "BW"[2 - colour]  # the other colour, should this move lose the game
            if vertex.strip().lower() == "resign":
                result, end = f"{winner}+R", "resign"
                break
            try:
                game.play(colour, gtp_to_flat(vertex, cfg.size))
            except (ValueError, IllegalMove) as e:
                result, end, note = f"{winner}+F", "illegal", f"{name} played {vertex!r}: {e}"
                break
            try:
                other.send(f"play {name} {vertex.strip()}")
            except GtpCommandError as e:
                game.undo()
                result, end, note = f"{winner}+F", "illegal", f"{name} {vertex} rejected: {e}"
                break
            if game.consecutive_passes() >= 2:
                end = "passes"
                break
            colour = 3 - colour
        if not result:
            result, scored_by = _score(game, opponent)
    except GtpError as e:
        result, end, note, error = "Void", "error", str(e), e
    path = ""
    if cfg.sgf_out is not None:
        names = names or {}
        eng_name, opp_name = names.get("engine", "engine"), names.get("opponent", "opponent")
        sgf = game_to_sgf(
            [("BW"[c - 1], p) for c, p in game.moves], size=cfg.size, komi=cfg.komi, result=result,
            black=eng_name if engine_colour == BLACK else opp_name,
            white=opp_name if engine_colour == BLACK else eng_name,
            extra={"GN": f"match game {index}",
                   "GC": f"end: {end}; scored by: {scored_by or '-'}" + (f"; {note}" if note else "")})
        path = _write_sgf(Path(cfg.sgf_out), index, sgf)
    win = "" if error else parse_result(result)
    rec = GameRecord(index, "BW"[engine_colour - 1], result, win, bool(win) and win == "BW"[engine_colour - 1],
                     len(game.moves), end, scored_by, spent[engine][0], spent[engine][1],
                     spent[opponent][0], spent[opponent][1], path, note,
                     tuple(flat_to_gtp(p, cfg.size) for _, p in game.moves))
    if error is not None:
        raise GameAborted(str(error), rec) from error
    return rec


def _score(game: Game, opponent: GtpProcess) -> tuple[str, str]:
    """(result, scored_by): the opponent's final_score when it has one, else ours."""
    if opponent.known("final_score"):
        try:
            text = opponent.send("final_score").strip()
            parse_result(text)
            return text, "opponent"
        except (GtpCommandError, ValueError):
            pass
    return game.score().result(), "referee"


def play_match(engine_cmd: str | Sequence[str], opponent_cmd: str | Sequence[str], cfg: MatchConfig,
               progress: Callable[[GameRecord, MatchResult], None] | None = None) -> MatchResult:
    """Play `cfg.games` games; MatchError (with the games so far) if a program fails.
    With `cfg.workers` > 1, that many engine/opponent pairs play games in parallel (game i keeps its
    colours and seed whichever pair plays it); records come back in game order. With `cfg.restarts`
    > 0, a program that fails mid-game voids that game (kept in the records and as SGF, not counted),
    both programs are restarted and one more game is scheduled, up to `restarts` times."""
    show = lambda c: c if isinstance(c, str) else " ".join(c)  # noqa: E731
    result = MatchResult(show(engine_cmd), show(opponent_cmd), cfg)
    lock, stop = threading.Lock(), threading.Event()
    todo = {"next": 0, "end": cfg.games, "restarts": cfg.restarts}
    errors: list[str] = []

    def take() -> int | None:
        with lock:
            if todo["next"] >= todo["end"]:
                return None
            todo["next"] += 1
            return todo["next"] - 1

    def worker() -> None:
        procs: list[GtpProcess] = []
        try:
            while not stop.is_set():
                if not procs:
                    procs.append(GtpProcess(engine_cmd, timeout=cfg.timeout))
                    procs.append(GtpProcess(opponent_cmd, timeout=cfg.timeout))
                    names = {"engine": _name(procs[0], "engine"), "opponent": _name(procs[1], "opponent")}
                i = take()
                if i is None:
                    return
                try:
                    rec = play_game(procs[0], procs[1], i, cfg, names)
                except GameAborted as e:
                    with lock:
                        result.records.append(e.record)
                        if progress is not None:
                            progress(e.record, result)
                        retry = todo["restarts"] > 0
                        if retry:
                            todo["restarts"] -= 1
                            todo["end"] += 1
                    if not retry:
                        raise
                    for p in procs:  # restart both programs
                        _kill(p)
                    procs.clear()
                    continue
                with lock:
                    result.records.append(rec)
                    if progress is not None:
                        progress(rec, result)
        except Exception as e:  # noqa: BLE001  (GtpError, or e.g. an unwritable --sgf-out: stop, keep games)
            with lock:
                errors.append(str(e) if isinstance(e, GtpError) else f"{type(e).__name__}: {e}")
            stop.set()
            for p in procs:
                _kill(p)
        finally:
            for p in procs:
                p.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, min(cfg.workers, cfg.games)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.records.sort(key=lambda r: r.index)
    if errors:
        result.error = errors[0]
        raise MatchError(errors[0], result)
    return result


def format_summary(s: dict) -> str:
    """Human-readable lines for `MatchResult.summary()`."""
    lo, hi = s["ci95"]
    ends = ", ".join(f"{k} {v}" for k, v in sorted(s["end_reasons"].items())) or "-"
    lines = [
        (f"games {s['games']}: engine wins {s['wins']}, losses {s['losses']}; win rate "
         f"{100 * s['win_rate']:.1f}% (95% Wilson interval {100 * lo:.1f}%-{100 * hi:.1f}%)"),
        (f"as black {s['wins_as_black']}/{s['games_as_black']}, as white {s['wins_as_white']}/"
         f"{s['games_as_white']}; average game length {s['avg_moves']:.1f} moves; "
         f"{s['distinct_games']} distinct games"),
        (f"time per move: engine {1000 * s['engine_sec_per_move']:.1f} ms, "
         f"opponent {1000 * s['opponent_sec_per_move']:.1f} ms; game ends: {ends}"),
    ]
    if s.get("void_games"):
        lines.append(f"void games (a program failed; not counted): {s['void_games']}: "
                     + "; ".join(s["void_reasons"]))
    if s.get("error"):
        lines.append(f"stopped early: {s['error']}")
    return "\n".join(lines)
