"""`python -m murano_sim`: the murano-sim command, for when the script is not on PATH."""

import sys

from .cli import main

sys.exit(main())
