"""Write a tutorial notebook from its cells and execute it (used by the build_NN scripts)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def build_notebook(cells: list[tuple[str, str]], out: Path) -> None:
    """Cells are ``("md" | "code", source)``; the executed notebook is written to ``out``."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src)
        for kind, src in cells
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    NotebookClient(nb, timeout=600, kernel_name="python3").execute()
    nbformat.write(nb, out)
    # the project's lint and format rules apply to notebooks too (sources only)
    ruff = Path(sys.executable).with_name("ruff")
    subprocess.run([str(ruff), "check", "--fix", "--quiet", str(out)], check=True)
    subprocess.run([str(ruff), "format", "--quiet", str(out)], check=True)
    print(f"wrote {out}")
