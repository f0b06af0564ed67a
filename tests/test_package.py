"""The package's layout: every module imports on its own, and each documented command has its entry."""

import importlib
import importlib.util
import pkgutil

import pytest

import hldemo

MODULES = sorted(m.name for m in pkgutil.walk_packages(hldemo.__path__, "hldemo.") if not m.name.endswith("__main__"))
COMMANDS = ["hldemo.bench", "hldemo.evaluate", "hldemo.cues", "hldemo.train", "hldemo.demo", "hldemo.cues.sounds"]


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
