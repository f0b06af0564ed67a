"""Generate the category hierarchies shipped in ``hierarchies/``.

Three trees over the 1000 ImageNet-1k categories are written, in the JSON format read by
:mod:`hldemo.hierarchy` (see its module docstring):

``wordnet.json``
    A mechanical 3-level cut of the WordNet graph (``is_a.txt`` + ``words.txt``): level 1 and
    level 2 are WordNet synsets chosen by size (large synsets are split into their hyponyms,
    chains of single hyponyms are collapsed, small siblings are pooled into an "other ..." group).
``superclass.json``
    The 2-level grouping of ``superclass.txt`` / ``superclass_names.txt`` (S. Kumano, MIT licence):
    level 1 = the 558 superclasses, level 2 = the categories.
``curated.json``
    The default tree of the demo: 29 level-1 groups and 145 level-2 groups that a person would
    name ("dog" -> "terriers" -> "Border terrier"). The groups, their names, synonyms and rules are
    data, in ``hierarchies/sources/curated_groups.json`` (:data:`CURATED`): a level-2 group lists
    WordNet ancestor synsets and/or category names; a category goes to the group whose rule is its
    *nearest* ancestor (an explicitly named category is at distance 0, so the names double as the
    override table). Ties and left-overs are errors.

Category (leaf) nodes are the same in every tree: ``id`` = ``wnid`` = the ImageNet wnid, ``name`` =
the first lemma of timm's description (made unique by ``hierarchies/sources/leaf_names.json``, see
:data:`LEAF_NAME_OVERRIDES`), ``synonyms`` = the other lemmas, ``definition`` = timm's WordNet gloss.

Usage::

    python scripts/make_hierarchies.py [--data DIR] [--out DIR] [--only curated wordnet ...]

The output is deterministic (no network, no randomness): re-running reproduces the committed files
byte for byte, which ``tests/test_hierarchies.py`` checks.
"""

from __future__ import annotations

import argparse
import collections
import importlib.resources
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from hldemo.hierarchy import Hierarchy
from hldemo.utils import HIERARCHY_DIR, REPO_ROOT

DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "hierarchy"
DEFAULT_OUT_DIR = HIERARCHY_DIR
NUM_CLASSES = 1000
ROOT_WNID = "n00001740"  # entity

# Curated data (hand-written; hierarchies/sources/README.md says what each file holds)
SOURCES_DIR = HIERARCHY_DIR / "sources"
LEAF_NAMES_FILE = SOURCES_DIR / "leaf_names.json"  # names of the categories whose first lemma is shared
CURATED_FILE = SOURCES_DIR / "curated_groups.json"  # the groups and placement rules of curated.json

# --- wordnet.json: the mechanical cut ----------------------------------------------------------
WORDNET_L1_MAX = 80  # split level-1 synsets holding more categories than this ...
WORDNET_L1_MIN = 8  # ... and pool their hyponyms holding fewer than this into "other <synset>"
WORDNET_L2_MAX = 16  # the same within each level-1 group, for level 2
WORDNET_L2_MIN = 2

# --- superclass.json ----------------------------------------------------------------------------
SUPERCLASS_SOURCE = (
    "superclass.txt / superclass_names.txt from S. Kumano's 'ImageNet superclass' "
    "(Copyright (c) 2022 S. Kumano, MIT License; see ../shared/data/hierarchy/LICENSE), "
    "mapped to WordNet synsets via is_a.txt / words.txt")

# --- curated.json -------------------------------------------------------------------------------
# The level-1 groups (:class:`G`) and their level-2 groups (:class:`S`), read from CURATED_FILE.
G = collections.namedtuple("G", "id name wnid synonyms definition children")
G.__doc__ = "A curated level-1 group; ``children`` are its level-2 groups (:class:`S`)."
S = collections.namedtuple("S", "id name wnid synonyms definition rules")
S.__doc__ = "A curated level-2 group; ``rules`` are wnids or category names (see :func:`assign_curated`)."
# Keys of a group in CURATED_FILE (besides "subgroups" / "rules") and the JSON types they take.
_GROUP_FIELDS = {"id": str, "name": str, "wnid": (str, type(None)), "synonyms": list, "definition": str}


