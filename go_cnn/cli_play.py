"""`go-cnn gtp` and `go-cnn match`: play Go with a trained model (registered in cli.py)."""
from __future__ import annotations

import json
import shlex
import sys

import click

_ENGINE_OPTIONS = [
    click.option("--temperature", default=0.0, show_default=True, type=click.FloatRange(min=0),
                 help="0 plays the most probable move; > 0 samples p^(1/T) for variety."),
    click.option("--top-k", default=0, show_default=True, type=click.IntRange(min=0),
                 help="Sample only among the k most probable moves (0: all)."),
    click.option("--random-opening", default=0, show_default=True, type=click.IntRange(min=0),
                 help="Sample (T=1, top 5) while the game has fewer moves than this, for varied games."),
    click.option("--resign-threshold", default=0.0, show_default=True, type=click.FloatRange(min=0),
                 help="Resign when the area estimate is this many points behind (0: never)."),
    click.option("--pass-threshold", default=0.02, show_default=True, type=click.FloatRange(0, 1),
                 help="After the opponent passes, pass if the best move's probability is below this."),
    click.option("--symmetries", default=1, show_default=True, type=click.IntRange(1, 8),
                 help="Average the policy over this many board symmetries."),
    click.option("--tactics/--no-tactics", default=True, show_default=True,
                 help="Read ladders and chains in atari: play captures/rescues worth 2+ stones, "
                      "never run a dead ladder or self-atari 2+ stones."),
    click.option("--seed", default=None, type=int, help="Random seed for sampling."),
    click.option("--device", default="cpu", show_default=True, help="cpu, cuda, mps or auto."),
    click.option("--threads", default=1, show_default=True, type=click.IntRange(min=1),
                 help="CPU threads for the network (1 keeps latency steady beside other programs)."),
]


def _engine_options(fn):
    for opt in reversed(_ENGINE_OPTIONS):
        fn = opt(fn)
    return fn


@click.command()
@click.argument("model", type=click.Path(dir_okay=False))
@_engine_options
def gtp(model, temperature, top_k, random_opening, resign_threshold, pass_threshold, symmetries, tactics, seed,
        device, threads):
    """Play Go over GTP v2 on stdin/stdout with the policy network in MODEL.

    Load it in GoGui (Program > New Program: `go-cnn gtp MODEL`) or Sabaki (Engines > Manage
    Engines: path `go-cnn`, arguments `gtp MODEL`). GoGui's Analyze menu shows the policy heatmap
    and the top moves. Nothing but GTP responses is written to stdout."""
    import torch

    from go_cnn.gtp import EngineConfig, serve
    from go_cnn.policy import Policy, PolicyError

    torch.set_num_threads(threads)
    try:
        policy = Policy.load(model, device=device)
    except (PolicyError, RuntimeError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    cfg = EngineConfig(temperature=temperature, top_k=top_k, random_opening=random_opening,
                       pass_threshold=pass_threshold,
                       resign_threshold=resign_threshold, symmetries=symmetries, tactics=tactics,
                       seed=seed)
    sys.exit(serve(policy, cfg))


@click.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--opponent", required=True,
              help='Opponent command line, e.g. "/usr/games/gnugo --mode gtp --level 10 --chinese-rules".')
@click.option("--games", default=10, show_default=True, type=click.IntRange(min=1), help="Games to play.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object on stdout.")
@click.option("--sgf-out", default=None, type=click.Path(file_okay=False), help="Save every game here as SGF.")
@click.option("--max-moves", default=500, show_default=True, type=click.IntRange(min=1),
              help="Move cap; a capped game is scored as it stands.")
@click.option("--komi", default=7.5, show_default=True, help="Komi (area scoring).")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds either program may take per command.")
@click.option("--random-opening", default=10, show_default=True, type=click.IntRange(min=0),
              help="Our engine samples (T=1, top 5) while a game has fewer moves than this: varied games.")
@click.option("--seed", default=0, show_default=True, help="Seed of our engine; game i seeds the opponent seed+i.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1),
              help="Games played in parallel (each pair of programs needs about one CPU core).")
@click.option("--restarts", default=0, show_default=True, type=click.IntRange(min=0),
              help="Survive this many program failures: the game is voided (not counted), both programs "
                   "restart, one more game is played. 0: a failure stops the match.")
@click.option("--engine-args", default="", help='Extra `go-cnn gtp` options, e.g. "--symmetries 8".')
@click.option("--quiet", is_flag=True, help="No per-game lines on stderr.")
def match(model, opponent, games, as_json, sgf_out, max_moves, komi, timeout, random_opening, seed, workers,
          restarts, engine_args, quiet):
    """Play MODEL against another GTP program and report the win rate.

    Colours alternate (the model is black in games 1, 3, 5, ...), komi 7.5 under area scoring; games
    end on two passes, resignation or the move cap, and are scored by the opponent's final_score when
    it has one. The model's first --random-opening moves are sampled so that games differ. Exit status 1 if a program fails; the games finished
    before are kept (SGFs written, summary printed)."""
    from pathlib import Path

    from go_cnn.match import MatchConfig, MatchError, format_summary, play_match
    from go_cnn.policy import Policy, PolicyError

    if not Path(model).is_file():
        raise click.ClickException(f"{model}: no such model file")
    try:
        size = Policy.load(model, device="cpu").size  # fail early, with the reason, on a bad file
    except (PolicyError, RuntimeError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    try:
        extra = shlex.split(engine_args)
        if not shlex.split(opponent):
            raise ValueError("empty command")
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--opponent/--engine-args") from None
    engine_cmd = [sys.executable, "-m", "go_cnn", "gtp", str(model), "--random-opening", str(random_opening),
                  "--seed", str(seed), *extra]
    cfg = MatchConfig(games=games, komi=komi, size=size, max_moves=max_moves, sgf_out=sgf_out, timeout=timeout,
                      seed=seed, workers=workers, restarts=restarts)

    def progress(rec, res):
        if not quiet:
            s = res.summary()
            click.echo(f"game {rec.index + 1}: engine {rec.engine_colour} {rec.result} ({rec.moves} moves, "
                       f"{rec.end}) - engine {s['wins']}/{s['games']} of {games}", err=True)

    error = None
    try:
        result = play_match(engine_cmd, opponent, cfg, progress)
    except MatchError as e:
        result, error = e.result, str(e)
    summary = result.summary()
    click.echo(format_summary(summary), err=as_json)
    if as_json:
        click.echo(json.dumps(summary))
    if error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
