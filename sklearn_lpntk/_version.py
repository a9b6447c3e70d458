"""The package's version, in a module of its own that imports nothing.

``pyproject.toml`` reads it for the distribution's metadata, the package root
re-exports it, and the fit cache puts it in its keys, all without importing
the package root from below.
"""

__version__ = "0.6.0"
