"""Execute notebooks in place so that the stored outputs are fresh (run from the repo root),
e.g. after `make notebooks-sync` wrote a changed notebooks/src/NN_name.py into its notebook.

.venv/bin/python scripts/notebooks/execute.py notebooks/03_link_dtks_regsosek.ipynb
"""

from __future__ import annotations

import sys

import nbformat
from nbclient import NotebookClient


def main(paths: list[str]) -> None:
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=900, kernel_name="python3").execute()
        nbformat.write(nb, path)
        print(f"executed {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
