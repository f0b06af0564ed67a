"""hldemo: hierarchical NHL/PHL networks, efficient experts and top-down attention (arXiv 2308.05128).

Subpackages: :mod:`hldemo.net` (the networks), :mod:`hldemo.cues` (typed and spoken cues),
:mod:`hldemo.train` (building an NHL from its teacher), :mod:`hldemo.demo` (the demo without UI).
"""

from .hierarchy import load_hierarchy
from .net import build_expert, build_nhl, count_macs, count_params, list_variants, load_model, save_model

__all__ = ["load_model", "save_model", "build_expert", "count_macs", "count_params", "load_hierarchy",
           "build_nhl", "list_variants"]
