"""Parameters shared by several pruners: their constraints and documentation, once.

Each group is a dict of scikit-learn parameter constraints and a numpydoc
fragment; :func:`fill_doc` puts the fragments into a class docstring where it
says ``{network_params}``, ``{max_memory_param}``, ``{memory_param}``,
``{budget_param}``, ``{encoder_param}``, ``{common_attributes}`` or
``{trained_attributes}``.
"""

from numbers import Integral, Real

import torch
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ._engine import LpNTK

NETWORK_CONSTRAINTS = {
    "net": "no_validation",  # checked by check_net, with a precise message
    "lr": [Interval(Real, 0, None, closed="neither"), None],
    "batch_size": [Interval(Integral, 1, None, closed="left"), None],
    "device": [str, torch.device],
}

NETWORK_DOC = """\
    net : None, skorch net, or torch.nn.Module class or instance, default=None
        The network trained briefly. None builds a
        :class:`~sklearn_lpntk.LogitMLP` (one hidden layer of 256 ReLU units)
        trained with Adam and cross-entropy. A module class receives
        ``n_inputs``/``n_classes`` (or ``input_units``/``output_units``) when
        its constructor takes them. A skorch net is cloned and a module
        instance deep-copied: the argument itself is never modified. The module
        must return logits (no softmax).
    lr : float, default=None
        Learning rate. None: 1e-3 (Adam) for a net built here, the skorch
        net's own value otherwise.
    batch_size : int, default=None
        Training batch size. None: 128 for a net built here, the skorch net's
        own value otherwise.
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        Where training and gradients run. "auto" uses CUDA when present.
    random_state : int, RandomState instance or None, default=None
        Seeds every initialisation, the training order and the random
        tie-breaks. The same value gives the same ``sample_indices_`` on the
        same machine.
    verbose : int, default=0
        0: silent. 1: progress bars and a timing summary. 2: also the skorch
        training log (and, for lpNTK, the memory plan of each class)."""

ENCODER_CONSTRAINTS = {
    "encoder": [None, StrOptions({"auto"}), HasMethods(["fit", "transform"])],
}

ENCODER_DOC = """\
    encoder : "auto", None or transformer, default="auto"
        How X reaches the network; the pruner returns the user's own rows
        whatever it is (same columns, dtypes, index and missing values).
        "auto": a table (pandas or polars DataFrame, or 2-D array) with text
        or categorical columns or with missing values is encoded inside the
        fit: numbers (booleans as 0 / 1) by median imputation, missing-value
        indicators and standard scaling; text and categories one-hot, levels
        in under 1 % of the rows grouped (at most 32 columns each), a missing
        value a level of its own. Numeric input without missing values goes to
        the network unchanged. Dates, durations and other
        values have no default encoding: a ValueError names their columns.
        None: never encode (non-numeric columns and missing values are
        errors). A scikit-learn transformer (e.g. a ``ColumnTransformer``):
        cloned, fitted on ``(X, y)`` and applied to every X; it must return
        finite numbers. The fitted encoding is ``encoder_``."""

#: The constraints of the parameters LpNTKPruner and LpNTKCleaner both have.
LPNTK_CONSTRAINTS = {
    **NETWORK_CONSTRAINTS,
    **ENCODER_CONSTRAINTS,
    "kernel": [None, LpNTK],
    "max_memory": [None, str, Interval(Real, 1, None, closed="left")],
    "max_epochs": [Interval(Integral, 0, None, closed="left"), None],
    "n_jobs": [Integral, None],
}

MAX_MEMORY_DOC = """\
    max_memory : "auto", None, int or str, default="auto"
        Memory the kernel computation may hold at once, e.g. "4GB" or "512MiB"
        or a number of bytes, on the device where it runs. Chunk sizes follow
        from it; a class whose matrix does not fit is read row by row, through
        a neighbour graph or in blocks (as its rule can), and only as many
        classes run in parallel as it holds. "auto" is half of the free
        memory; None means no limit. A limit too small for the work raises
        ``MemoryLimitError`` (a ValueError) before training, naming the memory
        needed."""


MEMORY_DOC = """\
    memory : None, str, path or joblib.Memory, default=None
        Cache for the part of the fit that does not depend on ``prune_ratio``
        (training, kernels, scores, keep orders), as in scikit-learn: a
        directory, or an object with the ``joblib.Memory`` interface. A fit on
        the same data with the same parameters except ``prune_ratio``,
        ``verbose`` and ``n_jobs`` then reads it back and only applies the
        ratio, so a grid search over ``prune_ratio`` trains once per fold.
        Only fits with an integer ``random_state`` are cached. None caches
        nothing."""

BUDGET_DOC = """\
    class_budget : {"equal", "error"} or dict, default="equal"
        How the kept rows are shared among the classes; the total is that of
        "equal" in every case, and every class keeps at least one row.
        "equal": the same fraction of every class (``k_c``).
        "error": DRoP's budget (Vysogorets et al., ICLR 2025): a class keeps a
        fraction of its rows proportional to its error rate, measured out of
        fold on the training rows (two halves, each predicted by a network
        trained on the other, as the pruner trains its own; no test data).
        A dict ``{label: weight}`` gives the weights directly. The counts are
        in ``sampling_strategy_``, the weights in ``class_weights_``; see
        ``docs/algorithm.md``."""

COMMON_ATTRIBUTES_DOC = """\
    classes_, n_features_in_, feature_names_in_, sampling_strategy_ : see LpNTKPruner
        As for :class:`~sklearn_lpntk.LpNTKPruner`.
    encoder_ : transformer or None
        The encoding fitted on X for the network (``encoder``), None when X was
        used as it is.
    timings_, from_cache_, class_weights_ : see LpNTKPruner
        As for :class:`~sklearn_lpntk.LpNTKPruner`."""

TRAINED_ATTRIBUTES_DOC = f"""\
    sample_indices_ : ndarray
        Kept row indices, ascending.
    keep_order_ : dict
        Every class's rows (by class label) in the order they are kept; a
        prune ratio keeps the first ``k_c`` of each. For the score pruners: by
        decreasing score, ties in random order.
    net_ : skorch.NeuralNetClassifier
        The network of the last initialisation (run).
{COMMON_ATTRIBUTES_DOC}"""


def fill_doc(cls):
    """Class decorator: put the shared parameter fragments into the docstring."""
    cls.__doc__ = (
        cls.__doc__.replace("    {network_params}\n", NETWORK_DOC + "\n")
        .replace("    {max_memory_param}\n", MAX_MEMORY_DOC + "\n")
        .replace("    {memory_param}\n", MEMORY_DOC + "\n")
        .replace("    {budget_param}\n", BUDGET_DOC + "\n")
        .replace("    {encoder_param}\n", ENCODER_DOC + "\n")
        .replace("    {common_attributes}\n", COMMON_ATTRIBUTES_DOC + "\n")
        .replace("    {trained_attributes}\n", TRAINED_ATTRIBUTES_DOC + "\n")
    )
    return cls


def check_n_jobs(n_jobs):
    """Refuse ``n_jobs=0`` (it runs no job) before any work."""
    if n_jobs == 0:
        raise ValueError(
            "n_jobs=0 runs no job. Pass a positive number of parallel jobs, -1 for all "
            "processors, or None for one job (or what joblib.parallel_config says)."
        )
