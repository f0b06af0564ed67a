"""Pictures and panels of a demo result: the hierarchy with the expert's active paths (SVG), the cost
table (HTML), the cue interpretation and the explanation (Markdown).

:func:`hierarchy_svg` draws the tree left to right like Fig. 3 of Kelm et al.: the shared trunk, all
level-1 groups, and, expanded, only the groups that matter (those the expert runs, those attention
acts on, and the path of the prediction). Branches the expert computes are blue, skipped ones grey;
attention is green (enhanced, x gain) or red (inhibited, / gain); the predicted category's path is
amber. With 29 level-1 and 145 level-2 groups the picture stays at 30-80 rows.

Everything here is plain string building (no plotting library): a picture costs well under a
millisecond, and the SVG is sharp at any zoom.
"""

from __future__ import annotations

import html
from typing import Iterable, Mapping, Sequence

from ..utils import clip_text
from .results import ATTENTION

# --- constants -----------------------------------------------------------------------------------
COLUMN_TITLES = {"teacher": "Teacher (EfficientNet-Lite0)", "nhl": "Full NHL", "expert": "Efficient expert",
                 "attention": "Full NHL + attention"}
ROW_HEIGHT = 16
FONT_SIZE = 12
CHAR_WIDTH = 6.6  # estimated width of one character at FONT_SIZE (sans-serif)
COLUMN_GAP = 34
MARGIN = 10
HEADER_HEIGHT = 44
MAX_EXPANDED_L1 = 3  # level-1 groups opened to show their subgroups
MAX_EXPANDED_L2 = 4  # subgroups opened to show their categories
MAX_ACTIVE_L2_TO_OPEN = 2  # a group's active subgroups are opened only when there are this few
MAX_CATEGORIES_SHOWN = 6  # categories listed per opened subgroup (then "+N more")
MAX_LABEL_CHARS = 34
FONT_FAMILY = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

COLOR_ACTIVE = "#2563eb"
COLOR_SKIPPED = "#c7ccd4"
COLOR_SKIPPED_TEXT = "#8a93a0"
COLOR_ENHANCED = "#16a34a"
COLOR_INHIBITED = "#dc2626"
COLOR_PATH = "#f59e0b"
COLOR_TEXT = "#1f2937"


# --- the hierarchy picture -----------------------------------------------------------------------
def _ancestors(hierarchy, node_id: str) -> list[str]:
    """Node ids from level 1 down to ``node_id``."""
    out = []
    node = hierarchy.nodes.get(node_id)
    while node is not None and node.id != hierarchy.root.id:
        out.append(node.id)
        node = hierarchy.nodes.get(node.parent) if node.parent else None
    return out[::-1]


