"""MkDocs hooks for the documentation site (mkdocs.yml).

- The executed notebooks in ``notebooks/`` become pages ``notebooks/*.ipynb`` of the
  site (rendered by mkdocs-jupyter, not executed), read where they are: no copies.
- ``docs/*.md`` keep links that work on GitHub (``../benchmarks/RESULTS.md``,
  ``../notebooks/NN_name.ipynb``); on the site they point at the site's pages, and the
  plain mentions `notebooks/NN_name.ipynb` and `benchmarks/RESULTS.md` become links.
- Docstrings cross-reference in Sphinx roles (:func:`standardise`,
  :class:`~bansos_linkage.linkage.linker.LinkResult`), which mkdocstrings shows as text. On the
  API pages each becomes the name in code, linked to its entry when the name is found
  (from the object whose docstring holds it outwards); otherwise it stays plain code.
"""

from __future__ import annotations

import html
import re
from functools import cache
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "bansos_linkage"

_OUTSIDE_LINK = re.compile(r"\]\(\.\./(benchmarks/RESULTS\.md|notebooks/[\w.-]+\.ipynb)(#[^)]*)?\)")
_MENTION = re.compile(r"(?<![\[/])`(benchmarks/RESULTS\.md|notebooks/[\w.-]+\.ipynb)`(?!\])")
_HEADING_OR_ROLE = re.compile(
    rf'<h[1-6] id="(?P<heading>{PACKAGE}[\w.]*)"'
    r"|:(?:func|class|meth|mod|data|attr|exc|obj):<code>(?P<name>[~.\w]+)</code>"
)


def _site_target(path: str) -> str:
    return "benchmarks.md" if path == "benchmarks/RESULTS.md" else path


@event_priority(100)  # before mkdocs-jupyter turns .ipynb files into pages
def on_files(files: Files, config) -> Files:
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        # a plain File rooted at the repository (mkdocs-jupyter needs its src_dir)
        files.append(
            File(
                f"notebooks/{notebook.name}",
                src_dir=str(ROOT),
                dest_dir=config.site_dir,
                use_directory_urls=config.use_directory_urls,
            )
        )
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    if "/" in page.file.src_uri:  # only the top-level pages (docs/*.md) link like this
        return markdown
    markdown = _OUTSIDE_LINK.sub(
        lambda m: f"]({_site_target(m.group(1))}{m.group(2) or ''})", markdown
    )
    return _MENTION.sub(lambda m: f"[`{m.group(1)}`]({_site_target(m.group(1))})", markdown)


@cache
def _objects():
    import griffe  # read statically, as mkdocstrings does: nothing is imported

    return griffe.load(PACKAGE, search_paths=[str(ROOT / "src")], resolve_aliases=False)


def _find(path: str) -> str | None:
    try:
        obj = _objects().modules_collection.get_member(path)
    except Exception:  # unknown name, or an alias of something outside the package
        return None
    return obj.target_path if obj.is_alias else obj.path


def _resolve(name: str, scope: str) -> str | None:
    if name.startswith("."):  # relative to the package of the module it is written in
        parts = scope.split(".")
        while len(parts) > 1 and not _is_module(".".join(parts)):
            parts.pop()
        return _find(".".join(parts[:-1]) + "." + name.lstrip("."))
    if name.startswith(PACKAGE + ".") or name == PACKAGE:
        return _find(name)
    parts = scope.split(".")
    while parts:
        found = _find(".".join([*parts, name]))
        if found:
            return found
        parts.pop()
    return None


def _is_module(path: str) -> bool:
    try:
        return _objects().modules_collection.get_member(path).is_module
    except Exception:  # unknown name, or an alias of something outside the package
        return False


def on_page_content(content: str, page, config, files) -> str:
    if not page.file.src_uri.startswith("api/"):
        return content
    scope = PACKAGE

    def replace(m: re.Match) -> str:
        nonlocal scope
        if m.group("heading"):
            scope = m.group("heading")
            return m.group(0)
        name = m.group("name")
        shown = name.rsplit(".", 1)[-1] if name.startswith("~") else name.lstrip(".")
        code = f"<code>{html.escape(shown)}</code>"
        target = _resolve(name.lstrip("~"), scope)
        if target is None:
            return code
        return f'<autoref identifier="{target}" optional>{code}</autoref>'

    return _HEADING_OR_ROLE.sub(replace, content)
