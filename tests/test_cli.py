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
            "--batch-size", "4", "--save-every", "1", "--workers", "0"]
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


def test_cap_per_wnid_keeps_the_same_photos_whatever_the_order():
    from collections import Counter

    from hldemo.data import cap_per_wnid, wnid_of

    files = [Path(f"n01440764/{i}.JPEG") for i in range(7)] + [Path(f"n02123045_{i}.JPEG") for i in range(2)]
    kept = cap_per_wnid(files, 3)
    assert Counter(wnid_of(f) for f in kept) == {"n01440764": 3, "n02123045": 2}
    assert kept == sorted(kept) == cap_per_wnid(reversed(files), 3)


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
