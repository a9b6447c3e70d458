"""Sphinx configuration: the Markdown pages in this folder, via MyST."""

project = "sklearn-lpntk"
extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
html_theme = "alabaster"
myst_heading_anchors = 3
