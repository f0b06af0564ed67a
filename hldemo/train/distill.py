"""Start an NHL from its teacher: every branch is a channel-pruned copy of the teacher's late layers,
refitted layer by layer to the teacher's own outputs (no gradient steps).

For an EfficientNet-style teacher cut after block ``k`` (``split_extra_blocks``), a level-1 branch
copies the teacher's remaining inverted-residual blocks and conv_head:

1. **Class-aware pruning.** A block keeps the hidden units that matter most for the branch's
   categories: first-order Taylor score ``|a * dO/da|``, ``O`` the log-sum-exp of the teacher's
   logits over the group, summed over calibration images whose teacher top-1 falls in the group,
   blended with the same score over all images (groups with few images still get sensible units).
2. **Layer-wise reconstruction** (ThiNet / channel-pruning style). Each block's linear projection is
   refitted by least squares so that, fed the pruned branch's *own* hidden units, it reproduces the
   teacher's block output on the calibration images. Unlike mean replacement this keeps the variance
   of the pre-activations, so the conv_head's ReLU6 units stay alive.
3. **Exact upper levels.** conv_head keeps the teacher's rows (all of them, or the ones the group's
   classifier rows weigh most). A level-2 branch holds its categories' classifier rows as +/- pairs
   through its ReLU (``relu(s) - relu(-s) == s``) and a level-3 branch subtracts its pair and adds
   the bias, so levels 2-3 are the teacher's classifier exactly.

With all hidden units kept the NHL reproduces the teacher's logits to float rounding; narrower
branches trade agreement for MACs (the model card's frontier table measures it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import CheckpointError
from ..net.backbone import SPLIT
from ..net.model import NHL, MBConvBranches, MLPBranches, PointwiseBranches, RaggedLevel, _pad_same

GLOBAL_WEIGHT = 0.5  # blend of all-image importance into a group's own importance
RIDGE = 1e-4  # least-squares damping, relative to the mean diagonal of the Gram matrix
ROWS_PER_IMAGE = 16  # feature-map positions per image in the Gram matrices of later blocks
BATCH = 128


@dataclass
class FoldedConv:
    weight: torch.Tensor  # (out, in) for 1x1, (C, k, k) for depthwise
    bias: torch.Tensor
    kernel: int = 1
    stride: int = 1


def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> FoldedConv:
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    w = conv.weight.detach() * scale.view(-1, 1, 1, 1)
    b = (bn.bias - bn.running_mean * scale).detach()
    if conv.groups == 1:
        w = w.flatten(1)
    else:
        w = w[:, 0]
    return FoldedConv(w.float(), b.float(), conv.kernel_size[0], conv.stride[0])


class TeacherTail(nn.Module):
    """The teacher after the split point with batch-norms folded: IR blocks, conv_head, classifier.

    ``forward(features)`` gives the teacher's logits from trunk features, so the trunk runs once
    for both teacher and student. ``record=True`` keeps each block's hidden activation.
    """

    def __init__(self, teacher: nn.Module, trunk_blocks: int):
        super().__init__()
        if not all(hasattr(teacher, a) for a in ("blocks", "conv_head", "bn2", "classifier")):
            raise CheckpointError("teacher initialisation needs an EfficientNet-style timm model")
        self.blocks = []
        for stage in teacher.blocks[trunk_blocks:]:
            for blk in stage:
                if not hasattr(blk, "conv_pwl") or not hasattr(blk, "conv_pw"):
                    raise CheckpointError(f"unsupported teacher block {type(blk).__name__}")
                self.blocks.append((_fold(blk.conv_pw, blk.bn1), _fold(blk.conv_dw, blk.bn2),
                                    _fold(blk.conv_pwl, blk.bn3), blk.has_skip))
        self.head = _fold(teacher.conv_head, teacher.bn2)
        self.cls_w = teacher.classifier.weight.detach().float()
        self.cls_b = teacher.classifier.bias.detach().float()
        self.hidden: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor, record: bool = False) -> torch.Tensor:
        self.hidden = []
        for pw, dw, pl, skip in self.blocks:
            h = _hidden(x, pw, dw)
            if record:
                h.retain_grad()
                self.hidden.append(h)
            y = F.conv2d(h, pl.weight[:, :, None, None], pl.bias)
            x = y + x if skip else y
        self.pooled = F.relu6(F.conv2d(x, self.head.weight[:, :, None, None], self.head.bias)).mean((2, 3))
        if record:
            self.pooled.retain_grad()
        return F.linear(self.pooled, self.cls_w, self.cls_b)


def _groups_of(model: NHL, level: int) -> tuple[torch.Tensor, int]:
    """For each category (in model order), the index of its ancestor branch at ``level``."""
    idx = torch.arange(len(model.categories))
    for li in range(len(model.head.levels) - 1, level, -1):
        idx = model.head.levels[li].parent_index[idx]
    return idx, len(model.head.levels[level].node_ids)


@torch.no_grad()
def _importance(tail: TeacherTail, feats: torch.Tensor, group_of_cat: torch.Tensor, n_groups: int, batch: int = 64):
    """Per-group Taylor importance of every hidden unit of every tail block, the mean pooled
    conv_head output, and the calibration images per group."""
    n_blocks = len(tail.blocks)
    sizes = [blk[0].weight.shape[0] for blk in tail.blocks]
    imp = [torch.zeros(n_groups, s) for s in sizes]
    feat_mean = torch.zeros(tail.head.weight.shape[0])
    counts = torch.zeros(n_groups)
    for i in range(0, len(feats), batch):
        x = feats[i:i + batch].clone().float().requires_grad_(True)  # so hidden activations get grads
        with torch.enable_grad():
            logits = tail(x, record=True)
            groups = group_of_cat[logits.argmax(1)]
            mask = (group_of_cat.view(1, -1) == groups.view(-1, 1))
            objective = torch.logsumexp(logits.masked_fill(~mask, float("-inf")), dim=1).sum()
            objective.backward()
        for b in range(n_blocks):
            h = tail.hidden[b]
            score = (h * h.grad).abs().sum((2, 3))  # (B, C)
            imp[b].index_add_(0, groups, score)
        feat_mean += tail.pooled.detach().sum(0)
        counts += torch.bincount(groups, minlength=n_groups).float()
    n = len(feats)
    return imp, feat_mean / n, counts


def _merges_head(op: MBConvBranches, tail: TeacherTail) -> bool:
    """Whether ``op`` (the last copied block) ends in conv_head's outputs: its projection and the
    teacher's conv_head are both linear, so one map of conv_head's (kept) rows can stand for the two,
    with conv_head's ReLU6 as the block's ``act_out``. Needs a last teacher block without residual."""
    return op.act_out and not tail.blocks[-1][3] and op.out <= tail.head.weight.shape[0]


def _top(score: torch.Tensor, k: int) -> torch.Tensor:
    return torch.topk(score, min(k, score.numel())).indices.sort().values


def _blend(own: torch.Tensor, overall: torch.Tensor) -> torch.Tensor:
    return own / own.max().clamp_min(1e-12) + GLOBAL_WEIGHT * overall / overall.max().clamp_min(1e-12)


def _hidden(x: torch.Tensor, pw: FoldedConv, dw: FoldedConv, keep: torch.Tensor | None = None) -> torch.Tensor:
    """A teacher block's hidden units (1x1 expand, ReLU6, depthwise, ReLU6), only ``keep`` if given."""
    w, b, d, db = pw.weight, pw.bias, dw.weight, dw.bias
    if keep is not None:
        w, b, d, db = w[keep], b[keep], d[keep], db[keep]
    h = F.relu6(F.conv2d(x, w[:, :, None, None], b))
    h = _pad_same(h, dw.kernel, dw.stride)
    return F.relu6(F.conv2d(h, d[:, None], db, stride=dw.stride, groups=h.shape[1]))


