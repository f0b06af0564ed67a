"""Distributed training that has run: ``torchrun --nproc_per_node 2 -m hldemo.train`` on the CPU
(gloo), on the committed test photos, takes the same steps as one process.

The head is the narrow test variant ``tests/fixtures/nhl_lite0_tiny.json`` with random branches
(``--no-init``), so the test takes ~1 min on 2 idle cores (measured 56 s; 125 s while other jobs
shared them); the trunk and teacher are the real EfficientNet-Lite0.
"""

import shutil
import subprocess
import sys

import torch
from conftest import ROOT

TINY_VARIANT = ROOT / "tests" / "fixtures" / "nhl_lite0_tiny.json"
PHOTOS, PROCESSES, BATCH, EPOCHS = 8, 2, 4, 3  # 8 photos x 1 view / batch 4 = 2 steps per epoch: 6 steps
# Two processes vs one, from the same initialisation and view cache: the logits of the final
# checkpoints agree to 1.1e-5 (measured; their scale is ~2): float rounding, as gradients are summed
# in another order (gloo's all-reduce) and each process runs 1 thread, the single one 2. About 20
# times that. (Each building its own cache, they differ by up to 9e-3: the teacher's logits, cached
# in float16, round differently in 0.2 % of entries with 1 and 2 threads, and Adam amplifies it.)
LOGIT_TOL = 2e-4
MIN_TRAINED = 0.1  # the 6 steps move the logits by ~1.5 (measured): agreeing to LOGIT_TOL is not trivial


def _train_args(out) -> list[str]:
    return ["--variant", str(TINY_VARIANT), "--no-init", "--views", "1", "--max-images", str(PHOTOS), "--epochs", str(EPOCHS),
            "--batch-size", str(BATCH), "--workers", "0", "--device", "cpu", "--save-every", "100", "--out", str(out)]


def _logits(folder, x):
    from hldemo.net.checkpoint import load_model

    with torch.inference_mode():
        return load_model(folder)(x)


def test_torchrun_two_processes_train_as_one(tmp_path, few_photos, photo_batch):
    ddp_out, single_out = tmp_path / "ddp", tmp_path / "single"
    ddp = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(PROCESSES),
                          "-m", "hldemo.train", "--images", str(few_photos), *_train_args(ddp_out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert ddp.returncode == 0, ddp.stdout[-2000:] + ddp.stderr[-3000:]

    # both ranks ran, and each trained on its half of every step's batch
    steps = EPOCHS * PHOTOS // BATCH
    for rank in range(PROCESSES):
        assert f"[rank {rank}/{PROCESSES}]" in ddp.stdout and f"process {rank} of {PROCESSES} on cpu" in ddp.stdout
    log = (ddp_out / "train.log").read_text()
    share = steps * BATCH // PROCESSES
    assert f"{PROCESSES} processes trained; images per process: {[share] * PROCESSES}" in log, log
    assert "[rank" not in log and log.count(" start: ") == 1  # only rank 0 writes the log

    # one final checkpoint (beside the initialisation), and it loads
    written = sorted(p.parent.name for p in ddp_out.rglob("head.safetensors"))
    assert written == ["final", "init"], written
    x = photo_batch[0]
    ddp_logits = _logits(ddp_out / "final", x)
    assert ddp_logits.shape == (len(x), 1000)

    # one process, the same command, from the same initialisation and view cache (a run resumes from
    # them): the same steps
    for part in ("init", "cache"):
        shutil.copytree(ddp_out / part, single_out / part)
    from hldemo.train import fit

    threads = torch.get_num_threads()
    try:  # in this process: saves loading torch and the teacher once more
        fit.main(["--images", str(few_photos), *_train_args(single_out)])
    finally:
        torch.set_num_threads(threads)  # training sets the process's thread count
    single_logits = _logits(single_out / "final", x)
    gap = (ddp_logits - single_logits).abs().max().item()
    trained = (ddp_logits - _logits(ddp_out / "init", x)).abs().max().item()
    assert gap <= LOGIT_TOL, (gap, trained)
    assert trained >= MIN_TRAINED, (gap, trained)
