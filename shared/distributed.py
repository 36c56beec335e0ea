"""Device choice, torchrun/DDP set-up, and samplers that shard data over processes.

``setup()`` reads ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` when it is called (never at import): under
``torchrun --nproc_per_node N`` it joins the process group (NCCL on CUDA, gloo on CPU); otherwise
it is a single process. The samplers are pure functions of (seed, epoch, rank), which is what makes
resume exact and lets every rank agree on the shuffle without talking.
"""
from __future__ import annotations

import gc
import math
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.utils.data import Sampler


def select_device(pref: str = "auto", local_rank: int = 0) -> torch.device:
    """``"auto"`` -> cuda (this process's ``local_rank`` GPU) > mps > cpu; else ``torch.device(pref)``."""
    if pref != "auto":
        dev = torch.device(pref)
        if dev.type == "cuda" and dev.index is None:
            dev = torch.device("cuda", local_rank)
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@dataclass(frozen=True)
class DistInfo:
    rank: int                 # global rank of this process
    world_size: int           # number of processes
    local_rank: int           # rank on this machine (picks the GPU)
    device: torch.device      # where this process trains
    created: bool = False     # True when setup() created the process group (teardown() destroys it)

    @property
    def is_main(self) -> bool:
        """Only the main process writes logs, checkpoints and the progress bar."""
        return self.rank == 0


def setup(device: str = "auto") -> DistInfo:
    """Single process, or join the torchrun process group described by the environment."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(0, 1, 0, select_device(device))
    local = int(os.environ.get("LOCAL_RANK", "0"))  # RANK is read by init_process_group
    dev = select_device(device, local)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    created = False
    if not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
        created = True
    return DistInfo(dist.get_rank(), dist.get_world_size(), local, dev, created)


def current(device: torch.device) -> DistInfo:
    """The running process group (if any) as a ``DistInfo``; creates nothing."""
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")), device)
    return DistInfo(0, 1, 0, device)


def teardown(info: DistInfo) -> None:
    if info.created and dist.is_initialized():
        # Free the DDP wrapper now: its reducer holds the process group, and DDP sits in reference
        # cycles, so without a collection it may only die at interpreter exit, where gloo's threads
        # abort the process ("terminate called without an active exception"). Then wait for every
        # rank (rank 0 may still be writing the last checkpoint) before tearing gloo down.
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()
        gc.collect()


def all_reduce_sum(t: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Sum ``t`` over processes in place (no-op for one process)."""
    if info.world_size > 1:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def any_process(flag: bool, info: DistInfo) -> bool:
    """True on every process if ``flag`` is True on any (keeps ranks stopping together)."""
    if info.world_size == 1:
        return flag
    t = torch.tensor([float(flag)], device=info.device)
    return all_reduce_sum(t, info).item() > 0


class EpochSampler(Sampler[int]):
    """Shuffled indices for one epoch, a pure function of ``(seed, epoch)``, sharded like
    ``DistributedSampler`` (padded by wrap-around so every rank gets ``ceil(n / world)``), minus the
    first ``skip`` indices of this rank (resuming mid-epoch)."""

    def __init__(self, n: int, rank: int = 0, world_size: int = 1, seed: int = 0, shuffle: bool = True):
        self.n, self.rank, self.world, self.seed, self.shuffle = n, rank, world_size, seed, shuffle
        self.per_rank = math.ceil(n / world_size)
        self.epoch, self.skip = 0, 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        self.epoch, self.skip = epoch, min(skip, self.per_rank)

    def __iter__(self):
        if self.shuffle:
            g = torch.Generator()
            g.manual_seed(self.seed + self.epoch)
            idx = torch.randperm(self.n, generator=g).tolist()
        else:
            idx = list(range(self.n))
        total = self.per_rank * self.world
        idx += idx[: total - len(idx)] if total > len(idx) else []
        return iter(idx[self.rank:total:self.world][self.skip:])

    def __len__(self) -> int:
        return self.per_rank - self.skip


class ShardSampler(Sampler[int]):
    """Indices ``rank, rank + world, ...`` in order, no padding: summed counts over ranks are exact."""

    def __init__(self, n: int, rank: int = 0, world_size: int = 1):
        self.n, self.rank, self.world = n, rank, world_size

    def __iter__(self):
        return iter(range(self.rank, self.n, self.world))

    def __len__(self) -> int:
        return len(range(self.rank, self.n, self.world))
