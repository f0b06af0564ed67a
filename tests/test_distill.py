"""Teacher initialisation (hldemo.train.distill): exact at the teacher's width, alive when pruned.

Runs on the committed photos (``photo_batch``), so a fresh clone checks it.
"""

import pytest
import torch

from hldemo.net.expert import build_expert
from hldemo.net.variants import build_nhl, get_config
from hldemo.train.distill import TeacherTail, init_from_teacher


def _config(hidden: int, head_out: int = 1280) -> dict:
    config = get_config("nhl_lite0")
    config["levels"][0][0]["hidden"] = hidden
    config["levels"][0][1]["out"] = head_out
    return config


@pytest.fixture(scope="module")
def photo_features(teacher, photo_batch):
    """Trunk features (at the default split) of the committed photos, each also mirrored."""
    model = build_nhl(_config(64), teacher=teacher)
    x = photo_batch[0]
    with torch.inference_mode():
        return model.trunk(torch.cat([x, x.flip(-1)])).contiguous(), x


def _initialised(teacher, features, hidden, head_out=1280):
    torch.manual_seed(0)
    model = build_nhl(_config(hidden, head_out), teacher=teacher).eval()
    init_from_teacher(model, teacher, features)
    return model


def test_full_width_branches_are_the_teacher(teacher, photo_features):
    features, images = photo_features
    model = _initialised(teacher, features, hidden=1152)
    tail = TeacherTail(teacher, len(model.trunk.model.blocks))
    with torch.inference_mode():
        nhl, own_tail, whole = model(images), tail(features[: len(images)]), teacher(images)
        cat = build_expert(model, "domestic_cat")
        cat_logits = cat(images)
    assert torch.allclose(own_tail, whole, atol=1e-3)  # the tail is the teacher after the split
    assert (nhl - whole).abs().max() < 1e-3
    idx = [model.categories.index(w) for w in cat.categories]
    assert torch.allclose(cat_logits, nhl[:, idx], atol=1e-4)


def test_pruned_init_keeps_level1_outputs_alive(teacher, photo_features):
    """Pruned copies must keep the teacher's live pooled features (mean replacement once left 99.9 %
    of them at exactly zero, and the untrained NHL predicted one class for every photo)."""
    features, images = photo_features
    model = _initialised(teacher, features, hidden=288, head_out=640)
    tail = TeacherTail(teacher, len(model.trunk.model.blocks))
    with torch.inference_mode():
        level1 = model.head.levels[0](features, None)  # (N, K * 640, 7, 7)
        pooled = level1.view(len(features), len(model.head.levels[0].node_ids), 640, -1).mean(-1)
        tail(features)
        teacher_dead = (tail.pooled == 0).float().mean().item()
        nhl, whole = model(images), teacher(images)
    dead = (pooled == 0).float().mean().item()
    assert dead <= teacher_dead + 0.05, f"{dead:.1%} of level-1 outputs are zero (teacher {teacher_dead:.1%})"
    assert len(set(nhl.argmax(1).tolist())) > len(images) // 2  # not one class for everything
    assert (nhl.argmax(1) == whole.argmax(1)).float().mean() >= 0.75


def test_init_rejects_a_level1_that_does_not_mirror_the_teacher(teacher, photo_features):
    from hldemo.errors import CheckpointError

    config = _config(64)
    config["levels"][0] = config["levels"][0][:1]  # no conv_head copy
    config["levels"][0][0]["out"] = 1280
    model = build_nhl(config, teacher=teacher)
    with pytest.raises(CheckpointError, match="pointwise"):
        init_from_teacher(model, teacher, photo_features[0])


def test_merged_head_is_exact_and_other_groups_stay_the_teacher(teacher, photo_features):
    """Branch overrides (issue #20): a branch whose last block projects straight to conv_head's outputs
    (the two linear maps merged) is still the teacher at full width, and narrowing one group leaves
    every other group's logits the teacher's own, which training with overrides relies on."""
    features, images = photo_features
    config = _config(1152)
    block = {"type": "mbconv", "depth": 1, "kernel": 3, "stride": 1, "act_out": True}
    config["branch_overrides"] = [{"level": 1, "nodes": ["carnivores"], "ops": [dict(block, hidden=1152, out=1280)]},
                                  {"level": 1, "nodes": ["food"], "ops": [dict(block, hidden=128, out=256)]}]
    torch.manual_seed(0)
    model = build_nhl(config, teacher=teacher).eval()
    init_from_teacher(model, teacher, features)
    with torch.inference_mode():
        nhl, whole = model(images), teacher(images)
    food = set(model.hierarchy.nodes["food"].categories)
    rest = [i for i, w in enumerate(model.categories) if w not in food]
    assert (nhl[:, rest] - whole[:, rest]).abs().max() < 1e-3
    narrow = [i for i, w in enumerate(model.categories) if w in food]
    assert 0 < (nhl[:, narrow] - whole[:, narrow]).abs().max() < 10  # pruned, not broken


def test_tapped_branches_are_refitted_from_the_tap(teacher, photo_batch):
    """A branch that leaves the trunk at a tap (issue #20: the cheap experts skip stage 5's last blocks)
    starts as the teacher's later blocks refitted by least squares to the teacher's outputs from the
    tap's maps: closer to the teacher's logits than the plain copy fed the tap, while every other
    group stays the teacher exactly."""
    import copy

    config = get_config("nhl_lite0")
    config["branch_overrides"] = [{"level": 1, "nodes": ["carnivores"], "tap": "blocks.5.1",
                                   "ops": copy.deepcopy(config["levels"][0])}]
    model = build_nhl(config, teacher=teacher).eval()
    x = photo_batch[0]
    with torch.inference_mode():
        features = model.trunk(torch.cat([x, x.flip(-1)])).contiguous()
    init_from_teacher(model, teacher, features)
    exact = build_nhl(_config(1152), teacher=teacher).eval()
    init_from_teacher(exact, teacher, model.trunk.split_features(features))
    plain = build_nhl(config, teacher=teacher).eval()
    plain.head.load_branches(exact.head)  # the teacher's own stage 6 + conv_head, fed the tap
    with torch.inference_mode():
        nhl, copied, whole = model(x), plain(x), teacher(x)
    cats = set(model.hierarchy.nodes["carnivores"].categories)
    own = [i for i, w in enumerate(model.categories) if w in cats]
    rest = [i for i, w in enumerate(model.categories) if w not in cats]
    assert (nhl[:, rest] - whole[:, rest]).abs().max() < 1e-3
    refit_error = (nhl[:, own] - whole[:, own]).pow(2).mean()
    copy_error = (copied[:, own] - whole[:, own]).pow(2).mean()
    assert 0 < refit_error < copy_error