def _unique(items: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    return [x for x in items if not (x in seen or seen.add(x))]


def hierarchy_svg(hierarchy, active: Iterable[str] | None = None, *, gains: Mapping[str, float] | None = None,
                  path: Sequence[str] = (), title: str = "") -> str:
    """The hierarchy as an SVG string, with the expert's active branches highlighted.

    Args:
        hierarchy: a :class:`hldemo.hierarchy.Hierarchy` with 2 or 3 levels below the root (a
            deeper tree is drawn down to level 3).
        active: node ids of the branches the expert computes (all levels); None: all of them.
        gains: attention gains per node id (> 1 drawn as enhanced, < 1 as inhibited).
        path: node ids of the prediction's path (level 1 down to the category), drawn amber.
        title: a line above the legend.

    Returns:
        A standalone ``<svg>`` element (width 100%, scales with its container).
    """
    gains = dict(gains or {})
    nodes = hierarchy.nodes
    full = active is None
    active_set = set(nodes) if full else set(active)
    path = [p for p in path if p in nodes]
    path_set = set(path)
    depth = min(hierarchy.depth, 3)

    # which groups to open
    focus = _unique(list(path) + list(gains))
    l1_nodes = hierarchy.level(1)
    open_l1 = _unique([_ancestors(hierarchy, n)[0] for n in focus if _ancestors(hierarchy, n)]
                      + ([] if full else [n.id for n in l1_nodes if n.id in active_set]))
    open_l1 = open_l1[:MAX_EXPANDED_L1] if depth >= 2 else []
    open_l2: list[str] = []
    if depth >= 3:
        wanted = [a[1] for a in (_ancestors(hierarchy, n) for n in focus) if len(a) > 1 and a[0] in open_l1]
        if not full:
            for l1 in open_l1:
                kids = [c for c in nodes[l1].children if c in active_set]
                if len(kids) <= MAX_ACTIVE_L2_TO_OPEN:
                    wanted += kids
        open_l2 = _unique(wanted)[:MAX_EXPANDED_L2]

    # rows: (node id or None for "+N more", level, text)
    rows: list[tuple[str | None, int, str]] = []
    children_rows: dict[str, list[int]] = {}

    def add_row(node_id: str | None, level: int, text: str, parent: str) -> int:
        rows.append((node_id, level, text))
        children_rows.setdefault(parent, []).append(len(rows) - 1)
        return len(rows) - 1

    for l1 in l1_nodes:
        if l1.id not in open_l1:
            add_row(l1.id, 1, l1.name, hierarchy.root.id)
            continue
        for c2 in l1.children:
            n2 = nodes[c2]
            if c2 not in open_l2:
                add_row(c2, 2, n2.name, l1.id)
                continue
            cats = list(n2.children)
            first = [c for c in cats if c in path_set or c in gains]
            first += [c for c in cats if c in active_set and c not in first] if not full else []
            rest = [c for c in cats if c not in first]
            shown = (first + rest)[:max(MAX_CATEGORIES_SHOWN, len([c for c in first if c in path_set or c in gains]))]
            shown = [c for c in cats if c in shown]  # keep the tree's order
            for c3 in shown:
                add_row(c3, 3, nodes[c3].name, c2)
            hidden = len(cats) - len(shown)
            if hidden:
                n_active_hidden = sum(1 for c in cats if c not in shown and c in active_set)
                what = f"+{hidden} more" + (f" ({n_active_hidden} computed)" if n_active_hidden and not full else "")
                add_row(None, 3, what, c2)

    # y of every drawn node: leaves at their row, groups centred on their children
    y_of: dict[str, float] = {}
    row_y = [HEADER_HEIGHT + MARGIN + i * ROW_HEIGHT + ROW_HEIGHT / 2 for i in range(len(rows))]
    for i, (nid, _, _) in enumerate(rows):
        if nid is not None:
            y_of[nid] = row_y[i]

    def centre(node_id: str) -> float:
        if node_id in y_of:
            return y_of[node_id]
        ys = [row_y[i] if rows[i][0] is None else centre(rows[i][0]) for i in children_rows.get(node_id, [])]
        ys += [centre(c) for c in children_of_drawn.get(node_id, [])]
        y_of[node_id] = (min(ys) + max(ys)) / 2 if ys else row_y[0]
        return y_of[node_id]

    # groups that are opened are drawn too (between their parent and children)
    children_of_drawn: dict[str, list[str]] = {hierarchy.root.id: [], **{l1: [] for l1 in open_l1}}
    for l1 in open_l1:
        for c2 in nodes[l1].children:
            if c2 in open_l2:
                children_of_drawn[l1].append(c2)
    for l1 in open_l1:
        children_of_drawn[hierarchy.root.id].append(l1)
    for l2 in open_l2:
        centre(l2)
    for l1 in open_l1:
        centre(l1)
    root_y = centre(hierarchy.root.id)

    # columns: each starts after the widest label of the previous one
    def label(nid: str | None, text: str) -> str:
        g = gains.get(nid) if nid else None
        mark = "" if g is None else (f" ×{g:g}" if g > 1 else f" ÷{1 / g:g}" if g > 0 else " ×0")
        return clip_text(text, MAX_LABEL_CHARS) + mark + (" ★" if nid in path_set and nid and nodes[nid].is_category else "")

    labels_by_level: dict[int, list[str]] = {0: ["trunk (shared)"], 1: [], 2: [], 3: []}
    for nid, level, text in rows:
        labels_by_level[level].append(label(nid, text))
    for nid in open_l1:
        labels_by_level[1].append(label(nid, nodes[nid].name))
    for nid in open_l2:
        labels_by_level[2].append(label(nid, nodes[nid].name))
    col_x = [MARGIN + 6]
    for level in range(1, 4):
        widest = max((len(t) for t in labels_by_level[level - 1]), default=0)
        col_x.append(col_x[-1] + 10 + widest * CHAR_WIDTH + COLUMN_GAP)
    used_levels = max((lvl for _, lvl, _ in rows), default=1)
    widest_last = max((len(t) for t in labels_by_level[used_levels]), default=0)
    width = int(col_x[used_levels] + 10 + widest_last * CHAR_WIDTH + MARGIN)
    height = int(HEADER_HEIGHT + 2 * MARGIN + max(len(rows), 1) * ROW_HEIGHT)

    def status(nid: str) -> tuple[str, str, str]:
        """(dot fill, text colour, font weight)."""
        g = gains.get(nid)
        on = nid in active_set
        if g is not None and g > 1:
            return COLOR_ENHANCED, COLOR_TEXT, "600"
        if g is not None and g < 1:
            return COLOR_INHIBITED, COLOR_TEXT, "600"
        if nid in path_set:
            return COLOR_PATH, COLOR_TEXT, "700"
        return (COLOR_ACTIVE, COLOR_TEXT, "400") if on else ("#ffffff", COLOR_SKIPPED_TEXT, "400")

    edges: list[str] = []
    dots: list[str] = []
    texts: list[str] = []

    def draw_node(nid: str, level: int, text: str) -> None:
        x, y = col_x[level], y_of[nid]
        fill, colour, weight = status(nid)
        stroke = fill if fill != "#ffffff" else COLOR_SKIPPED
        if nid in path_set:
            stroke = COLOR_PATH
        dots.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{fill}" stroke="{stroke}" stroke-width="1.5">'
                    f'<title>{html.escape(nodes[nid].name)}{" (computed)" if nid in active_set else " (skipped)"}</title></circle>')
        texts.append(f'<text x="{x + 8:.1f}" y="{y + 4:.1f}" fill="{colour}" font-weight="{weight}">'
                     f'{html.escape(label(nid, text))}</text>')

    def draw_edge(parent: str, level: int, child_y: float, child: str | None, on: bool = False) -> None:
        is_root = parent == hierarchy.root.id
        parent_label = "trunk (shared)" if is_root else label(parent, nodes[parent].name)
        px = col_x[level - 1] + (4 if is_root else 10) + len(parent_label) * CHAR_WIDTH + 4
        py = y_of[parent]
        cx = col_x[level] - 6
        on = on or (child is not None and child in active_set and (is_root or parent in active_set))
        on_path = child is not None and child in path_set and (parent in path_set or parent == hierarchy.root.id)
        colour = COLOR_PATH if on_path else COLOR_ACTIVE if on else COLOR_SKIPPED
        w = 2.6 if on_path else 1.8 if on else 1
        mid = (px + cx) / 2
        edges.append(f'<path d="M{px:.1f},{py:.1f} C{mid:.1f},{py:.1f} {mid:.1f},{child_y:.1f} {cx:.1f},{child_y:.1f}" '
                     f'fill="none" stroke="{colour}" stroke-width="{w}"/>')

    # the root (trunk), then every drawn node and its edge from its parent
    y_of[hierarchy.root.id] = root_y
    texts.append(f'<rect x="{MARGIN - 2}" y="{root_y - 10:.1f}" width="{10 + len("trunk (shared)") * CHAR_WIDTH + 4:.0f}" '
                 f'height="20" rx="4" fill="#eef2ff" stroke="{COLOR_ACTIVE}"/>')
    texts.append(f'<text x="{MARGIN + 4}" y="{root_y + 4:.1f}" fill="{COLOR_TEXT}" font-weight="600">trunk (shared)</text>')
    drawn: list[tuple[str, int, str]] = [(l1, 1, nodes[l1].name) for l1 in open_l1]
    drawn += [(l2, 2, nodes[l2].name) for l2 in open_l2]
    drawn += [(nid, level, text) for nid, level, text in rows if nid is not None]
    for nid, level, text in drawn:
        parent = nodes[nid].parent or hierarchy.root.id
        draw_edge(parent, level, y_of[nid], nid)
        draw_node(nid, level, text)
    for i, (nid, level, text) in enumerate(rows):
        if nid is None:  # "+N more"
            parent = next(p for p, idx in children_rows.items() if i in idx)
            hidden_on = full or "computed" in text
            draw_edge(parent, level, row_y[i], None, on=hidden_on)
            texts.append(f'<text x="{col_x[level] + 2:.1f}" y="{row_y[i] + 4:.1f}" fill="{COLOR_SKIPPED_TEXT}" '
                         f'font-style="italic">{html.escape(text)}</text>')

    legend_items = [(COLOR_ACTIVE, "computed by the expert"), ("#ffffff", "skipped"),
                    (COLOR_ENHANCED, "attention ×gain"), (COLOR_INHIBITED, "inhibited ÷gain"),
                    (COLOR_PATH, "prediction ★")]
    legend, x = [], MARGIN
    for colour, text in legend_items:
        stroke = COLOR_SKIPPED if colour == "#ffffff" else colour
        legend.append(f'<circle cx="{x + 4}" cy="{HEADER_HEIGHT - 12}" r="4" fill="{colour}" stroke="{stroke}" stroke-width="1.5"/>'
                      f'<text x="{x + 12}" y="{HEADER_HEIGHT - 8}" fill="{COLOR_TEXT}">{html.escape(text)}</text>')
        x += 24 + len(text) * CHAR_WIDTH
    width = max(width, int(x + MARGIN))
    head = (f'<text x="{MARGIN}" y="16" fill="{COLOR_TEXT}" font-weight="600">{html.escape(title)}</text>'
            if title else "")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
            f'style="max-width:{width}px;height:auto" font-family="{html.escape(FONT_FAMILY)}" font-size="{FONT_SIZE}" '
            f'role="img" aria-label="{html.escape(title or "category hierarchy")}">'
            f'<title>{html.escape(title or "category hierarchy")}</title>'
            f'<rect width="100%" height="100%" fill="#ffffff"/>{head}{"".join(legend)}'
            f'{"".join(edges)}{"".join(dots)}{"".join(texts)}</svg>')


