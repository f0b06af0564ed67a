"""``python -m hldemo.demo IMAGE [--cue TEXT | --audio FILE]``: see :func:`hldemo.demo.engine.main`."""

import sys

from .engine import main

sys.exit(main())
