"""``python -m bansos_linkage.cli`` runs the CLI, as ``python -m bansos_linkage`` does."""

import sys

from bansos_linkage.cli.app import main

__all__: list[str] = []

sys.exit(main())