def _read_json(path: Path) -> dict:
    """A JSON object from one of the curated data files.

    Raises:
        ValueError: the file is missing, not JSON, or not an object.
    """
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot read the curated data file {path}: {e}") from e
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(doc).__name__}")
    return doc


def _strings(value, where: str) -> list[str]:
    """``value`` if it is a list of non-empty strings, else a ValueError naming ``where``."""
    if not isinstance(value, list) or not all(isinstance(x, str) and x for x in value):
        raise ValueError(f"{where}: expected a list of non-empty strings, got {value!r}")
    return value


def _group_fields(entry, last: str, where: str) -> list:
    """The :data:`_GROUP_FIELDS` values of one group entry, then the list under ``last``."""
    keys = [*_GROUP_FIELDS, last]
    if not isinstance(entry, dict) or set(entry) != set(keys):
        got = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
        raise ValueError(f"{where}: expected the keys {keys}, got {got}")
    for key, kind in _GROUP_FIELDS.items():
        if not isinstance(entry[key], kind):
            raise ValueError(f"{where}: {key!r} has the wrong type: {entry[key]!r}")
    _strings(entry["synonyms"], f"{where} synonyms")
    if not isinstance(entry[last], list) or not entry[last]:
        raise ValueError(f"{where}: {last!r} must be a non-empty list")
    return [entry[key] for key in keys]


def load_leaf_names(path: Path = LEAF_NAMES_FILE) -> dict[str, str]:
    """wnid -> category name replacing timm's first lemma (``"names"`` of ``leaf_names.json``).

    Raises:
        ValueError: the file is unreadable or ``"names"`` is not an object of wnid -> name.
    """
    names = _read_json(path).get("names")
    if not isinstance(names, dict) or not all(re.fullmatch(r"n\d{8}", w) and isinstance(n, str) and n
                                              for w, n in names.items()):
        raise ValueError(f"{path}: 'names' must be an object of wnid -> non-empty name")
    return names


def load_curated(path: Path = CURATED_FILE) -> list[G]:
    """The curated groups of ``curated_groups.json`` (``"groups"``; format in its ``"about"``).

    Raises:
        ValueError: the file is unreadable or a group lacks a key or has one of the wrong type.
    """
    groups = _read_json(path).get("groups")
    if not isinstance(groups, list) or not groups:
        raise ValueError(f"{path}: 'groups' must be a non-empty list")
    spec = []
    for i, g in enumerate(groups):
        *head, subgroups = _group_fields(g, "subgroups", f"{path}: group {i}")
        children = []
        for j, s in enumerate(subgroups):
            where = f"{path}: group {i} ({head[0]!r}) subgroup {j}"
            *fields, rules = _group_fields(s, "rules", where)
            children.append(S(*fields, _strings(rules, f"{where} rules")))
        spec.append(G(*head, children))
    return spec


LEAF_NAME_OVERRIDES = load_leaf_names()
CURATED = load_curated()


# ================================================================================================
# Data
# ================================================================================================
@dataclass
class WordNet:
    """The ImageNet WordNet graph and the 1k categories.

    Attributes:
        parents: child wnid -> parent wnids (file order of ``is_a.txt``).
        children: parent wnid -> child wnids (file order).
        lemmas: wnid -> its names (``words.txt``, split on ", ").
        classes: the 1000 ImageNet-1k wnids, sorted (= class index order).
        class_lemmas: wnid -> names from timm's description of the category.
        definitions: wnid -> WordNet gloss (timm's ``imagenet_synset_to_definition.txt``).
    """

    parents: dict[str, list[str]]
    children: dict[str, list[str]]
    lemmas: dict[str, list[str]]
    classes: list[str]
    class_lemmas: dict[str, list[str]]
    definitions: dict[str, str]
    _ancestors: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)

    def ancestors(self, wnid: str) -> dict[str, int]:
        """All ancestors of ``wnid`` (itself included, at 0) with their shortest is_a distance."""
        if wnid not in self._ancestors:
            dist = {wnid: 0}
            frontier = [wnid]
            while frontier:
                nxt = []
                for w in frontier:
                    for p in self.parents.get(w, ()):
                        if p not in dist:
                            dist[p] = dist[w] + 1
                            nxt.append(p)
                frontier = nxt
            self._ancestors[wnid] = dist
        return self._ancestors[wnid]

    def name(self, wnid: str) -> str:
        """First lemma of a synset."""
        return self.lemmas[wnid][0]


