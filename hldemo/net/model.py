"""NHL / PHL networks: a frozen timm trunk followed by a tree of branches, one per hierarchy node.

Category i's logit is ``f_i(x) = psi_i(pi_j(phi(x)))`` along its path in the tree (Kelm et al.,
arXiv 2308.05128). All branches of a level are stored as stacked tensors with a leading branch
axis and run as one grouped op, so 1000 level-3 branches cost one batched matmul, and an expert is
a plain slice along that axis.

Level specs (JSON, see ``hldemo/net/configs/``) are lists of ops applied inside every branch:

* ``{"type": "mbconv", "depth": d, "hidden": h, "out": c, "kernel": k, "stride": s}``: d inverted
  residual blocks (h: one width, or a list of d widths) (1x1 expand to h, ReLU6, kxk depthwise, ReLU6, 1x1 project to c), the first with
  stride s, the others residual. ``"act_out": true`` ends with a ReLU6 (a "head" conv).
* ``{"type": "pointwise", "out": c}``: one 1x1 conv (+ ReLU6 unless ``"act_out": false``), e.g. a
  copy of the teacher's conv_head.
* ``{"type": "mlp", "hidden": h, "out": c}``: global average pooling (if the input is still a
  feature map), then Linear(h) + ReLU + Linear(c) per branch (``hidden: 0`` = one Linear);
  ``"act_out": true`` adds a ReLU on the output.

The last op of the last level outputs one logit per category. Top-down attention multiplies a
branch's features by a gain just before the level's last linear map (the paper's "before the last
conv"); gains are arguments of ``forward``, never module state.
"""

from __future__ import annotations

import json
import math
from typing import Mapping, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import CheckpointError, InputError, UnknownCategoryError
from ..hierarchy import Hierarchy
from .backbone import SPLIT, check_image_tensor

# The demo's attention strength (x2 on the cued branches); the evaluation's wrong-cue table uses it too.
DEFAULT_GAIN = 2.0


