"""Train NHL/PHL heads on a frozen trunk: distillation from the teacher, optionally with labels.

Stages, each resumable (re-run the same command to continue):

1. **init**: branches start as channel-pruned copies of the teacher's late layers
   (:func:`hldemo.train.distill.init_from_teacher`), calibrated on a few thousand training images.
2. **cache** (default on CPU): ``--views`` strongly augmented views of every image (random resized
   crops, flips, RandAugment, mixup/cutmix between photos); trunk features and the teacher's
   logits of each view go to memory-mapped files, so an epoch costs only the head.
   ``--no-cache`` instead runs trunk + teacher on fresh views every step (large datasets, GPUs).
3. **train**: KL divergence to the teacher's softmax at a temperature (+ cross-entropy with
   ``--labels``), AdamW, cosine schedule; a resumable state every ``--save-every`` steps.

Under ``torchrun`` (WORLD_SIZE > 1) the head trains with DistributedDataParallel (NCCL on GPUs,
one per process, with bf16 autocast; gloo on CPUs). ``--batch-size`` is the batch of all processes
together, and step ``s`` draws the same cached views whatever the number of processes, each taking
its share: N processes take the same steps as one process, to float rounding. Rank 0 prepares
what is written once (the initialisation, the view cache) while the others wait, then they read it;
only rank 0 writes ``train.log``, the resumable state and the checkpoints. Example (the default
checkpoint's command is in ``checkpoints/nhl_lite0/README.md``)::

    python -m hldemo.train --images ../shared/data/imagenette-160/train --out runs/demo --epochs 1
    torchrun --nproc_per_node 8 -m hldemo.train --images imagenet/train --out runs/big --no-cache --device cuda
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import os
import random
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..data import IMAGE_EXTENSIONS, cap_per_wnid, is_holdout, list_images, load_image, wnid_of
from ..errors import CheckpointError, InputError, exit_on_user_error
from ..net.backbone import load_teacher
from ..net.checkpoint import load_model, save_model
from ..net.expert import build_expert
from ..utils import add_device_arguments, resolve_device
from .distill import TeacherTail, init_from_teacher

PROG = "python -m hldemo.train"
CALIBRATION_IMAGES = 2000
LOG_EVERY = 20
# How long torchrun's other processes wait for rank 0 to write the initialisation and view cache
# (the process group's timeout; a large cached dataset takes hours on one process)
PREPARE_TIMEOUT = datetime.timedelta(hours=6)


def rank_and_world() -> tuple[int, int]:
    """This process's rank and the number of processes (0 and 1 outside torchrun)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def log(out: Path, msg: str) -> None:
    """Print a timestamped line (prefixed by the rank under torchrun); rank 0 also appends it to ``train.log``."""
    rank, world = rank_and_world()
    line = f"{time.strftime('%H:%M:%S')} {msg}"
    print(f"[rank {rank}/{world}] {line}" if world > 1 else line, flush=True)
    if rank == 0:
        with open(out / "train.log", "a") as f:
            f.write(line + "\n")


@contextlib.contextmanager
def rank_zero_first(distributed: bool):
    """Rank 0 runs the block first, writing what is made once (initialisation, view cache); the other
    processes wait, then run it and find those files done."""
    rank = rank_and_world()[0]
    if distributed and rank != 0:
        torch.distributed.barrier()
    yield
    if distributed and rank == 0:
        torch.distributed.barrier()


class ImageDataset(torch.utils.data.Dataset):
    """Photos -> (augmented tensor, label index or -1). Unreadable files give a blank image."""

    def __init__(self, files, transform, label_index=None):
        self.files, self.transform, self.label_index = files, transform, label_index or {}

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        return self.transform(load_or_blank(self.files[i])), self.label_index.get(wnid_of(self.files[i]), -1)


def train_transform(cfg: dict, size: int):
    import timm.data

    return timm.data.create_transform(size, is_training=True, scale=(0.25, 1.0), hflip=0.5,
                                      auto_augment="rand-m9-mstd0.5-inc1", interpolation="bicubic",
                                      mean=tuple(cfg["mean"]), std=tuple(cfg["std"]))


def eval_transform(cfg: dict):
    from ..net.backbone import make_transform

    return make_transform(cfg)


def make_mixer(num_classes: int):
    import timm.data

    return timm.data.Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, prob=0.5, switch_prob=0.5,
                           label_smoothing=0.0, num_classes=num_classes)


