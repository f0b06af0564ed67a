"""hldemo: hierarchical NHL/PHL networks, efficient experts and top-down attention (arXiv 2308.05128)."""

from .checkpoint import load_model, save_model
from .expert import build_expert
from .flops import count_macs, count_params
from .hierarchy import load_hierarchy
from .variants import build_nhl, list_variants

__all__ = ["load_model", "save_model", "build_expert", "count_macs", "count_params", "load_hierarchy",
           "build_nhl", "list_variants"]
