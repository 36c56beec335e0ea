"""`cnn-compare`: CNN designs side by side on several domains, same data, budget and seeds.

    cnn-compare --domains go,speech --seeds 3 --budget-seconds go=40,speech=25 --out docs/compare

For every domain: its design grid (+ a design file's), each design trained once per seed under the
same budget on the same data, scored on the domain's metrics. Every finished run is cached in
``OUT/cache/<domain>-<design>-s<seed>-<key>.json`` (key = hash of domain, design layers, seed,
budget, data fingerprint), so an interrupted comparison resumes where it stopped and a design added
later trains only itself. Outputs (``shared.compare_report``): ``comparison.md``, ``<domain>.csv``,
``cross_domain.csv``, ``results.json``, ``<domain>_accuracy.png``.

Design file (TOML or JSON; the same structure)::

    replace = false                  # true: only the file's designs for the domains it names
    [[designs]]
    domain = "speech"                # which domain's input this design runs on
    name = "freq-7x1"                # unique within the domain; a built-in name is overridden
    description = "7x1 kernels"      # optional, shown in the tables
    num_classes = 10                 # optional; default: the domain's head (Go: none, the last
                                     # layer must give 361 values; speech: Dense(classes) appended)
    layers = [                       # shared.layers specs in spec_to_dict form
      { type = "Conv", out = 32, kernel = [7, 1], padding = "same" },
      { type = "ReLU" }, { type = "GlobalPool", kind = "avg", axis = "all" },
    ]
"""
from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import click

from .domains import (
    Budget,
    Domain,
    RunResult,
    design_key,
    domain_names,
    first_layer_counts,
    get_domain,
)
from .visualize import write_bytes_atomic

DESIGN_KEYS = {"domain", "name", "description", "layers", "num_classes"}


class CompareError(Exception):
    """Bad input to the comparison (design file, options); the message names the file and the reason."""


# ------------------------------------------------------------------------------------- design files

