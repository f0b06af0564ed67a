"""Start an NHL from its teacher: each branch is a slim, channel-pruned copy of the teacher's late layers.

For an EfficientNet-style teacher split at stage 4, a level-1 branch copies stage 5 (four inverted
residual blocks) and stage 6 + conv_head (stage 6's linear projection and conv_head fused into one
1x1 conv), keeping only the hidden units that matter most for its categories. Level-2 branches
select the pooled features their categories weigh most, and level-3 branches start as the
teacher's classifier rows on those features. Pruned units are replaced by their mean activation
(folded into biases), so the untrained NHL already approximates the teacher; distillation
(:mod:`hldemo.train`) closes the rest of the gap.

Importance of a hidden unit for a group = first-order Taylor score ``|a * dO/da|`` where ``O`` is the
log-sum-exp of the teacher's logits over the group, summed over calibration images whose teacher
top-1 falls in the group, blended with the same score over all images (so that groups with few
calibration images still get sensible units).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .errors import CheckpointError
from .model import NHL, MBConvBranches, MLPBranches, _pad_same

GLOBAL_WEIGHT = 0.5  # blend of all-image importance into a group's own importance


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
            h = F.relu6(F.conv2d(x, pw.weight[:, :, None, None], pw.bias))
            h = _pad_same(h, dw.kernel, dw.stride)
            h = F.relu6(F.conv2d(h, dw.weight[:, None], dw.bias, stride=dw.stride, groups=h.shape[1]))
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
    """Per-group Taylor importance of every hidden unit of every tail block, and mean activations."""
    n_blocks = len(tail.blocks)
    sizes = [blk[0].weight.shape[0] for blk in tail.blocks]
    imp = [torch.zeros(n_groups, s) for s in sizes]
    means = [torch.zeros(s) for s in sizes]
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
            means[b] += h.detach().mean((2, 3)).sum(0)
        feat_mean += tail.pooled.detach().sum(0)
        counts += torch.bincount(groups, minlength=n_groups).float()
    n = len(feats)
    return imp, [m / n for m in means], feat_mean / n, counts


def _top(score: torch.Tensor, k: int) -> torch.Tensor:
    return torch.topk(score, min(k, score.numel())).indices.sort().values


def _blend(own: torch.Tensor, overall: torch.Tensor) -> torch.Tensor:
    return own / own.max().clamp_min(1e-12) + GLOBAL_WEIGHT * overall / overall.max().clamp_min(1e-12)


@torch.no_grad()
def init_from_teacher(model: NHL, teacher: nn.Module, calibration_features: torch.Tensor) -> dict:
    """Set ``model``'s branch weights from ``teacher`` (in place), pruned per branch.

    Args:
        model: an NHL whose level 1 is mbconv ops matching the teacher's tail blocks (depths,
            kernels, strides), level 2 an mlp selecting features, level 3 per-category mlps.
        teacher: the timm teacher the trunk was cut from.
        calibration_features: trunk features (N, C, H, W) of a few thousand images.

    Returns:
        Statistics of the calibration (images per level-1 group).
    """
    head = model.head
    if len(head.levels) != 3:
        raise CheckpointError("init_from_teacher expects a 3-level NHL")
    trunk_blocks = len(model.trunk.model.blocks)
    tail = TeacherTail(teacher, trunk_blocks)
    l1_ops = list(head.levels[0].ops)
    mb = [op for op in l1_ops if isinstance(op, MBConvBranches)]
    if sum(op.depth for op in mb) != len(tail.blocks) or len(mb) != len(l1_ops):
        raise CheckpointError(f"level 1 has {sum(op.depth for op in mb)} blocks, the teacher tail {len(tail.blocks)}")
    group1, n1 = _groups_of(model, 0)
    imp, means, feat_mean, counts = _importance(tail, calibration_features, group1, n1)
    overall = [s.sum(0) for s in imp]

    # --- level 1: pruned copies of the tail blocks; the last block fused with conv_head
    b = 0
    for op in mb:
        for d in range(op.depth):
            pw, dw, pl, _ = tail.blocks[b]
            if (dw.kernel, dw.stride if d == 0 else 1) != (op.kernel, op.stride if d == 0 else 1):
                raise CheckpointError(f"level-1 block {b}: kernel/stride differ from the teacher's")
            last = op is mb[-1] and d == op.depth - 1
            for j in range(n1):
                keep = _top(_blend(imp[b][j], overall[b]), op.hidden[d])
                drop = torch.ones(pw.weight.shape[0], dtype=torch.bool)
                drop[keep] = False
                getattr(op, f"pw{d}_w")[j] = pw.weight[keep]
                getattr(op, f"pw{d}_b")[j] = pw.bias[keep]
                getattr(op, f"dw{d}_w")[j] = dw.weight[keep]
                getattr(op, f"dw{d}_b")[j] = dw.bias[keep]
                pl_w = pl.weight[:, keep]
                pl_b = pl.bias + pl.weight[:, drop] @ means[b][drop]  # mean replacement
                if last:  # fuse the linear projection with conv_head, keep this group's features
                    cats = (group1 == j).nonzero().flatten()
                    feats = _top((tail.cls_w[cats].abs().sum(0)) * feat_mean, op.out)
                    op._features = getattr(op, "_features", {})
                    op._features[j] = feats
                    pl_w = tail.head.weight[feats] @ pl_w
                    pl_b = tail.head.weight[feats] @ pl_b + tail.head.bias[feats]
                getattr(op, f"pl{d}_w")[j] = pl_w
                getattr(op, f"pl{d}_b")[j] = pl_b
            b += 1
    l1_features = mb[-1]._features
    del mb[-1]._features

    # --- level 2: select the pooled features its categories weigh most (exact through the ReLU)
    l2 = head.levels[1].ops[0]
    group2, n2 = _groups_of(model, 1)
    l2_features = {}
    if not isinstance(l2, MLPBranches) or l2.hidden:
        raise CheckpointError("level 2 must be a single-layer mlp for teacher initialisation")
    l2.w2.zero_(), l2.b2.zero_()
    for k in range(n2):
        parent = int(head.levels[1].parent_index[k])
        avail = l1_features[parent]
        cats = (group2 == k).nonzero().flatten()
        pos = _top(tail.cls_w[cats][:, avail].abs().sum(0) * feat_mean[avail], l2.out)
        l2.w2[k, torch.arange(len(pos)), pos] = 1.0
        l2_features[k] = avail[pos]

    # --- level 3: the teacher's classifier rows on the selected features, the rest as a constant
    l3 = head.levels[2].ops[0]
    teacher_index = _teacher_indices(model)
    for i in range(len(model.categories)):
        feats = l2_features[int(head.levels[2].parent_index[i])]
        w = tail.cls_w[teacher_index[i]]
        rest = torch.ones_like(feat_mean, dtype=torch.bool)
        rest[feats] = False
        const = tail.cls_b[teacher_index[i]] + w[rest] @ feat_mean[rest]
        v = torch.zeros(l3.cin)
        v[: len(feats)] = w[feats]
        if l3.hidden:  # relu(v.x) - relu(-v.x) == v.x: an exact linear map through the hidden layer
            l3.w1[i, 0], l3.w1[i, 1] = v, -v
            l3.b1[i, :2] = 0
            l3.w2[i, 0].zero_()
            l3.w2[i, 0, 0], l3.w2[i, 0, 1] = 1.0, -1.0
        else:
            l3.w2[i, 0] = v
        l3.b2[i, 0] = const
    return {"calibration_images": len(calibration_features), "images_per_level1_group": counts.tolist()}


def _teacher_indices(model: NHL) -> list[int]:
    """The teacher's output index of each of the model's categories (ImageNet order = sorted wnids)."""
    from timm.data import ImageNetInfo

    where = {w: j for j, w in enumerate(ImageNetInfo().label_names())}
    return [where[w] for w in model.categories]