def result_svg(hierarchy, result) -> str:
    """:func:`hierarchy_svg` for a :class:`hldemo.demo.DemoResult`."""
    active = None if result.expert_is_full else [n for level in result.active_nodes for n in level]
    top = result.nhl_attention[0].wnid if result.nhl_attention else None
    path = [n.id for n in hierarchy.path(top)] if top and top in hierarchy.nodes else []
    counts = [len(level) for level in result.active_nodes]
    totals = [len(hierarchy.level(i)) for i in range(1, hierarchy.depth + 1)]
    if result.ok and counts:
        branches = " + ".join(f"{c}/{t}" for c, t in zip(counts, totals))
        title = (f"{'Full network' if result.expert_is_full else 'Expert'}: branches computed per level {branches}")
    else:
        title = "The category hierarchy"
    return hierarchy_svg(hierarchy, active if result.ok else [], gains=result.gains if result.ok else None,
                         path=path if result.ok else (), title=title)


# --- panels --------------------------------------------------------------------------------------
def label_dict(predictions) -> dict[str, float]:
    """``{name: probability}`` for a ``gr.Label``."""
    return {p.name: float(p.probability) for p in predictions}


def _fewer(pct: float) -> str:
    return f"{pct:.0f}% fewer" if pct >= 0 else f"{-pct:.0f}% more"


