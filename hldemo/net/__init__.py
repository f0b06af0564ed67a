"""The networks: a frozen timm trunk, the NHL head (a tree of branches), efficient experts and their costs.

* :mod:`.backbone` – the teacher and the trunk cut from it (``load_teacher``, ``Trunk``);
* :mod:`.model` – ``NHL`` and its head of branches, top-down attention gains;
* :mod:`.variants` – the registry of named configurations (``configs/*.json``) and ``build_nhl``;
* :mod:`.checkpoint` – ``load_model`` / ``save_model`` (safetensors + JSON, local or Hub);
* :mod:`.expert` – ``build_expert``: only the trunk and the branches a selection needs;
* :mod:`.flops`, :mod:`.timing` – MACs and parameters (FlopCounterMode), and the one way to time a forward.
"""

from .checkpoint import load_model, save_model
from .expert import build_expert
from .flops import count_macs, count_params
from .variants import build_nhl, list_variants

__all__ = ["load_model", "save_model", "build_expert", "count_macs", "count_params", "build_nhl", "list_variants"]