def _rows(t: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B*H*W, C), one row per feature-map position."""
    return t.permute(0, 2, 3, 1).reshape(-1, t.shape[1])


def _solve(gram: torch.Tensor, cross: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
    """Least squares from the normal equations, damped towards ``prior`` (the teacher's own weights
    on the kept units): units the calibration images never excite keep the teacher's weights, and
    a branch that keeps every unit is the teacher exactly."""
    damp = RIDGE * gram.diagonal()[:-1].mean().clamp_min(1e-12)
    eye = torch.eye(len(gram), dtype=gram.dtype)
    eye[-1, -1] = 0  # the bias is not damped
    return torch.linalg.solve(gram + damp * eye, cross + damp * eye @ prior.double())


def _with_ones(rows: torch.Tensor) -> torch.Tensor:
    return torch.cat([rows, rows.new_ones(len(rows), 1)], 1)


@torch.no_grad()
def _fit_projection(op_feats, teacher_out, keep, pw, dw, pl, skip, generator, shared_gram=None):
    """Least-squares projection weights (out, |keep|) and bias of one pruned block.

    The pruned block sees ``op_feats`` (the branch's own input, N x C x H x W); its output should
    match the teacher block's output ``teacher_out``. ``shared_gram``: the Gram matrix of all the
    teacher's hidden units (+1) when both inputs are the same trunk features (first block), whose
    sub-matrix is then exact and needs no pass over the data. Otherwise ``ROWS_PER_IMAGE`` random
    feature-map positions of every image enter the Gram matrix (fewer rows, same statistics).
    """
    prior = torch.cat([pl.weight[:, keep].T, pl.bias[None]], 0)
    if shared_gram is not None:  # teacher output = [H, 1] [W, b]^T on the same input: cross from G
        idx = torch.cat([keep, torch.tensor([len(shared_gram) - 1])])
        full = torch.cat([pl.weight.T, pl.bias[None]], 0).double()
        theta = _solve(shared_gram[idx][:, idx], shared_gram[idx] @ full, prior)
    else:
        k = len(keep) + 1
        gram = torch.zeros(k, k, dtype=torch.float64)
        cross = torch.zeros(k, pl.weight.shape[0], dtype=torch.float64)
        for i in range(0, len(op_feats), BATCH):
            x = op_feats[i:i + BATCH]
            h = _hidden(x, pw, dw, keep)
            target = teacher_out[i:i + BATCH] - x if skip else teacher_out[i:i + BATCH]  # the block adds x back
            sel = torch.randperm(h.shape[-2] * h.shape[-1], generator=generator)[:ROWS_PER_IMAGE]
            a = _with_ones(_rows(h)).view(len(x), -1, k)[:, sel].reshape(-1, k)
            t = _rows(target).view(len(x), -1, target.shape[1])[:, sel].reshape(-1, target.shape[1])
            gram += (a.T @ a).double()  # one batch in float32 (fast), the sum over batches in float64
            cross += (a.T @ t).double()
        theta = _solve(gram, cross, prior)
    return theta[:-1].T.float().contiguous(), theta[-1].float()


def _run_block(x, pw, dw, pl_w, pl_b, skip, keep=None):
    y = F.conv2d(_hidden(x, pw, dw, keep), pl_w[:, :, None, None], pl_b)
    return y + x if skip else y


@torch.no_grad()
def _shared_gram(feats: torch.Tensor, pw: FoldedConv, dw: FoldedConv) -> torch.Tensor:
    c = pw.weight.shape[0]
    gram = torch.zeros(c + 1, c + 1, dtype=torch.float64)
    for i in range(0, len(feats), BATCH):
        a = _with_ones(_rows(_hidden(feats[i:i + BATCH].float(), pw, dw)))
        gram += (a.T @ a).double()
    return gram


@torch.no_grad()
def init_from_teacher(model: NHL, teacher: nn.Module, calibration_features: torch.Tensor, seed: int = 0) -> dict:
    """Set ``model``'s branch weights from ``teacher`` (in place): pruned copies, refitted.

    Args:
        model: a 3-level NHL whose level 1 is mbconv ops matching the teacher's blocks after the
            split one-to-one (kernels, strides) and then a ``pointwise`` op for conv_head; level 2 a
            single-layer mlp with ``out`` >= 2 x the largest subgroup and ``act_out``; level 3 a
            single-layer mlp.
        teacher: the timm teacher the trunk was cut from.
        calibration_features: trunk features (N, C, H, W) of a few thousand images.
        seed: picks the feature-map positions that later blocks' least squares sample.

    Returns:
        Statistics of the calibration (images per level-1 group).
    """
    head = model.head
    if len(head.levels) != 3:
        raise CheckpointError("init_from_teacher expects a 3-level NHL")
    tail = TeacherTail(teacher, len(model.trunk.model.blocks))
    level1 = head.levels[0]
    for stack in getattr(level1, "bundles", [level1]):  # a ragged level: every bundle mirrors the teacher
        l1_ops = list(stack.ops)
        mb = [op for op in l1_ops if isinstance(op, MBConvBranches)]
        if sum(op.depth for op in mb) != len(tail.blocks) or not (
                (len(mb) == len(l1_ops) - 1 and isinstance(l1_ops[-1], PointwiseBranches))
                or (len(mb) == len(l1_ops) and _merges_head(mb[-1], tail))):
            raise CheckpointError(f"level 1 must be mbconv ops with {len(tail.blocks)} blocks in all (the teacher's after "
                                  "the split) followed by one pointwise op (its conv_head), or ending in a block that "
                                  "projects straight to conv_head's outputs (act_out, no residual)")
    l2, l3 = head.levels[1].ops, head.levels[2].ops
    if len(l2) != 1 or not isinstance(l2[0], MLPBranches) or l2[0].hidden or not l2[0].act_out:
        raise CheckpointError("level 2 must be one single-layer mlp with act_out for teacher initialisation")
    if len(l3) != 1 or not isinstance(l3[0], MLPBranches) or l3[0].hidden:
        raise CheckpointError("level 3 must be one single-layer mlp for teacher initialisation")
    l2, l3 = l2[0], l3[0]
    group1, n1 = _groups_of(model, 0)
    group2, n2 = _groups_of(model, 1)
    largest = int(torch.bincount(group2).max())
    if l2.out < 2 * largest:
        raise CheckpointError(f"level 2 needs out >= {2 * largest} (2 x its largest subgroup) to hold the classifier rows")

    trunk_out = calibration_features.float()
    feats = model.trunk.split_features(trunk_out)  # what the teacher's later layers read
    imp, feat_mean, counts = _importance(tail, feats, group1, n1)
    overall = [s.sum(0) for s in imp]
    gen = torch.Generator().manual_seed(seed)
    shared = _shared_gram(feats, *tail.blocks[0][:2])

    # the teacher's output of every block: the least-squares targets of all blocks but the first
    # (and of the first block too when a branch reads a trunk tap: then its input is not the split's)
    tapped = any(src != SPLIT for src in getattr(level1, "sources", []))
    teacher_out = []
    for pw, dw, pl, skip in tail.blocks if len(tail.blocks) > 1 or tapped else []:
        x = teacher_out[-1] if teacher_out else feats
        teacher_out.append(torch.cat([_run_block(x[i:i + BATCH], pw, dw, pl.weight, pl.bias, skip)
                                      for i in range(0, len(x), BATCH)]))

    l1_features = {}
    for group in range(n1):
        stack, j = level1.branch(group)  # the ops holding this group's branch, and its index there
        ops = list(stack.ops)
        merged = not isinstance(ops[-1], PointwiseBranches)  # conv_head folded into the last projection
        mb, conv_head = (ops, None) if merged else (ops[:-1], ops[-1])
        # a branch that leaves at a trunk tap skips the teacher's blocks between tap and split: its
        # copies of the later blocks are refitted to the teacher's outputs from the tap's maps
        source = level1.sources[list(level1.bundles).index(stack)] if isinstance(level1, RaggedLevel) else SPLIT
        x = feats if source == SPLIT else model.trunk.output(trunk_out, source)
        b = 0
        for op in mb:
            for d in range(op.depth):
                pw, dw, pl, skip = tail.blocks[b]
                if (dw.kernel, dw.stride) != (op.kernel, op.stride if d == 0 else 1):
                    raise CheckpointError(f"level-1 block {b}: kernel/stride differ from the teacher's")
                keep = _top(_blend(imp[b][group], overall[b]), op.hidden[d])
                w, bias = (_fit_projection(x, None, keep, pw, dw, pl, skip, gen, shared) if b == 0 and source == SPLIT else
                           _fit_projection(x, teacher_out[b], keep, pw, dw, pl, skip, gen))
                getattr(op, f"pw{d}_w")[j] = pw.weight[keep]
                getattr(op, f"pw{d}_b")[j] = pw.bias[keep]
                getattr(op, f"dw{d}_w")[j] = dw.weight[keep]
                getattr(op, f"dw{d}_b")[j] = dw.bias[keep]
                if not (merged and b == len(tail.blocks) - 1):  # a merged projection is set with conv_head below
                    getattr(op, f"pl{d}_w")[j] = w
                    getattr(op, f"pl{d}_b")[j] = bias
                if b < len(tail.blocks) - 1:  # the branch's own activations feed its next block
                    x = torch.cat([_run_block(x[i:i + BATCH], pw, dw, w, bias, skip, keep) for i in range(0, len(x), BATCH)])
                b += 1
        cats = (group1 == group).nonzero().flatten()
        last = mb[-1]
        width = last.out if merged else conv_head.out
        keep = _top(tail.cls_w[cats].abs().sum(0) * feat_mean, width)  # conv_head rows its classes weigh most
        if merged:  # projection then conv_head, both linear: one (width x hidden) map, one bias
            d = last.depth - 1
            getattr(last, f"pl{d}_b")[j] = tail.head.weight[keep] @ bias + tail.head.bias[keep]
            getattr(last, f"pl{d}_w")[j] = tail.head.weight[keep] @ w
        else:
            conv_head.w[j] = tail.head.weight[keep]
            conv_head.b[j] = tail.head.bias[keep]
        l1_features[group] = keep

    # levels 2-3: the teacher's classifier rows, exact through the ReLU as +/- pairs
    teacher_index = _teacher_indices(model)
    l2.w2.zero_(), l2.b2.zero_(), l3.w2.zero_(), l3.b2.zero_()
    slot = torch.zeros(len(model.categories), dtype=torch.long)
    for k in range(n2):
        cats = (group2 == k).nonzero().flatten()
        avail = l1_features[int(head.levels[1].parent_index[k])]
        for m, i in enumerate(cats.tolist()):
            w = tail.cls_w[teacher_index[i]]
            l2.w2[k, 2 * m, : len(avail)] = w[avail]  # a narrower branch's inputs are zero-padded after its own
            l2.w2[k, 2 * m + 1, : len(avail)] = -w[avail]
            slot[i] = m
            rest = torch.ones_like(feat_mean, dtype=torch.bool)
            rest[avail] = False
            l3.b2[i, 0] = tail.cls_b[teacher_index[i]] + w[rest] @ feat_mean[rest]  # dropped features: their mean
    for i in range(len(model.categories)):
        l3.w2[i, 0, 2 * slot[i]], l3.w2[i, 0, 2 * slot[i] + 1] = 1.0, -1.0
    return {"calibration_images": len(calibration_features), "images_per_level1_group": counts.tolist()}


def mirror_levels(teacher: nn.Module, split: int, width: float | Sequence[int], head_out: int | None,
                  hierarchy_level2_max: int) -> list[list[dict]]:
    """Level specs whose level-1 branches mirror an EfficientNet-style teacher after block ``split``.

    Args:
        teacher: the timm teacher (its ``blocks`` give kernels, strides and widths).
        split: the trunk's last block, counted as timm's ``extra_blocks`` index (stem = 0).
        width: a fraction of every block's hidden units, or one hidden width per copied block.
        head_out: conv_head outputs per branch (None: all of the teacher's).
        hierarchy_level2_max: categories in the tree's largest level-2 group (level 2 holds 2 rows
            per category).

    Returns:
        ``levels`` for a config (see :mod:`hldemo.net.model`): the ops :func:`init_from_teacher` fills.
    """
    stages = list(teacher.blocks[split:])
    blocks = [blk for stage in stages for blk in stage]
    if not blocks or not all(hasattr(b, "conv_pwl") for b in blocks):
        raise CheckpointError(f"{type(teacher).__name__} has no inverted-residual blocks after block {split}")
    if isinstance(width, (int, float)):
        widths = [max(1, round(float(width) * b.conv_pw.out_channels)) for b in blocks]
    else:
        widths = [int(w) for w in width]
        if len(widths) != len(blocks):
            raise CheckpointError(f"{len(widths)} hidden widths for {len(blocks)} copied blocks")
    level1, i = [], 0
    for stage in stages:
        first = stage[0]
        level1.append({"type": "mbconv", "depth": len(stage), "hidden": widths[i:i + len(stage)],
                       "out": first.conv_pwl.out_channels, "kernel": first.conv_dw.kernel_size[0],
                       "stride": first.conv_dw.stride[0]})
        i += len(stage)
    level1.append({"type": "pointwise", "out": int(head_out or teacher.conv_head.out_channels)})
    return [level1, [{"type": "mlp", "hidden": 0, "out": 2 * hierarchy_level2_max, "act_out": True}],
            [{"type": "mlp", "hidden": 0}]]


def _teacher_indices(model: NHL) -> list[int]:
    """The teacher's output index of each of the model's categories (ImageNet order = sorted wnids)."""
    from timm.data import ImageNetInfo

    where = {w: j for j, w in enumerate(ImageNetInfo().label_names())}
    return [where[w] for w in model.categories]