def _read_lines(path: Path) -> list[str]:
    """Lines of a text file; a missing final newline does not lose the last line."""
    return path.read_text(encoding="utf-8").splitlines()


def load_wordnet(data_dir: Path) -> WordNet:
    """Read ``is_a.txt`` and ``words.txt`` from ``data_dir`` and the 1k categories from timm."""
    from timm.data import ImageNetInfo

    parents: dict[str, list[str]] = collections.defaultdict(list)
    children: dict[str, list[str]] = collections.defaultdict(list)
    for line in _read_lines(data_dir / "is_a.txt"):
        if line.strip():
            parent, child = line.split()
            parents[child].append(parent)
            children[parent].append(child)
    lemmas = {}
    for line in _read_lines(data_dir / "words.txt"):
        if line.strip():
            wnid, names = line.split("\t", 1)
            lemmas[wnid] = [n.strip() for n in names.split(", ")]
    info = ImageNetInfo()
    classes = list(info.label_names())
    if len(classes) != NUM_CLASSES or classes != sorted(classes):
        raise RuntimeError("timm's ImageNet-1k label names are not the 1000 sorted wnids")
    class_lemmas = {w: [n.strip() for n in info.index_to_description(i).split(", ")]
                    for i, w in enumerate(classes)}
    definitions = {}
    table = importlib.resources.files("timm.data") / "_info" / "imagenet_synset_to_definition.txt"
    for line in table.read_text(encoding="utf-8").splitlines():
        if "\t" in line:
            wnid, gloss = line.split("\t", 1)
            definitions[wnid] = gloss.strip()
    for i, w in enumerate(classes):  # the detailed description carries the gloss of a category
        detailed = info.index_to_description(i, detailed=True)
        if ": " in detailed:
            definitions[w] = detailed.split(": ", 1)[1].strip()
    missing = [w for w in classes if w not in lemmas or w not in parents]
    if missing:
        raise RuntimeError(f"{len(missing)} ImageNet-1k wnids are missing from {data_dir}: {missing[:5]}")
    return WordNet(dict(parents), dict(children), lemmas, classes, class_lemmas, definitions)


# ================================================================================================
# Nodes
# ================================================================================================
def slugify(text: str) -> str:
    """``"cats & other carnivores"`` -> ``"cats_other_carnivores"``."""
    slug = re.sub(r"[^a-z0-9]+", "_", text.casefold()).strip("_")
    return slug or "node"


def leaf_name(wn: WordNet, wnid: str) -> str:
    """Readable, unique name of a category."""
    return LEAF_NAME_OVERRIDES.get(wnid, wn.class_lemmas[wnid][0])


def leaf_node(wn: WordNet, wnid: str) -> dict:
    """The JSON node of a category (identical in every tree)."""
    name = leaf_name(wn, wnid)
    synonyms = [s for s in wn.class_lemmas[wnid] if s.casefold() != name.casefold()]
    node = {"id": wnid, "name": name, "synonyms": synonyms, "wnid": wnid}
    if wnid in wn.definitions:
        node["definition"] = wn.definitions[wnid]
    return node


def inner_node(node_id: str, name: str, wnid: str | None, synonyms: list[str],
               definition: str | None, children: list[dict]) -> dict:
    """The JSON node of a group (key order fixed for readable, stable files)."""
    node = {"id": node_id, "name": name, "synonyms": list(synonyms), "wnid": wnid}
    if definition:
        node["definition"] = definition
    node["children"] = children
    return node


def hierarchy_document(hid: str, name: str, description: str, source: str, children: list[dict]) -> dict:
    """A whole hierarchy file: metadata and the root over the level-1 nodes ``children``."""
    root = inner_node("root", "all categories", None, [], None, children)
    return {"id": hid, "name": name, "description": description, "source": source, "root": root}


