"""``python -m hldemo.train`` (or ``torchrun -m hldemo.train``): see :mod:`hldemo.train.fit`."""

from .fit import main

main()
