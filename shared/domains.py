"""What a domain (an application: Go, speech, ...) provides to the cross-domain comparison.

A domain is any object with the ``Domain`` protocol's attributes; most subclass ``TrainedDomain``,
which supplies ``train_and_score`` on top of ``shared.train.fit`` and only asks for data, designs
and scoring. ``shared`` never imports an app: domains are found through the entry-point group
``cnn_compare.domains`` (each entry point names a zero-argument factory returning a ``Domain``),
or registered directly with ``register_domain`` (tests, notebooks).

A *design* is plain data (it comes from Python or from a TOML/JSON design file)::

    {"name": "cnn-5x5", "description": "...", "layers": [{"type": "Conv", "out": 32, ...}, ...],
     "num_classes": None}          # optional; absent -> the domain's default head

``layers`` use the JSON form of ``shared.network.spec_to_dict``; the domain supplies the input shape.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol, runtime_checkable

import torch
from torch.utils.data import Dataset

from .network import NetSpec, build, spec_from_dict, spec_to_dict
from .summary import summary
from .train import TrainConfig, evaluate, fit, seed_everything

ENTRY_POINT_GROUP = "cnn_compare.domains"


@dataclass(frozen=True)
class Budget:
    """Training budget of one run; exactly one of the two is > 0."""
    seconds: float = 0.0   # wall-clock training time (constant learning rate; stops mid-epoch)
    samples: int = 0       # training samples seen (one pass over a seeded cycle; cosine schedule)

    def __post_init__(self):
        if (self.seconds > 0) == (self.samples > 0):
            raise ValueError(f"Budget: give exactly one of seconds or samples (got {self.seconds}, {self.samples})")

    def key(self) -> str:
        return f"{self.seconds:g}s" if self.seconds > 0 else f"{self.samples}n"

    def describe(self) -> str:
        return f"{self.seconds:g} s of training" if self.seconds > 0 else f"{self.samples:,} training samples"


@dataclass
class DomainData:
    train: Dataset                                   # yields (x, y); x has the domain's input shape
    evals: dict[str, Dataset]                        # evaluation set name -> dataset
    info: dict = field(default_factory=dict)         # JSON-able description (sizes, sources) for the report
    extra: dict = field(default_factory=dict)        # anything the domain needs per seed (not reported)


@dataclass
class RunResult:
    params: int                     # trainable parameters
    macs: int                       # multiply-accumulates per sample (forward)
    train_samples: int              # samples trained on
    train_seconds: float            # time in the training loop
    samples_per_s: float            # training throughput
    wall_s: float                   # whole run: build + train + evaluate
    metrics: dict[str, float]       # metric name -> value, e.g. {"top1": 0.31, "top5": 0.62}
    extra: dict = field(default_factory=dict)  # e.g. first-layer parameter counts

    def to_dict(self) -> dict:
        return {"params": self.params, "macs": self.macs, "train_samples": self.train_samples,
                "train_seconds": self.train_seconds, "samples_per_s": self.samples_per_s, "wall_s": self.wall_s,
                "metrics": dict(self.metrics), "extra": dict(self.extra)}


@runtime_checkable
class Domain(Protocol):
    name: str                       # "go", "speech"
    metrics: tuple[str, ...]        # reported metric names in table order; metrics[0] is the headline
    description: str                # one line for the report

    def designs(self, quick: bool = False) -> dict[str, dict]: ...
    def spec(self, design: dict) -> NetSpec: ...
    def fingerprint(self, data_root: Path, quick: bool) -> str: ...
    def load_data(self, data_root: Path, quick: bool) -> DomainData: ...
    def train_and_score(self, design: dict, budget: Budget, seed: int, data: DomainData) -> RunResult: ...


# ------------------------------------------------------------------------------------- discovery

_REGISTERED: dict[str, Callable[[], Domain]] = {}


def register_domain(name: str, factory: Callable[[], Domain], replace: bool = False) -> None:
    """Make ``name`` available to ``get_domain`` without an entry point (tests, notebooks)."""
    if name in _REGISTERED and not replace:
        raise ValueError(f"domain {name!r} is already registered")
    _REGISTERED[name] = factory


def unregister_domain(name: str) -> None:
    _REGISTERED.pop(name, None)


def _entry_points() -> dict:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def domain_names() -> list[str]:
    """Names of all domains: registered ones and installed entry points."""
    return sorted(set(_REGISTERED) | set(_entry_points()))


def get_domain(name: str) -> Domain:
    """A fresh domain object; registered factories win over entry points of the same name."""
    if name in _REGISTERED:
        return _REGISTERED[name]()
    eps = _entry_points()
    if name not in eps:
        known = ", ".join(domain_names()) or "(none installed)"
        raise KeyError(f"unknown domain {name!r}; known: {known}")
    factory = eps[name].load()
    return factory()


# ------------------------------------------------------------------------------------- designs

def design_spec(design: dict, input_shape: tuple[int, ...], num_classes: int | None) -> NetSpec:
    """NetSpec of a design dict on a domain's input; ``design["num_classes"]`` overrides the default."""
    if "layers" not in design or not isinstance(design["layers"], (list, tuple)):
        raise ValueError(f"design {design.get('name', '?')!r}: needs a 'layers' list")
    nc = design.get("num_classes", num_classes)
    return spec_from_dict({"input_shape": list(input_shape), "layers": list(design["layers"]), "num_classes": nc})