def _share(share: float) -> str:
    """A share of belief in percent: one decimal below 10 % (0.3 %), none above (97 %); never "0.0%"."""
    if share < 0.0005:
        return "less than 0.1%"
    return f"{100 * share:.1f}%" if share < 0.1 else f"{100 * share:.0f}%"


def understood_languages() -> str:
    """The languages cues are understood in, in words ("English, German, French or Spanish"): the
    speech path's :data:`hldemo.cues.speech.CUE_LANGUAGES`, named as :mod:`hldemo.cues.translate` names them."""
    from ..cues.speech import CUE_LANGUAGES
    from ..cues.translate import LANGUAGES

    name_of = dict(LANGUAGES, en="English")
    names = [name_of[code] for code in CUE_LANGUAGES]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _expert_versus(costs) -> str:
    """'78% fewer GMACs than the full NHL and 0% fewer than the teacher' for a result's costs."""
    by = {c.model: c for c in costs}
    e, n = by["expert"], by["full NHL"]
    vs_nhl = 100 * (1 - e.gmacs / n.gmacs) if n.gmacs else 0.0
    return f"{_fewer(vs_nhl)} GMACs than the full NHL and {_fewer(e.gmacs_saved_pct)} than the teacher"


def _card_words(card) -> str:
    """The model card's measurement of an expert, in words ("" without one)."""
    if not card:
        return ""
    return (f"it ranks its categories as the teacher does on {100 * card['restricted_agreement']:.0f}% of "
            f"held-out photos (n={card['photos']}, model card)")


