"""Typed errors: every failure a user can cause raises one of these, with a message they can act on."""

import sys
from contextlib import contextmanager
from typing import Iterator


class HLDemoError(Exception):
    """Base class of every error hldemo raises on purpose."""


class HierarchyError(HLDemoError, ValueError):
    """A hierarchy file is malformed, or a node/category name is unknown."""


class UnknownCategoryError(HierarchyError, KeyError):
    """A category or node that the hierarchy does not contain."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class EmptySelectionError(HierarchyError):
    """An expert or attention cue was asked for with no categories at all."""


class InputError(HLDemoError, ValueError):
    """An image or tensor that the model cannot take (wrong shape, size, mode, unreadable)."""


class CheckpointError(HLDemoError, ValueError):
    """A checkpoint or config that is missing, malformed or does not fit the model."""


class AudioError(HLDemoError, ValueError):
    """Audio that cannot be read or used (corrupt, empty, wrong format)."""


class DeviceError(HLDemoError, ValueError):
    """A device or dtype this machine cannot run on (``--device cuda`` without a GPU, float16 on a CPU)."""


@contextmanager
def exit_on_user_error(prog: str) -> Iterator[None]:
    """For command-line entry points: an error the user caused becomes one line on stderr
    (``prog: error: message``) and exit status 2, like argparse's usage errors, not a traceback."""
    try:
        yield
    except HLDemoError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
