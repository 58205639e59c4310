"""``python -m marlkit.cli ...`` runs the ``marlkit`` command."""

import sys

from marlkit.cli import main

sys.exit(main(sys.argv[1:]))
