"""Where the networks run: ``--device auto|cpu|cuda[:N]`` and ``--dtype``, resolved in one place
(:func:`hldemo.utils.resolve_device`) for the library and every command; a missing GPU is one clear
line and exit status 2; a ZeroGPU Space's ``spaces.GPU`` wraps the app's handlers.

This machine has no GPU: the CUDA path itself is tested only through these CPU tests (the same
code with ``device="cpu"``, and bfloat16 for the dtype path).
"""

import importlib.util
import subprocess
import sys
import types

import pytest
import torch
from conftest import FIXTURE_PHOTOS, ROOT

from hldemo.errors import DeviceError
from hldemo.utils import device_label, resolve_device, resolve_dtype

HAS_CUDA = torch.cuda.is_available()
CAT = ROOT / "examples" / "photos" / "cat_chelsea.jpg"
MISSING_GPU = "cuda:99" if HAS_CUDA else "cuda"  # a GPU this machine lacks, on any machine


def test_auto_takes_cuda_when_there_is_one():
    expected = torch.device("cuda", torch.cuda.current_device()) if HAS_CUDA else torch.device("cpu")
    assert resolve_device("auto") == resolve_device(None) == resolve_device(" AUTO ") == expected


@pytest.mark.parametrize("spec", ["cpu", "CPU", " cpu ", "cpu:0", torch.device("cpu")])
def test_the_cpu_by_any_name(spec):
    assert resolve_device(spec) == torch.device("cpu")
    assert device_label(resolve_device(spec)) == "cpu"


@pytest.mark.parametrize("spec", ["gpu", "tpu", "mps", "cuda:x", "", "cpu:1"])
def test_names_that_are_no_device(spec):
    with pytest.raises(DeviceError, match="unknown device .*: use auto, cpu, cuda or cuda:N"):
        resolve_device(spec)


def test_a_gpu_this_machine_lacks_is_a_clear_error():
    with pytest.raises(DeviceError, match=f"device '{MISSING_GPU}' asked for") as info:
        resolve_device(MISSING_GPU)
    if not HAS_CUDA:
        assert "CUDA is not available here" in str(info.value) and "--device cpu or auto" in str(info.value)
        with pytest.raises(DeviceError, match="CUDA is not available"):
            resolve_device("cuda:0")


def test_dtypes():
    assert resolve_dtype(None) == resolve_dtype("float32") == torch.float32
    assert resolve_dtype("bfloat16", "cpu") == resolve_dtype(torch.bfloat16) == torch.bfloat16
    with pytest.raises(DeviceError, match="float16 needs a CUDA device"):
        resolve_dtype("float16", "cpu")
    with pytest.raises(DeviceError, match="unknown dtype 'int8'"):
        resolve_dtype("int8")
    if HAS_CUDA:
        assert resolve_dtype("float16", "cuda") == torch.float16


COMMANDS = {  # every program that runs the networks, with arguments that would otherwise work
    "app.py": ["app.py", "--speech-model", "none"],
    "hldemo.demo": ["-m", "hldemo.demo", str(CAT), "--speech-model", "none"],
    "hldemo.bench": ["-m", "hldemo.bench", "--quick", "--no-demo"],
    "hldemo.evaluate": ["-m", "hldemo.evaluate", "--images", str(FIXTURE_PHOTOS)],
    "hldemo.train": ["-m", "hldemo.train", "--images", str(FIXTURE_PHOTOS), "--out", "{tmp}/run"],
    "hldemo.cues": ["-m", "hldemo.cues", "meow"],  # the embedder and Whisper
}


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_says_in_one_line_that_the_gpu_is_missing(command, tmp_path):
    args = [a.format(tmp=tmp_path) for a in COMMANDS[command]]
    out = subprocess.run([sys.executable, *args, "--device", MISSING_GPU], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 2, out.stderr[-2000:]
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and f"error: device '{MISSING_GPU}' asked for" in lines[0], out.stderr[-2000:]
    assert "Traceback" not in out.stderr


@pytest.fixture(scope="module")
def bf16_engine(teacher, demo_checkpoint):
    """The demo engine with its networks in bfloat16 on the CPU (no cue matcher, no Whisper)."""
    from hldemo.demo.engine import DemoEngine

    with DemoEngine(demo_checkpoint, teacher=teacher, speech_model=None, cues=False, device="cpu",
                    dtype="bfloat16") as engine:
        yield engine


def test_the_engine_runs_in_its_dtype_and_names_its_device(bf16_engine, demo_engine):
    from hldemo.demo import render

    assert {p.dtype for p in bf16_engine.model.parameters()} == {torch.bfloat16}
    assert {p.dtype for p in bf16_engine.timed_teacher.parameters()} == {torch.bfloat16}
    assert {p.dtype for p in demo_engine.teacher.parameters()} == {torch.float32}  # the shared teacher was copied
    half = bf16_engine.run(str(CAT), selection=["domestic_cat"])
    full = demo_engine.run(str(CAT), selection=["domestic_cat"])
    assert half.ok and full.ok, (half.message, full.message)
    assert half.device == "cpu, bfloat16" and full.device == "cpu"
    assert "on cpu, bfloat16," in render.panels(bf16_engine.hierarchy, half)["costs"]
    assert "on cpu," in render.panels(demo_engine.hierarchy, full)["costs"]
    for top in ("teacher", "nhl", "expert", "nhl_attention"):  # the same cat, a little less precisely
        assert getattr(half, top)[0].wnid == getattr(full, top)[0].wnid, top
        assert abs(getattr(half, top)[0].probability - getattr(full, top)[0].probability) < 0.05, top
    assert [c.gmacs for c in half.costs] == [c.gmacs for c in full.costs] and all(c.ms > 0 for c in half.costs)


def _load_app(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "app.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    return app


def test_on_a_zero_gpu_space_the_handlers_run_inside_spaces_gpu(bf16_engine, monkeypatch):
    """ZeroGPU lends its GPU only inside functions ``spaces.GPU`` wraps. The real package is not
    installed here (it is a Space's, not a run-time need): a stand-in records what it wraps."""
    if importlib.util.find_spec("spaces") is None:  # without spaces: the handlers are the plain functions
        plain = _load_app("hldemo_app_plain")
        assert plain.on_gpu(test_dtypes) is test_dtypes
    wrapped = []
    zero_gpu = types.ModuleType("spaces")
    zero_gpu.GPU = lambda fn: wrapped.append(fn.__name__) or fn
    monkeypatch.setitem(sys.modules, "spaces", zero_gpu)
    app = _load_app("hldemo_app_zero_gpu")
    assert app.on_gpu is zero_gpu.GPU
    app.build_demo(bf16_engine).close()
    assert sorted(wrapped) == ["classify", "export", "interpret", "run_example", "transcribe"]
