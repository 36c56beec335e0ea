"""A GTP v2 engine (Go Text Protocol, version 2) that plays the policy network's moves.

    go-cnn gtp model.pt                  # stdin/stdout; GoGui, Sabaki, twogtp, GNU Go's referee

Protocol: each input line is cleaned as the spec says (control characters other than HT and LF
removed, so CR is dropped; HT becomes a space; everything from '#' on is a comment; empty lines are
skipped), then read as `[id] command [arguments]`. Every command line gets exactly one answer,
`=[id] result` or `?[id] message`, ending in a blank line and flushed at once. Unknown commands,
bad arguments and internal errors are answered with `? ...`; the engine only stops on `quit` or the
end of its input.

Move choice (`genmove`) is `player.Player`: the policy network, tactical reading (`tactics.py`),
and the pass and resign rules -- see its docstring and `EngineConfig`.

GoGui analyze commands (`gogui-analyze_commands`, formatted by `gogui.py`): the policy heatmap,
the policy as squares, the top moves, and the area estimate used for scoring.
"""
from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from typing import BinaryIO

import numpy as np

from go_cnn import gogui
from go_cnn.board import BLACK, WHITE, IllegalMove
from go_cnn.coords import PASS, flat_to_gtp, gtp_to_flat
from go_cnn.game import Game, HandicapError, fixed_handicap_points, free_handicap_points
from go_cnn.player import EngineConfig, Player

PROTOCOL_VERSION = "2"
ENGINE_NAME = "go-cnn"
ENGINE_VERSION = "0.1.0"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # control characters except HT (\x09) and LF (\x0a)
_ID = re.compile(r"[0-9]+")
_MAX_SGF_BYTES = 16 << 20  # loadsgf reads at most this much (a record is a few KiB)


class GtpFailure(Exception):
    """A command that fails: answered `? message`."""


def clean_line(raw: str) -> str:
    """Preprocess one input line as GTP v2 section 3.1 says; '' means skip it."""
    line = _CONTROL.sub("", raw.split("#", 1)[0]).replace("\t", " ")
    return line.strip(" ")  # only the space is white space in GTP (no Unicode spaces)


def parse_colour(text: str) -> int:
    t = text.lower()
    if t in ("b", "black"):
        return BLACK
    if t in ("w", "white"):
        return WHITE
    raise GtpFailure(f"syntax error: invalid color '{text}'")


