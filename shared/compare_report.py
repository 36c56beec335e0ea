"""Tables and plots of a ``cnn-compare`` results document (``shared.compare.run_comparison``).

Per design: mean over seeds of params, MACs, training samples, throughput and wall time; every
metric as mean ± sample standard deviation (ddof=1; 0 with one seed). The Markdown shows metrics
with 4 decimals; CSV and JSON carry full precision; the same numbers in all three.
"""
from __future__ import annotations

import csv
import io
import json
import statistics
from pathlib import Path

from .visualize import save_figure, write_bytes_atomic

SUMMARY_COLUMNS = ["design", "description", "seeds", "params", "macs", "first_layer_params",
                   "first_layer_dense_params", "train_samples", "samples_per_s", "wall_s"]
CROSS_COLUMNS = ["domain", "design", "params", "macs", "samples_per_s", "wall_s", "metric", "mean", "std"]


def _std(xs: list[float]) -> float:
    return statistics.stdev(xs) if len(xs) > 1 else 0.0


def summarize(dom: dict) -> list[dict]:
    """One row per design of a domain's results (designs in grid order)."""
    rows = []
    for name, design in dom["designs"].items():
        runs = [r for r in dom["runs"] if r["design"] == name]
        if not runs:
            continue
        row = {"design": name, "description": design.get("description", ""), "seeds": len(runs),
               "params": runs[0]["params"], "macs": runs[0]["macs"],
               "first_layer_params": runs[0]["extra"].get("first_layer_params", ""),
               "first_layer_dense_params": runs[0]["extra"].get("first_layer_dense_params", ""),
               "train_samples": statistics.fmean(r["train_samples"] for r in runs),
               "samples_per_s": statistics.fmean(r["samples_per_s"] for r in runs),
               "wall_s": statistics.fmean(r["wall_s"] for r in runs)}
        for m in dom["metrics"]:
            xs = [r["metrics"][m] for r in runs]
            row[f"{m}_mean"], row[f"{m}_std"] = statistics.fmean(xs), _std(xs)
        rows.append(row)
    return rows


def cross_rows(doc: dict) -> list[dict]:
    """Every design of every domain with its domain's headline metric (metrics[0])."""
    out = []
    for dname, dom in doc["domains"].items():
        m = dom["metrics"][0]
        for r in dom["summary"]:
            out.append({"domain": dname, "design": r["design"], "params": r["params"], "macs": r["macs"],
                        "samples_per_s": r["samples_per_s"], "wall_s": r["wall_s"], "metric": m,
                        "mean": r[f"{m}_mean"], "std": r[f"{m}_std"]})
    return out


def _csv(rows: list[dict], cols: list[str]) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({c: r.get(c, "") for c in cols})
    return buf.getvalue().encode()


def _int(v) -> str:
    return f"{int(v):,}" if v != "" else ""


def _md_table(head: list[str], lines: list[list[str]], right: set[int]) -> list[str]:
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join("---:" if i in right else "---" for i in range(len(head))) + "|"]
    return out + ["| " + " | ".join(x) + " |" for x in lines]


def domain_table(dom: dict) -> list[str]:
    ms = dom["metrics"]
    head = ["design", "params", "MACs", "layer-1 params (dense equiv.)", "train samples", "samples/s", "wall s"]
    head += [f"{m} (mean ± std)" for m in ms]
    lines = []
    for r in dom["summary"]:
        l1 = f"{_int(r['first_layer_params'])} ({_int(r['first_layer_dense_params'])})" \
            if r["first_layer_params"] != "" else ""
        lines.append([r["design"], _int(r["params"]), _int(r["macs"]), l1, f"{r['train_samples']:,.0f}",
                      f"{r['samples_per_s']:,.0f}", f"{r['wall_s']:.1f}"]
                     + [f"{r[f'{m}_mean']:.4f} ± {r[f'{m}_std']:.4f}" for m in ms])
    return _md_table(head, lines, set(range(1, len(head))))


