"""``python -m hldemo.cues``: match typed or spoken cues (see :func:`hldemo.cues.cli.main`)."""

import sys

from .cli import main

sys.exit(main())
