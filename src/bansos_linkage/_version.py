"""The library's version, on its own so that any layer can record it (run manifests)
without importing the package's public API, which loads the higher layers."""

__version__ = "0.1.0"


__all__ = ["__version__"]