def cross_table(rows: list[dict]) -> list[str]:
    head = ["domain", "design", "params", "MACs", "samples/s", "wall s", "metric", "mean ± std"]
    lines = [[r["domain"], r["design"], _int(r["params"]), _int(r["macs"]), f"{r['samples_per_s']:,.0f}",
              f"{r['wall_s']:.1f}", r["metric"], f"{r['mean']:.4f} ± {r['std']:.4f}"] for r in rows]
    return _md_table(head, lines, {2, 3, 4, 5, 7})


def plot_domain(name: str, dom: dict, path: Path) -> Path:
    """Accuracy vs parameters and vs MACs (log x), one series per metric, error bars = std."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import EngFormatter, NullFormatter

    fig = Figure(figsize=(11, 4.2))
    axes = fig.subplots(1, 2)
    rows = dom["summary"]
    for ax, key, label in ((axes[0], "params", "parameters"), (axes[1], "macs", "MACs per sample")):
        for j, m in enumerate(dom["metrics"]):
            xs = [max(r[key], 1) for r in rows]
            ys = [r[f"{m}_mean"] for r in rows]
            es = [r[f"{m}_std"] for r in rows]
            ax.errorbar(xs, ys, yerr=es, fmt="o" if j == 0 else "s", capsize=3, label=m)
            if j == 0:
                for x, y, r in zip(xs, ys, rows):
                    ax.annotate(r["design"], (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(EngFormatter())
        narrow = max(xs) < 10 * min(xs)        # within one decade: label the minor ticks, else they overlap
        ax.xaxis.set_minor_formatter(EngFormatter() if narrow else NullFormatter())
        ax.set_xlabel(f"{label} (log scale)")
        ax.set_ylabel("accuracy")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{name}: accuracy vs size ({dom['budget']} per run, mean ± std over seeds)")
    return save_figure(fig, path)


def write_report(doc: dict, out: Path) -> list[Path]:
    """Write comparison.md, <domain>.csv, cross_domain.csv, results.json and <domain>_accuracy.png."""
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for name, dom in doc["domains"].items():
        dom["summary"] = summarize(dom)
    doc["cross_domain"] = cross_rows(doc)
    cfg, env = doc["config"], doc["config"]["environment"]
    md = ["# CNN design comparison", ""]
    if cfg.get("command"):
        md += [f"Command: `{cfg['command']}`", ""]
    md += [(f"Environment: {env['machine']}, {env['cpu_count']} CPUs ({env['threads']} torch threads), "
           f"{env['gpu']}; Python {env['python']}, torch {env['torch']}."),
           f"Seeds: {', '.join(map(str, cfg['seeds']))}; metrics are mean ± sample std over seeds.", ""]
    for name, dom in doc["domains"].items():
        cols = SUMMARY_COLUMNS + [f"{m}_{s}" for m in dom["metrics"] for s in ("mean", "std")]
        files.append(write_bytes_atomic(out / f"{name}.csv", _csv(dom["summary"], cols)))
        png = plot_domain(name, dom, out / f"{name}_accuracy.png")
        files.append(png)
        md += [f"## {name}", "", dom["description"], "", (f"Budget: {dom['budget']} per run. "
               f"Data: {json.dumps(dom['data']) if dom['data'] else '(all runs cached)'}"), ""]
        md += domain_table(dom) + ["", f"![{name}: accuracy vs parameters and MACs]({png.name})", ""]
        for dn, d in dom["designs"].items():
            md.append(f"- `{dn}`: {d.get('description', '')}")
        md.append("")
    md += ["## Across domains", "", "Each domain's headline metric (its first).", ""] + cross_table(doc["cross_domain"]) + [""]
    files.append(write_bytes_atomic(out / "cross_domain.csv", _csv(doc["cross_domain"], CROSS_COLUMNS)))
    files.append(write_bytes_atomic(out / "comparison.md", "\n".join(md).encode()))
    files.append(write_bytes_atomic(out / "results.json", json.dumps(doc, indent=1).encode()))
    return files
