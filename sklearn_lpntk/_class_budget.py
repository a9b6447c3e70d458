"""Class budgets: how a pruner shares its total among the classes (``class_budget``).

"equal" keeps the same fraction of every class. "error" follows DRoP
(Vysogorets, Ahuja and Kempe, ICLR 2025): a class keeps a fraction of its rows
proportional to its error rate, measured out of fold on the training rows
(two folds, each predicted by a network trained on the other). A dict gives
the weights directly. The counts themselves come from
:func:`sklearn_lpntk.selection.keep_counts`: the same total as "equal", at
least one row per class.
"""

import numbers

import numpy as np

from ._networks import DEFAULT_MAX_EPOCHS, resolved_max_epochs, train_network
from ._progress import Stopwatch

CLASS_BUDGETS = ("equal", "error")
#: The parameters of a pruner that the out-of-fold training follows.
TRAINING_PARAMS = ("net", "max_epochs", "lr", "batch_size", "device")


def check_class_budget(budget, classes):
    """The weights of a dict budget as an array in class order, or a ValueError."""
    labels = classes.tolist()
    keys = list(budget)
    missing = [c for c in labels if c not in keys]
    extra = [k for k in keys if k not in labels]
    if missing or extra:
        raise ValueError(
            f"class_budget must give a weight for every class and only for them; missing "
            f"{missing}, unknown {extra} (the classes are {labels})."
        )
    weights = [budget[c] for c in labels]
    if not all(
        isinstance(w, numbers.Real) and not isinstance(w, bool) and np.isfinite(w) and w >= 0
        for w in weights
    ) or not any(w > 0 for w in weights):
        raise ValueError(
            f"class_budget weights must be finite numbers >= 0, not all 0; got {budget!r}. "
            "A class keeps a fraction of its rows proportional to its weight."
        )
    return np.asarray(weights, dtype=np.float64)


def out_of_fold_error(
    X,
    y,
    n_classes,
    seed,
    watch,
    *,
    net=None,
    max_epochs=None,
    lr=None,
    batch_size=None,
    device="auto",
):
    """Every class's error rate out of fold: two halves, each predicted by a network
    trained on the other.

    The keywords are the pruner's own network and training (its
    :data:`TRAINING_PARAMS`); a pruner that trains none gets the default network
    trained for 10 epochs.
    """
    rng = np.random.RandomState(seed)
    fold = np.empty(len(y), dtype=np.intp)
    for c in range(n_classes):  # alternate the rows of every class between the folds
        rows = np.flatnonzero(y == c)
        fold[rows[rng.permutation(len(rows))]] = np.arange(len(rows)) % 2
    epochs = resolved_max_epochs(net, max_epochs)
    wrong = np.zeros(len(y), dtype=bool)
    with watch.phase("budget"):
        for f, train_seed in zip((0, 1), rng.randint(np.iinfo(np.int32).max, size=2)):
            train, test = fold != f, fold == f
            if not train.any() or not test.any():
                continue
            trained = train_network(
                net,
                X[train],
                y[train],
                n_classes=n_classes,
                max_epochs=epochs if epochs > 0 else DEFAULT_MAX_EPOCHS,
                lr=lr,
                batch_size=batch_size,
                device=device,
                verbose=0,
                seed=int(train_seed),
                watch=Stopwatch(),  # the whole training counts as "budget"
            )
            scores = trained.predict_proba(X[test])
            wrong[test] = np.argmax(scores, axis=1) != y[test]
    return np.array([wrong[y == c].mean() for c in range(n_classes)])
