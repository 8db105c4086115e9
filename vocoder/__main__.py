"""``python -m vocoder fit --config configs/vocoder.yaml`` (see :mod:`vocoder.cli`)."""

import sys

from vocoder.cli import main

sys.exit(main())
