"""``python -m edgeml``: the same CLI as the ``edgeml`` command."""

import sys

from edgeml.cli import main

sys.exit(main())