def _at_least(low: float, kind=int):
    """An argparse type: a number of ``kind`` that is >= ``low`` (a clear usage error otherwise)."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if not value >= low or not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text} is below {low:g}")
        return value
    return parse


def _positive(text: str) -> float:
    """An argparse type: a finite number > 0."""
    value = _at_least(0.0, float)(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be above 0")
    return value


def _fraction(text: str) -> float:
    """An argparse type: a number in [0, 1)."""
    value = _at_least(0.0, float)(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"{text} is not below 1")
    return value


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--variant", default="nhl_lite0", help="registry name or JSON config path")
    p.add_argument("--images", nargs="+", required=True, help="image folders or .tar files")
    p.add_argument("--holdout-from", nargs="*", default=[], help="sources whose held-out part is excluded")
    p.add_argument("--holdout-fraction", type=_fraction, default=0.3)
    p.add_argument("--out", default="runs/nhl_lite0")
    p.add_argument("--views", type=_at_least(1), default=2, help="augmented views per image in the cache")
    p.add_argument("--epochs", type=_at_least(0.0, float), default=3.0,
                   help="passes over the cached views (0: the teacher initialisation is the result)")
    p.add_argument("--calibration-images", type=_at_least(0), default=CALIBRATION_IMAGES,
                   help="photos (each also mirrored) the initialisation fits the branches on; 0 = all")
    p.add_argument("--batch-size", type=_at_least(1), default=128,
                   help="images per step, all processes together (a multiple of torchrun's process count)")
    p.add_argument("--lr", type=_positive, default=1e-3)
    p.add_argument("--weight-decay", type=_at_least(0.0, float), default=1e-4)
    p.add_argument("--temperature", type=_positive, default=2.0)
    p.add_argument("--labels", action="store_true", help="add cross-entropy with folder wnid labels")
    p.add_argument("--kd-weight", type=_at_least(0.0, float), default=1.0)
    p.add_argument("--group-weight", type=_at_least(0.0, float), default=1.0,
                   help="weight of each trained group's own (restricted) ranking, with branch overrides")
    p.add_argument("--no-cache", action="store_true", help="fresh views every step (large data, GPUs)")
    p.add_argument("--no-init", action="store_true", help="random branches instead of the teacher's")
    p.add_argument("--save-every", type=_at_least(1), default=200)
    p.add_argument("--workers", type=_at_least(0), default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-images", type=_at_least(0), default=0, help="use only the first N images (quick runs)")
    p.add_argument("--max-per-class", type=_at_least(0), default=0, help="at most N images per wnid (a hashed pick)")
    add_device_arguments(p, dtype=False)  # under torchrun with CUDA each process takes cuda:LOCAL_RANK
    return p.parse_args(argv)


def training_files(args) -> list[Path]:
    """The photos a training command uses: its sources minus the held-out hash part of
    ``--holdout-from``, capped per wnid, in a fixed order (model cards rebuild it from the command)."""
    files = list_images(args.images, cache_dir=Path(args.out).parent / "extracted")
    holdout_roots = [Path(h).resolve() for h in args.holdout_from]
    files = [f for f in files if not (any(r in f.resolve().parents for r in holdout_roots) and is_holdout(f, args.holdout_fraction))]
    if args.max_per_class:  # the same cap for every wnid keeps big folders from dominating
        files = cap_per_wnid(files, args.max_per_class)
    if args.max_images:
        files = files[: args.max_images]
    if not files:
        raise InputError(f"no photos to train on in {' '.join(map(str, args.images))} (looked for "
                         f"{', '.join(sorted(IMAGE_EXTENSIONS))} files, minus the held-out part)")
    if not any(_readable(f) for f in files):  # stops at the first photo that decodes
        raise InputError(f"none of the {len(files)} image files in {' '.join(map(str, args.images))} can be read")
    return files


def _readable(path: Path) -> bool:
    try:
        load_image(path)
        return True
    except InputError:
        return False


def commands_from_log(log_path: Path) -> list[str]:
    """The training commands a run's log records, in order (a re-run of the same command once):
    run them in turn with the same ``--out`` to reproduce its weights, each resuming the last."""
    commands: list[str] = []
    if log_path.exists():
        for line in log_path.read_text().splitlines():
            if " start: " in line:
                cmd = line.split(" start: ", 1)[1]
                if not commands or commands[-1] != cmd:
                    commands.append(cmd)
    return commands


def command_args(command: str):
    """The parsed arguments of a recorded ``python -m hldemo.train ...`` command line."""
    return parse_args(shlex.split(command)[3:])  # past "python -m hldemo.train"


def recorded_args(log_path: Path):
    """The parsed arguments of the last training command a run's log records (None if none):
    what model cards and frontiers rebuild the training photos from (paths relative to the project root)."""
    commands = commands_from_log(log_path)
    return command_args(commands[-1]) if commands else None


def seed_all(seed: int) -> None:
    random.seed(seed), np.random.seed(seed), torch.manual_seed(seed)


def teacher_tail(model, teacher) -> TeacherTail | None:
    """The teacher's layers after the trunk's split point, or None when the teacher cannot be split
    that way (only EfficientNet-style teachers can; e.g. ConvNeXt cannot)."""
    blocks = getattr(model.trunk.model, "blocks", None)
    if blocks is None:
        return None
    try:
        return TeacherTail(teacher, len(blocks))
    except CheckpointError:
        return None


def trunk_and_teacher(model, teacher, tail, x):
    """Trunk features and the teacher's logits of one batch: through ``tail`` on the features when
    there is one (the trunk runs once for both), else the whole teacher on the images. ``x`` moves to
    the trunk's device."""
    x = x.to(next(model.trunk.parameters()).device)
    with torch.inference_mode():
        feats = model.trunk(x)  # the trunk makes x channels-last itself
        return feats, tail(model.trunk.split_features(feats)) if tail is not None else teacher(x)