class Engine:
    """The GTP state machine over one `Game`; `policy` is a `go_cnn.policy.Policy` (or anything with
    `.size` and `.probabilities(pos, symmetries)`)."""

    def __init__(self, policy, config: EngineConfig | None = None):
        self.policy = policy
        self.player = Player(policy, config)
        self.config = self.player.config
        self.game = Game(policy.size, komi=7.5)
        self.time_settings: tuple[int, int, int] | None = None
        self.time_left: dict[int, tuple[int, int]] = {}
        self.done = False
        self.commands: dict[str, Callable[[list[str]], str]] = {
            "protocol_version": lambda a: PROTOCOL_VERSION,
            "name": lambda a: ENGINE_NAME,
            "version": self.cmd_version,
            "known_command": self.cmd_known_command,
            "list_commands": lambda a: "\n".join(self.commands),
            "quit": self.cmd_quit,
            "boardsize": self.cmd_boardsize,
            "clear_board": self.cmd_clear_board,
            "komi": self.cmd_komi,
            "play": self.cmd_play,
            "genmove": self.cmd_genmove,
            "reg_genmove": self.cmd_reg_genmove,
            "undo": self.cmd_undo,
            "fixed_handicap": self.cmd_fixed_handicap,
            "place_free_handicap": self.cmd_place_free_handicap,
            "set_free_handicap": self.cmd_set_free_handicap,
            "showboard": lambda a: "\n" + str(self.game),
            "loadsgf": self.cmd_loadsgf,
            "final_score": lambda a: self.game.score().result(),
            "final_status_list": self.cmd_final_status_list,
            "time_settings": self.cmd_time_settings,
            "time_left": self.cmd_time_left,
            "gogui-analyze_commands": lambda a: "\n".join(gogui.ANALYZE_COMMANDS),
            "gogui-policy_heatmap": self.cmd_policy_heatmap,
            "gogui-policy_influence": self.cmd_policy_influence,
            "gogui-top_moves": self.cmd_top_moves,
            "gogui-area": self.cmd_area,
        }

    # -- framing ------------------------------------------------------------------------------
    def handle(self, raw: str) -> str | None:
        """One raw input line -> the full response text (ending in a blank line), or None for a
        line the protocol skips (empty or comment only). Never raises."""
        line = clean_line(raw)
        if not line:
            return None
        words = [w for w in line.split(" ") if w]
        ident = ""
        if _ID.fullmatch(words[0]):
            ident, words = words[0], words[1:]
        if not words:
            return f"?{ident} syntax error: no command after the id\n\n"
        name, args = words[0], words[1:]
        fn = self.commands.get(name)
        if fn is None:
            return f"?{ident} unknown command\n\n"
        try:
            ok, text = True, fn(args)
        except GtpFailure as e:
            ok, text = False, str(e)
        except Exception as e:  # noqa: BLE001  (a bug must not kill the engine in the middle of a game)
            ok, text = False, f"internal error: {type(e).__name__}: {e}"
        lines = str(text).split("\n")
        body = "\n".join([lines[0]] + [x for x in lines[1:] if x.strip()])
        return f"{'=' if ok else '?'}{ident} {body}\n\n"

    def run(self, stdin: BinaryIO, stdout: BinaryIO) -> int:
        """Serve until `quit` or end of input; returns the exit status."""
        try:
            for raw in stdin:
                response = self.handle(raw.decode("utf-8", "replace").rstrip("\n"))
                if response is None:
                    continue
                stdout.write(response.encode("utf-8"))
                stdout.flush()
                if self.done:
                    break
        except (BrokenPipeError, KeyboardInterrupt):
            return 0
        return 0

    # -- argument helpers ---------------------------------------------------------------------
    def _vertex(self, text: str) -> int:
        try:
            return gtp_to_flat(text, self.game.size)
        except ValueError:
            raise GtpFailure(f"syntax error: invalid vertex '{text}'") from None

    @staticmethod
    def _int(text: str, what: str = "integer") -> int:
        if not re.fullmatch(r"[+-]?[0-9]{1,9}", text):
            raise GtpFailure(f"syntax error: {what} expected, got '{text}'")
        return int(text)

    @staticmethod
    def _nargs(args: list[str], *counts: int) -> None:
        if len(args) not in counts:
            want = " or ".join(map(str, counts))
            raise GtpFailure(f"syntax error: {want} argument(s) expected, got {len(args)}")

    def _colour_arg(self, args: list[str]) -> int:
        self._nargs(args, 0, 1)
        return parse_colour(args[0]) if args else self.game.to_move

    # -- commands -----------------------------------------------------------------------------
    def cmd_version(self, args):
        meta = getattr(self.policy, "meta", {}) or {}
        what = ", ".join(f"{k} {meta[k]}" for k in ("preset", "feature_set") if k in meta)
        return f"{ENGINE_VERSION} (policy network{': ' + what if what else ''})"

    def cmd_known_command(self, args):
        self._nargs(args, 1)
        return "true" if args[0] in self.commands else "false"

    def cmd_quit(self, args):
        self.done = True
        return ""

    def cmd_boardsize(self, args):
        self._nargs(args, 1)
        size = self._int(args[0], "board size")
        if size != self.policy.size:
            raise GtpFailure("unacceptable size")
        self.game = Game(size, komi=self.game.komi)
        return ""

    def cmd_clear_board(self, args):
        self._nargs(args, 0)
        self.game.clear()
        return ""

    def cmd_komi(self, args):
        self._nargs(args, 1)
        try:
            komi = float(args[0])
        except ValueError:
            raise GtpFailure(f"syntax error: komi must be a number, got '{args[0]}'") from None
        if not math.isfinite(komi):
            raise GtpFailure("syntax error: komi must be finite")
        self.game.komi = komi
        return ""

    def cmd_play(self, args):
        self._nargs(args, 2)
        colour, point = parse_colour(args[0]), self._vertex(args[1])
        try:
            self.game.play(colour, point)
        except IllegalMove:
            raise GtpFailure("illegal move") from None
        return ""

    def cmd_genmove(self, args):
        self._nargs(args, 1)
        colour = parse_colour(args[0])
        move = self.choose_move(colour)
        if move != "resign":
            self.game.play(colour, self._vertex(move))
        return move

    def cmd_reg_genmove(self, args):
        self._nargs(args, 1)
        return self.choose_move(parse_colour(args[0]))

    def cmd_undo(self, args):
        self._nargs(args, 0)
        if not self.game.undo():
            raise GtpFailure("cannot undo")
        return ""

    def _handicap(self, args, chooser) -> str:
        self._nargs(args, 1)
        n = self._int(args[0], "number of stones")
        if not self.game.is_empty() or self.game.moves:
            raise GtpFailure("board not empty")
        try:
            points = chooser(n, self.game.size)
        except HandicapError:
            raise GtpFailure("invalid number of stones") from None
        self.game.place_handicap(points)
        return " ".join(flat_to_gtp(p, self.game.size) for p in points)

    def cmd_fixed_handicap(self, args):
        return self._handicap(args, fixed_handicap_points)

    def cmd_place_free_handicap(self, args):
        return self._handicap(args, free_handicap_points)

    def cmd_set_free_handicap(self, args):
        points = [self._vertex(a) for a in args]
        if not self.game.is_empty() or self.game.moves:
            raise GtpFailure("board not empty")
        if len(points) < 2 or PASS in points or len(set(points)) != len(points) \
                or len(points) >= self.game.size ** 2:
            raise GtpFailure("bad vertex list")
        self.game.place_handicap(points)
        return ""

    def cmd_loadsgf(self, args):
        self._nargs(args, 1, 2)
        move_number = self._int(args[1], "move number") if len(args) == 2 else None
        if move_number is not None and move_number < 1:
            raise GtpFailure("syntax error: move number must be >= 1")
        try:
            with open(args[0], "rb") as f:
                data = f.read(_MAX_SGF_BYTES + 1)
        except OSError as e:
            raise GtpFailure(f"cannot load file: {e.strerror or e}") from None
        if len(data) > _MAX_SGF_BYTES:
            raise GtpFailure(f"cannot load file: larger than {_MAX_SGF_BYTES >> 20} MiB")
        trial = Game(self.game.size, self.game.komi)
        try:
            colour = trial.load_sgf(data, move_number)
        except ValueError as e:  # SGFError is a ValueError too
            raise GtpFailure(f"cannot load file: {e}") from None
        self.game = trial
        return "black" if colour == BLACK else "white"

    def cmd_final_status_list(self, args):
        self._nargs(args, 1)
        status = args[0].lower()
        if status not in ("alive", "dead", "seki"):
            raise GtpFailure("syntax error: status must be alive, dead or seki")
        if status == "seki":
            return ""  # the scorer keeps sekis alive but does not report them separately
        dead = set(self.game.score().dead)
        stones = np.flatnonzero(self.game.stones)
        pick = [p for p in stones if (p in dead) == (status == "dead")]
        return " ".join(flat_to_gtp(int(p), self.game.size) for p in pick)

    def cmd_time_settings(self, args):
        self._nargs(args, 3)
        self.time_settings = tuple(self._int(a) for a in args)
        return ""

    def cmd_time_left(self, args):
        self._nargs(args, 3)
        self.time_left[parse_colour(args[0])] = (self._int(args[1]), self._int(args[2]))
        return ""

    # -- move choice (player.py) ------------------------------------------------------------
    def _policy(self, colour: int) -> tuple[np.ndarray, np.ndarray, dict]:
        return self.player.policy_at(self.game, colour)

    def choose_move(self, colour: int) -> str:
        """The engine's move for `colour` as GTP text ("D4", "pass" or "resign"); plays nothing."""
        return self.player.choose_move(self.game, colour)

    # -- GoGui analyze commands (formatting in gogui.py) ------------------------------------
    def _gfx(self, args, fmt) -> str:
        colour = self._colour_arg(args)
        probs, _, _ = self._policy(colour)
        return fmt(probs, colour, self.game.size)

    def cmd_policy_heatmap(self, args):
        return self._gfx(args, gogui.heatmap)

    def cmd_policy_influence(self, args):
        return self._gfx(args, gogui.influence)

    def cmd_top_moves(self, args):
        return self._gfx(args, lambda p, c, s: gogui.top_moves(p, c, s, self.config.top_moves))

    def cmd_area(self, args):
        self._nargs(args, 0)
        return gogui.area(self.game.score(), self.game.size)


def serve(policy, config: EngineConfig | None = None, stdin: BinaryIO | None = None,
          stdout: BinaryIO | None = None) -> int:
    """Run the engine on (by default) this process's stdin/stdout; returns the exit status."""
    engine = Engine(policy, config)
    engine.choose_move(BLACK)  # warm-up: compile kernels, first forward pass, before any command
    return engine.run(stdin or sys.stdin.buffer, stdout or sys.stdout.buffer)
