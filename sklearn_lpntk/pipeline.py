"""A pipeline in which pruning steps resample the training data.

:class:`Pipeline` is imbalanced-learn's pipeline with one rule changed: a step
that can ``fit_resample`` is always resampled while fitting, even when it also
offers ``fit_transform`` (as :class:`~sklearn_lpntk.LpNTKPruner` does, so that
``pruner.fit_transform(X, y)`` returns the kept ``(X, y)`` on arrays).
Two more changes follow from it. Per-row fit parameters of the steps after a
sampler (``sample_weight`` above all) are cut to the rows the sampler kept,
with and without scikit-learn's metadata routing; and ``set_output`` also sets
the output container of the samplers that offer it. Everything else is
imbalanced-learn's behaviour: samplers act only when the pipeline is fitted,
and ``predict``, ``score`` and ``transform`` pass every row of new data through
the remaining steps.
"""

from imblearn import pipeline as _imb_pipeline
from sklearn import get_config
from sklearn import pipeline as _sk_pipeline
from sklearn.base import clone
from sklearn.utils.validation import _num_samples, check_memory

from ._validation import params_of_kept_rows

try:  # the helper moved between versions; imblearn re-exports a compatible one
    from sklearn_compat.utils._user_interface import _print_elapsed_time
except ImportError:  # pragma: no cover
    from sklearn.utils._user_interface import _print_elapsed_time

__all__ = ["Pipeline", "make_pipeline"]


#: What :meth:`Pipeline._fit` uses of imbalanced-learn's private API: the names
#: of module functions and Pipeline methods, with the parameters it passes.
_PRIVATE_API = {
    "_fit_transform_one": (
        "transformer",
        "X",
        "y",
        "weight",
        "message_clsname",
        "message",
        "params",
    ),
    "_fit_resample_one": ("sampler", "X", "y", "message_clsname", "message", "params"),
    "Pipeline._iter": ("with_final", "filter_passthrough", "filter_resample"),
    "Pipeline._log_message": ("step_idx",),
    "Pipeline._get_metadata_for_step": ("step_idx", "step_params", "all_params"),
    "Pipeline._fit": ("X", "y", "routed_params", "raw_params"),
}
# Pipeline._fit also relies on imbalanced-learn's fit, fit_transform, fit_predict and
# fit_resample reading the final step's parameters from the routed_params that _fit
# received (so that cutting them in place reaches the final step); the tests of
# sample_weight in a pipeline fail if a release changes that.


def private_api_problems():
    """What :class:`Pipeline` needs from imbalanced-learn's private API and is missing.

    Returns a list of messages (empty when everything is in place). The tests
    fail with these messages, naming the installed version, when an
    imbalanced-learn release changes the helpers this pipeline overrides.
    """
    import inspect

    problems = []
    for dotted, wanted in _PRIVATE_API.items():
        obj = _imb_pipeline
        for part in dotted.split("."):
            obj = getattr(obj, part, None)
        if obj is None:
            problems.append(f"imblearn.pipeline.{dotted} is missing")
            continue
        have = set(inspect.signature(obj).parameters)
        missing = [p for p in wanted if p not in have]
        if missing:
            problems.append(f"imblearn.pipeline.{dotted} lacks parameters {missing}")
    return problems


def _is_sampler(step):
    return hasattr(step, "fit_resample")