def build_cache(args, model, teacher, tail, files, label_index, out: Path) -> dict:
    """Write trunk features + teacher logits of ``views`` augmented views per image (resumable)."""
    cache = out / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    meta_path = cache / "meta.json"
    cfg = model.config["data"]
    size = int(cfg["input_size"][-1])
    with torch.inference_mode():
        fshape = tuple(trunk_and_teacher(model, teacher, tail, torch.zeros(1, 3, size, size))[0].shape[1:])
    n = len(files) * args.views
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {"n": n, "done": 0, "feat_shape": fshape}
    if meta["n"] != n:
        raise SystemExit(f"cache in {cache} was built for {meta['n']} views, now {n}: use another --out")
    mode = "r+" if (cache / "feats.npy").exists() else "w+"
    feats = np.lib.format.open_memmap(cache / "feats.npy", mode=mode, dtype=np.float16, shape=(n, *fshape))
    logits = np.lib.format.open_memmap(cache / "logits.npy", mode=mode, dtype=np.float16, shape=(n, len(model.categories)))
    labels = np.lib.format.open_memmap(cache / "labels.npy", mode=mode, dtype=np.int16, shape=(n,))
    if meta["done"] >= n:
        return {"feats": feats, "logits": logits, "labels": labels}
    mixer = None if args.labels else make_mixer(len(model.categories))
    # view v shows file order[v]: each pass over the files in a fresh seeded permutation
    order = torch.cat([torch.randperm(len(files), generator=torch.Generator().manual_seed(args.seed + e))
                       for e in range(args.views)]).tolist()
    start, bs = meta["done"], 64
    ds = ImageDataset([files[i] for i in order], train_transform(cfg, size), label_index)
    loader = torch.utils.data.DataLoader(torch.utils.data.Subset(ds, range(start, n)), batch_size=bs,
                                         num_workers=args.workers, shuffle=False,
                                         generator=torch.Generator().manual_seed(args.seed + start))
    seed_all(args.seed + start)
    t0 = time.time()
    pos = start
    for i, (x, y) in enumerate(loader):
        if mixer is not None and len(x) % 2 == 0:
            x, _ = mixer(x, torch.zeros(len(x), dtype=torch.long))
        f, z = trunk_and_teacher(model, teacher, tail, x)
        sl = slice(pos, pos + len(x))
        feats[sl] = f.cpu().numpy().astype(np.float16)
        logits[sl] = z.cpu().numpy().astype(np.float16)
        labels[sl] = y.numpy().astype(np.int16)
        pos += len(x)
        if i % 10 == 9 or pos >= n:
            feats.flush(), logits.flush(), labels.flush()
            meta["done"] = pos
            meta_path.write_text(json.dumps(meta))
            rate = (pos - start) / max(time.time() - t0, 1e-6)
            log(out, f"cache {pos}/{n} views ({rate:.1f}/s, eta {(n - pos) / max(rate, 1e-6) / 60:.1f} min)")
    meta["done"] = pos
    feats.flush(), logits.flush(), labels.flush()
    meta_path.write_text(json.dumps(meta))
    return {"feats": feats, "logits": logits, "labels": labels}


