"""The command-line entry points: end to end on small real inputs (the committed test photos), and
one clear line with a non-zero exit for every kind of bad argument."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, fixture_photos, run_module


def test_train_resumes_and_writes_a_loadable_checkpoint(tmp_path, few_photos):
    out = tmp_path / "run"
    args = ["hldemo.train", "--images", str(few_photos), "--out", str(out), "--views", "1", "--epochs", "2",
            "--batch-size", "4", "--save-every", "1", "--workers", "0"]
    run_module(args)
    log = (out / "train.log").read_text()
    assert "initialised from the teacher" in log and "done:" in log
    from hldemo.net.checkpoint import load_model

    model = load_model(out / "final")
    assert model.config["training"]["steps"] >= 2
    run_module(args)  # a second run finds everything done and resumes, not restarts
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
    report = json.loads(run_module(["hldemo.evaluate", "--images", str(few_photos), "--json"]).strip().splitlines()[-1])
    for key in ("n_images", "teacher_top1", "nhl_top1", "agreement"):
        assert key in report
    assert report["n_images"] == len(fixture_photos())
    assert 0.0 <= report["agreement"] <= 1.0
    assert "domestic_cat" in report["experts"]["per_node"]
    curves = report["cue_curves"]
    assert set(curves["levels"]) == {"1", "2", "3"} and curves["seeds"] == 10
    for curve in curves["levels"].values():
        assert len(curve["right_top1"]) == len(curve["wrong_top1"]) == len(curves["gains"])
        assert curve["right_top1"][0] == curve["wrong_top1"][0] == curves["none_top1"]  # gain 1: no attention
        assert curve["wrong_cost_se"][0] == 0.0 and all(se >= 0 for se in curve["wrong_cost_se"])


def test_choose_gain_bounds_the_wrong_cue_cost_with_confidence():
    """A gain whose mean wrong-cue cost is under the limit but whose upper confidence limit is not is
    refused; the shipped attention.json is what the rule picks from its own calibration curves."""
    from hldemo.evaluate import MAX_WRONG_CUE_COST, choose_gain

    # cost 0.3 point (+- 0.1) at gain 1.1, 0.4 point (+- 0.2) at 1.2: both means are under 0.5 point
    level = {"right_top1": [0.80, 0.84, 0.90], "wrong_top1": [0.80, 0.797, 0.796], "wrong_cost_se": [0.0, 0.001, 0.002]}
    curves = {"gains": [1.0, 1.1, 1.2], "none_top1": 0.80, "levels": {"1": level}}
    assert MAX_WRONG_CUE_COST == 0.005
    assert choose_gain(curves, z=0.0)["gain"] == 1.2
    chosen = choose_gain(curves)
    assert chosen["gain"] == 1.1 and chosen["wrong_cost_upper"]["1"] <= MAX_WRONG_CUE_COST
    attention = json.loads((ROOT / "checkpoints" / "nhl_lite0" / "attention.json").read_text())
    assert choose_gain(attention["curves"])["gain"] == attention["gain"]


def test_demo_json_carries_attention_and_the_experts_share():
    """``python -m hldemo.demo --json``: the full network's attention predictions and the expert's
    share of its belief, named plainly; a wrong cue is seen through."""
    cat = ROOT / "examples" / "photos" / "cat_chelsea.jpg"
    d = json.loads(run_module(["hldemo.demo", str(cat), "--cue", "a truck", "--speech-model", "none", "--json"]))
    assert d["ok"] and d["gain"] == d["gains"]["trucks_and_vans"] > 1  # the checkpoint's default gain
    assert d["nhl_attention"][0]["wnid"] == d["nhl"][0]["wnid"] and d["expert"][0]["wnid"] in d["categories"]
    assert d["expert_share"] < 0.05 and d["expert_share_low"] and "probably not" in d["explanation"]
    assert [c["model"] for c in d["costs"]] == ["teacher", "full NHL", "expert", "full NHL + attention"]


def test_bench_quick_produces_every_field():
    from hldemo.net.checkpoint import DEFAULT_CHECKPOINT, load_model, read_config

    report = json.loads(run_module(["hldemo.bench", "--quick", "--json", "--threads", "1", "--device", "cpu"])
                        .strip().splitlines()[-1])
    assert report["threads"] == 1 and report["device"] == "cpu" and report["dtype"] == "float32"
    for entry in (report["teacher"], report["nhl"], *report["experts"].values()):
        for b in (1, 16, 64):  # latency and throughput at each batch
            assert entry[f"ms_b{b}"] > 0 and entry[f"ms_b{b}_p90"] >= entry[f"ms_b{b}"]
            assert entry[f"images_per_s_b{b}"] == pytest.approx(1000 * b / entry[f"ms_b{b}"])
        assert {"categories", "gmacs", "params", "ratio"} <= set(entry) and "ms_b64" in entry["ratio"]
    assert {"domestic_cat", "dog", "random_20"} <= set(report["experts"])
    assert any(k.startswith("level1_") for k in report["experts"])
    cat = report["experts"]["domestic_cat"]
    assert cat["ratio"]["gmacs"] <= 1.0 and report["nhl"]["ratio"]["gmacs"] <= 5.0  # counted, not timed
    assert cat["gmacs"] < report["nhl"]["gmacs"] and cat["params"] < report["nhl"]["params"]
    assert cat["categories"] == 5 and report["experts"]["random_20"]["categories"] == 20
    assert report["teacher"]["categories"] == 1000
    assert report["nhl"]["categories"] == len(load_model(DEFAULT_CHECKPOINT).categories)
    assert report["teacher_backbone"] == read_config(DEFAULT_CHECKPOINT)["backbone"]
    assert report["teacher"]["ratio"]["ms_b1"] == 1.0
    for key in ("expert_build_ms", "cue_match_ms", "whisper_5s_ms", "app_request_ms", "peak_rss_mb"):
        assert key in report
    assert report["app_request_ms"]["text"]["median"] > 0


def test_bench_uses_the_checkpoints_own_teacher_and_category_count(tmp_path, nhl_trained):
    """A checkpoint of 5 categories is reported as 5, not 1000; a checkpoint on another backbone is
    compared with that backbone (here its weights are not installed: a clear error, not Lite0)."""
    from hldemo.bench import format_table
    from hldemo.net.checkpoint import save_model
    from hldemo.net.expert import build_expert

    cat = save_model(build_expert(nhl_trained, ["domestic_cat"]), tmp_path / "cat_expert")
    report = json.loads(run_module(["hldemo.bench", "--model", str(cat), "--quick", "--no-demo", "--json", "--threads", "1",
                                    "--device", "cpu"])
                        .strip().splitlines()[-1])
    assert report["nhl"]["categories"] == 5 and report["teacher"]["categories"] == 1000
    table = format_table(report)
    assert "| full NHL | cpu | 5 |" in table and "| teacher | cpu | 1000 |" in table  # the device of each row
    assert "device cpu" in table.splitlines()[0]

    other = tmp_path / "lite1"
    shutil.copytree(cat, other)
    config = json.loads((other / "config.json").read_text())
    config["backbone"] = "tf_efficientnet_lite1"  # same trunk shapes as Lite0; its weights are not installed here
    (other / "config.json").write_text(json.dumps(config))
    out = subprocess.run([sys.executable, "-m", "hldemo.bench", "--model", str(other), "--quick", "--no-demo"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode != 0 and "tf_efficientnet_lite1" in out.stderr.strip().splitlines()[-1], out.stderr[-2000:]
    assert "Traceback" not in out.stderr


def test_train_online_mode_with_labels(tmp_path, few_photos):
    """--no-cache (fresh views every step, the GPU/torchrun path) with label cross-entropy."""
    out = tmp_path / "online"
    run_module(["hldemo.train", "--images", str(few_photos), "--out", str(out), "--no-cache", "--labels",
          "--epochs", "1", "--batch-size", "4", "--workers", "0", "--save-every", "2"])
    log = (out / "train.log").read_text()
    assert "done:" in log and "step" in log


def test_train_the_registered_convnext_variant(tmp_path, few_photos, monkeypatch, capsys):
    """``nhl_convnextv2_tiny`` trains (teacher logits from the whole ConvNeXt), and asks for
    ``--no-init`` where its branches cannot start as copies of the teacher's layers. ConvNeXt's
    ImageNet weights are not reachable offline: the real timm model with random weights stands in."""
    from hldemo.net.backbone import load_teacher
    from hldemo.train import fit

    monkeypatch.setattr(fit, "load_teacher", lambda name, pretrained=True: load_teacher(name, pretrained=False))
    common = ["--variant", "nhl_convnextv2_tiny", "--images", str(few_photos), "--views", "1", "--epochs", "1",
              "--batch-size", "4", "--workers", "0"]
    with pytest.raises(SystemExit) as exit_info:
        fit.main(common + ["--out", str(tmp_path / "init")])
    assert exit_info.value.code != 0
    assert "--no-init" in capsys.readouterr().err.strip().splitlines()[-1]

    out = tmp_path / "random"
    fit.main(common + ["--out", str(out), "--no-init"])
    log = (out / "train.log").read_text()
    assert "done:" in log
    config = json.loads((out / "final" / "config.json").read_text())
    assert config["backbone"] == "convnextv2_tiny" and config["training"]["steps"] >= 1
    assert (out / "final" / "head.safetensors").stat().st_size > 0


# --- bad arguments: one clear line (the last on stderr) and a non-zero exit, never a traceback ---
def _bad_variant(tmp_path: Path) -> Path:
    from hldemo.net.variants import get_config

    config = get_config("nhl_lite0")
    del config["levels"][0][0]["out"]  # was a raw KeyError deep inside the model
    path = tmp_path / "bad_variant.json"
    path.write_text(json.dumps(config))
    return path


CLI_MAINS = {"hldemo.train": "hldemo.train.fit", "hldemo.cues": "hldemo.cues.cli",  # python -m PACKAGE
             "hldemo.demo": "hldemo.demo.engine"}  # runs its __main__, which calls this module's main
BAD_ARGUMENTS = [
    ("hldemo.train", ["--images", "{empty}", "--out", "{tmp}/run"], "no photos to train on"),
    ("hldemo.train", ["--images", "{unreadable}", "--out", "{tmp}/run"], "none of the 1 image files"),
    ("hldemo.train", ["--images", "{tmp}/nowhere", "--out", "{tmp}/run"], "does not exist"),
    ("hldemo.train", ["--images", "{empty}", "--variant", "no_such_variant", "--out", "{tmp}/run"], "no photos"),
    ("hldemo.train", ["--images", "{photos}", "--variant", "no_such_variant", "--out", "{tmp}/run"], "unknown variant"),
    ("hldemo.train", ["--images", "{photos}", "--variant", "{bad_variant}", "--out", "{tmp}/run"], "levels[0][0] ... lacks 'out'"),
    ("hldemo.train", ["--images", "{photos}", "--batch-size", "0"], "--batch-size"),
    ("hldemo.train", ["--images", "{photos}", "--holdout-fraction", "1.5"], "--holdout-fraction"),
    ("hldemo.evaluate", ["--images", "{tmp}/nowhere"], "does not exist"),
    ("hldemo.evaluate", ["--images", "{photos}", "--model", "no_such_checkpoint"], "no checkpoint"),
    ("hldemo.evaluate", ["--images", "{empty}"], "no photos"),
    ("hldemo.bench", ["--model", "no_such_checkpoint", "--quick"], "no checkpoint 'no_such_checkpoint'"),
    ("hldemo.bench", ["--threads", "0"], "--threads"),
    ("hldemo.bench", ["--device", "tpu"], "unknown device 'tpu'"),
    ("hldemo.bench", ["--device", "cpu", "--dtype", "float16"], "float16 needs a CUDA device"),
    ("hldemo.evaluate", ["--images", "{photos}", "--device", "cpu", "--dtype", "float16"], "float16 needs a CUDA device"),
    ("hldemo.demo", ["{cat}", "--device", "cuda:x", "--speech-model", "none"], "unknown device 'cuda:x'"),
    ("hldemo.cues", [], "give at least one TEXT"),
    ("hldemo.cues", ["--hierarchy", "no_such_tree", "meow"], "unknown hierarchy"),
    ("hldemo.cues", ["--audio", "{tmp}/nowhere.wav"], "file not found: ... nowhere.wav"),
    ("hldemo.cues", ["--table", "{tmp}/nowhere.tsv"], "file not found"),
    ("hldemo.demo", ["{tmp}/nowhere.jpg", "--speech-model", "none"], "no such file"),
    ("hldemo.demo", ["{cat}", "--gain", "100", "--speech-model", "none"], "--gain must be between"),
    ("hldemo.demo", ["{cat}", "--checkpoint", "no_such_checkpoint", "--speech-model", "none"], "no checkpoint"),
]


@pytest.mark.parametrize("module, args, words", BAD_ARGUMENTS)
def test_bad_arguments_get_one_clear_line(module, args, words, tmp_path, few_photos, monkeypatch, capsys):
    import importlib

    import torch

    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no photos here")
    (tmp_path / "unreadable").mkdir()
    (tmp_path / "unreadable" / "n02123045_broken.jpg").write_text("not a photo")
    fill = {"tmp": tmp_path, "empty": tmp_path / "empty", "unreadable": tmp_path / "unreadable", "photos": few_photos, "bad_variant": _bad_variant(tmp_path),
            "cat": ROOT / "examples" / "photos" / "cat_chelsea.jpg"}
    argv = [a.format(**fill) for a in args]
    threads = torch.get_num_threads()
    monkeypatch.setattr(sys, "argv", [f"python -m {module}", *argv])
    try:
        with pytest.raises(SystemExit) as exit_info:
            code = importlib.import_module(CLI_MAINS.get(module, module)).main(argv)
            raise SystemExit(code)  # mains that return their status
    finally:
        torch.set_num_threads(threads)  # a CLI may set the process's thread count before it fails
    code = exit_info.value.code
    err = capsys.readouterr().err.strip()
    if isinstance(code, str):  # SystemExit("message"): the interpreter prints it to stderr, status 1
        err = f"{err}\n{code}".strip()
    assert code not in (0, None), err
    assert err and all(w in err.splitlines()[-1] for w in words.split(" ... ")), err
    assert "Traceback" not in err