# ================================================================================================
# curated.json
# ================================================================================================
def _resolve_rule(wn: WordNet, rule: str, by_name: dict[str, list[str]]) -> str:
    """The wnid a curated rule stands for (a wnid itself, or a category's unique name)."""
    if re.fullmatch(r"n\d{8}", rule):
        if rule not in wn.lemmas:
            raise ValueError(f"curated rule {rule!r} is not a WordNet synset")
        return rule
    hits = by_name.get(rule.casefold(), [])
    if len(hits) != 1:
        raise ValueError(f"curated rule {rule!r} names {len(hits)} categories; use a wnid or a unique name")
    return hits[0]


def assign_curated(wn: WordNet, spec: list[G] = CURATED) -> dict[str, str]:
    """Map every category to a level-2 group id of ``spec`` (nearest rule ancestor wins).

    Raises:
        ValueError: a rule is unknown or ambiguous, a category is claimed by two groups at the
            same distance, or a category is left without a group.
    """
    by_name: dict[str, list[str]] = collections.defaultdict(list)
    for w in wn.classes:
        by_name[leaf_name(wn, w).casefold()].append(w)
    rule_to_group: dict[str, str] = {}
    for g in spec:
        for s in g.children:
            for rule in s.rules:
                wnid = _resolve_rule(wn, rule, by_name)
                if rule_to_group.setdefault(wnid, s.id) != s.id:
                    raise ValueError(f"curated rule {rule!r} is used by {rule_to_group[wnid]!r} and {s.id!r}")
    assignment, problems = {}, []
    for w in wn.classes:
        best: dict[str, int] = {}
        for anc, dist in wn.ancestors(w).items():
            if anc in rule_to_group:
                gid = rule_to_group[anc]
                best[gid] = min(dist, best.get(gid, dist))
        if not best:
            problems.append(f"{w} {leaf_name(wn, w)!r}: no group")
            continue
        d = min(best.values())
        winners = sorted(g for g, dd in best.items() if dd == d)
        if len(winners) > 1:
            problems.append(f"{w} {leaf_name(wn, w)!r}: tie between {winners} at distance {d}")
            continue
        assignment[w] = winners[0]
    if problems:
        raise ValueError("curated rules do not place every category exactly once:\n  " + "\n  ".join(problems))
    return assignment


def build_curated(wn: WordNet, data_dir: Path | None = None) -> dict:
    """The curated tree of :data:`CURATED`."""
    assignment = assign_curated(wn)
    members: dict[str, list[str]] = collections.defaultdict(list)
    for w, gid in assignment.items():
        members[gid].append(w)
    level1 = []
    for g in CURATED:
        level2 = []
        for s in g.children:
            if not members[s.id]:
                raise ValueError(f"curated group {s.id!r} holds no category")
            leaves = [leaf_node(wn, w) for w in sorted(members[s.id])]
            level2.append(inner_node(s.id, s.name, s.wnid, s.synonyms, s.definition, leaves))
        level1.append(inner_node(g.id, g.name, g.wnid, g.synonyms, g.definition, level2))
    return hierarchy_document(
        "curated", "Curated: everyday groups",
        "A hand-curated 3-level tree (group -> subgroup -> ImageNet-1k category) with groups a person "
        "would name, built by explicit rules over WordNet ancestors in scripts/make_hierarchies.py.",
        "ImageNet-1k categories and WordNet 3.0 synsets (is_a.txt, words.txt); grouping rules in "
        "scripts/make_hierarchies.py (this project)",
        level1)


# ================================================================================================
# wordnet.json
# ================================================================================================
@dataclass
class _Group:
    """A group of a WordNet cut: one synset, or a pool of small sibling synsets ("other X")."""

    members: list[str]  # synsets (categories included) whose categories the group holds
    wnid: str | None  # the synset; None for a pool
    name: str
    pooled_under: str | None = None  # for a pool: the synset whose small hyponyms it holds