def cached_batches(args, data, device, rows: np.ndarray | None = None):
    """Random batches of cached views (only ``rows`` if given); step s always draws the same
    ``--batch-size`` views (resumable), and under torchrun each process takes its share of them."""
    feats, logits, labels = data["feats"], data["logits"], data["labels"]
    rows = np.arange(feats.shape[0]) if rows is None else rows
    n = len(rows)
    total = int(math.ceil(args.epochs * max(n // args.batch_size, 1)))
    rank, world = rank_and_world()
    share = min(args.batch_size, n) // world

    def batches(start: int):
        for step in range(start, total):
            rng = np.random.default_rng(args.seed * 100_003 + step)
            drawn = rng.choice(n, size=min(args.batch_size, n), replace=False)
            idx = rows[np.sort(drawn[rank * share:(rank + 1) * share])]
            yield (torch.from_numpy(np.asarray(feats[idx], dtype=np.float32)).to(device),
                   torch.from_numpy(np.asarray(logits[idx], dtype=np.float32)).to(device),
                   torch.from_numpy(np.asarray(labels[idx], dtype=np.int64)).to(device))
    return batches, total


def online_batches(args, model, teacher, files, label_index, device, distributed: bool):
    """Fresh augmented views every step; trunk features and teacher logits computed on the fly."""
    cfg = model.config["data"]
    ds = ImageDataset(files, train_transform(cfg, int(cfg["input_size"][-1])), label_index)
    sampler = (torch.utils.data.distributed.DistributedSampler(ds, seed=args.seed) if distributed
               else torch.utils.data.RandomSampler(ds, generator=torch.Generator().manual_seed(args.seed)))
    loader = torch.utils.data.DataLoader(ds, batch_size=args.batch_size // rank_and_world()[1], sampler=sampler, drop_last=True,
                                         num_workers=args.workers, pin_memory=device.type == "cuda")
    total = int(math.ceil(args.epochs * max(len(loader), 1)))
    trunk, teacher = model.trunk.to(device), teacher.to(device)
    mixer = None if args.labels else make_mixer(len(model.categories))

    def batches(start: int):
        step, epoch = start, start // max(len(loader), 1)
        while step < total:
            if distributed:
                sampler.set_epoch(epoch)
            for x, y in loader:
                x, y = x.to(device, non_blocking=True), y.to(device)
                if mixer is not None:
                    x, _ = mixer(x, torch.zeros_like(y))
                with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                    f, z = trunk(x).float(), teacher(x).float()
                yield f, z, y
                step += 1
            epoch += 1
    return batches, total


def calibration_features(model, files, n: int, seed: int) -> torch.Tensor:
    """Trunk features of ``n`` photos (all if 0), each as the eval crop and its mirror image."""
    rng = random.Random(seed)
    pick = rng.sample(files, min(n, len(files))) if n else list(files)
    tf = eval_transform(model.config["data"])
    out = []
    for i in range(0, len(pick), 32):
        x = torch.stack([tf(load_or_blank(p)) for p in pick[i:i + 32]])
        with torch.inference_mode():
            out.append(model.trunk(torch.cat([x, x.flip(-1)])).contiguous())
    return torch.cat(out)


def load_or_blank(path):
    """The photo, or a black image if it cannot be read: one bad file must not stop hours of training."""
    from PIL import Image
    try:
        return load_image(path)
    except Exception:
        return Image.new("RGB", (224, 224))


def kd_loss(student, teacher, temperature):
    t = temperature
    return F.kl_div(F.log_softmax(student / t, -1), F.log_softmax(teacher / t, -1), log_target=True,
                    reduction="batchmean") * t * t


def group_views(teacher_logits, positions: torch.Tensor, seed: int, top: int = 10) -> np.ndarray:
    """Cached views a group's branch learns from: every view whose teacher top-``top`` holds one of
    the group's categories, and as many others drawn at random (so it also learns what it is not)."""
    rel = np.zeros(len(teacher_logits), dtype=bool)
    pos = positions.numpy()
    for i in range(0, len(teacher_logits), 4096):
        z = torch.from_numpy(np.asarray(teacher_logits[i:i + 4096], dtype=np.float32))
        rel[i:i + 4096] = np.isin(z.topk(top, dim=1).indices.numpy(), pos).any(1)
    own, other = np.flatnonzero(rel), np.flatnonzero(~rel)
    rng = np.random.default_rng(seed)
    return np.sort(np.concatenate([own, rng.choice(other, size=min(len(other), max(len(own), 1)), replace=False)]))


class TakenFrom(torch.nn.Module):
    """``head`` fed its own trunk's part of the features of the trunk it was cut from (training an
    expert whose branch reads a tap on the full network's cached features). Holds only ``head``'s
    parameters (the trunks are frozen and not submodules), so its state is the head's own."""

    def __init__(self, head, own_trunk, full_trunk):
        super().__init__()
        self.head = head
        self._trunks = (own_trunk, full_trunk)

    def forward(self, features):
        own, full = self._trunks
        return self.head(own.taken_from(features, full))


def fit_head(args, head, batches, total: int, loss_fn, out: Path, tag: str, device, distributed: bool, rank: int) -> None:
    """AdamW with warm-up and a cosine schedule on ``head`` over ``batches``; resumable from
    ``out/<tag>.pt`` (saved every ``--save-every`` steps and at the end)."""
    head = head.to(device).train()
    params = [p for p in head.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    warmup = min(200, total // 10)

    def lr_at(step):
        if step < warmup:
            return args.lr * (step + 1) / warmup
        return 0.5 * args.lr * (1 + math.cos(math.pi * (step - warmup) / max(total - warmup, 1)))

    state_path = out / f"{tag}.pt"
    step = 0
    if state_path.exists():
        state = torch.load(state_path, map_location="cpu", weights_only=True)  # our own file, tensors only
        head.load_state_dict(state["head"])
        opt.load_state_dict(state["opt"])
        step = int(state["step"])
        log(out, f"{tag}: resumed at step {step}/{total}")
    ddp_head = torch.nn.parallel.DistributedDataParallel(head) if distributed else head
    t0, seen, agree_sum, loss_sum = time.time(), 0, 0.0, 0.0
    for x, zt, y in batches(step):
        if step >= total:
            break
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            zs = ddp_head(x).float()
        loss = loss_fn(zs, zt, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        step += 1
        seen += len(x)
        loss_sum += loss.item()
        if zs.shape == zt.shape:
            agree_sum += (zs.argmax(1) == zt.argmax(1)).float().mean().item()
        if step % LOG_EVERY == 0 or step == total:
            k = LOG_EVERY if step % LOG_EVERY == 0 else step % LOG_EVERY
            rate = seen / (time.time() - t0)
            agree = f" agree {agree_sum / k:.3f}" if zs.shape == zt.shape else ""
            log(out, f"{tag} step {step}/{total} loss {loss_sum / k:.4f}{agree} lr {lr_at(step):.2e} "
                     f"{rate:.0f} samples/s eta {(total - step) * args.batch_size / max(rate, 1e-6) / 60:.1f} min")
            agree_sum = loss_sum = 0.0
        if rank == 0 and (step % args.save_every == 0 or step == total):
            tmp = out / f"{tag}.pt.tmp"
            torch.save({"head": head.state_dict(), "opt": opt.state_dict(), "step": step}, tmp)
            tmp.replace(state_path)
    if distributed:  # every process reports what it trained on: proof that all of them took part
        shares = [None] * torch.distributed.get_world_size()
        torch.distributed.all_gather_object(shares, seen)
        log(out, f"{tag}: {len(shares)} processes trained; images per process: {shares}")
    head.eval()


def main(argv=None):
    args = parse_args(argv)
    with exit_on_user_error(PROG):
        train(args, argv)


def train(args, argv=None):
    """Run the training command ``args`` (see :func:`parse_args`)."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    distributed = world > 1
    if args.batch_size % world:
        raise InputError(f"--batch-size {args.batch_size} is the batch of all {world} processes together: "
                         f"make it a multiple of {world}")
    device = resolve_device(args.device)
    if distributed:
        if device.type == "cuda":  # one GPU per process
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
            torch.cuda.set_device(device)
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=PREPARE_TIMEOUT)
    rank = rank_and_world()[0]
    if device.type == "cpu":  # the processes on this machine share its cores
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1"))))
    seed_all(args.seed)
    command = "python -m hldemo.train " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    log(out, f"start: {command}")
    if distributed:
        log(out, f"process {rank} of {world} on {device}")

    from ..net.variants import build_nhl, get_config
    init_dir = out / "init"
    with rank_zero_first(distributed):
        files = training_files(args)
        log(out, f"{len(files)} training images from {args.images}")
        if (init_dir / "head.safetensors").exists():
            model = load_model(init_dir, with_split=True)
            teacher = load_teacher(model.config["backbone"])
        else:
            config = get_config(args.variant)
            teacher = load_teacher(config["backbone"])
            model = build_nhl(config, teacher=teacher, with_split=True)  # the teacher's tail reads the split
            if not args.no_init and teacher_tail(model, teacher) is None:
                raise CheckpointError(f"the branches cannot start as copies of the teacher's layers: {config['backbone']} is "
                                      "not an EfficientNet-style model; add --no-init to start them from random weights")
            if not args.no_init:
                t0 = time.time()
                calib = calibration_features(model, files, args.calibration_images, args.seed)
                stats = init_from_teacher(model, teacher, calib)
                log(out, f"initialised from the teacher on {stats['calibration_images']} views in {time.time() - t0:.0f} s")
            save_model(model, init_dir, dtype=torch.float32)  # rank 0 only: the others find it
        model.trunk.to(device)  # the view cache runs trunk and teacher where training runs
        teacher.to(device)
        tail = teacher_tail(model, teacher)
        label_index = {w: i for i, w in enumerate(model.categories)} if args.labels else None
        if args.epochs == 0:  # the initialisation is the result: no view cache, no steps
            data = None
        elif args.no_cache:  # fresh views every step: trunk and teacher run in the loop (large data, GPUs)
            data = "online"
        else:
            data = build_cache(args, model, teacher, tail, files, label_index, out)

    def batches_for(rows=None):
        if data is None:
            return (lambda start: iter(())), 0
        if data == "online":
            return online_batches(args, model, teacher, files, label_index, device, distributed)
        return cached_batches(args, data, device, rows)

    # A config with branch overrides (narrower branches for the experts that must be cheap) trains
    # only those, one level-1 group at a time: every other branch is an exact copy of the teacher,
    # so the student is the group's expert and the rest of the logits are the teacher's own.
    overridden = [n for o in model.config.get("branch_overrides", []) for n in o["nodes"]]
    steps = 0
    if overridden and not args.no_init:
        for node in overridden:
            student = build_expert(model, node)
            positions = torch.tensor([model.categories.index(w) for w in student.categories], device=device)
            rows = None if not isinstance(data, dict) else group_views(data["logits"], positions.cpu(), args.seed)
            batches, total = batches_for(rows)
            log(out, f"group {node}: {len(student.categories)} categories, {total} steps"
                     + (f" on {len(rows)} views" if rows is not None else "") + "; the other branches stay the teacher's")

            if student.trunk is not model.trunk:  # the branch reads a trunk tap: its part of the cached maps
                student.head = TakenFrom(student.head, student.trunk, model.trunk)

            def group_loss(zs, zt, y, positions=positions):
                full = zt.index_copy(1, positions, zs)  # calibration against every other group
                return (args.kd_weight * kd_loss(full, zt, args.temperature)
                        + args.group_weight * kd_loss(zs, zt[:, positions], args.temperature))  # the group's own ranking
            fit_head(args, student.head, batches, total, group_loss, out, f"group_{node}", device, distributed, rank)
            model.head.load_branches(getattr(student.head, "head", student.head).cpu())
            steps += total
    else:
        def loss_fn(zs, zt, y):
            loss = args.kd_weight * kd_loss(zs, zt, args.temperature)
            if args.labels and (y >= 0).any():
                loss = loss + F.cross_entropy(zs[y >= 0], y[y >= 0])
            return loss
        batches, total = batches_for()
        fit_head(args, model.head, batches, total, loss_fn, out, "last", device, distributed, rank)
        steps = total
    if rank == 0:
        final = save_model(model.eval(), out / "final", extra={"training": {
            "command": command, "commands": commands_from_log(out / "train.log"), "images": len(files), "cached": not args.no_cache,
            "views": None if args.no_cache or data is None else len(files) * args.views, "steps": steps,
            "calibration_images": args.calibration_images or len(files), "batch_size": args.batch_size,
            "epochs": args.epochs, "temperature": args.temperature, "group_weight": args.group_weight, "lr": args.lr,
            "seed": args.seed, "holdout_from": args.holdout_from, "holdout_fraction": args.holdout_fraction}})
        log(out, f"done: {final}")
    if distributed:
        torch.distributed.destroy_process_group()
