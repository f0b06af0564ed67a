"""Category hierarchies: trees of named nodes over ImageNet-1k categories, loaded from JSON.

A hierarchy file (``hierarchies/<id>.json``) holds one tree::

    {"id": "curated", "name": "...", "description": "...", "source": "...",
     "root": {"id": "root", "name": "all categories", "synonyms": [], "wnid": null,
              "children": [ {"id": "cats", "name": "cats", "synonyms": [...], "wnid": "n02120997",
                             "children": [ ... ]}, ... ]}}

Inner nodes have ``children``; leaves are categories and have none (their ``id`` and ``wnid`` are
the ImageNet wnid). All leaves sit at the same depth: the number of branch levels of an NHL network
built on the tree (3 for superclass -> subgroup -> category, 1 for the flat PHL).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

from .errors import EmptySelectionError, HierarchyError, UnknownCategoryError
from .utils import HIERARCHY_DIR

DEFAULT_HIERARCHY = "curated"


@dataclass(frozen=True)
class Node:
    """One node of a hierarchy: an inner group or a category (leaf)."""

    id: str
    name: str
    level: int  # 0 = root, 1 = first branch level, ..., depth = category
    synonyms: tuple[str, ...] = ()
    wnid: str | None = None
    definition: str | None = None
    parent: str | None = None
    children: tuple[str, ...] = ()
    categories: tuple[str, ...] = field(default=(), repr=False)  # wnids below, sorted

    @property
    def is_category(self) -> bool:
        return not self.children


class Hierarchy:
    """A validated category tree.

    Attributes:
        id: short name, e.g. ``"curated"``.
        depth: number of levels below the root (= branch levels of an NHL built on it).
        categories: leaf wnids, sorted (which is ImageNet-1k's class index order).
        nodes: every node by id, the root and the categories included.
    """

    def __init__(self, data: dict):
        if not isinstance(data, dict) or not isinstance(data.get("root"), dict):
            raise HierarchyError("a hierarchy must be a JSON object with a 'root' node")
        self.id = str(data.get("id", "unnamed"))
        self.name = str(data.get("name", self.id))
        self.description = str(data.get("description", ""))
        self.source = str(data.get("source", ""))
        self.nodes: dict[str, Node] = {}
        self._by_name: dict[str, str] = {}
        self._raw = data
        self._add(data["root"], level=0, parent=None)
        self.root = self.nodes[str(data["root"].get("id", "root"))]
        depths = {n.level for n in self.nodes.values() if n.is_category}
        if len(depths) != 1 or 0 in depths:
            raise HierarchyError(f"hierarchy '{self.id}': all categories must sit at one depth >= 1, found {sorted(depths)}")
        self.depth = depths.pop()
        self.categories: list[str] = sorted(n.id for n in self.nodes.values() if n.is_category)
        self._category_index = {w: i for i, w in enumerate(self.categories)}

    def _add(self, raw: dict, level: int, parent: str | None) -> tuple[str, ...]:
        if not isinstance(raw, dict) or "id" not in raw or "name" not in raw:
            raise HierarchyError(f"every node needs an 'id' and a 'name' (under {parent!r})")
        node_id, name = str(raw["id"]), str(raw["name"]).strip()
        if not node_id or not name:
            raise HierarchyError(f"node ids and names must not be empty (under {parent!r})")
        if node_id in self.nodes:
            raise HierarchyError(f"duplicate node id {node_id!r}")
        key = name.casefold()
        if key in self._by_name:
            raise HierarchyError(f"duplicate node name {name!r} ({self._by_name[key]!r} and {node_id!r})")
        self._by_name[key] = node_id
        raw_children = raw.get("children")
        if raw_children is not None and len(raw_children) == 0:
            raise HierarchyError(f"node {node_id!r} has an empty 'children' list")
        children, cats = [], []
        for child in raw_children or ():
            cats.extend(self._add(child, level + 1, node_id))
            children.append(str(child["id"]))
        if not children:
            if level == 0:
                raise HierarchyError("the root has no children")
            cats = [node_id]
        self.nodes[node_id] = Node(
            id=node_id, name=name, level=level, synonyms=tuple(raw.get("synonyms") or ()),
            wnid=raw.get("wnid"), definition=raw.get("definition"), parent=parent,
            children=tuple(children), categories=tuple(sorted(cats)))
        return tuple(cats)

    # --- lookups -----------------------------------------------------------------------------
    def __repr__(self):
        sizes = [len(self.level(i)) for i in range(1, self.depth + 1)]
        return f"Hierarchy({self.id!r}, levels={sizes})"

    def __contains__(self, key: str) -> bool:
        try:
            self.node(key)
            return True
        except UnknownCategoryError:
            return False

    def level(self, level: int) -> list[Node]:
        """Nodes at one level (1..depth) in canonical order: depth-first file order for inner
        levels, sorted wnid order for the categories."""
        if level == self.depth:
            return [self.nodes[w] for w in self.categories]
        return [n for n in self._dfs() if n.level == level]

    def _dfs(self) -> Iterable[Node]:
        stack = [self.root.id]
        while stack:
            node = self.nodes[stack.pop()]
            yield node
            stack.extend(reversed(node.children))

    def node(self, key: str) -> Node:
        """A node by id, wnid or display name (case-insensitive)."""
        if not isinstance(key, str):
            raise UnknownCategoryError(f"node keys are strings, got {type(key).__name__}")
        if key in self.nodes:
            return self.nodes[key]
        node_id = self._by_name.get(key.strip().casefold())
        if node_id is None:
            node_id = next((n.id for n in self.nodes.values() if n.wnid == key.strip()), None)
        if node_id is None:
            raise UnknownCategoryError(f"'{key}' is neither a category nor a node of hierarchy '{self.id}'")
        return self.nodes[node_id]

    def display_name(self, key: str) -> str:
        """Display name of a node id or wnid (the key itself when unknown: never raises)."""
        node = self.nodes.get(key)
        return node.name if node is not None else str(key)

    def category_index(self, wnid: str) -> int:
        """Position of a category in :attr:`categories` (= model output index)."""
        try:
            return self._category_index[wnid]
        except KeyError:
            raise UnknownCategoryError(f"'{wnid}' is not a category of hierarchy '{self.id}'") from None

    def resolve(self, items: str | Sequence[str]) -> list[str]:
        """Categories (sorted wnids) covered by node/category names, ids or wnids.

        Raises:
            EmptySelectionError: no items given.
            UnknownCategoryError: an item names nothing in this hierarchy.
        """
        if isinstance(items, str):
            items = [items]
        items = list(items)
        if not items:
            raise EmptySelectionError("select at least one category or node")
        cats: set[str] = set()
        for item in items:
            cats.update(self.node(item).categories)
        return sorted(cats)

    def lineage(self, key: str) -> list[str]:
        """Ids of the node ``key`` (id, wnid or name) and of its ancestors, up to the root."""
        out = [self.node(key).id]
        while self.nodes[out[-1]].parent is not None:
            out.append(self.nodes[out[-1]].parent)
        return out

    def path(self, wnid: str) -> list[Node]:
        """Nodes from level 1 down to the category ``wnid``."""
        node = self.nodes[self.categories[self.category_index(wnid)]]
        out = [node]
        while out[-1].parent is not None and out[-1].parent != self.root.id:
            out.append(self.nodes[out[-1].parent])
        return out[::-1]

    def subtree(self, categories: Iterable[str]) -> "Hierarchy":
        """The tree pruned to the nodes on the paths of ``categories`` (same ids and order): what
        an expert cut for those categories follows, so that a saved expert reloads on its own."""
        keep = set(categories)

        def prune(raw: dict) -> dict | None:
            children = raw.get("children")
            if not children:
                return dict(raw) if str(raw["id"]) in keep else None
            kept = [c for c in (prune(ch) for ch in children) if c is not None]
            return dict(raw, children=kept) if kept else None

        data = self.to_dict()
        if set(self.categories) <= keep:
            return self
        data["root"] = prune(data["root"])
        if data["root"] is None:
            raise EmptySelectionError("none of these categories is in the hierarchy")
        data["id"] = f"{self.id}-subset"
        data["description"] = f"'{self.id}' pruned to {len(keep & set(self.categories))} categories"
        return Hierarchy(data)

    def to_dict(self) -> dict:
        """The tree as JSON data (a copy: the loaded hierarchy is cached and shared)."""
        return copy.deepcopy(self._raw)


def available_hierarchies() -> list[str]:
    """Names of the hierarchies shipped in ``hierarchies/``."""
    return sorted(p.stem for p in HIERARCHY_DIR.glob("*.json"))


@lru_cache(maxsize=16)
def _load_file(path: str) -> Hierarchy:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise HierarchyError(f"cannot read hierarchy file {path}: {e}") from e
    return Hierarchy(data)


def flat_hierarchy(base: Hierarchy) -> Hierarchy:
    """The one-level tree of the PHL: every category of ``base`` directly under the root."""
    leaves = [{"id": n.id, "name": n.name, "synonyms": list(n.synonyms), "wnid": n.wnid} for n in base.level(base.depth)]
    return Hierarchy({"id": "flat", "name": f"flat ({base.name})", "description": "all categories under the root",
                      "source": f"leaves of '{base.id}'",
                      "root": {"id": "root", "name": "all categories", "children": leaves}})


def load_hierarchy(name_or_path: str | Path = DEFAULT_HIERARCHY) -> Hierarchy:
    """Load a hierarchy by name (a file in ``hierarchies/``, or ``"flat"``) or from a JSON path. Cached."""
    if str(name_or_path) == "flat":
        return _flat_default()
    path = Path(name_or_path)
    if not path.suffix:
        path = HIERARCHY_DIR / f"{name_or_path}.json"
        if not path.exists():
            raise HierarchyError(f"unknown hierarchy '{name_or_path}'; shipped: {available_hierarchies()}")
    return _load_file(str(path.resolve()))


@lru_cache(maxsize=1)
def _flat_default() -> Hierarchy:
    return flat_hierarchy(load_hierarchy(DEFAULT_HIERARCHY))