class WordNetCut:
    """Cut the WordNet graph into a 3-level tree over the 1k categories.

    The graph is first made a tree: each synset keeps one parent, the deepest one (longest path to
    the root; then the one above more categories; then the smaller wnid), so that e.g. "domestic
    cat" hangs under "cat" (taxonomy) rather than under "domestic animal".

    A level is cut by splitting, largest first, every group that holds more than ``max_size``
    categories into the hyponyms of its synset. Chains of single hyponyms are skipped (a group is
    named after the lowest synset that still holds all its categories), and hyponyms holding fewer
    than ``min_size`` categories are pooled into one "other <synset>" group.

    Args:
        wn: the WordNet graph and the categories.
    """

    def __init__(self, wn: WordNet):
        self.wn = wn
        self._depth: dict[str, int] = {}
        size: dict[str, int] = collections.Counter(a for w in wn.classes for a in wn.ancestors(w))
        self.parent: dict[str, str] = {}
        for w in sorted(size):
            candidates = [p for p in wn.parents.get(w, ()) if p in size]
            if candidates:
                self.parent[w] = sorted(candidates, key=lambda p: (-self.depth(p), -size[p], p))[0]
        self.below: dict[str, list[str]] = collections.defaultdict(list)  # categories under a synset
        for w in wn.classes:
            x: str | None = w
            while x is not None:
                self.below[x].append(w)
                x = self.parent.get(x)
        self.kids: dict[str, list[str]] = collections.defaultdict(list)
        for w in sorted(self.below):
            if w in self.parent:
                self.kids[self.parent[w]].append(w)

    def depth(self, wnid: str) -> int:
        """Length of the longest is_a path from the root to ``wnid``."""
        if wnid not in self._depth:
            self._depth[wnid] = 1 + max((self.depth(p) for p in self.wn.parents.get(wnid, ())), default=-1)
        return self._depth[wnid]

    def lowest(self, wnid: str) -> str:
        """Follow a chain of single hyponyms down to the lowest synset with the same categories."""
        while len(self.kids.get(wnid, ())) == 1:
            wnid = self.kids[wnid][0]
        return wnid

    def categories(self, group: _Group) -> list[str]:
        """Sorted categories of a group."""
        return sorted(c for m in group.members for c in self.below[m])

    def _groups(self, synsets: list[str], min_size: int, pool_name: str, pooled_under: str | None) -> list[_Group]:
        """One group per synset, those with fewer than ``min_size`` categories pooled."""
        big = [w for w in synsets if len(self.below[w]) >= min_size]
        small = [w for w in synsets if len(self.below[w]) < min_size]
        groups = [_Group([w], w, self.wn.name(w)) for w in big]
        if small:
            groups.append(_Group(small, None, pool_name, pooled_under))
        return groups

    def _split(self, group: _Group, min_size: int) -> list[_Group]:
        """The hyponym groups of a synset group."""
        kids = [self.lowest(k) for k in self.kids[group.wnid]]
        return self._groups(kids, min_size, f"other {group.name}", group.wnid)

    def cut(self, groups: list[_Group], max_size: int, min_size: int) -> list[_Group]:
        """Split synset groups, largest first, until none holds more than ``max_size`` categories."""
        groups = list(groups)
        while True:
            splittable = [g for g in groups if g.wnid is not None and self.kids.get(g.wnid)
                          and len(self.categories(g)) > max_size]
            if not splittable:
                return groups
            big = max(splittable, key=lambda g: (len(self.categories(g)), g.wnid))
            i = groups.index(big)
            groups[i:i + 1] = self._split(big, min_size)

    def level1(self, max_size: int, min_size: int) -> list[_Group]:
        """Level-1 groups: the cut of the root."""
        root = self.lowest(ROOT_WNID)
        return self.cut([_Group([root], root, self.wn.name(root))], max_size, min_size)

    def level2(self, group: _Group, max_size: int, min_size: int) -> list[_Group]:
        """Level-2 groups of a level-1 group: always split once, so no level repeats its parent."""
        if group.wnid is not None and self.kids.get(group.wnid):
            start = self._split(group, min_size)
        else:  # a pool: its members, the small ones pooled again
            start = self._groups(group.members, min_size, f"{group.name} (misc)", group.pooled_under)
        return self.cut(start, max_size, min_size)