def design_from_spec(name: str, spec: NetSpec, description: str = "") -> dict:
    """The design dict of a NetSpec built in Python (input shape dropped: the domain supplies it)."""
    d = spec_to_dict(spec)
    return {"name": name, "description": description, "layers": d["layers"], "num_classes": d["num_classes"]}


def design_key(design: dict) -> str:
    """Stable hash of what a design computes (layers + head; not its name or description)."""
    core = {"layers": design.get("layers"), "num_classes": design.get("num_classes", "default")}
    return hashlib.sha1(json.dumps(core, sort_keys=True).encode()).hexdigest()[:12]


def first_layer_counts(spec: NetSpec) -> dict:
    """Parameters of the first layer that has any and of a dense layer with the same input and output
    sizes: what parameter sharing saves (a design that starts with Dense saves nothing)."""
    s = summary(spec)
    rows = [r for r in s.rows if r.params > 0]
    if not rows:
        return {}
    r = rows[0]
    i = s.rows.index(r)
    in_shape = spec.input_shape if i == 0 else s.rows[i - 1].out_shape
    n_in, n_out = math.prod(in_shape), math.prod(r.out_shape)
    return {"first_layer": r.kind, "first_layer_params": r.params, "first_layer_dense_params": n_in * n_out + n_out}


# ------------------------------------------------------------------------------------- training

class _Cycle(Dataset):
    """``length`` samples drawn from ``base`` in seeded shuffled passes (a samples budget as one epoch)."""

    def __init__(self, base: Dataset, length: int, seed: int):
        self.base, self.length = base, length
        g = torch.Generator().manual_seed(seed)
        n = len(base)
        passes = -(-length // n)
        self.index = torch.cat([torch.randperm(n, generator=g) for _ in range(passes)])[:length]

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i):
        return self.base[int(self.index[i])]

    def __getitems__(self, idx):
        sub = [int(self.index[i]) for i in idx]
        if hasattr(self.base, "__getitems__"):
            return self.base.__getitems__(sub)
        return [self.base[i] for i in sub]


def train_with_budget(model: torch.nn.Module, train_set: Dataset, budget: Budget, seed: int,
                      base: TrainConfig) -> dict:
    """Train ``model`` in place under ``budget`` -> {"samples", "seconds", "samples_per_s", "stop"}.
    Samples budget: one epoch over a seeded cycle of exactly that many samples (``base.schedule``).
    Time budget: passes over ``train_set`` until the time is up, constant learning rate."""
    cfg = dataclasses.replace(base, seed=seed, progress="off", early_stop_patience=0)
    if budget.samples > 0:
        data: Dataset = _Cycle(train_set, budget.samples, seed)
        cfg.epochs, cfg.time_budget_min = 1, 0.0
    else:
        data = train_set
        cfg.epochs, cfg.schedule, cfg.time_budget_min = 1_000_000, "constant", budget.seconds / 60
        cfg.warmup = 0.0
    hist = fit(model, data, None, cfg)
    n = sum(round(e["samples_per_s"] * e["time_s"]) for e in hist.epochs)
    t = sum(e["time_s"] for e in hist.epochs)
    return {"samples": int(n), "seconds": t, "samples_per_s": n / max(t, 1e-9), "stop": hist.stop_reason}


class TrainedDomain:
    """Base for domains trained with ``shared.train.fit``: subclasses set ``name``, ``metrics``,
    ``description``, ``input_shape``, ``num_classes``, ``train_config`` and implement ``designs``,
    ``fingerprint``, ``load_data`` and ``score`` (and ``datasets`` when the split depends on the seed)."""

    name = "domain"
    metrics: tuple[str, ...] = ("top1",)
    description = ""
    input_shape: tuple[int, ...] = ()
    num_classes: int | None = None
    train_config = TrainConfig(optimizer="adamw", lr=1e-3, batch_size=64)

    def designs(self, quick: bool = False) -> dict[str, dict]:
        raise NotImplementedError

    def spec(self, design: dict) -> NetSpec:
        return design_spec(design, self.input_shape, self.num_classes)

    def fingerprint(self, data_root: Path, quick: bool) -> str:
        raise NotImplementedError

    def load_data(self, data_root: Path, quick: bool) -> DomainData:
        raise NotImplementedError

    def datasets(self, data: DomainData, seed: int) -> tuple[Dataset, dict[str, Dataset]]:
        """(train set, eval sets) of one seed; the default ignores the seed."""
        return data.train, data.evals

    def score(self, model: torch.nn.Module, evals: dict[str, Dataset]) -> dict[str, float]:
        """Default: top-1 of every eval set, named after the set."""
        return {k: evaluate(model, ds, batch_size=256, device=self.train_config.device)["top1"]
                for k, ds in evals.items()}

    def train_and_score(self, design: dict, budget: Budget, seed: int, data: DomainData) -> RunResult:
        t0 = time.monotonic()
        spec = self.spec(design)
        seed_everything(seed)
        model = build(spec)
        s = summary(spec)
        train_set, evals = self.datasets(data, seed)
        tr = train_with_budget(model, train_set, budget, seed, self.train_config)
        model.eval()
        metrics = self.score(model, evals)
        return RunResult(params=s.total_params, macs=s.total_macs, train_samples=tr["samples"],
                         train_seconds=tr["seconds"], samples_per_s=tr["samples_per_s"],
                         wall_s=time.monotonic() - t0, metrics=metrics,
                         extra={**first_layer_counts(spec), "stop": tr["stop"]})
