"""python -m filters validate | generate | test (see filters.cli)."""

import sys

from filters.cli import main

sys.exit(main())
