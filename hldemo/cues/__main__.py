"""``python -m hldemo.cues``: match typed or spoken cues (see :func:`hldemo.cues.matcher.main`)."""

import sys

from .matcher import main

sys.exit(main())