def build_wordnet(wn: WordNet, data_dir: Path | None = None) -> dict:
    """The mechanical WordNet tree (see :class:`WordNetCut`)."""
    cutter = WordNetCut(wn)
    tree = [(g, cutter.level2(g, WORDNET_L2_MAX, WORDNET_L2_MIN))
            for g in cutter.level1(WORDNET_L1_MAX, WORDNET_L1_MIN)]

    used_names = {leaf_name(wn, w).casefold() for w in wn.classes}  # ids: slugs of these unique names

    def unique_name(group: _Group) -> str:
        name = group.name
        anchor = group.wnid or group.pooled_under
        if name.casefold() in used_names and anchor in cutter.parent:  # e.g. "amphibian (vertebrate)"
            name = f"{name} ({wn.name(cutter.parent[anchor])})"
        base, k = name, 2
        while name.casefold() in used_names:
            name, k = f"{base} {k}", k + 1
        used_names.add(name.casefold())
        return name

    def make(group: _Group, children: list[dict]) -> dict:
        name = unique_name(group)
        if group.wnid is not None:
            synonyms = [x for x in wn.lemmas[group.wnid] if x.casefold() != name.casefold()]
            definition = wn.definitions.get(group.wnid)
        else:
            synonyms = []
            listed = ", ".join(leaf_name(wn, m) if m in wn.class_lemmas else wn.name(m) for m in group.members)
            definition = f"other {wn.name(group.pooled_under)}: {listed}"
        return inner_node(slugify(name), name, group.wnid, synonyms, definition, children)

    level1_nodes = []
    for g1, subs in sorted(tree, key=lambda t: cutter.categories(t[0])[0]):  # in class-index order
        level2_nodes = []
        for g2 in sorted(subs, key=lambda g: cutter.categories(g)[0]):
            level2_nodes.append(make(g2, [leaf_node(wn, c) for c in cutter.categories(g2)]))
        level1_nodes.append(make(g1, level2_nodes))
    return hierarchy_document(
        "wordnet", "WordNet",
        "A mechanical 3-level cut of the WordNet noun hierarchy (synset -> synset -> ImageNet-1k "
        f"category): synsets with more than {WORDNET_L1_MAX} (level 1) / {WORDNET_L2_MAX} (level 2) "
        f"categories are split into their hyponyms, hyponyms with fewer than {WORDNET_L1_MIN} / "
        f"{WORDNET_L2_MIN} categories are pooled into 'other ...' groups; see scripts/make_hierarchies.py.",
        "ImageNet's WordNet is_a.txt and words.txt (WordNet 3.0, Princeton University licence); "
        "definitions from timm's imagenet_synset_to_definition.txt",
        level1_nodes)


# ================================================================================================
# superclass.json
# ================================================================================================
def read_superclasses(data_dir: Path) -> list[tuple[int, str]]:
    """(superclass id, superclass name) of each category, in sorted-wnid order.

    The files end without a final newline, so ``wc -l`` counts 999 lines; they hold 1000 entries.

    Raises:
        RuntimeError: the two files do not hold exactly one entry per category, or one id has two
            names.
    """
    ids = [x.strip() for x in _read_lines(data_dir / "superclass.txt")]
    names = [x.strip() for x in _read_lines(data_dir / "superclass_names.txt")]
    while ids and not ids[-1]:
        ids.pop()
    while names and not names[-1]:
        names.pop()
    if len(ids) != NUM_CLASSES or len(names) != NUM_CLASSES or not all(ids) or not all(names):
        raise RuntimeError(f"superclass files hold {len(ids)} ids and {len(names)} names, expected "
                           f"{NUM_CLASSES} of each (one per ImageNet-1k category)")
    name_of: dict[int, str] = {}
    for i, n in zip(ids, names):
        if name_of.setdefault(int(i), n) != n:
            raise RuntimeError(f"superclass {i} has two names: {name_of[int(i)]!r} and {n!r}")
    return [(int(i), n) for i, n in zip(ids, names)]


