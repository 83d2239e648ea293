"""``python -m bansos_linkage`` runs the CLI."""

import sys

from bansos_linkage.cli import run

sys.exit(run())


__all__: list[str] = []
