"""``python -m sklearn_lpntk``: the same as the ``sklearn-lpntk`` command."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
