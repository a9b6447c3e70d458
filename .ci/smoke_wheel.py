"""CI: the installed wheel, not the checkout, imports, carries its licence and prunes.

Run by ``.ci/run`` in a fresh venv holding only the built wheel (and torch), from a
directory outside the checkout.
"""

import sysconfig
from importlib import metadata
from pathlib import Path

from sklearn.datasets import load_digits

import sklearn_lpntk
from sklearn_lpntk import LpNTKPruner

where = Path(sklearn_lpntk.__file__).resolve().parent
site = Path(sysconfig.get_paths()["purelib"]).resolve()
assert where.is_relative_to(site), f"imported {where}, not the wheel installed in {site}"
assert metadata.version("sklearn-lpntk") == sklearn_lpntk.__version__
files = [str(f) for f in metadata.files("sklearn-lpntk")]
assert any(f.endswith("licenses/LICENSE") for f in files), "no LICENSE installed"

X, y = load_digits(return_X_y=True)
X, y = X[:400], y[:400]
X_kept, y_kept = LpNTKPruner(prune_ratio=0.3, max_epochs=2, random_state=0).fit_resample(X, y)
assert len(X_kept) == len(y_kept) < len(y) and set(y_kept) == set(y)
print(f"sklearn-lpntk {sklearn_lpntk.__version__} from {where}: kept {len(y_kept)} of {len(y)}")
