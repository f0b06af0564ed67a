"""Wall-clock latency of networks, measured one way for the benchmark and the demo's cost panel.

:func:`time_forwards` is the only place hldemo times a forward pass: ``python -m hldemo.bench`` and
the demo's per-request cost panel (:meth:`hldemo.demo.DemoEngine.run`) both call it, so their
ratios to the teacher agree. The teacher is timed as :func:`inference_teacher` makes it, with the
same inference optimisations the NHL's trunk has (batch-norms folded, channels-last). On a GPU the
clock is read only after the device has finished (:func:`synchronize`): CUDA runs asynchronously, and
an unsynchronised clock would time the kernel launches, not the work.
"""

from __future__ import annotations

import time
from typing import Callable, Mapping

import numpy as np
import torch
import torch.nn as nn

Network = Callable[[torch.Tensor], torch.Tensor]


def inference_teacher(teacher: nn.Module) -> nn.Module:
    """The teacher as it is timed and run for predictions: a copy with every batch-norm folded
    into its conv and channels-last weights, the optimisations :class:`hldemo.net.backbone.Trunk` has."""
    from .backbone import fuse_batchnorm

    return fuse_batchnorm(teacher).to(memory_format=torch.channels_last)


def synchronize(device: torch.device) -> None:
    """Wait until ``device`` has finished its queued work (CUDA runs asynchronously; a CPU needs no wait)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def latency_stats(seconds: list[float]) -> dict:
    """``{"median", "p90"}`` in milliseconds of a list of durations in seconds."""
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    return {"median": float(np.median(ms)), "p90": float(np.percentile(ms, 90))}


@torch.inference_mode()
def time_forwards(networks: Mapping[str, Network], x: torch.Tensor, rounds: int,
                  warmup: int = 0) -> tuple[dict[str, torch.Tensor], dict[str, dict]]:
    """Time one forward of each network on the same input, interleaved and order-alternated.

    Every round runs each network once, in the given order on even rounds and in reverse order on
    odd ones, so a network is never favoured by always running first (cold caches) or last; load
    from other processes hits all of them alike. Runs at the process's torch thread count
    (``torch.get_num_threads()``), which the callers report. On CUDA each forward is bracketed by
    :func:`synchronize`, so its time is the GPU's work, not its launch.

    Args:
        networks: name -> network taking an image batch (B, 3, H, W).
        x: the input, on the networks' device and in their dtype; converted to channels-last once,
            the layout the optimised networks want.
        rounds: timed rounds (>= 1); the statistics are over these.
        warmup: untimed rounds first (first calls pay for lazy initialisation).

    Returns:
        ``(outputs, stats)``: each network's output of the last round, and its latency as
        ``{"median", "p90"}`` in milliseconds.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    x = x.contiguous(memory_format=torch.channels_last)
    names = list(networks)
    outputs: dict[str, torch.Tensor] = {}
    for _ in range(max(0, warmup)):
        for name in names:
            networks[name](x)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in (names if r % 2 == 0 else reversed(names)):
            synchronize(x.device)
            t0 = time.perf_counter()
            outputs[name] = networks[name](x)
            synchronize(x.device)
            seconds[name].append(time.perf_counter() - t0)
    return outputs, {name: latency_stats(s) for name, s in seconds.items()}