def build_superclass(wn: WordNet, data_dir: Path) -> dict:
    """The superclass -> category tree of ``superclass.txt`` / ``superclass_names.txt``."""
    entries = read_superclasses(data_dir)
    members: dict[int, list[str]] = collections.defaultdict(list)
    label: dict[int, str] = {}
    for w, (sid, name) in zip(wn.classes, entries):
        members[sid].append(w)
        label[sid] = name
    # The synset of a superclass: the ancestor of its categories whose words.txt entry is its name.
    synset: dict[int, str | None] = {}
    for sid, cats in members.items():
        common = set.intersection(*({a for a in wn.ancestors(c) if ", ".join(wn.lemmas[a]) == label[sid]}
                                    for c in cats))
        synset[sid] = min(common, key=lambda a: max(wn.ancestors(c)[a] for c in cats)) if common else None
    # Names: first lemma; "cap" (3 synsets), "brass" (also a category) etc. get their WordNet parent.
    first = {sid: label[sid].split(", ")[0] for sid in members}
    counts = collections.Counter(n.casefold() for n in first.values())
    leaf_names = {leaf_name(wn, w).casefold() for w in wn.classes}
    level1, used = [], set(leaf_names)
    for sid in sorted(members, key=lambda k: (min(members[k]), k)):
        name, wnid = first[sid], synset[sid]
        if counts[name.casefold()] > 1 or name.casefold() in leaf_names:
            parent = wn.parents.get(wnid, [None])[0] if wnid else None
            name = f"{name} ({wn.name(parent)})" if parent else f"{name} ({sid})"
        if name.casefold() in used:  # two synsets "table" under "furniture"
            name = f"{name[:-1]}, {wnid})" if name.endswith(")") else f"{name} ({wnid or sid})"
        used.add(name.casefold())
        synonyms = [x for x in label[sid].split(", ")[1:] if x.casefold() != name.casefold()]
        leaves = [leaf_node(wn, w) for w in sorted(members[sid])]
        level1.append(inner_node(f"sc{sid:03d}_{slugify(name)}", name, wnid, synonyms,
                                 wn.definitions.get(wnid) if wnid else None, leaves))
    return hierarchy_document(
        "superclass", "ImageNet superclasses",
        f"The {len(level1)} ImageNet superclasses of S. Kumano (each the WordNet parent synset shared "
        "by a set of ImageNet-1k categories), used for the first nested variant of the NHL paper: "
        "superclass -> category.",
        SUPERCLASS_SOURCE, level1)


# ================================================================================================
# main
# ================================================================================================
BUILDERS = {"curated": build_curated, "superclass": build_superclass, "wordnet": build_wordnet}


def write_json(doc: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def summarize(h: Hierarchy) -> str:
    """One line per level: number of nodes and min/max categories per node."""
    lines = [f"{h.id}: depth {h.depth}, {len(h.categories)} categories"]
    for level in range(1, h.depth):
        nodes = h.level(level)
        sizes = [len(n.categories) for n in nodes]
        kids = [len(n.children) for n in nodes]
        lines.append(f"  level {level}: {len(nodes)} nodes, categories per node {min(sizes)}-{max(sizes)} "
                     f"(median {sorted(sizes)[len(sizes) // 2]}), children per node {min(kids)}-{max(kids)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR, help="folder with is_a.txt, words.txt, superclass*.txt")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT_DIR, help="output folder (default: hierarchies/)")
    parser.add_argument("--only", nargs="+", choices=sorted(BUILDERS), help="build only these trees")
    args = parser.parse_args(argv)
    wn = load_wordnet(args.data)
    for hid in args.only or sorted(BUILDERS):
        doc = BUILDERS[hid](wn, args.data)
        h = Hierarchy(doc)  # validates: ids/names unique, no empty node, one depth
        if sorted(h.categories) != wn.classes:
            raise RuntimeError(f"{hid}: the categories are not exactly the 1000 ImageNet-1k wnids")
        path = args.out / f"{hid}.json"
        write_json(doc, path)
        print(summarize(h))
        print(f"  -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