def cost_table_html(costs, expert_is_full: bool = False, expert_card: dict | None = None, device: str = "") -> str:
    """The cost panel: GMACs, parameters and measured ms for teacher / full NHL / expert / the
    attention pass, savings, and the expert's measured agreement with the teacher.

    Args:
        costs: the :class:`hldemo.demo.Cost` rows of a result.
        expert_is_full: the expert is the full network (its row says so).
        expert_card: the model card's measurements of the expert (``DemoResult.expert_card``).
        device: where the networks ran (:attr:`hldemo.demo.DemoResult.device`), named in the note.
    """
    if not costs:
        return '<div id="cost-table" class="hl-costs"><p>No costs yet: run the demo on an image.</p></div>'
    by = {c.model: c for c in costs}

    def pct(v: float) -> str:
        return "—" if abs(v) < 0.05 else (f"−{v:.0f}%" if v > 0 else f"+{-v:.0f}%")

    rows = []
    for c in costs:
        strong = ' style="font-weight:600;background:#eff6ff"' if c.model == "expert" else ""
        name = "expert (= full NHL)" if c.model == "expert" and expert_is_full else c.model
        rows.append(f'<tr{strong} data-model="{html.escape(c.model)}"><td>{html.escape(name)}</td>'
                    f'<td>{c.gmacs:.3f}</td><td>{pct(c.gmacs_saved_pct)}</td>'
                    f'<td>{c.params_m:.2f}</td><td>{pct(c.params_saved_pct)}</td>'
                    f'<td>{c.ms:.1f}</td><td>{pct(c.ms_saved_pct)}</td></tr>')
    summary = ""
    if "expert" in by and "full NHL" in by and "teacher" in by:
        e, n = by["expert"], by["full NHL"]
        if expert_is_full:
            summary = ('<p class="hl-cost-summary">Nothing was cut out: the expert is the full NHL, which needs '
                       f'<b>{_fewer(e.gmacs_saved_pct)} GMACs</b> than the teacher.</p>')
        else:
            vs_nhl_macs = 100 * (1 - e.gmacs / n.gmacs) if n.gmacs else 0.0
            vs_nhl_params = 100 * (1 - e.params_m / n.params_m) if n.params_m else 0.0
            card = _card_words(expert_card)
            summary = (f'<p class="hl-cost-summary">The expert needs <b>{_fewer(vs_nhl_macs)} GMACs</b> and '
                       f'<b>{_fewer(vs_nhl_params)} parameters</b> than the full NHL it was cut from '
                       f'({_fewer(e.gmacs_saved_pct)} GMACs and {_fewer(e.params_saved_pct)} parameters than the teacher)'
                       f'{"; " + html.escape(card) if card else ""}.</p>')
    if ATTENTION in by and "teacher" in by:
        a = by[ATTENTION]
        summary += (f'<p class="hl-cost-summary">Attention costs one more pass of the full network: '
                    f'{a.gmacs:.3f} GMACs, {a.gmacs / by["teacher"].gmacs:.1f}× the teacher\'s.</p>')
    return ('<div id="cost-table" class="hl-costs"><table>'
            '<thead><tr><th>network</th><th>GMACs</th><th>vs teacher</th><th>params (M)</th><th>vs teacher</th>'
            '<th>time (ms)</th><th>vs teacher</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>{summary}'
            '<p class="hl-cost-note">GMACs and parameters: one 224×224 image, the shared trunk included. '
            f'Times: the median of a few runs of each network in this request, on {html.escape(device or "this machine")}, timed like '
            '<code>python -m hldemo.bench</code> (they vary run to run).</p></div>')


