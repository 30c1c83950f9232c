"""``python -m spikecast.cli``: the ``spikecast`` command without the console script."""

import sys

from spikecast.cli import main

sys.exit(main())
