"""Cost accounting: multiply-accumulates counted by torch's FlopCounterMode, and parameters."""

from __future__ import annotations

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

DEFAULT_INPUT = (1, 3, 224, 224)


def count_macs(model: nn.Module, input_shape: tuple[int, ...] = DEFAULT_INPUT, **kwargs) -> int:
    """Multiply-accumulates of one forward pass (FLOPs / 2, as FlopCounterMode counts them).

    Only matmul/conv-type ops count (the usual convention); elementwise ops, pooling and gathers
    do not. ``kwargs`` go to ``model.forward`` (e.g. attention ``gains``). The input is made on the
    model's device and in its dtype.
    """
    weight = next(model.parameters(), None)
    x = torch.zeros(input_shape) if weight is None else torch.zeros(input_shape, device=weight.device, dtype=weight.dtype)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(x, **kwargs)
    return counter.get_total_flops() // 2


def count_params(model: nn.Module) -> int:
    """Parameters the module holds (each shared tensor once)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
