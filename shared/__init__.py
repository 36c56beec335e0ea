"""The CNN core shared by the Go and speech apps: layer specs -> networks, summaries, the training
engine, checkpoints. Knows nothing about Go or audio."""
from .checkpoint import CheckpointError, load_checkpoint, load_model, save_checkpoint
from .layers import BandConv, BatchNorm, Conv, Dense, Dropout, Flatten, GlobalPool, PlaneBias, Pool, ReLU, Residual
from .network import NetSpec, Network, build, spec_from_dict, spec_to_dict
from .registry import Registry
from .summary import Summary, conv_output_size, summary
from .train import History, TrainConfig, evaluate, fit, seed_everything

__all__ = [
    "BandConv", "BatchNorm", "CheckpointError", "Conv", "Dense", "Dropout", "Flatten", "GlobalPool", "History",
    "NetSpec", "Network", "PlaneBias", "Pool", "ReLU", "Registry", "Residual", "Summary", "TrainConfig", "build",
    "conv_output_size", "evaluate", "fit", "load_checkpoint", "load_model", "save_checkpoint", "seed_everything",
    "spec_from_dict", "spec_to_dict", "summary",
]
