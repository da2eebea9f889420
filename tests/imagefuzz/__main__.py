"""``python -m tests.imagefuzz``: see :mod:`tests.imagefuzz.run`."""

import sys

from tests.imagefuzz.run import main

sys.exit(main())
