"""Benchmark: GMACs, parameters and wall-clock latency of the teacher, the full NHL and experts,
measured side by side in one process, plus expert build, cue matching, Whisper, sound tagging and one full demo
request through the app's own code path.

    python -m hldemo.bench [--json] [--quick] [--model nhl_lite0] [--device auto] [--dtype float32]

Latencies are medians (and p90) over interleaved repeats at batch 1, 16 and 64: every round times
each model once, in alternating order, so load from other processes hits all of them alike;
throughput is the batch over its median time (images/second). Ratios are to the teacher measured
in the same run. Everything runs on ``--device`` (default: a GPU when there is one), which the
report names; on a GPU each forward is timed to its end (``torch.cuda.synchronize``). The teacher is the checkpoint's own backbone (``config["backbone"]``),
run with the same inference optimisations as the NHL (batch-norms folded, channels-last,
``torch.inference_mode``). The timing code is :func:`hldemo.net.timing.time_forwards`, the one the
demo's cost panel uses.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import time

import numpy as np
import torch

from .errors import exit_on_user_error
from .net import timing
from .net.backbone import load_teacher
from .net.checkpoint import DEFAULT_CHECKPOINT, load_model, read_config
from .net.expert import build_expert
from .net.flops import count_macs, count_params
from .utils import EXAMPLES_DIR, add_device_arguments, device_label, resolve_device, resolve_dtype

PHOTO = EXAMPLES_DIR / "photos" / "cat_chelsea.jpg"
SPEECH = EXAMPLES_DIR / "speech" / "show_me_the_cat.wav"
SOUND = EXAMPLES_DIR / "sounds" / "farm-animals" / "cow.ogg"  # a moo, 44.1 kHz
CUES = ["meow", "find the cat", "something to eat", "a dog or a horse", "not a dog", "something to drink from",
        "show me the sports car", "xqzt blorp"]
REPEATS = {"full": (10, 50), "quick": (2, 5)}  # (warm-up, timed rounds) at batch 1
BATCHES = (1, 16, 64)  # a click, a small album, a throughput batch
# Issue #20's cost targets, checked on every report (``targets``): (report entry, ratio, limit).
# An expert "pays" when it costs at most PAYING_EXPERT x the teacher's GMACs.
COST_TARGETS = (("house-cat expert GMACs", "domestic_cat", "gmacs", 0.90),
                ("house-cat expert batch-1 time", "domestic_cat", "ms_b1", 0.93),
                ("full NHL GMACs", "nhl", "gmacs", 5.0))
PAYING_EXPERT = 0.90
# (warm-up, timed rounds) at each batch above 1: a batch of 64 through the full NHL takes ~5 s on 2 CPU cores
BATCH_REPEATS = {"full": {16: (5, 10), 64: (1, 3)}, "quick": {16: (1, 3), 64: (0, 1)}}


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def time_models(models: dict, batch: int, warmup: int, rounds: int, size: int = 224,
                device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32) -> dict:
    """Median/p90 ms per forward of each model on a random batch (:func:`hldemo.net.timing.time_forwards`),
    made on the CPU (the same numbers on every device) and moved to ``device`` once."""
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(0)).to(device, dtype)
    return timing.time_forwards(models, x, rounds=rounds, warmup=warmup)[1]


def pick_experts(model, seed: int = 0) -> dict:
    """The experts the benchmark reports: house cats, dogs, 20 random categories, one level-1 node,
    and every level-1 node whose branch the config narrows (``branch_overrides``: experts built to pay)."""
    h = model.hierarchy
    level1 = next((n.id for n in h.level(1) if n.id not in ("dog",) and len(n.categories) >= 20), h.level(1)[0].id)
    rng = random.Random(seed)
    named = {node: [node] for node in ("domestic_cat", "dog") if node in h.nodes}  # other trees may lack them
    lean = {f"level1_{n}": [n] for o in model.config.get("branch_overrides", []) for n in o["nodes"] if n in h.nodes}
    return {**named, "random_20": sorted(rng.sample(model.categories, min(20, len(model.categories)))),
            f"level1_{level1}": [level1], **lean}


def run(model_name: str = DEFAULT_CHECKPOINT, quick: bool = False, demo: bool = True, threads: int | None = None,
        device: str | torch.device = "auto", dtype: str | torch.dtype | None = None) -> dict:
    """Measure a checkpoint against its own teacher (``config["backbone"]``).

    Args:
        model_name: a checkpoint name under ``checkpoints/``, a folder or a Hub repo id.
        quick: few repeats (checks that everything runs; the numbers are rough).
        demo: also measure cue matching, Whisper and full demo requests.
        threads: torch intra-op threads (process-wide); default: every core this process may use.
        device: where the networks run (:func:`hldemo.utils.resolve_device`; ``auto``: a GPU when there is one).
        dtype: the networks' precision (:data:`hldemo.utils.DTYPES`).

    Returns:
        The report (see :func:`format_table`).

    Raises:
        DeviceError: a device this machine lacks, or float16 on the CPU.
    """
    mode = "quick" if quick else "full"
    warmup, rounds = REPEATS[mode]
    device = resolve_device(device)
    dtype = resolve_dtype(dtype, device)
    threads = threads or _cores()
    torch.set_num_threads(threads)
    report = {"machine": {"cpu": platform.processor() or platform.machine(), "cores": _cores(),
                          "torch": torch.__version__, "python": platform.python_version()},
              "device": device_label(device), "dtype": str(dtype).removeprefix("torch."),
              "threads": threads, "model": model_name, "quick": quick}
    backbone = read_config(model_name)["backbone"]
    t0 = time.perf_counter()
    teacher = load_teacher(backbone)
    report["load_s"] = {"teacher": time.perf_counter() - t0}
    report["teacher_backbone"] = backbone
    t0 = time.perf_counter()
    model = load_model(model_name, teacher=teacher, device=device, dtype=dtype)
    report["load_s"]["nhl"] = time.perf_counter() - t0
    experts = {}
    for name, items in pick_experts(model).items():
        experts[name] = build_expert(model, items)
    models = {"teacher": timing.inference_teacher(teacher).to(device, dtype), "nhl": model, **experts}

    size = int(model.config["data"]["input_size"][-1])
    latency = {b: time_models(models, b, *((warmup, rounds) if b == 1 else BATCH_REPEATS[mode][b]), size, device, dtype)
               for b in BATCHES}
    entries = {}
    for k, m in models.items():
        entries[k] = {"categories": _category_count(teacher if k == "teacher" else m),
                      "gmacs": count_macs(m) / 1e9, "params": count_params(m)}
        for b in BATCHES:
            ms = latency[b][k]
            entries[k].update({f"ms_b{b}": ms["median"], f"ms_b{b}_p90": ms["p90"],
                               f"images_per_s_b{b}": 1000.0 * b / ms["median"]})
    t = entries["teacher"]
    for e in entries.values():
        e["ratio"] = {f: e[f] / t[f] for f in ("gmacs", "params", *(f"ms_b{b}" for b in BATCHES))}
    report["teacher"], report["nhl"] = entries["teacher"], entries["nhl"]
    report["experts"] = {k: entries[k] for k in experts}
    report["targets"] = cost_targets(report, model)

    # expert build: cold (a category set never built before) and cached (the app's LRU)
    rng = random.Random(1)
    cold = []
    for _ in range(rounds):
        cats = rng.sample(model.categories, 5)
        t0 = time.perf_counter()
        build_expert(model, cats)
        cold.append(time.perf_counter() - t0)
    report["expert_build_ms"] = {"cold": timing.latency_stats(cold)}

    if demo:
        report.update(_demo_figures(model_name, teacher, rounds, report, device, dtype))
    report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return report


def cost_targets(report: dict, model) -> dict:
    """Issue #20's cost targets (:data:`COST_TARGETS`) against the report's measured ratios, and the
    level-1 experts that pay (GMACs counted here for every level-1 node, <= :data:`PAYING_EXPERT` x)."""
    out = {}
    for name, entry, ratio, limit in COST_TARGETS:
        e = report["nhl"] if entry == "nhl" else report["experts"].get(entry)
        if e is not None:
            value = e["ratio"][ratio]
            out[name] = {"value": value, "limit": limit, "holds": bool(value <= limit)}
    teacher_macs = report["teacher"]["gmacs"] * 1e9
    paying = {n.id: count_macs(build_expert(model, n.id)) / teacher_macs for n in model.hierarchy.level(1)}
    out["level-1 experts that pay"] = {"limit": PAYING_EXPERT, "nodes": {k: v for k, v in paying.items() if v <= PAYING_EXPERT}}
    return out


def _demo_figures(model_name: str, teacher, rounds: int, report: dict, device: torch.device, dtype: torch.dtype) -> dict:
    """Cue matching, Whisper and full requests through the demo engine the app uses."""
    from .cues.audio import load_audio
    from .cues.speech import transcribe
    from .demo.engine import DemoEngine

    t0 = time.perf_counter()
    engine = DemoEngine(model_name, teacher=teacher, device=device, dtype=dtype)
    out = {"demo_load_s": time.perf_counter() - t0}
    cats = engine.model.hierarchy.resolve("domestic_cat")
    engine.expert_for(cats)
    cached = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        engine.expert_for(cats)
        cached.append(time.perf_counter() - t0)
    report["expert_build_ms"]["cached"] = timing.latency_stats(cached)

    match = []
    for _ in range(max(1, rounds // len(CUES))):
        for cue in CUES:
            t0 = time.perf_counter()
            engine.matcher.match(cue)
            match.append(time.perf_counter() - t0)
    out["cue_match_ms"] = timing.latency_stats(match)

    audio = load_audio(str(SPEECH))
    samples = np.zeros(16000 * 5, dtype=np.float32)  # the spoken cue padded to 5 s
    samples[: min(len(audio.samples), len(samples))] = audio.samples[: len(samples)]
    speech5 = (16000, samples)
    whisper = []
    for _ in range(3):
        t0 = time.perf_counter()
        transcribe(engine.speech, load_audio(speech5))
        whisper.append(time.perf_counter() - t0)
    out["whisper_5s_ms"] = timing.latency_stats(whisper)

    # sound tagging as the demo does it: a 5 s, 44.1 kHz recording resampled, YAMNet, the gate
    import soundfile as sf

    from .cues.sounds import load_sound_tagger

    moo, rate = sf.read(str(SOUND), dtype="float32")
    sound5 = (rate, np.resize(moo, 5 * rate))
    tagger = load_sound_tagger()
    tagger.hear(sound5)
    tagging = []
    for _ in range(max(10, rounds)):
        t0 = time.perf_counter()
        tagger.hear(sound5)
        tagging.append(time.perf_counter() - t0)
    out["sound_tag_5s_ms"] = timing.latency_stats(tagging)

    req_text, req_speech = [], []
    photo = str(PHOTO)
    for i in range(rounds):
        t0 = time.perf_counter()
        r = engine.run(photo, cue="find the cat")
        req_text.append(time.perf_counter() - t0)
        assert r.ok, r.message
    for _ in range(3):
        t0 = time.perf_counter()
        engine.run(photo, audio=speech5)
        req_speech.append(time.perf_counter() - t0)
    out["app_request_ms"] = {"text": timing.latency_stats(req_text), "speech_5s": timing.latency_stats(req_speech)}
    return out


def _category_count(model: torch.nn.Module) -> int:
    """Outputs of a network: an NHL's categories, a timm classifier's classes."""
    categories = getattr(model, "categories", None)
    return len(categories) if categories is not None else int(model.num_classes)


def format_table(r: dict) -> str:
    rows = [("teacher", r["teacher"]), ("full NHL", r["nhl"])] + [(f"expert {k}", v) for k, v in r["experts"].items()]
    m = r["machine"]
    device = r["device"] + ("" if r["dtype"] == "float32" else f", {r['dtype']}")
    lines = [f"machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']}, python {m['python']}; "
             f"{r['threads']} torch thread{'s' if r['threads'] != 1 else ''}; device {device}; teacher {r['teacher_backbone']}",
             "",
             "| model | device | categories | GMACs | params (M) | ms b1 (p90) | ms b16 (p90) | ms b64 (p90) | "
             "images/s b1 / b16 / b64 | x teacher GMACs | x teacher ms b1 | x teacher ms b16 | x teacher ms b64 |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, e in rows:
        lines.append(f"| {name} | {device} | {e['categories']} | {e['gmacs']:.3f} | {e['params'] / 1e6:.2f} | "
                     f"{e['ms_b1']:.1f} ({e['ms_b1_p90']:.1f}) | {e['ms_b16']:.0f} ({e['ms_b16_p90']:.0f}) | "
                     f"{e['ms_b64']:.0f} ({e['ms_b64_p90']:.0f}) | "
                     + " / ".join(f"{e[f'images_per_s_b{b}']:.1f}" for b in BATCHES) + " | "
                     f"{e['ratio']['gmacs']:.2f} | {e['ratio']['ms_b1']:.2f} | {e['ratio']['ms_b16']:.2f} | "
                     f"{e['ratio']['ms_b64']:.2f} |")
    lines.append("")
    for name, t in r.get("targets", {}).items():
        if "nodes" in t:
            lines.append(f"{name} (<= {t['limit']:.2f}x the teacher's GMACs): {len(t['nodes'])}"
                         + (f" ({', '.join(f'{k} {v:.3f}x' for k, v in t['nodes'].items())})" if t["nodes"] else ""))
        else:
            lines.append(f"target {name}: {t['value']:.3f}x the teacher's (limit {t['limit']:.2f}x): "
                         f"{'holds' if t['holds'] else 'MISSED'}")
    b = r["expert_build_ms"]
    lines.append("")
    lines.append(f"expert build: cold {b['cold']['median']:.1f} ms" +
                 (f", cached {b['cached']['median'] * 1000:.1f} us" if "cached" in b else ""))
    if "cue_match_ms" in r:
        lines.append(f"cue matching: {r['cue_match_ms']['median']:.1f} ms/cue (p90 {r['cue_match_ms']['p90']:.1f})")
        lines.append(f"Whisper tiny.en on 5 s of speech: {r['whisper_5s_ms']['median']:.0f} ms")
        lines.append(f"sound tagging (YAMNet + gate) of a 5 s, 44.1 kHz clip: {r['sound_tag_5s_ms']['median']:.1f} ms "
                     f"(p90 {r['sound_tag_5s_ms']['p90']:.1f})")
        a = r["app_request_ms"]
        lines.append(f"app request (image + text cue): p50 {a['text']['median']:.0f} ms, p90 {a['text']['p90']:.0f} ms; "
                     f"with 5 s of speech: p50 {a['speech_5s']['median']:.0f} ms")
        lines.append(f"demo engine load: {r['demo_load_s']:.1f} s")
    lines.append(f"load: teacher {r['load_s']['teacher']:.1f} s, NHL {r['load_s']['nhl']:.1f} s; peak RSS {r['peak_rss_mb']:.0f} MB")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m hldemo.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=DEFAULT_CHECKPOINT)
    p.add_argument("--quick", action="store_true", help="few repeats: checks that everything runs")
    p.add_argument("--no-demo", action="store_true", help="skip cue/Whisper/app-request figures")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads (default: every core; the demo uses $HLDEMO_TORCH_THREADS, default 1)")
    add_device_arguments(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        p.error(f"--threads must be at least 1, not {args.threads}")
    with exit_on_user_error(p.prog):
        report = run(args.model, quick=args.quick, demo=not args.no_demo, threads=args.threads, device=args.device,
                     dtype=args.dtype)
    print(json.dumps(report) if args.json else format_table(report))


if __name__ == "__main__":
    main()
