"""The command-line entry points run end to end on small real inputs: train, evaluate, bench."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PHOTOS, ROOT


def _run(args, timeout=600):
    out = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


@pytest.fixture(scope="module")
def few_photos(tmp_path_factory):
    """An ImageFolder of a few real photos (symlinks), labelled by wnid subfolders."""
    root = tmp_path_factory.mktemp("photos")
    for f in sorted(PHOTOS.glob("n0212*.JPEG")) + sorted(PHOTOS.glob("n0208*.JPEG"))[:4]:
        d = root / f.name[:9]
        d.mkdir(exist_ok=True)
        (d / f.name).symlink_to(f)
    return root


def test_train_resumes_and_writes_a_loadable_checkpoint(tmp_path, few_photos):
    out = tmp_path / "run"
    args = ["hldemo.train", "--images", str(few_photos), "--out", str(out), "--views", "1", "--epochs", "2",
            "--batch-size", "4", "--save-every", "1", "--workers", "0", "--feature-mix", "0.5"]
    _run(args)
    log = (out / "train.log").read_text()
    assert "initialised from the teacher" in log and "done:" in log
    from hldemo.checkpoint import load_model

    model = load_model(out / "final")
    assert model.config["training"]["steps"] >= 2
    _run(args)  # a second run finds everything done and resumes, not restarts
    assert "resumed at step" in (out / "train.log").read_text()
    again = load_model(out / "final").config["training"]
    assert again["commands"] == [again["command"]]  # the same command twice is one reproduction step


@pytest.mark.parametrize("flag, value, message", [("--feature-mix", "1.5", "must be a probability in [0, 1], got 1.5"),
                                                  ("--balance", "-1", "must be a number >= 0, got -1")])
def test_train_rejects_out_of_range_options(tmp_path, few_photos, flag, value, message):
    out = subprocess.run([sys.executable, "-m", "hldemo.train", "--images", str(few_photos), "--out", str(tmp_path / "r"),
                          flag, value], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and message in out.stderr
    assert not (tmp_path / "r").exists()  # refused before any work


def test_balance_gives_every_wnid_the_same_share_of_cached_views():
    from argparse import Namespace

    import numpy as np

    from hldemo.data import wnid_of
    from hldemo.train import view_order, view_weights

    files = [Path(f"n01440764/{i}.JPEG") for i in range(9)] + [Path("n02123045_tabby.JPEG"), Path("x/n09999999_a.png")]
    args = Namespace(balance=1.0, views=3, seed=5)
    w = view_weights(files, args)
    order = view_order(len(files), args.views, args.seed)
    assert len(w) == len(order) == 33 and abs(w.sum() - 1) < 1e-9
    share = {}
    for v, i in enumerate(order):
        share[wnid_of(files[i])] = share.get(wnid_of(files[i]), 0) + w[v]
    assert set(share) == {"n01440764", "n02123045", "n09999999"}
    assert np.allclose(list(share.values()), [1 / 3] * 3)
    assert view_weights(files, Namespace(balance=0.0, views=3, seed=5)) is None  # plain uniform draws


def test_feature_mix_only_moves_cells_between_photos():
    """Cutmix/flip on the feature grid: every output cell is some photo's cell (maybe mirrored)."""
    import torch

    from hldemo.train import mix_features

    x = torch.randn(6, 3, 5, 7)
    a, b = mix_features(x, torch.Generator().manual_seed(3)), mix_features(x, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    sources = torch.cat([x, x.flip(-1)])  # (12, C, H, W)
    changed = 0
    for seed in range(12):
        y = mix_features(x, torch.Generator().manual_seed(seed))
        assert y.shape == x.shape
        changed += not torch.equal(y, x)
        match = (y[:, None] == sources[None]).all(2)  # (6, 12, H, W): cell (h, w) equals a source's cell
        assert match.any(1).all()
    assert changed == 12


def test_evaluate_json_report(few_photos):
    report = json.loads(_run(["hldemo.evaluate", "--images", str(few_photos), "--json"]).strip().splitlines()[-1])
    for key in ("n_images", "teacher_top1", "nhl_top1", "agreement"):
        assert key in report
    assert report["n_images"] == len(list(few_photos.rglob("*.JPEG")))
    assert 0.0 <= report["agreement"] <= 1.0
    assert "domestic_cat" in report["experts"]["per_node"]
    assert set(report["wrong_cue_robustness"]) >= {"gain", "no_attention", "0.999", "1.0"}


def test_bench_quick_produces_every_field():
    report = json.loads(_run(["hldemo.bench", "--quick", "--json"]).strip().splitlines()[-1])
    for name in ("teacher", "nhl"):
        assert {"gmacs", "params", "ms_b1", "ms_b16", "ratio"} <= set(report[name])
    assert {"domestic_cat", "dog", "random_20"} <= set(report["experts"])
    assert any(k.startswith("level1_") for k in report["experts"])
    cat = report["experts"]["domestic_cat"]
    assert cat["gmacs"] < report["nhl"]["gmacs"] and cat["params"] < report["nhl"]["params"]
    assert report["teacher"]["ratio"]["ms_b1"] == 1.0
    for key in ("expert_build_ms", "cue_match_ms", "whisper_5s_ms", "app_request_ms", "peak_rss_mb"):
        assert key in report
    assert report["app_request_ms"]["text"]["median"] > 0


def test_train_online_mode_with_labels(tmp_path, few_photos):
    """--no-cache (fresh views every step, the GPU/torchrun path) with label cross-entropy."""
    out = tmp_path / "online"
    _run(["hldemo.train", "--images", str(few_photos), "--out", str(out), "--no-cache", "--labels",
          "--epochs", "1", "--batch-size", "4", "--workers", "0", "--save-every", "2"])
    log = (out / "train.log").read_text()
    assert "done:" in log and "step" in log
