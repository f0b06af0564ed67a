"""What one demo request produced: predictions, costs, the cue's reading, as JSON-ready dataclasses."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from ..cues.matcher import CueResult
from ..net.attention import FALLBACK_GAIN

MODES = ("enhance", "inhibit")  # expert + gain on the selection, or the full network with it turned down
DEFAULT_MODE = "enhance"
# Below this share of the full network's belief inside an expert's categories, the photo is more
# likely none of them than one of them: the demo says so instead of repeating the expert's answer.
LOW_SHARE = 0.5
ATTENTION = "full NHL + attention"  # the attention pass: its name in costs and timings


# --- results -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Prediction:
    """One entry of a top-k list."""

    wnid: str
    name: str
    probability: float


@dataclass(frozen=True)
class Cost:
    """Cost of one network on one 224x224 image.

    Attributes:
        model: ``"teacher"``, ``"full NHL"``, ``"expert"`` or ``"full NHL + attention"`` (the
            attention pass: one more pass of the full network).
        gmacs: multiply-accumulates (10^9) of one forward pass.
        params_m: parameters (10^6) the network holds (the shared trunk included).
        ms: median wall time of one forward pass in this request (trunk included), timed by
            :func:`hldemo.net.timing.time_forwards` like ``python -m hldemo.bench``.
        gmacs_saved_pct, params_saved_pct, ms_saved_pct: savings against the teacher, in percent.
    """

    model: str
    gmacs: float
    params_m: float
    ms: float
    gmacs_saved_pct: float
    params_saved_pct: float
    ms_saved_pct: float


@dataclass
class DemoResult:
    """Everything one request produced (JSON-serialisable with :meth:`to_dict`).

    Attributes:
        ok: False when no prediction could be made (no or unusable image); ``message`` says why.
        message: the main status sentence (an error, or what was done).
        explanation: one line in plain words on what just happened.
        notes: further messages (ignored picker entries, clamped gain...).
        cue: the cue as the matcher understood it (:class:`hldemo.cues.matcher.CueResult`).
        selection: picker/cue entries (node ids or wnids) the expert was built from.
        selection_source: ``"picker"``, ``"cue"`` or ``"none"``.
        mode, gain: the attention control used.
        gains: the attention gains on the full network, per node the cue or picker named (node id ->
            gain; a level-1 group's gain acts on each of its subgroups' branches).
        expert_is_full: True when the expert is the full network (nothing / everything selected,
            or inhibit mode).
        categories: wnids the expert covers.
        active_nodes: node ids of the expert's branches, per level (1..depth).
        teacher, nhl, expert: top-k predictions of the teacher, the full NHL (no attention) and the
            efficient expert (a softmax over its own categories only).
        nhl_attention: top-k predictions of the full NHL with the attention ``gains`` (a softmax over
            all categories); the full NHL's when there are no gains.
        expert_share: how much of the full NHL's belief (softmax, no attention) falls inside the
            expert's categories; None when the expert is the full network.
        expert_share_low: ``expert_share`` is below :data:`LOW_SHARE`: the photo is probably none
            of the expert's categories.
        expert_card: the model card's measurements of this expert (``experts.json``: node,
            restricted_agreement, photos, macs_vs_teacher), when it has them.
        costs: teacher, full NHL and expert, then the attention pass when it ran.
        timings_ms: wall time of each stage.
        device: where the networks ran (``cpu``, or ``cuda:0 (GPU name)``, with the dtype when not float32).
    """

    ok: bool = False
    message: str = ""
    explanation: str = ""
    notes: list[str] = field(default_factory=list)
    cue: CueResult = field(default_factory=CueResult)
    selection: list[str] = field(default_factory=list)
    selection_source: str = "none"
    mode: str = DEFAULT_MODE
    gain: float = FALLBACK_GAIN
    gains: dict[str, float] = field(default_factory=dict)
    expert_is_full: bool = True
    categories: list[str] = field(default_factory=list)
    active_nodes: list[list[str]] = field(default_factory=list)
    teacher: list[Prediction] = field(default_factory=list)
    nhl: list[Prediction] = field(default_factory=list)
    expert: list[Prediction] = field(default_factory=list)
    nhl_attention: list[Prediction] = field(default_factory=list)
    expert_share: float | None = None
    expert_share_low: bool = False
    expert_card: dict | None = None
    costs: list[Cost] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    device: str = ""

    def to_dict(self, active_nodes: bool = False) -> dict:
        """A JSON-serialisable dict (``active_nodes`` lists can be long: off by default)."""
        out = asdict(replace(self, cue=CueResult()))
        out["cue"] = self.cue.to_dict()
        out["n_categories"] = len(self.categories)
        out["n_active_branches"] = [len(level) for level in self.active_nodes]
        if len(self.categories) > 50:
            out["categories"] = self.categories[:50] + [f"... {len(self.categories) - 50} more"]
        if not active_nodes:
            out.pop("active_nodes")
        return out

    def answer(self) -> dict:
        """The deterministic part of the result (no timings): for comparing two runs."""
        return answer_of(self.to_dict())


def answer_of(details: dict) -> dict:
    """The deterministic part of a :meth:`DemoResult.to_dict` (e.g. the app's JSON details panel):
    everything but the timings, for comparing two runs."""
    d = {k: v for k, v in details.items() if k != "timings_ms"}
    d["costs"] = [{k: v for k, v in c.items() if not k.startswith("ms")} for c in d["costs"]]
    d["cue"] = {k: v for k, v in d["cue"].items() if k != "ms"}
    if d["cue"].get("speech"):
        d["cue"]["speech"] = {k: v for k, v in d["cue"]["speech"].items() if k != "seconds"}
    return d
