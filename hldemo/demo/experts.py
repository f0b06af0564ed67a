"""The demo's cache of efficient experts: cut once per category set, costed once, kept in an LRU."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterable

import torch

from ..net.expert import build_expert
from ..net.flops import count_macs, count_params

EXPERT_CACHE_SIZE = 32  # experts kept in memory (each holds sliced copies of its branch weights)


@dataclass
class ExpertEntry:
    """One cached expert and its cost (the shared trunk included)."""

    model: torch.nn.Module
    macs: int
    params: int


class ExpertCache:
    """Efficient experts cut from one NHL, each counted once (thread-safe LRU).

    Args:
        model: the full NHL.
        size: experts kept; the least recently used goes first.
    """

    def __init__(self, model: torch.nn.Module, size: int = EXPERT_CACHE_SIZE):
        self.model = model
        self.size = max(1, int(size))
        self.full = ExpertEntry(model, count_macs(model), count_params(model))
        self._entries: OrderedDict[tuple[str, ...], ExpertEntry] = OrderedDict()
        self._lock = threading.Lock()
        self._macs_lock = threading.Lock()  # FlopCounterMode: one count at a time

    def get(self, categories: Iterable[str]) -> ExpertEntry:
        """The expert for a set of wnids (the full NHL for none or all of them)."""
        key = tuple(sorted(set(categories)))
        if not key or len(key) == len(self.model.categories):
            return self.full
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry
        expert = build_expert(self.model, list(key)).eval()
        with self._macs_lock:
            macs = count_macs(expert)
        entry = ExpertEntry(expert, macs, count_params(expert))
        with self._lock:
            entry = self._entries.setdefault(key, entry)  # another thread may have built it too
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return entry

    def info(self) -> dict:
        """Cache size and the category count of each cached expert (for tests and monitoring)."""
        with self._lock:
            return {"size": len(self._entries), "max": self.size, "experts": [len(k) for k in self._entries]}