def load_design_file(path: str | Path) -> tuple[dict[str, dict[str, dict]], bool]:
    """-> ({domain: {name: design}}, replace). CompareError naming the file for anything malformed."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise CompareError(f"{path}: cannot read design file ({e.strerror or e})") from None
    try:
        if path.suffix.lower() == ".toml":
            try:
                import tomllib
            except ImportError:  # Python 3.10: the tomli backport (same API)
                try:
                    import tomli as tomllib
                except ImportError:
                    raise CompareError(f"{path}: TOML needs Python 3.11+ or the 'tomli' package; "
                                       f"or write the designs as JSON") from None
            doc = tomllib.loads(raw.decode("utf-8"))
        elif path.suffix.lower() == ".json":
            doc = json.loads(raw)
        else:
            raise CompareError(f"{path}: design files must end in .toml or .json")
    except (ValueError, UnicodeDecodeError) as e:
        raise CompareError(f"{path}: not valid {path.suffix[1:].upper()} ({e})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("designs"), list) or not doc["designs"]:
        raise CompareError(f"{path}: needs a non-empty 'designs' list (TOML: [[designs]] tables)")
    out: dict[str, dict[str, dict]] = {}
    for i, d in enumerate(doc["designs"], 1):
        where = f"{path}: design #{i}"
        if not isinstance(d, dict):
            raise CompareError(f"{where}: must be a table/object")
        extra = set(d) - DESIGN_KEYS
        if extra:
            raise CompareError(f"{where}: unknown key(s) {sorted(extra)}; allowed: {sorted(DESIGN_KEYS)}")
        for k in ("domain", "name", "layers"):
            if k not in d:
                raise CompareError(f"{where}: missing {k!r}")
        if not isinstance(d["layers"], list) or not all(isinstance(x, dict) for x in d["layers"]):
            raise CompareError(f"{where} ({d['name']}): 'layers' must be a list of tables with a 'type'")
        if d["name"] in out.get(d["domain"], {}):
            raise CompareError(f"{where}: duplicate design name {d['name']!r} for domain {d['domain']!r}")
        out.setdefault(d["domain"], {})[d["name"]] = {k: v for k, v in d.items() if k != "domain"}
    return out, bool(doc.get("replace", False))


def parse_per_domain(value: str | None, cast, what: str) -> dict[str, object]:
    """"40" -> {"*": 40}; "go=40,speech=25" -> {"go": 40, "speech": 25}."""
    if value is None:
        return {}
    out: dict[str, object] = {}
    for part in value.split(","):
        name, _, v = part.rpartition("=")
        try:
            out[name.strip() or "*"] = cast(v)
        except ValueError:
            raise CompareError(f"{what}: {part!r} is not NUMBER or DOMAIN=NUMBER") from None
    return out


# ------------------------------------------------------------------------------------- the runs

@dataclass
class Plan:
    domains: list[str]
    seeds: list[int]
    budgets: dict[str, Budget]             # per domain
    data_root: Path
    out: Path
    quick: bool = False
    designs_file: dict[str, dict[str, dict]] | None = None
    replace: bool = False
    only: list[str] | None = None          # design names to keep (all domains)


def cache_file(out: Path, domain: str, design: dict, seed: int, budget: Budget, fingerprint: str) -> Path:
    key = {"domain": domain, "design": design_key(design), "seed": seed, "budget": budget.key(), "data": fingerprint}
    h = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in design["name"])
    return out / "cache" / f"{domain}-{safe}-s{seed}-{h}.json"


def read_cached(path: Path) -> RunResult | None:
    try:
        d = json.loads(path.read_text())["result"]
        return RunResult(**d)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def grid_for(dom: Domain, plan: Plan) -> dict[str, dict]:
    file_designs = (plan.designs_file or {}).get(dom.name, {})
    grid = {} if (plan.replace and file_designs) else dict(dom.designs(quick=plan.quick))
    for name, d in file_designs.items():
        grid[name] = {"name": name, **d}
    if plan.only:
        grid = {k: v for k, v in grid.items() if k in plan.only}
    for name, d in grid.items():
        try:
            dom.spec(d)
        except (ValueError, TypeError) as e:
            raise CompareError(f"design {name!r} does not build on domain {dom.name!r}: {e}") from None
    return grid


def run_comparison(plan: Plan, log=None) -> dict:
    """Train (or read from the cache) every (domain, design, seed); -> the results document."""
    log = log or (lambda s: click.echo(s, err=True))
    doc = {"config": {"domains": plan.domains, "seeds": plan.seeds, "quick": plan.quick,
                      "budgets": {k: b.__dict__ for k, b in plan.budgets.items()},
                      "data_root": str(plan.data_root), "environment": environment()},
           "domains": {}}
    unknown = [d for d in plan.domains if d not in domain_names()]
    if unknown:
        raise CompareError(f"unknown domain(s) {unknown}; known: {', '.join(domain_names()) or '(none)'}")
    if plan.designs_file:
        stray = sorted(set(plan.designs_file) - set(domain_names()))
        if stray:
            raise CompareError(f"design file names unknown domain(s) {stray}; known: {', '.join(domain_names())}")
    for name in plan.domains:
        dom = get_domain(name)
        budget = plan.budgets[name]
        grid = grid_for(dom, plan)
        if not grid:
            raise CompareError(f"domain {name!r}: no designs left to run")
        fp = dom.fingerprint(plan.data_root, plan.quick)
        info_path = plan.out / "cache" / f"data-{name}-{fp}.json"   # data description, for cached reruns
        data, runs = None, []
        total, k = len(grid) * len(plan.seeds), 0
        for seed in plan.seeds:                      # seed-major: a full first pass of every design early
            for dname, design in grid.items():
                k += 1
                path = cache_file(plan.out, name, design, seed, budget, fp)
                res = read_cached(path)
                tag = "cached"
                if res is None:
                    if data is None:
                        log(f"[{name}] loading data ...")
                        t0 = time.monotonic()
                        data = dom.load_data(plan.data_root, plan.quick)
                        log(f"[{name}] data ready in {time.monotonic() - t0:.1f} s: {json.dumps(data.info)}")
                        write_bytes_atomic(info_path, json.dumps(data.info).encode())
                    res = dom.train_and_score(design, budget, seed, data)
                    key = {"domain": name, "design": design, "seed": seed, "budget": budget.key(), "data": fp}
                    write_bytes_atomic(path, json.dumps({"key": key, "result": res.to_dict()}, indent=1).encode())
                    tag = f"{res.wall_s:.1f} s"
                res.extra.update(first_layer_counts(dom.spec(design)))   # exact; cheap to recompute
                ms = ", ".join(f"{m} {v:.4f}" for m, v in res.metrics.items())
                log(f"[{name} {k}/{total}] {dname} seed {seed}: {ms} ({res.train_samples:,} samples, {tag})")
                runs.append({"design": dname, "seed": seed, **res.to_dict()})
        doc["domains"][name] = {"description": dom.description, "metrics": list(dom.metrics),
                                "budget": budget.describe(), "fingerprint": fp,
                                "data": data.info if data is not None else _read_json(info_path),
                                "designs": grid, "runs": runs}
    return doc


def environment() -> dict:
    import os
    import platform

    import torch
    dev = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return {"python": platform.python_version(), "torch": torch.__version__, "cpu_count": os.cpu_count(),
            "machine": f"{platform.machine()} {platform.processor() or ''}".strip(), "gpu": dev,
            "threads": torch.get_num_threads()}


# ------------------------------------------------------------------------------------- command line

@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--domains", default=None, help="Comma-separated domains to compare (default: all installed).")
@click.option("--designs", "designs_path", type=click.Path(dir_okay=False),
              help="TOML/JSON design file: designs added to (or, with replace = true, replacing) the built-in grid.")
@click.option("--only", default=None, help="Comma-separated design names to run (others skipped).")
@click.option("--seeds", default=3, show_default=True, type=click.IntRange(1), help="Seeds 0..N-1 per design.")
@click.option("--budget-seconds", default=None,
              help="Training seconds per run: N, or DOMAIN=N,... (default 60; --quick: a samples budget).")
@click.option("--budget-samples", default=None, help="Training samples per run: N or DOMAIN=N,...")
@click.option("--data", "data_root", default="../shared/data", show_default=True, type=click.Path(file_okay=False),
              help="Data root holding go/ and speech/.")
@click.option("--quick", is_flag=True, help="Tiny smoke run: small data and, unless given, 256 samples per run.")
@click.option("--out", required=False, type=click.Path(file_okay=False), help="Output folder (tables, plots, cache).")
@click.option("--threads", default=0, type=click.IntRange(0),
              help="torch CPU threads (0 = torch's default); 1 is steadier on a busy machine.")
@click.option("--list", "list_only", is_flag=True, help="List domains and their designs, then exit.")
def main(domains, designs_path, only, seeds, budget_seconds, budget_samples, data_root, quick, out, threads,
         list_only):
    """Compare CNN designs across domains under one budget: tables (Markdown, CSV, JSON) and plots.

    Cached runs in OUT/cache are reused: re-running the same command resumes an interrupted one."""
    from .compare_report import write_report

    try:
        names = [d.strip() for d in domains.split(",") if d.strip()] if domains else domain_names()
        if not names:
            raise CompareError("no domains installed (entry-point group cnn_compare.domains is empty)")
        file_designs, replace = load_design_file(designs_path) if designs_path else (None, False)
        if list_only:
            plan = Plan(names, [], {}, Path(data_root), Path("."), quick, file_designs, replace)
            for n in names:
                if n not in domain_names():
                    raise CompareError(f"unknown domain {n!r}; known: {', '.join(domain_names())}")
                dom = get_domain(n)
                click.echo(f"{n}: {dom.description}")
                for dn, d in grid_for(dom, plan).items():
                    click.echo(f"  {dn}: {d.get('description', '')}")
            return
        if not out:
            raise click.UsageError("--out is required")
        secs = parse_per_domain(budget_seconds, float, "--budget-seconds")
        samp = parse_per_domain(budget_samples, int, "--budget-samples")
        budgets = {}
        for n in names:
            s, m = secs.get(n, secs.get("*", 0.0)), samp.get(n, samp.get("*", 0))
            if s and m:
                raise CompareError(f"domain {n}: give a seconds or a samples budget, not both")
            if not s and not m:
                s, m = (0.0, 256) if quick else (60.0, 0)
            budgets[n] = Budget(seconds=float(s), samples=int(m))
        if threads:
            import torch
            torch.set_num_threads(threads)
        only_list = [x.strip() for x in only.split(",")] if only else None
        plan = Plan(names, list(range(seeds)), budgets, Path(data_root), Path(out), quick, file_designs,
                    replace, only_list)
        doc = run_comparison(plan)
        doc["config"]["command"] = "cnn-compare " + " ".join(sys.argv[1:])
        files = write_report(doc, Path(out))
    except (CompareError, KeyError, ValueError) as e:
        raise click.ClickException(str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)) from None
    for f in files:
        click.echo(str(f))


if __name__ == "__main__":
    main()
