"""Judge the lectures' claims on a `cnn-compare` results.json, by rules fixed before the run.

    python docs/compare/claims.py docs/compare/results.json > docs/compare/claims.md

Rule for "A beats B" on a metric: the difference of the means must exceed the larger of the two
standard deviations over seeds -> "held"; the same margin the other way -> "did not hold"; otherwise
"not resolved (within the seed spread)". Parameter and MAC counts are exact, no spread.
"""
from __future__ import annotations

import json
import sys


def _row(doc: dict, domain: str, design: str) -> dict | None:
    for r in doc["domains"].get(domain, {}).get("summary", []):
        if r["design"] == design:
            return r
    return None


def _ms(r: dict, m: str) -> str:
    return f"{r[f'{m}_mean']:.4f} ± {r[f'{m}_std']:.4f}"


def beats(a: dict, b: dict, m: str) -> str:
    d = a[f"{m}_mean"] - b[f"{m}_mean"]
    margin = max(a[f"{m}_std"], b[f"{m}_std"])
    if d > margin:
        return "held"
    if -d > margin:
        return "did not hold"
    return "not resolved (within the seed spread)"


def compare_line(doc, domain, a, b, m) -> tuple[str, str]:
    ra, rb = _row(doc, domain, a), _row(doc, domain, b)
    if ra is None or rb is None:
        return "missing", f"{a} or {b} not in the results"
    return beats(ra, rb, m), f"{m}: `{a}` {_ms(ra, m)} vs `{b}` {_ms(rb, m)}"


def main(path: str) -> None:
    with open(path) as f:
        doc = json.load(f)
    env = doc["config"]["environment"]
    lines = ["# The lectures' claims, measured", "",
             (f"Run: `{doc['config'].get('command', 'cnn-compare')}`; {env['cpu_count']} CPUs, "
             f"{env['threads']} torch thread(s), {env['gpu']}; torch {env['torch']}; "
             f"seeds {doc['config']['seeds']}."), ""]
    total = sum(r["wall_s"] for d in doc["domains"].values() for r in d["runs"])
    lines += [f"Sum of run wall times: {total / 60:.1f} min (data loading not included).", ""]
    for name, d in doc["domains"].items():
        lines.append(f"- {name}: {d['budget']} per run; data {json.dumps(d.get('data') or {})}")
    lines.append("")

    def claim(title: str, items: list[tuple[str, str]], note: str = "") -> None:
        lines.append(f"## {title}")
        lines.append("")
        for verdict, text in items:
            lines.append(f"- **{verdict}** — {text}")
        if note:
            lines.extend(["", note])
        lines.append("")

    go = "go" in doc["domains"]
    sp = "speech" in doc["domains"]
    if go:
        fc = _row(doc, "go", "fc")
        items = [compare_line(doc, "go", c, "fc", m) for c in ("cnn-5x5", "cnn-3x3") for m in ("top1", "top5")]
        if fc:
            items.insert(0, ("held" if fc["top1_mean"] > 3 / 361 else "did not hold",
                             f"FC can be used: `fc` top1 {_ms(fc, 'top1')} vs chance 1/361 = 0.0028"))
        claim("Go: a fully-connected network can be used, but a CNN performs much better", items)
        claim("Go: AlphaGo uses 5x5 for the first layer (5x5 beats 3x3)",
              [compare_line(doc, "go", "cnn-5x5", "cnn-3x3", m) for m in ("top1", "top5")])
        claim("Go: AlphaGo does not use max pooling (no pooling beats pooling)",
              [compare_line(doc, "go", "cnn-5x5", "cnn-5x5-maxpool", m) for m in ("top1", "top5")])
    if sp:
        items = [compare_line(doc, "speech", "freq", other, m)
                 for other in ("time", "2d") for m in ("accuracy", "speaker_disjoint_accuracy")]
        claim("Speech: the filters move in the frequency direction (frequency-axis CNN beats time-axis and 2-D)",
              items)
    items = []
    for dom, pooled, unpooled, m in (("speech", "freq", "freq-no-fpool", "speaker_disjoint_accuracy"),
                                     ("speech", "freq", "freq-no-fpool", "accuracy"),
                                     ("speech", "2d", "2d-no-fpool", "speaker_disjoint_accuracy"),
                                     ("speech", "2d", "2d-no-fpool", "accuracy"),
                                     ("go", "cnn-5x5-maxpool", "cnn-5x5", "top1")):
        a, b = _row(doc, dom, pooled), _row(doc, dom, unpooled)
        if a is None or b is None:
            continue
        v = beats(b, a, m)   # "loses information" = the unpooled net is clearly better
        kept = {"held": "did not hold", "did not hold": "held"}.get(v, "held")
        items.append((kept, (f"{dom}: `{pooled}` {a['macs'] / 1e6:.1f}M MACs vs `{unpooled}` "
                            f"{b['macs'] / 1e6:.1f}M MACs ({b['macs'] / a['macs']:.1f}x), "
                            f"{a['samples_per_s']:.0f} vs {b['samples_per_s']:.0f} samples/s; "
                            f"{m} {_ms(a, m)} vs {_ms(b, m)}")))
    claim("Both: pooling reduces computation without losing important information", items,
          "Verdict per pair: held = fewer MACs and accuracy not clearly lower (the unpooled net does not win "
          "by more than the seed spread).")
    items = []
    for dom, cnn, dense in (("go", "cnn-5x5", "fc"), ("speech", "freq", "fc")):
        a, b = _row(doc, dom, cnn), _row(doc, dom, dense)
        if a is None or b is None:
            continue
        ratio = a["first_layer_dense_params"] / max(a["first_layer_params"], 1)
        items.append(("held" if ratio > 10 else "did not hold",
                      (f"{dom}: `{cnn}` first layer {a['first_layer_params']:,} parameters; a dense layer with "
                      f"the same input and output sizes would have {a['first_layer_dense_params']:,} "
                      f"({ratio:,.0f}x). Whole nets: `{cnn}` {a['params']:,} vs `{dense}` {b['params']:,} "
                      f"parameters")))
    claim("Both: parameter sharing keeps a CNN far smaller than a dense layer on the same input", items)
    sys.stdout.write("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1])
