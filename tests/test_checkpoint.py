"""Checkpoints: safetensors round trip, the shipped default, golden outputs, bad files."""

import json
import shutil
from pathlib import Path

import pytest
import torch
from conftest import SHARED_DATA, requires_shared_data

from hldemo.errors import CheckpointError
from hldemo.net.checkpoint import load_model, save_model, save_model_zip
from hldemo.net.expert import build_expert

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "nhl_lite0_top5.json"


def test_round_trip_keeps_logits(tmp_path, nhl_random, teacher):
    save_model(nhl_random, tmp_path / "ckpt", dtype=torch.float32)
    loaded = load_model(tmp_path / "ckpt", teacher=teacher)
    x = torch.randn(2, 3, 224, 224)
    with torch.inference_mode():
        assert torch.equal(loaded(x), nhl_random(x))
    assert loaded.config["levels"] == nhl_random.config["levels"]


def test_expert_saves_and_loads_standalone(tmp_path, nhl_random, teacher):
    expert = build_expert(nhl_random, "domestic_cat")
    folder = save_model(expert, tmp_path / "cat", dtype=torch.float32)
    loaded = load_model(folder, teacher=teacher)
    assert loaded.categories == expert.categories
    assert [len(ids) for ids in loaded.head.node_ids] == [1, 1, 5]
    x = torch.randn(2, 3, 224, 224)
    with torch.inference_mode():
        assert torch.allclose(loaded(x), expert(x), atol=1e-5)


def test_zipped_expert_holds_one_loadable_folder(tmp_path, nhl_random, teacher):
    import zipfile

    expert = build_expert(nhl_random, "domestic_cat")
    path = save_model_zip(expert, tmp_path / "out" / "cat-expert.zip", readme="# cat\n", dtype=torch.float32)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == [f"cat-expert/{f}" for f in
                                         ("README.md", "config.json", "head.safetensors", "hierarchy.json")]
        zf.extractall(tmp_path / "unzipped")
    loaded = load_model(tmp_path / "unzipped" / "cat-expert", teacher=teacher)
    x = torch.randn(1, 3, 224, 224)
    with torch.inference_mode():
        assert torch.allclose(loaded(x), expert(x), atol=1e-5)
    assert list((tmp_path / "out").iterdir()) == [path]  # nothing half-written left beside it


def test_default_checkpoint_loads_offline_and_matches_golden(nhl_trained):
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    from make_golden import golden_top5

    assert (ROOT / "checkpoints" / "nhl_lite0" / "README.md").exists()  # the model card
    golden = json.loads(GOLDEN.read_text())
    assert golden_top5(nhl_trained, ROOT / golden["photo_dir"], golden["photos"]) == golden["top5"]


def test_shipped_nhl_predicts_what_its_teacher_predicts(nhl_trained, teacher, photo_batch):
    """The default NHL is faithful: on the committed photos its top-1 is the teacher's, photo by
    photo, with the teacher's confidence (within a few points)."""
    x, wnids = photo_batch
    with torch.inference_mode():
        nhl, whole = nhl_trained(x).softmax(-1), teacher(x).softmax(-1)
    labels = torch.tensor([nhl_trained.categories.index(w) for w in wnids])
    assert nhl.argmax(1).tolist() == whole.argmax(1).tolist()
    assert (nhl.argmax(1) == labels).sum() == (whole.argmax(1) == labels).sum() >= len(wnids) - 2
    assert (nhl.max(1).values - whole.max(1).values).abs().max() < 0.1


def test_trained_nhl_recognises_house_cats(nhl_trained, teacher, photo_batch):
    """The cat expert names both committed house cats (a Persian and a Siamese), like the teacher
    restricted to the five cats, and attention on the right cat's branch raises its probability."""
    x, wnids = photo_batch
    cat = build_expert(nhl_trained, "domestic cat")
    rows = [i for i, w in enumerate(wnids) if w in cat.categories]
    assert len(rows) >= 2
    with torch.inference_mode():
        probs = cat(x[rows]).softmax(-1)
        attended = cat(x[rows], gains=[{wnids[i]: 2.0} for i in rows]).softmax(-1)
        restricted = teacher(x[rows])[:, [nhl_trained.categories.index(w) for w in cat.categories]]
    right = torch.tensor([cat.categories.index(wnids[i]) for i in rows])
    assert probs.argmax(1).tolist() == right.tolist() == restricted.argmax(1).tolist()
    assert (attended[range(len(rows)), right] > probs[range(len(rows)), right]).all()


def _copy(tmp_path, src: Path) -> Path:
    dst = tmp_path / "ckpt"
    shutil.copytree(src, dst)
    return dst


def test_bad_checkpoints_raise_checkpoint_error(tmp_path, nhl_random, teacher):
    src = save_model(nhl_random, tmp_path / "good", dtype=torch.float16)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_model(tmp_path / "missing" / "nothing")
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_model("not-a-checkpoint-name")
    with pytest.raises(CheckpointError, match="Hub"):  # offline: a clear message, no traceback soup
        load_model("some-user/some-nhl-repo")

    bad = _copy(tmp_path, src)
    (bad / "head.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match="cannot read"):
        load_model(bad, teacher=teacher)
    shutil.rmtree(bad)

    bad = _copy(tmp_path, src)
    (bad / "config.json").write_text("{broken")
    with pytest.raises(CheckpointError, match="malformed"):
        load_model(bad, teacher=teacher)
    shutil.rmtree(bad)

    bad = _copy(tmp_path, src)
    (bad / "hierarchy.json").unlink()
    with pytest.raises(CheckpointError, match="lacks hierarchy.json"):
        load_model(bad, teacher=teacher)
    shutil.rmtree(bad)

    bad = _copy(tmp_path, src)
    config = json.loads((bad / "config.json").read_text())
    config["levels"][1][0]["out"] = 64  # weights no longer fit
    (bad / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="shape mismatch|do not fit"):
        load_model(bad, teacher=teacher)


@requires_shared_data
def test_the_cards_photo_sets_are_rebuilt_as_measured(tmp_path):
    """eval_set_files (used by make_model_card.py and make_frontier.py) finds the very photos the
    shipped card's numbers come from: same sets, same counts (the tar set needs the training log)."""
    from hldemo.evaluate import eval_set_files
    from hldemo.hierarchy import load_hierarchy

    folder = ROOT / "checkpoints" / "nhl_lite0"
    measured = json.loads((folder / "eval.json").read_text())
    fraction = json.loads((folder / "config.json").read_text())["training"]["holdout_fraction"]
    sets = eval_set_files(SHARED_DATA, load_hierarchy("curated"), fraction, cache_dir=tmp_path)
    assert sets and {name: len(files) for name, files in sets.items()} == \
        {name: measured[name]["n_images"] for name in sets}