class Pipeline(_imb_pipeline.Pipeline):
    """Chain transformers, samplers (pruners) and a final estimator.

    Identical to :class:`imblearn.pipeline.Pipeline` except that a step with
    ``fit_resample`` is treated as a sampler even if it also has
    ``fit_transform``, and that fit parameters follow the rows a sampler
    keeps. Samplers change the rows (and labels) only during ``fit``; at
    prediction time they are skipped, so every test row is scored.

    A fit parameter of a step after a sampler that holds one entry per
    training row (an array, list, sparse matrix or DataFrame of
    ``n_samples`` entries, as scikit-learn's cross-validation decides what
    to split) is cut to the rows the sampler kept (its ``sample_indices_``),
    both when it is given as ``pipe.fit(X, y, clf__sample_weight=w)`` and
    when scikit-learn's metadata routing routes it
    (``sklearn.set_config(enable_metadata_routing=True)``,
    ``clf.set_fit_request(sample_weight=True)``, ``pipe.fit(X, y,
    sample_weight=w)``). Parameters named in ``transform_input`` are left
    alone. Without metadata routing, ``pipe.fit(X, y, step__param=v)``
    for a sampler step reaches its ``fit_resample`` (imbalanced-learn's
    pipeline drops it silently; a pruner refuses it with a TypeError). A
    sampler that changes the number of rows without
    ``sample_indices_`` (an over-sampler such as SMOTE) and a later step
    with per-row parameters raise a ValueError. The pruners themselves take
    no fit parameters (their brief network is trained unweighted).

    Parameters
    ----------
    steps : list of (str, estimator) tuples
        The steps, the last one being the final estimator.
    memory : None, str or object with the joblib.Memory interface, default=None
        Caches fitted transformers and samplers.
    transform_input : list of str, default=None
        See :class:`imblearn.pipeline.Pipeline`.
    verbose : bool, default=False
        Print the time taken by each step.

    Attributes
    ----------
    named_steps : Bunch
        Access to the steps by name.
    """

    def _validate_steps(self):
        names, estimators = zip(*self.steps)
        self._validate_names(names)
        for t in estimators[:-1]:
            if t is None or t == "passthrough":
                continue
            if not (_is_sampler(t) or (hasattr(t, "fit") and hasattr(t, "transform"))):
                raise TypeError(
                    "All intermediate steps of the chain should be estimators that "
                    "implement fit and transform, or fit_resample, or be the string "
                    f"'passthrough'. '{t}' (type {type(t)}) doesn't."
                )
            if isinstance(t, _sk_pipeline.Pipeline):
                raise TypeError("All intermediate steps of the chain should not be Pipelines")
        last = estimators[-1]
        if last is not None and last != "passthrough" and not hasattr(last, "fit"):
            raise TypeError(
                "Last step of Pipeline should implement fit or be the string "
                f"'passthrough'. '{last}' (type {type(last)}) doesn't."
            )

    def _fit(self, X, y=None, routed_params=None, raw_params=None):
        self.steps = list(self.steps)
        self._validate_steps()
        memory = check_memory(self.memory)
        fit_transform_one = memory.cache(_imb_pipeline._fit_transform_one)
        fit_resample_one = memory.cache(_imb_pipeline._fit_resample_one)
        # like imbalanced-learn: steps are cloned only when caching is enabled
        no_cache = hasattr(memory, "location") and memory.location is None
        for step_idx, name, step in self._iter(
            with_final=False, filter_passthrough=False, filter_resample=False
        ):
            if step is None or step == "passthrough":
                with _print_elapsed_time("Pipeline", self._log_message(step_idx)):
                    continue
            step = step if no_cache else clone(step)
            message = self._log_message(step_idx)
            if _is_sampler(step):  # the changed rule: resample first
                n_rows = _num_samples(X)
                params = routed_params[name]
                if not get_config()["enable_metadata_routing"]:
                    # "step__param" fills only the "fit" entry: imbalanced-learn would drop
                    # it for a sampler; give it to fit_resample (a pruner refuses it)
                    params = {**params, "fit_resample": params.get("fit", {})}
                X, y, fitted = fit_resample_one(
                    step,
                    X,
                    y,
                    message_clsname="Pipeline",
                    message=message,
                    params=params,
                )
                self._follow_kept_rows(routed_params, step_idx, fitted, n_rows, _num_samples(X))
            else:
                X, fitted = fit_transform_one(
                    step,
                    X,
                    y,
                    weight=None,
                    message_clsname="Pipeline",
                    message=message,
                    params=self._get_metadata_for_step(
                        step_idx=step_idx,
                        step_params=routed_params[name],
                        all_params=raw_params,
                    ),
                )
            self.steps[step_idx] = (name, fitted)
        return X, y

    def _follow_kept_rows(self, routed_params, step_idx, sampler, n_before, n_after):
        """Cut, in place, the per-row fit parameters of every step after ``step_idx``
        to the rows ``sampler`` kept (``routed_params`` is this fit's own)."""
        skip = set(self.transform_input or ())
        # .get, not "in" or iteration: scikit-learn's stand-in when nothing is routed
        # answers every key and defines neither
        later = [routed_params.get(name) for name, _ in self.steps[step_idx + 1 :]]
        per_method = [params for by_method in later if by_method for params in by_method.values()]
        if not any(per_method):
            return
        kept = getattr(sampler, "sample_indices_", None)
        if kept is None:
            if n_after == n_before:
                return  # the same rows: nothing to follow
            names = sorted({k for params in per_method for k in params if k not in skip})
            raise ValueError(
                f"Step {self.steps[step_idx][0]!r} ({type(sampler).__name__}) turned "
                f"{n_before} training rows into {n_after} without saying which rows it kept "
                f"(no sample_indices_), so the fit parameters {names} of the later steps "
                "cannot follow the rows. Use a sampler that only selects rows, or give "
                "those parameters after resampling yourself."
            )
        cut = {}  # one array routed to several steps (and methods) is cut once
        for params in per_method:
            for key, value in list(params.items()):
                if (key, id(value)) not in cut:
                    new = params_of_kept_rows({key: value}, kept, n_before, skip)[key]
                    cut[key, id(value)] = (value, new)  # value held: its id stays unique
                params[key] = cut[key, id(value)][1]

    def set_output(self, *, transform=None):
        """Set the output container of every step that offers one, samplers included.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"}, default=None
            As for scikit-learn's :meth:`sklearn.pipeline.Pipeline.set_output`;
            a pruner's setting chooses the container of the kept ``X``.

        Returns
        -------
        self : Pipeline
            This pipeline.
        """
        super().set_output(transform=transform)
        for _, _, step in self._iter(filter_resample=False):
            if _is_sampler(step) and hasattr(step, "set_output"):
                step.set_output(transform=transform)
        return self


def make_pipeline(*steps, memory=None, transform_input=None, verbose=False):
    """Build a :class:`Pipeline` from estimators, naming each step after its class.

    ``make_pipeline(LpNTKPruner(), LogisticRegression())`` names the steps
    ``"lpntkpruner"`` and ``"logisticregression"``, so a grid over the prune
    ratio uses the key ``"lpntkpruner__prune_ratio"``.

    Parameters
    ----------
    *steps : estimators
        Transformers, samplers and a final estimator.
    memory : None, str or joblib.Memory, default=None
        Caches fitted steps.
    transform_input : list of str, default=None
        See :class:`imblearn.pipeline.Pipeline`.
    verbose : bool, default=False
        Print the time taken by each step.

    Returns
    -------
    pipeline : Pipeline
    """
    return Pipeline(
        _sk_pipeline._name_estimators(steps),
        memory=memory,
        transform_input=transform_input,
        verbose=verbose,
    )
