"""Tests of the shipped category hierarchies (``hierarchies/*.json``) and of their generator.

The 1000 ImageNet-1k wnids come from timm; the trees are loaded through
:func:`hldemo.hierarchy.load_hierarchy`, which validates them.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SHARED_DATA, requires_shared_data
from timm.data import ImageNetInfo

from hldemo.errors import EmptySelectionError, HierarchyError, UnknownCategoryError
from hldemo.hierarchy import HIERARCHY_DIR, Hierarchy, load_hierarchy

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "scripts" / "make_hierarchies.py"
DATA_DIR = SHARED_DATA / "hierarchy"
SHIPPED = ["curated", "superclass", "wordnet"]
DEPTH = {"curated": 3, "superclass": 2, "wordnet": 3}
IMAGENET_WNIDS = list(ImageNetInfo().label_names())
DOMESTIC_CATS = {"n02123045", "n02123159", "n02123394", "n02123597", "n02124075"}


def _walk(raw: dict):
    yield raw
    for child in raw.get("children") or ():
        yield from _walk(child)


@pytest.fixture(params=SHIPPED)
def hierarchy(request) -> Hierarchy:
    return load_hierarchy(request.param)


def test_all_shipped():
    for name in SHIPPED:
        assert (HIERARCHY_DIR / f"{name}.json").is_file(), name


def test_each_imagenet_wnid_once(hierarchy):
    leaves = [n for n in _walk(hierarchy.to_dict()["root"]) if not n.get("children")]
    ids = [n["id"] for n in leaves]
    assert len(ids) == 1000 and sorted(ids) == IMAGENET_WNIDS
    assert hierarchy.categories == IMAGENET_WNIDS
    assert all(n["wnid"] == n["id"] for n in leaves)


def test_nodes_well_formed(hierarchy):
    raw_nodes = list(_walk(hierarchy.to_dict()["root"]))
    ids = [n["id"] for n in raw_nodes]
    names = [n["name"].casefold() for n in raw_nodes]
    assert len(set(ids)) == len(ids), "node ids must be unique"
    assert len(set(names)) == len(names), "node names must be unique (case-insensitive)"
    for n in raw_nodes:
        assert n["name"].strip() == n["name"] and n["name"]
        assert isinstance(n["synonyms"], list) and all(isinstance(s, str) and s for s in n["synonyms"])
        if "children" in n:
            assert n["children"], f"empty node {n['id']}"
            assert re.fullmatch(r"[a-z0-9_]+", n["id"]), f"inner node id {n['id']!r} is not a slug"
        else:
            assert re.fullmatch(r"n\d{8}", n["id"]) and n["wnid"] == n["id"]
    inner_wnids = [n["wnid"] for n in raw_nodes if n.get("children") and n["wnid"]]
    assert len(set(inner_wnids)) == len(inner_wnids), "an inner wnid must name one node"


def test_depth(hierarchy):
    assert hierarchy.depth == DEPTH[hierarchy.id]
    assert all(n.level == hierarchy.depth for n in hierarchy.nodes.values() if n.is_category)


def test_level_sizes():
    curated = load_hierarchy("curated")
    assert 15 <= len(curated.level(1)) <= 30
    assert 100 <= len(curated.level(2)) <= 250
    for node in curated.level(2):
        assert 2 <= len(node.categories) <= 25, node
    for node in curated.level(1):
        assert len(node.categories) >= 10, node
    wordnet = load_hierarchy("wordnet")
    assert 15 <= len(wordnet.level(1)) <= 40
    assert 100 <= len(wordnet.level(2)) <= 300
    superclass = load_hierarchy("superclass")
    assert len(superclass.level(1)) == 558


def test_curated_required_nodes():
    h = load_hierarchy("curated")
    cat = h.node("domestic_cat")
    assert (cat.name, cat.wnid, cat.level) == ("domestic cat", "n02121808", 2)
    assert {"cat", "house cat", "kitty"} <= set(cat.synonyms)
    assert set(cat.categories) == DOMESTIC_CATS
    assert h.resolve(["domestic cat"]) == sorted(DOMESTIC_CATS)
    dog = h.node("dog")
    assert (dog.name, dog.wnid, dog.level) == ("dog", "n02084071", 1)
    assert {"dogs", "puppy", "doggy"} <= set(dog.synonyms)
    assert len(h.resolve("dog")) == 118
    assert h.resolve("dog") == IMAGENET_WNIDS[151:269]  # every ImageNet dog breed
    assert set(h.resolve("big cats")) >= {"n02129165", "n02129604", "n02128385", "n02128925",
                                           "n02128757", "n02130308"}
    assert set(h.resolve("cattle & buffalo")) == {"n02403003", "n02408429", "n02410509"}
    assert set(h.resolve("emergency vehicles")) == {"n02701002", "n03345487", "n03977966"}
    assert {"n07930864", "n03063599", "n02823750"} <= set(h.resolve("cups, mugs & glasses"))
    assert h.path("n02123045")[0].id == "carnivores"


def test_same_leaves_everywhere():
    leaves = {name: {n.id: (n.name, n.synonyms, n.definition) for n in load_hierarchy(name).level(DEPTH[name])}
              for name in SHIPPED}
    assert leaves["curated"] == leaves["wordnet"] == leaves["superclass"]
    assert leaves["curated"]["n02012849"][0] == "crane (bird)"
    assert leaves["curated"]["n03126707"][0] == "crane (machine)"


@pytest.mark.parametrize("name", SHIPPED)
def test_resolve_and_errors(name):
    h = load_hierarchy(name)
    assert h.resolve("n02123045") == ["n02123045"]
    assert h.resolve(["tabby", "TIGER CAT"]) == ["n02123045", "n02123159"]
    with pytest.raises(UnknownCategoryError):
        h.resolve(["no such thing"])
    with pytest.raises(UnknownCategoryError):
        h.node("n99999999")
    with pytest.raises(EmptySelectionError):
        h.resolve([])


def _tiny(children=None) -> dict:
    leaf = {"id": "n02123045", "name": "tabby", "synonyms": [], "wnid": "n02123045"}
    return {"id": "tiny", "name": "tiny", "root": {"id": "root", "name": "all", "synonyms": [], "wnid": None,
                                                  "children": children if children is not None else [
                                                      {"id": "cats", "name": "cats", "synonyms": [],
                                                       "wnid": None, "children": [leaf]}]}}


def test_bad_files_raise_hierarchy_error(tmp_path):
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps(_tiny()))
    assert load_hierarchy(ok).categories == ["n02123045"]

    malformed = tmp_path / "malformed.json"
    malformed.write_text('{"id": "x", "root": {')
    with pytest.raises(HierarchyError):
        load_hierarchy(malformed)

    leaf = {"id": "n02123045", "name": "cats", "synonyms": [], "wnid": "n02123045"}
    duplicate_name = tmp_path / "duplicate_name.json"
    duplicate_name.write_text(json.dumps(_tiny([{"id": "cats", "name": "Cats", "children": [leaf]}])))
    with pytest.raises(HierarchyError, match="duplicate node name"):
        load_hierarchy(duplicate_name)

    empty = tmp_path / "empty_children.json"
    empty.write_text(json.dumps(_tiny([{"id": "cats", "name": "cats", "children": []},
                                       {"id": "dogs", "name": "dogs", "children": [
                                           {"id": "n02085620", "name": "Chihuahua"}]}])))
    with pytest.raises(HierarchyError, match="empty"):
        load_hierarchy(empty)

    with pytest.raises(HierarchyError):
        load_hierarchy("no_such_hierarchy")


def _generator():
    """scripts/make_hierarchies.py as a module (it reads hierarchies/sources/ when imported)."""
    spec = importlib.util.spec_from_file_location("make_hierarchies", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_curated_sources_match_shipped_tree_and_bad_ones_raise(tmp_path):
    """The hand-written data the generator reads is what curated.json holds (checked without
    ../shared/data), and a malformed data file is refused with its path and the group named."""
    gen = _generator()
    curated = load_hierarchy("curated")
    assert [(g.id, g.name, g.wnid, g.synonyms) for g in gen.CURATED] == [
        (n.id, n.name, n.wnid, list(n.synonyms)) for n in curated.level(1)]
    assert [(s.id, s.name, s.definition) for g in gen.CURATED for s in g.children] == [
        (n.id, n.name, n.definition) for n in curated.level(2)]
    assert gen.LEAF_NAME_OVERRIDES["n02012849"] == "crane (bird)"
    assert all(curated.node(w).name == name for w, name in gen.LEAF_NAME_OVERRIDES.items())

    doc = json.loads(gen.CURATED_FILE.read_text(encoding="utf-8"))
    del doc["groups"][1]["subgroups"][0]["rules"]
    bad = tmp_path / "curated_groups.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"curated_groups\.json: group 1 \('carnivores'\) subgroup 0"):
        gen.load_curated(bad)
    with pytest.raises(ValueError, match="cannot read"):
        gen.load_curated(tmp_path / "missing.json")
    bad.write_text('{"names": {"crane": "crane (bird)"}}')
    with pytest.raises(ValueError, match="wnid -> non-empty name"):
        gen.load_leaf_names(bad)


@requires_shared_data
def test_script_reproduces_shipped_files(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), "--data", str(DATA_DIR), "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    for name in SHIPPED:
        assert (tmp_path / f"{name}.json").read_bytes() == (HIERARCHY_DIR / f"{name}.json").read_bytes(), name


def test_lineage_runs_up_to_the_root(curated):
    assert curated.lineage("n02123045") == ["n02123045", "domestic_cat", "carnivores", "root"]
    assert curated.lineage("domestic cat") == ["domestic_cat", "carnivores", "root"]  # by name too
    assert curated.lineage("root") == ["root"]
