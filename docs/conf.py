"""Sphinx configuration of the sklearn-lpntk documentation site.

Build it with ``pip install -e ".[docs]" && sphinx-build -W -b html docs docs/_build/html``.
The user guide is Markdown (MyST), the API reference is generated from the
numpydoc docstrings, and the example gallery is built by sphinx-gallery from
``examples/`` (the ``plot_*.py`` files are executed and their figures rendered).
"""

import os
import sys
import warnings

sys.path.insert(0, os.path.abspath(".."))

import sklearn_lpntk  # noqa: E402

project = "sklearn-lpntk"
author = "sklearn-lpntk developers"
copyright = "2026, sklearn-lpntk developers"
release = version = sklearn_lpntk.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "auto_examples/*.json",
    "**.md5",
]
myst_heading_anchors = 3

# API reference: one page per public object, from the numpydoc docstrings
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()
autodoc_inherit_docstrings = False
default_role = "obj"
# every reference must resolve (a broken "See Also" fails the -W build); other
# projects' objects are written as references but not linked (no network here)
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|scipy|sklearn|imblearn|torch|skorch|joblib|matplotlib|pandas)\..*"),
    (r"py:obj", r"named_steps"),  # an inherited property of imbalanced-learn's Pipeline
]

# the example gallery, built from examples/ on every build
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "doc_module": ("sklearn_lpntk",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"sklearn_lpntk": None},
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "show_memory": False,
    "min_reported_time": 1,
    "write_computation_times": False,  # its page loads scripts from a CDN
}

html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-lpntk {version}"
html_static_path = ["_static"]
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "navigation_with_keys": False,
}
html_sidebars = {"index": [], "getting_started": []}

# matplotlib draws off-screen while the gallery runs
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", message="Matplotlib is currently using agg")


def _skip_request_setters(app, what, name, obj, skip, options):
    """Leave out scikit-learn's generated ``set_*_request`` methods (metadata routing)."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_request_setters)