def _pad_same(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow 'SAME' padding, as the tf_* timm teachers use (asymmetric for stride 2)."""
    pads = []
    for size in x.shape[-1:-3:-1]:
        total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


def grouped_pointwise(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, shared_input: bool) -> torch.Tensor:
    """K independent 1x1 convs in one op.

    Args:
        x: (B, K*Cin, H, W), or (B, Cin, H, W) if ``shared_input`` (every branch reads the same map).
        weight: (K, Cout, Cin); bias: (K, Cout).
    Returns:
        (B, K*Cout, H, W).
    """
    k, cout, cin = weight.shape
    return F.conv2d(x, weight.reshape(k * cout, cin, 1, 1), bias.reshape(-1), groups=1 if shared_input else k)


def pool_branches(x: torch.Tensor, branches: int) -> torch.Tensor:
    """Global average pooling per branch: (B, K*C, H, W) maps -> (B, K, C)."""
    return x.view(x.shape[0], branches, -1, x.shape[-2] * x.shape[-1]).mean(-1)


def _sliced(module: nn.Module, idx: torch.Tensor, *args) -> nn.Module:
    """``type(module)(len(idx), *args)`` holding ``module``'s weights of the branches ``idx``; built
    on the meta device, so no random initialisation is drawn only to be overwritten."""
    with torch.device("meta"):
        new = type(module)(len(idx), *args)
    new.load_state_dict({n: p.detach()[idx].clone() for n, p in module.named_parameters()}, assign=True)
    return new


class MBConvBranches(nn.Module):
    """A stack of inverted-residual blocks, one independent copy per branch."""

    def __init__(self, branches: int, cin: int, depth: int, hidden: int | Sequence[int], out: int, kernel: int = 3,
                 stride: int = 1, act_out: bool = False, tf_padding: bool = True):
        super().__init__()
        self.hidden = [int(hidden)] * depth if isinstance(hidden, int) else [int(h) for h in hidden]
        if len(self.hidden) != depth:
            raise CheckpointError(f"mbconv 'hidden' lists {len(self.hidden)} widths for depth {depth}")
        self.branches, self.cin, self.depth, self.out = branches, cin, depth, out
        self.kernel, self.stride, self.act_out, self.tf_padding = kernel, stride, act_out, tf_padding
        k = branches
        for b, hidden in enumerate(self.hidden):
            c = cin if b == 0 else out
            self.register_parameter(f"pw{b}_w", nn.Parameter(torch.empty(k, hidden, c)))
            self.register_parameter(f"pw{b}_b", nn.Parameter(torch.zeros(k, hidden)))
            self.register_parameter(f"dw{b}_w", nn.Parameter(torch.empty(k, hidden, kernel, kernel)))
            self.register_parameter(f"dw{b}_b", nn.Parameter(torch.zeros(k, hidden)))
            self.register_parameter(f"pl{b}_w", nn.Parameter(torch.empty(k, out, hidden)))
            self.register_parameter(f"pl{b}_b", nn.Parameter(torch.zeros(k, out)))
        self.reset_parameters()

    def reset_parameters(self):
        for name, p in self.named_parameters():
            if name.endswith("_w"):
                fan_in = p.shape[-1] if not name.startswith("dw") else p.shape[-1] * p.shape[-2]
                nn.init.normal_(p, std=math.sqrt(2.0 / fan_in))
                if name.startswith("pl"):
                    p.data.mul_(0.2)  # near-identity residual blocks at init
            else:
                nn.init.zeros_(p)

    def expand(self, x: torch.Tensor, b: int, shared: bool) -> torch.Tensor:
        """Block ``b``'s hidden features: 1x1 expand, ReLU6, depthwise, ReLU6."""
        k, h = self.branches, self.hidden[b]
        y = F.relu6(grouped_pointwise(x, getattr(self, f"pw{b}_w"), getattr(self, f"pw{b}_b"), shared))
        stride = self.stride if b == 0 else 1
        if self.tf_padding:
            y, pad = _pad_same(y, self.kernel, stride), 0
        else:
            pad = self.kernel // 2
        dw = getattr(self, f"dw{b}_w").reshape(k * h, 1, self.kernel, self.kernel)
        return F.relu6(F.conv2d(y, dw, getattr(self, f"dw{b}_b").reshape(-1), stride=stride, padding=pad, groups=k * h))

    def project(self, y: torch.Tensor, x: torch.Tensor, b: int, shared: bool) -> torch.Tensor:
        """Block ``b``'s output: linear 1x1 projection of the hidden features, plus the residual."""
        out = grouped_pointwise(y, getattr(self, f"pl{b}_w"), getattr(self, f"pl{b}_b"), False)
        if b > 0:
            return out + x
        if self.cin == self.out and self.stride == 1:
            return out + (x.repeat(1, self.branches, 1, 1) if shared else x)
        return out

    def forward(self, x: torch.Tensor, shared_input: bool, gain: torch.Tensor | None) -> torch.Tensor:
        for b, h in enumerate(self.hidden):
            shared = shared_input and b == 0
            y = self.expand(x, b, shared)
            if gain is not None and b == self.depth - 1:
                y = y * gain.repeat_interleave(h, dim=1).view(gain.shape[0], -1, 1, 1)
            x = self.project(y, x, b, shared)
        return F.relu6(x) if self.act_out else x

    def subset(self, idx: torch.Tensor) -> "MBConvBranches":
        return _sliced(self, idx, self.cin, self.depth, self.hidden, self.out, self.kernel, self.stride,
                       self.act_out, self.tf_padding)


class PointwiseBranches(nn.Module):
    """One 1x1 conv per branch (e.g. a copy of the teacher's conv_head), ReLU6 if ``act_out``."""

    def __init__(self, branches: int, cin: int, out: int, act_out: bool = True):
        super().__init__()
        self.branches, self.cin, self.out, self.act_out = branches, cin, out, act_out
        self.w = nn.Parameter(torch.randn(branches, out, cin) * math.sqrt(2.0 / cin))
        self.b = nn.Parameter(torch.zeros(branches, out))

    def forward(self, x: torch.Tensor, shared_input: bool, gain: torch.Tensor | None) -> torch.Tensor:
        if gain is not None:  # the paper's attention: the branch's maps times its gain, before its last conv
            c = self.cin if shared_input else x.shape[1] // self.branches
            if shared_input:
                x = x.repeat(1, self.branches, 1, 1)
                shared_input = False
            x = x * gain.repeat_interleave(c, dim=1).view(gain.shape[0], -1, 1, 1)
        y = grouped_pointwise(x, self.w, self.b, shared_input)
        return F.relu6(y) if self.act_out else y

    def subset(self, idx: torch.Tensor) -> "PointwiseBranches":
        return _sliced(self, idx, self.cin, self.out, self.act_out)


class MLPBranches(nn.Module):
    """Per-branch MLP on pooled features: Linear(hidden) + ReLU + Linear(out), or one Linear."""

    def __init__(self, branches: int, cin: int, hidden: int, out: int, act_out: bool = False):
        super().__init__()
        self.branches, self.cin, self.hidden, self.out, self.act_out = branches, cin, hidden, out, act_out
        k = branches
        if hidden:
            self.w1 = nn.Parameter(torch.randn(k, hidden, cin) * math.sqrt(2.0 / cin))
            self.b1 = nn.Parameter(torch.zeros(k, hidden))
        self.w2 = nn.Parameter(torch.randn(k, out, hidden or cin) * math.sqrt(1.0 / (hidden or cin)))
        self.b2 = nn.Parameter(torch.zeros(k, out))

    def forward(self, x: torch.Tensor, gain: torch.Tensor | None) -> torch.Tensor:
        # x: (B, K, C) -> (B, K, out); einsum runs as one batched matmul over the K branches
        if self.hidden:
            x = F.relu(torch.einsum("bkc,khc->bkh", x, self.w1) + self.b1)
        if gain is not None:
            x = x * gain.view(gain.shape[0], -1, 1)
        x = torch.einsum("bkc,koc->bko", x, self.w2) + self.b2
        return F.relu(x) if self.act_out else x

    def subset(self, idx: torch.Tensor) -> "MLPBranches":
        return _sliced(self, idx, self.cin, self.hidden, self.out, self.act_out)


class BranchLevel(nn.Module):
    """All branches of one hierarchy level: gather each branch's parent output, run the ops."""

    def __init__(self, node_ids: Sequence[str], parent_index: Sequence[int], num_parents: int, ops: Sequence[nn.Module]):
        super().__init__()
        self.node_ids = list(node_ids)
        self.register_buffer("parent_index", torch.as_tensor(list(parent_index), dtype=torch.long), persistent=False)
        self.num_parents = num_parents
        # one parent (the trunk, or a single kept branch in an expert): every branch reads the same
        # input, so the first 1x1 conv is one dense conv and no gather is needed
        self.shared_input = num_parents == 1
        self.ops = nn.ModuleList(ops)

    def branch(self, i: int) -> tuple["BranchLevel", int]:
        """The stack holding the level's branch ``i`` (this level), and its index in it."""
        return self, i

    def subset(self, idx: Sequence[int], parents: Sequence[int], num_parents: int) -> "BranchLevel":
        """The branches ``idx`` (weights sliced), reading parents ``parents`` out of ``num_parents``."""
        index = torch.as_tensor(list(idx), dtype=torch.long)
        return BranchLevel([self.node_ids[i] for i in idx], parents, num_parents, [op.subset(index) for op in self.ops])

    def forward(self, x: torch.Tensor, gain: torch.Tensor | None) -> torch.Tensor:
        k = len(self.node_ids)
        if x.dim() == 4 and isinstance(self.ops[0], MLPBranches):  # pool the parents' maps first
            x = pool_branches(x, self.num_parents)
        if x.dim() == 4:  # (B, Kp*C, H, W)
            if not self.shared_input:
                b, _, hh, ww = x.shape
                x = x.view(b, self.num_parents, -1, hh, ww)[:, self.parent_index].reshape(b, -1, hh, ww)
            # channels-last: oneDNN's grouped and depthwise convs are 2-4x faster in it on CPU
            x = x.contiguous(memory_format=torch.channels_last)
        else:  # pooled (B, Kp, C)
            x = x.expand(-1, k, -1) if self.shared_input else x[:, self.parent_index]
        for i, op in enumerate(self.ops):
            g = gain if i == len(self.ops) - 1 else None
            if isinstance(op, (MBConvBranches, PointwiseBranches)):
                x = op(x, shared_input=self.shared_input and i == 0, gain=g)
            else:
                if x.dim() == 4:
                    x = pool_branches(x, k)
                x = op(x, gain=g)
        return x


class RaggedLevel(nn.Module):
    """A level whose branches differ in width or depth: one :class:`BranchLevel` per op spec ("bundle").

    Each bundle runs as one grouped op over its own branches; their outputs are pooled per branch,
    zero-padded to the widest bundle's channels and put back in the level's node order, so the next
    level (which must start with an ``mlp`` op) reads one (B, K, C) tensor. The padding costs no MACs,
    and an expert keeps only the bundles its branches are in.

    At level 1 a bundle may read one of the trunk's taps instead of its split point
    (:class:`hldemo.net.backbone.Trunk`): ``inputs`` lists the trunk's outputs as (name, channels) in
    the order they are stacked along channels, ``sources`` names each bundle's.
    """

    def __init__(self, node_ids: Sequence[str], parent_index: Sequence[int], num_parents: int,
                 bundles: Sequence[tuple[Sequence[int], BranchLevel]], out_width: int,
                 sources: Sequence[str] | None = None, inputs: Sequence[tuple[str, int]] | None = None):
        super().__init__()
        self.node_ids = list(node_ids)
        self.register_buffer("parent_index", torch.as_tensor(list(parent_index), dtype=torch.long), persistent=False)
        self.num_parents, self.out_width = num_parents, int(out_width)
        self.positions = [list(pos) for pos, _ in bundles]
        self.bundles = nn.ModuleList(b for _, b in bundles)
        self.sources = list(sources) if sources is not None else [SPLIT] * len(self.positions)
        self.inputs = [(str(n), int(c)) for n, c in inputs] if inputs is not None else None
        offsets, start = {}, 0
        for name, c in self.inputs or []:
            offsets[name], start = (start, start + c), start + c
        missing = sorted(set(self.sources) - set(offsets)) if self.inputs is not None else []
        if missing:
            raise CheckpointError(f"branches read trunk outputs {missing}, which the trunk ({[n for n, _ in self.inputs]}) lacks")
        # each bundle's channels in the input; None: it reads the whole input (one trunk output)
        self.slices = [offsets[src] if len(offsets) > 1 else None for src in self.sources]
        for n, pos in enumerate(self.positions):  # index tensors made once; buffers follow the module's device
            self.register_buffer(f"index{n}", torch.as_tensor(pos, dtype=torch.long), persistent=False)

    def branch(self, i: int) -> tuple[BranchLevel, int]:
        """The bundle holding the level's branch ``i``, and the branch's index inside it."""
        for pos, bundle in zip(self.positions, self.bundles):
            if i in pos:
                return bundle, pos.index(i)
        raise IndexError(i)

    def forward(self, x: torch.Tensor, gain: torch.Tensor | None) -> torch.Tensor:
        out = None
        for n, (pos, bundle) in enumerate(zip(self.positions, self.bundles)):
            idx = getattr(self, f"index{n}")
            part = x if self.slices[n] is None else x[:, self.slices[n][0]:self.slices[n][1]]
            y = bundle(part, None if gain is None else gain[:, idx])
            if y.dim() == 4:
                y = pool_branches(y, len(pos))
            if out is None:
                out = y.new_zeros(y.shape[0], len(self.node_ids), self.out_width)
            out[:, idx, : y.shape[-1]] = y
        return out

    def subset(self, idx: Sequence[int], parents: Sequence[int], num_parents: int) -> "RaggedLevel":
        where = {i: n for n, i in enumerate(idx)}
        parent_of = dict(zip(idx, parents))
        bundles, sources = [], []
        for pos, bundle, src in zip(self.positions, self.bundles, self.sources):
            local = [j for j, i in enumerate(pos) if i in where]
            if local:
                kept = [pos[j] for j in local]
                bundles.append(([where[i] for i in kept], bundle.subset(local, [parent_of[i] for i in kept], num_parents)))
                sources.append(src)
        # an expert's trunk yields only the outputs its bundles read (an early tap alone skips the rest)
        inputs = None if self.inputs is None else [(n, c) for n, c in self.inputs if n in sources]
        return RaggedLevel([self.node_ids[i] for i in idx], parents, num_parents, bundles, self.out_width, sources, inputs)


def _build_ops(spec: Sequence[Mapping], branches: int, cin: int, last: bool) -> tuple[list[nn.Module], int]:
    ops, c = [], cin
    for j, op in enumerate(spec):
        kind = op.get("type")
        out = 1 if (last and j == len(spec) - 1) else int(op["out"])
        if kind == "mbconv":
            ops.append(MBConvBranches(branches, c, int(op.get("depth", 1)), op["hidden"], out,
                                      int(op.get("kernel", 3)), int(op.get("stride", 1)), bool(op.get("act_out", False)),
                                      bool(op.get("tf_padding", True))))
        elif kind == "pointwise":
            ops.append(PointwiseBranches(branches, c, out, bool(op.get("act_out", True))))
        elif kind == "mlp":
            ops.append(MLPBranches(branches, c, int(op.get("hidden", 0)), out, bool(op.get("act_out", False)) and not last))
        else:
            raise CheckpointError(f"unknown branch op type {kind!r} (expected 'mbconv', 'pointwise' or 'mlp')")
        c = out
    if last and not isinstance(ops[-1], MLPBranches):
        raise CheckpointError("the last level must end with an 'mlp' op (one logit per category)")
    return ops, c


class NHLHead(nn.Module):
    """The tree of branches on top of the trunk. Level l has one branch per node at depth l."""

    def __init__(self, levels: Sequence[BranchLevel], categories: Sequence[str]):
        super().__init__()
        self.levels = nn.ModuleList(levels)
        self.categories = list(categories)
        self._where = {nid: (li, i) for li, lvl in enumerate(levels) for i, nid in enumerate(lvl.node_ids)}

    @classmethod
    def from_hierarchy(cls, hierarchy: Hierarchy, level_specs: Sequence[Sequence[Mapping]], in_channels: int,
                       overrides: Sequence[Mapping] = (), inputs: Sequence[tuple[str, int]] | None = None) -> "NHLHead":
        """Build the branch tree of ``hierarchy``.

        Args:
            level_specs: the ops of every branch, one list per level.
            in_channels: channels of the trunk's split point.
            overrides: ``{"level": l, "nodes": [node ids], "ops": [...]}`` entries giving those
                level-``l`` branches other ops (e.g. narrower copies for the experts that must be
                cheap); their level becomes a :class:`RaggedLevel`. At level 1 an entry may add
                ``"tap": "blocks.5.1"``: its branches read that trunk tap, not the split point.
            inputs: the trunk's outputs as (name, channels), stacked in that order (see
                :class:`hldemo.net.backbone.Trunk`); None: the split point alone.
        """
        inputs = [(SPLIT, in_channels)] if inputs is None else [(str(n), int(ch)) for n, ch in inputs]
        channels_of = dict(inputs)
        if len(level_specs) != hierarchy.depth:
            raise CheckpointError(f"config has {len(level_specs)} levels, hierarchy '{hierarchy.id}' has depth {hierarchy.depth}")
        levels, c, prev = [], in_channels, {hierarchy.root.id: 0}
        for depth, spec in enumerate(level_specs, start=1):
            nodes = hierarchy.level(depth)
            last = depth == hierarchy.depth
            ids = [n.id for n in nodes]
            parents = [prev[n.parent] for n in nodes]
            default = (spec, SPLIT)
            specs = [default] * len(nodes)  # (ops, trunk output read) of every branch
            level_overrides = [o for o in overrides if int(o["level"]) == depth]
            for o in level_overrides:
                if last or level_specs[depth][0].get("type") != "mlp":
                    raise CheckpointError(f"branch overrides at level {depth} need the next level to start with an 'mlp' op")
                if "tap" in o and depth != 1:
                    raise CheckpointError(f"a branch override at level {depth} cannot read a trunk tap (level 1 only)")
                for node in o["nodes"]:
                    if node not in ids:
                        raise CheckpointError(f"branch override names '{node}', which is not a level-{depth} node")
                    specs[ids.index(node)] = (o["ops"], o.get("tap", SPLIT))
            if not level_overrides:
                ops, c_out = _build_ops(spec, len(nodes), c, last=last)
                levels.append(BranchLevel(ids, parents, len(prev), ops))
            else:  # the level's width is the widest op list's, present here or not (an expert keeps its shape)
                c_out = max(int(s_[-1]["out"]) for s_ in [spec] + [o["ops"] for o in level_overrides])
                bundles, sources = [], []
                keys = [json.dumps(s_, sort_keys=True) for s_ in specs]
                # bundles in a fixed order (the default ops, then the overrides'), so an expert's
                # saved bundles come back in the order it has them
                every = [default] + [(o["ops"], o.get("tap", SPLIT)) for o in level_overrides]
                for key in dict.fromkeys(json.dumps(s_, sort_keys=True) for s_ in every):
                    pos = [i for i, k in enumerate(keys) if k == key]
                    if not pos:
                        continue
                    ops_spec, source = specs[pos[0]]
                    if depth == 1 and source not in channels_of:
                        raise CheckpointError(f"branches {[ids[i] for i in pos]} read trunk output '{source}', "
                                              f"which the trunk ({[n for n, _ in inputs]}) lacks")
                    ops, _ = _build_ops(ops_spec, len(pos), channels_of[source] if depth == 1 else c, last=False)
                    bundles.append((pos, BranchLevel([ids[i] for i in pos], [parents[i] for i in pos], len(prev), ops)))
                    sources.append(source)
                levels.append(RaggedLevel(ids, parents, len(prev), bundles, c_out, sources if depth == 1 else None,
                                          inputs if depth == 1 else None))
            prev, c = {n.id: i for i, n in enumerate(nodes)}, c_out
        return cls(levels, hierarchy.categories)

    @property
    def inputs(self) -> list[str] | None:
        """The trunk outputs level 1 reads, in the order they are stacked (None: the split point alone)."""
        lvl = self.levels[0]
        return [n for n, _ in lvl.inputs] if isinstance(lvl, RaggedLevel) and lvl.inputs is not None else None

    @property
    def node_ids(self) -> list[list[str]]:
        return [lvl.node_ids for lvl in self.levels]

    def gain_vectors(self, gains: Mapping[str, float] | Sequence[Mapping[str, float]] | None) -> list[torch.Tensor | None]:
        """Per-level gain matrices (1 or B, K_level) from ``{node_id: gain}`` (the whole batch) or
        a list of such dicts (one per sample); None where a level has no gain != 1."""
        per_sample = gains if isinstance(gains, (list, tuple)) else [gains or {}]
        out: list[torch.Tensor | None] = [None] * len(self.levels)
        for s, sample in enumerate(per_sample):
            for node_id, g in (sample or {}).items():
                if node_id not in self._where:
                    raise UnknownCategoryError(f"attention names '{node_id}', which is not a branch of this model")
                if not math.isfinite(float(g)) or float(g) < 0:
                    raise InputError(f"attention gain for '{node_id}' must be a finite number >= 0, got {g}")
                if float(g) == 1.0:
                    continue
                li, i = self._where[node_id]
                if out[li] is None:
                    out[li] = torch.ones(len(per_sample), len(self.levels[li].node_ids))
                out[li][s, i] = float(g)
        return out

    def forward(self, features: torch.Tensor, gains: Mapping[str, float] | Sequence[Mapping[str, float]] | None = None,
                start: int = 0) -> torch.Tensor:
        """Logits (B, num_categories) from trunk features.

        Args:
            gains: top-down attention (see :meth:`NHL.forward`).
            start: the level ``features`` enter: 0 for trunk features, ``l`` for level ``l - 1``'s
                output (e.g. cached pooled level-1 features when only deeper levels get gains).
        """
        vectors = self.gain_vectors(gains)
        if any(g is not None for g in vectors[:start]):
            raise InputError(f"gains on levels before level {start + 1} need the features those levels take")
        x = features
        for lvl, g in list(zip(self.levels, vectors))[start:]:
            x = lvl(x, None if g is None else g.to(x.device, x.dtype))  # built on the CPU
        return x.squeeze(-1)  # (B, num_categories)

    def pooled_level1(self, features: torch.Tensor, batch: int = 64) -> torch.Tensor:
        """Level 1's output, pooled per branch (B, K1, C): what level 2 reads (``forward(..., start=1)``)."""
        k = len(self.levels[0].node_ids)
        out = []
        for i in range(0, len(features), batch):
            x = self.levels[0](features[i:i + batch], None)
            out.append(pool_branches(x, k) if x.dim() == 4 else x)
        return torch.cat(out)

    def load_branches(self, sub: "NHLHead") -> None:
        """Copy the weights of ``sub`` (a head cut from this one by :meth:`subset`, e.g. a trained
        expert's) back into the same branches here, in place."""
        for lvl, sub_lvl in zip(self.levels, sub.levels):
            where = {nid: i for i, nid in enumerate(lvl.node_ids)}
            for i, nid in enumerate(sub_lvl.node_ids):
                (stack, j), (sub_stack, k) = lvl.branch(where[nid]), sub_lvl.branch(i)
                params = dict(sub_stack.named_parameters())
                with torch.no_grad():
                    for name, p in stack.named_parameters():
                        p[j] = params[name][k]

    def subset(self, categories: Sequence[str]) -> "NHLHead":
        """A new head holding only the branches on the paths of ``categories`` (weights sliced)."""
        leaf_level = self.levels[-1]
        keep = [leaf_level.node_ids.index(w) for w in categories]
        keeps = [None] * len(self.levels)
        keeps[-1] = sorted(keep)
        for li in range(len(self.levels) - 1, 0, -1):
            keeps[li - 1] = sorted({int(self.levels[li].parent_index[i]) for i in keeps[li]})
        levels = []
        for li, lvl in enumerate(self.levels):
            idx = keeps[li]
            if li == 0:
                parents = [0] * len(idx)
            else:
                remap = {old: new for new, old in enumerate(keeps[li - 1])}
                parents = [remap[int(lvl.parent_index[i])] for i in idx]
            levels.append(lvl.subset(idx, parents, 1 if li == 0 else len(keeps[li - 1])))
        return NHLHead(levels, [leaf_level.node_ids[i] for i in keeps[-1]])


class NHL(nn.Module):
    """Trunk + branch tree: the full network, or an efficient expert cut from one.

    Attributes:
        trunk: the frozen backbone up to the split point (shared by reference with experts).
        head: the branch tree.
        hierarchy: the category tree the branches follow.
        config: the JSON config the network was built from.
        categories: wnids of the output logits, in order (sorted = ImageNet index order).
    """

    def __init__(self, trunk: nn.Module, head: NHLHead, hierarchy: Hierarchy, config: dict):
        super().__init__()
        self.trunk, self.head, self.hierarchy, self.config = trunk, head, hierarchy, config

    @property
    def categories(self) -> list[str]:
        return self.head.categories

    def forward(self, x: torch.Tensor, gains: Mapping[str, float] | Sequence[Mapping[str, float]] | None = None) -> torch.Tensor:
        """Logits over :attr:`categories` for a normalised image batch (B, 3, H, W).

        Args:
            gains: top-down attention, ``{node_id_or_wnid: gain}`` for the whole batch or a list of
                such dicts, one per sample; > 1 enhances, < 1 inhibits. Applied for this call only.
        """
        check_image_tensor(x)
        return self.head(self.trunk(x), gains)
