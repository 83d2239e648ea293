"""The public API explains itself: every module says what it exports, and each export
exists and has a docstring."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import bansos_linkage

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(bansos_linkage.__path__, prefix="bansos_linkage.")
    if not info.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_every_module_declares_its_exports_and_documents_them(name):
    module = importlib.import_module(name)
    assert isinstance(getattr(module, "__all__", None), list | tuple), f"{name} has no __all__"
    assert module.__doc__, f"{name} has no module docstring"
    for export in module.__all__:
        value = getattr(module, export)  # AttributeError: a name it does not have
        if inspect.isfunction(value) or inspect.isclass(value):
            assert inspect.getdoc(value), f"{name}.{export} has no docstring"


def test_the_package_lists_its_lazy_names_too():
    listed = dir(bansos_linkage)
    for name in ("Linker", "LinkResult", "assemble", "NotFittedError", "standardise"):
        assert name in listed
        assert getattr(bansos_linkage, name) is not None
