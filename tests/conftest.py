"""Shared, session-scoped fixtures: every real model loads once per test session."""

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


@pytest.fixture(scope="session")
def teacher():
    from hldemo.backbone import load_teacher

    return load_teacher("tf_efficientnet_lite0")


@pytest.fixture(scope="session")
def curated():
    from hldemo.hierarchy import load_hierarchy

    return load_hierarchy("curated")


@pytest.fixture(scope="session")
def nhl_random(teacher):
    """The default NHL architecture on the real trunk, with random (seeded) branch weights."""
    from hldemo.variants import build_nhl

    torch.manual_seed(0)
    return build_nhl("nhl_lite0", teacher=teacher).eval()


@pytest.fixture(scope="session")
def nhl_trained(teacher):
    """The shipped, distilled checkpoint."""
    from hldemo.checkpoint import load_model

    return load_model("nhl_lite0", teacher=teacher)


@pytest.fixture(scope="session")
def photo_batch(teacher):
    """A few real photos (ImageNet samples from ../shared), preprocessed: (tensor, wnids)."""
    from hldemo.backbone import data_config, make_transform
    from hldemo.data import load_image, wnid_of

    names = ["n02123045_tabby.JPEG", "n02124075_Egyptian_cat.JPEG", "n02085620_Chihuahua.JPEG",
             "n07747607_orange.JPEG", "n03063599_coffee_mug.JPEG", "n04285008_sports_car.JPEG"]
    tf = make_transform(data_config(teacher))
    files = [PHOTOS / n for n in names]
    return torch.stack([tf(load_image(f)) for f in files]), [wnid_of(f) for f in files]