def cue_markdown(cue) -> str:
    """How the cue was understood, with the matched nodes and why (Markdown; the transcript of a
    spoken cue is :func:`transcript_markdown`)."""
    lines = []
    if cue.source == "text":
        lines.append(f"**Cue:** “{_md_escape(clip_text(cue.text, 80))}”")
    lines.append(f"**Understood as:** {_md_escape(cue.message)}")
    for m in (cue.matches + cue.inhibited)[:6]:
        kind = "not " if m.negated else ""
        n = len(m.categories)
        lines.append(f"- {kind}**{_md_escape(m.name)}** ({n} categor{'y' if n == 1 else 'ies'}) — "
                     f"{_md_escape(m.reason)}, score {m.score:.2f}")
    for note in cue.notes[:4]:
        lines.append(f"- _{_md_escape(clip_text(str(note), 120))}_")
    head = [ln for ln in lines if not ln.startswith("- ")]
    items = [ln for ln in lines if ln.startswith("- ")]
    return "\n\n".join(head) + ("\n\n" + "\n".join(items) if items else "")


def explanation_markdown(result) -> str:
    """The one-line explanation, with the status (or error) and notes (Markdown)."""
    if not result.ok:
        text = f"⚠️ **{_md_escape(result.message)}**"
    else:
        text = f"**{_md_escape(result.explanation)}**"
    notes = [n for n in result.notes if n]
    if notes:
        text += "\n\n" + "\n".join(f"- _{_md_escape(clip_text(n, 160))}_" for n in notes[:5])
    return text


def _md_escape(text: str) -> str:
    """Escape Markdown/HTML specials in user-provided text."""
    text = html.escape(str(text), quote=False)
    for ch in "\\`*_[]#|":
        text = text.replace(ch, "\\" + ch)
    return text


def transcript_markdown(cue) -> str:
    """What Whisper heard, or what YAMNet heard in a recorded sound ("" for a typed cue or none)."""
    if cue.source == "sound" and cue.sound is not None:
        return f"**Heard (a sound, not speech):** {_md_escape(cue.sound.heard_text())}"
    if cue.source != "speech":
        return ""
    heard = (cue.transcript or "").strip()
    text = f"**Heard:** “{_md_escape(heard)}”" if heard and cue.heard else "**Heard:** nothing usable"
    if cue.speech is not None and not cue.heard:
        text += f"\n\n_{_md_escape(cue.speech.message)}_"
    return text


def panels(hierarchy, result) -> dict:
    """Every output panel of the demo for one :class:`hldemo.demo.DemoResult`.

    Returns:
        ``{"explanation", "transcript", "cue", "teacher", "nhl", "expert", "expert_title", "attention",
        "costs", "hierarchy", "details"}``: Markdown strings, ``{name: probability}`` dicts (None when
        there is no prediction), the expert column's title (with its share of the full network's
        belief), HTML strings, and the JSON-ready result.
    """
    ok = result.ok
    return {
        "explanation": explanation_markdown(result),
        "transcript": transcript_markdown(result.cue),
        "cue": cue_markdown(result.cue),
        "teacher": label_dict(result.teacher) if ok else None,
        "nhl": label_dict(result.nhl) if ok else None,
        "expert": label_dict(result.expert) if ok else None,
        "expert_title": expert_title(result),
        "attention": label_dict(result.nhl_attention) if ok else None,
        "costs": cost_table_html(result.costs if ok else [], result.expert_is_full, result.expert_card, result.device),
        "hierarchy": result_svg(hierarchy, result),
        "details": result.to_dict(),
    }


# --- sentences of a result -------------------------------------------------------------------
def _selection_words(hierarchy, result) -> str:
    names = [hierarchy.display_name(n) for n in result.selection]
    if not names:
        return ""
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")

