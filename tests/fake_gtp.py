"""A scripted GTP program for the referee tests (pure Python, starts in milliseconds).

    python tests/fake_gtp.py --mode play --order forward --final-score "W+12.5"

Modes: pass (always passes), play (the first point it believes empty, scanning A1, B1, ... or
backwards from T19; it does not track captures, so it never plays on a point it once saw taken),
illegal (always answers D4), resign (resigns at once), crash (exits with status 3 on genmove number
--crash-at, counted over the whole match). --final-score makes it know `final_score` and answer it.
"""
import argparse
import sys

COLUMNS = "ABCDEFGHJKLMNOPQRST"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="pass", choices=["pass", "play", "illegal", "resign", "crash"])
    ap.add_argument("--order", default="forward", choices=["forward", "backward"])
    ap.add_argument("--final-score", default=None)
    ap.add_argument("--crash-at", type=int, default=1)
    ap.add_argument("--size", type=int, default=19)
    args = ap.parse_args()
    points = [f"{COLUMNS[c]}{r}" for r in range(1, args.size + 1) for c in range(args.size)]
    if args.order == "backward":
        points.reverse()
    taken: set[str] = set()
    commands = ["protocol_version", "name", "version", "known_command", "list_commands", "quit",
                "boardsize", "clear_board", "komi", "play", "genmove"]
    if args.final_score is not None:
        commands.append("final_score")
    genmoves = 0
    for line in sys.stdin:
        words = line.split("#")[0].split()
        if not words:
            continue
        ident = ""
        if words[0].isdigit():
            ident, words = words[0], words[1:]
        cmd, rest = words[0], words[1:]
        ok, text = True, ""
        if cmd == "name":
            text = "fake"
        elif cmd == "version":
            text = args.mode
        elif cmd == "protocol_version":
            text = "2"
        elif cmd == "known_command":
            text = "true" if rest and rest[0] in commands else "false"
        elif cmd == "list_commands":
            text = "\n".join(commands)
        elif cmd == "clear_board":
            taken.clear()
        elif cmd == "play":
            taken.add(rest[1].upper())
        elif cmd == "genmove":
            genmoves += 1
            if args.mode == "crash" and genmoves >= args.crash_at:
                return 3
            if args.mode == "pass":
                text = "pass"
            elif args.mode == "illegal":
                text = "D4"
            elif args.mode == "resign":
                text = "resign"
            else:
                text = next((p for p in points if p not in taken), "pass")
                taken.add(text)
        elif cmd == "final_score" and args.final_score is not None:
            text = args.final_score
        elif cmd in ("boardsize", "komi", "quit"):
            pass
        else:
            ok, text = False, "unknown command"
        sys.stdout.write(f"{'=' if ok else '?'}{ident} {text}\n\n")
        sys.stdout.flush()
        if cmd == "quit":
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
