"""The demo without its UI: :mod:`.engine` (``DemoEngine``: one request from image and cue to
predictions, costs and the expert; ``python -m hldemo.demo``) and :mod:`.render` (every panel's
wording and the hierarchy picture). ``app.py`` only lays these out."""

from .engine import DemoEngine, DemoResult

__all__ = ["DemoEngine", "DemoResult"]
