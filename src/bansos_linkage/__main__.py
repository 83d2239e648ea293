"""``python -m bansos_linkage`` runs the CLI."""

import sys

from bansos_linkage.cli import main

sys.exit(main())


__all__: list[str] = []