def status_sentence(hierarchy, result) -> str:
    """The main status line of a demo request (:attr:`hldemo.demo.engine.DemoResult.message`)."""
    if result.mode == "inhibit" and result.selection:
        return (f"Inhibit mode: the full network ran with {_selection_words(hierarchy, result)} turned down "
                f"(gain 1/{result.gain:g}).")
    if result.expert_is_full:
        if result.selection and len(result.categories) == len(hierarchy.categories):
            return "Everything is selected: the expert is the full network (no savings)."
        if result.cue.source != "none" and not result.cue.understood:
            return f"{result.cue.message.rstrip('.')}; nothing is selected, so the full network ran."
        if result.cue.inhibit_node_ids and not result.selection:
            return (f"The cue only says what to ignore: the full network ran with "
                    f"{', '.join(hierarchy.display_name(n) for n in result.cue.inhibit_node_ids[:3])} turned down.")
        return "Nothing is selected: the full network ran over all categories."
    n = len(result.categories)
    return (f"Expert for {_selection_words(hierarchy, result)} ({n} categor{'y' if n == 1 else 'ies'}, "
            f"from the {result.selection_source}).")

def expert_title(result) -> str:
    """The expert column's title: its category count and its share of the full network's belief."""
    if not result.ok or result.expert_is_full or result.expert_share is None:
        return COLUMN_TITLES["expert"] + (" (= full NHL)" if result.ok and result.expert_is_full else "")
    n = len(result.categories)
    low = " ⚠️ probably none of them" if result.expert_share_low else ""
    return (f"{COLUMN_TITLES['expert']}: {n} categor{'y' if n == 1 else 'ies'}, "
            f"{_share(result.expert_share)} of the full NHL's belief{low}")


def _gain_words(hierarchy, gains) -> str:
    """'×1.5 on domestic cat, ÷1.5 on dog' for a result's gains."""
    words = [f"{'×' if g > 1 else '÷'}{(g if g > 1 else 1 / g):g} on {hierarchy.display_name(n)}"
             for n, g in list(gains.items())[:3]]
    return ", ".join(words) + (f" and {len(gains) - 3} more" if len(gains) > 3 else "")


def explanation_sentence(hierarchy, result) -> str:
    """What a request did, in plain words (:attr:`hldemo.demo.engine.DemoResult.explanation`): what
    was computed, what the expert says and how much of the full network's belief its categories
    hold, and what the full network says with attention. An expert answer the full network
    contradicts is never stated as if it were the answer."""
    full = result.nhl[0] if result.nhl else None
    attended = result.nhl_attention[0] if result.nhl_attention else full
    expert = result.expert[0] if result.expert else None
    teacher = result.teacher[0] if result.teacher else None
    said = ""
    if result.cue.source == "speech" and result.cue.heard and result.cue.transcript:
        said = f"You said “{clip_text(result.cue.transcript, 60)}”"
    elif result.cue.source == "text" and result.cue.text:
        said = f"You typed “{clip_text(result.cue.text, 40)}”"
    elif result.cue.source == "sound" and result.cue.understood:
        said = f"It sounded like “{result.cue.text}”"
    what = _selection_words(hierarchy, result)
    n_all = len(hierarchy.categories)
    negated = ", ".join(hierarchy.display_name(n) for n in result.cue.inhibit_node_ids[:2])
    if result.mode == "inhibit" and result.selection:
        head = (f"{said + ', so t' if said else 'T'}he full network ran with the {what} branches turned "
                f"down ÷{result.gain:g}")
    elif result.expert_is_full and negated and not result.selection:
        head = (f"{said + ', so t' if said else 'T'}he full network looked at all {n_all} categories "
                f"with {negated} turned down ÷{result.gain:g}")
    elif result.expert_is_full:
        if result.cue.source == "speech" and not result.cue.heard:
            head = f"No speech was understood, so the full network looked at all {n_all} categories"
        elif said and not result.cue.understood:
            head = f"{said} but it names no category, so the full network looked at all {n_all} categories"
        elif result.selection:
            head = f"Everything was selected, so the full network looked at all {n_all} categories"
        else:
            head = f"Nothing was selected, so the full network looked at all {n_all} categories"
    else:
        card = _card_words(result.expert_card)
        head = (f"{said + ', so o' if said else 'O'}nly the {len(result.categories)} categories under {what} were "
                f"computed by an expert ({_expert_versus(result.costs)}{'; ' + card if card else ''})")
    if full is None:
        return head + "."
    parts = [head + "."]
    if not result.expert_is_full and expert is not None and result.expert_share is not None:
        share = _share(result.expert_share)
        if result.expert_share_low:
            parts.append(f"The expert ranks “{expert.name}” first among them, but they hold {share} of the full "
                         f"network's belief: the photo is probably not {what}; the full network sees “{full.name}” "
                         f"({full.probability:.0%}).")
        elif full.wnid not in result.categories:
            parts.append(f"The expert ranks “{expert.name}” first among them ({share} of the full network's belief), "
                         f"but the full network's top answer is “{full.name}” ({full.probability:.0%}).")
        else:
            parts.append(f"The expert says “{expert.name}” ({expert.probability:.0%} among its categories, which hold "
                         f"{share} of the full network's belief).")
    else:
        parts.append(f"The full network says “{full.name}” ({full.probability:.0%}).")
    final = full
    if result.gains and attended is not None:
        final = attended
        if attended.wnid == full.wnid:
            parts.append(f"With attention ({_gain_words(hierarchy, result.gains)}) the full network still says "
                         f"“{attended.name}” ({attended.probability:.0%})")
        else:
            parts.append(f"With attention ({_gain_words(hierarchy, result.gains)}) the full network says "
                         f"“{attended.name}” ({attended.probability:.0%}) instead of “{full.name}”")
    else:
        parts[-1] = parts[-1][:-1]
    if teacher is not None:
        parts[-1] += ", as the teacher does." if teacher.wnid == final.wnid else f"; the teacher says “{teacher.name}”."
    else:
        parts[-1] += "."
    return " ".join(parts)


