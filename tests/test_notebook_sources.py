"""notebooks/src/*.py (jupytext percent format) are the sources of notebooks/*.ipynb.

The executed notebooks keep their outputs for the documentation; their cells must be
the sources' cells, so that what ruff checks is what runs. `make notebooks-sync`
writes the sources into the notebooks (outputs kept).
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SOURCES = sorted((NOTEBOOKS / "src").glob("*.py"))


def _cells(notebook) -> list[tuple[str, str]]:
    # sources only (outputs, ids and metadata are the execution's); jupytext drops
    # blank lines at a cell's ends
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


def test_every_notebook_has_a_source():
    notebooks = {path.stem for path in NOTEBOOKS.glob("*.ipynb")}
    assert notebooks, "no notebooks found"
    assert notebooks == {path.stem for path in SOURCES}


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.stem)
def test_notebook_cells_are_its_source(source: Path):
    notebook = nbformat.read(NOTEBOOKS / f"{source.stem}.ipynb", as_version=4)
    expected = _cells(jupytext.read(source))
    actual = _cells(notebook)
    for k, (want, got) in enumerate(zip(expected, actual, strict=False)):
        assert got == want, f"cell {k} differs from {source.name}: run `make notebooks-sync`"
    assert len(actual) == len(expected), (
        f"{len(actual)} cells, its source {len(expected)}: run `make notebooks-sync`"
    )
