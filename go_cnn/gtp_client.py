"""Talk to another Go program over GTP (Go Text Protocol v2) through pipes.

The other side of `gtp.py`: `match.py` referees two of these, `selfplay.py` asks GNU Go for games.

    with GtpProcess(["gnugo", "--mode", "gtp", "--level", "1"]) as gnugo:
        gnugo.send("boardsize 19")
        move = gnugo.send("genmove black")      # -> "D16", "PASS" or "resign"

A missing binary, a program that dies, or one that stays silent past `timeout` raises `GtpError`
with the command line and the reason; a `? message` answer raises `GtpCommandError`.
"""
from __future__ import annotations

import queue
import shlex
import subprocess
import threading
from collections.abc import Sequence


class GtpError(RuntimeError):
    """The engine could not be started, died, or did not answer in time."""


class GtpCommandError(GtpError):
    """The engine answered `? message` to a command."""


class GtpProcess:
    """One GTP engine in a child process; `send` returns the answer text without `= `."""

    def __init__(self, command: str | Sequence[str], timeout: float = 60.0, name: str | None = None):
        self.argv = shlex.split(command) if isinstance(command, str) else list(command)
        self.name = name or " ".join(self.argv)
        self.timeout = timeout
        try:
            self.proc = subprocess.Popen(
                self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, text=True, bufsize=1)
        except OSError as e:  # FileNotFoundError, PermissionError, ...
            raise GtpError(f"cannot start GTP engine '{self.name}': {e.strerror or e}") from None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._eof = False  # the child's output has ended (it died or quit)
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)  # end of file

    def _next_line(self, command: str) -> str:
        try:
            line = self._lines.get(timeout=self.timeout)
        except queue.Empty:
            raise GtpError(f"GTP engine '{self.name}' did not answer '{command}' "
                           f"within {self.timeout:g} s") from None
        if line is None:
            self._eof = True
            code = self.proc.poll()
            raise GtpError(f"GTP engine '{self.name}' exited (status {code}) "
                           f"while answering '{command}'")
        return line.rstrip("\r\n")

    def send(self, command: str) -> str:
        """Send one command and return its answer (multi-line answers joined with newlines)."""
        if self.proc.poll() is not None:
            raise GtpError(f"GTP engine '{self.name}' is not running (status {self.proc.returncode})")
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise GtpError(f"GTP engine '{self.name}' closed its input "
                           f"(sending '{command}')") from None
        line = self._next_line(command)
        while line.strip() == "":  # stray blank lines before an answer
            line = self._next_line(command)
        if not line or line[0] not in "=?":
            raise GtpError(f"GTP engine '{self.name}' answered '{command}' with "
                           f"a malformed line: {line!r}")
        status, text = line[0], line[1:]
        # Drop an optional numeric id, then one space.
        text = text.lstrip("0123456789")
        body = [text[1:] if text.startswith(" ") else text]
        while True:
            line = self._next_line(command)
            if line == "":
                break
            body.append(line)
        answer = "\n".join(body).strip()
        if status == "?":
            raise GtpCommandError(f"GTP engine '{self.name}' refused '{command}': {answer}")
        return answer

    def known(self, command: str) -> bool:
        try:
            return self.send(f"known_command {command}").strip() == "true"
        except GtpCommandError:
            return False

    def close(self) -> None:
        if self.proc.poll() is None:
            if not self._eof:  # a child whose output ended cannot answer quit: don't wait for it
                try:
                    self.send("quit")
                except GtpError:
                    pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> "GtpProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
