"""``python -m art2music`` is the same as the ``art2music`` command."""

import sys

from art2music.cli import main

sys.exit(main())