def example_credits_markdown(credits: Sequence[Mapping[str, str]]) -> str:
    """One line per example photo: what it shows, its author and licence (rows of
    :func:`hldemo.data.load_example_credits`)."""
    lines = []
    for row in credits:
        original = row.get("original", "")
        author = _md_escape(row.get("author", "?"))
        if original.startswith("http"):
            author = f"[{author}]({original})"
        elif original:
            author += f" ({_md_escape(original)})"
        lines.append(f"- `{_md_escape(row['file'])}`: {_md_escape(row.get('what', ''))}, {author}, {_md_escape(row.get('licence', ''))}")
    return ("**Example photos**\n\n" + "\n".join(lines)) if lines else ""


def picker_choices(hierarchy) -> list[tuple[str, str]]:
    """``(label, value)`` pairs for the category picker: groups (levels 1..depth-1), then categories."""
    out: list[tuple[str, str]] = []
    for level in range(1, hierarchy.depth):
        for node in hierarchy.level(level):
            parent = hierarchy.nodes[node.parent].name if node.parent and node.parent != hierarchy.root.id else ""
            where = f" in {parent}" if parent else ""
            out.append((f"{node.name} — group{where}, {len(node.categories)} categories", node.id))
    cats = sorted(hierarchy.level(hierarchy.depth), key=lambda n: n.name.casefold())
    for node in cats:
        parent = hierarchy.nodes[node.parent].name if node.parent else ""
        out.append((f"{node.name} — category in {parent}", node.id))
    return out


def export_readme(names: Sequence[str], n: int, source: str, backbone: str | None, gmacs: float) -> str:
    """The README inside an exported expert's zip."""
    return _EXPORT_README.format(names=", ".join(names), n=n, source=source, backbone=backbone, gmacs=gmacs)


_EXPORT_README = """# hldemo efficient expert

Expert for: {names} ({n} categories), cut from the NHL checkpoint `{source}` without retraining.
Cost: {gmacs:.3f} GMACs per 224x224 image (trunk included).

Files: `head.safetensors` (branch weights), `config.json` (architecture, preprocessing),
`hierarchy.json` (the category tree, pruned to this expert's categories).
The trunk is the frozen `{backbone}` ImageNet backbone, loaded by name.

```python
from hldemo.net.checkpoint import load_model
expert = load_model("path/to/this/folder")      # an NHL over the expert's categories
logits = expert(images)                         # softmax over them = restricted softmax
```
"""
