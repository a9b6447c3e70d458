"""Parameter objects: small option holders with scikit-learn's parameter protocol.

A keep-rule (``sklearn_lpntk.rules``) or the kernel (``sklearn_lpntk.LpNTK``) is
configured by an object whose options are its constructor's keyword arguments,
as scikit-learn does for a Gaussian process's kernel. :class:`Options` gives
such an object what scikit-learn reads from an estimator's parameter:
``get_params`` (deep, with ``name__option`` keys), ``set_params`` (nested),
a repr that shows the options that differ from their defaults, and equality of
type and options. So ``clone`` copies it, ``GridSearchCV`` reaches
``<step>__keep__<option>``, it pickles, and an estimator's repr shows it.

Standard library only: the engine (torch) and the selection layer (NumPy) both
build on it without importing scikit-learn.
"""

import inspect
from numbers import Integral, Real


class Options:
    """Base class of parameter objects: options are the constructor's keywords.

    A subclass stores every constructor argument under its own name and does
    nothing else in ``__init__`` (checks happen in :meth:`check`, called by the
    estimator before any work), as scikit-learn asks of estimators.
    """

    @classmethod
    def _option_names(cls):
        signature = inspect.signature(cls.__init__)
        return sorted(
            name
            for name, p in signature.parameters.items()
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        )

    @classmethod
    def _defaults(cls):
        signature = inspect.signature(cls.__init__)
        return {
            name: p.default
            for name, p in signature.parameters.items()
            if name != "self" and p.default is not p.empty
        }

    def get_params(self, deep=True):
        """The options, by name.

        Parameters
        ----------
        deep : bool, default=True
            Also return the options of options that are parameter objects
            themselves, as ``name__option``.

        Returns
        -------
        params : dict
        """
        out = {}
        for name in self._option_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{k}", v) for k, v in value.get_params(deep=True).items())
            out[name] = value
        return out

    def set_params(self, **params):
        """Set options (``name__option`` for an option of an option); returns self.

        Parameters
        ----------
        **params : dict
            Option names and values.

        Returns
        -------
        self : object
        """
        valid = self._option_names()
        nested = {}
        for key, value in params.items():
            name, sep, sub = key.partition("__")
            if name not in valid:
                raise ValueError(
                    f"{type(self).__name__} has no option {name!r}; its options are "
                    f"{', '.join(valid) or 'none'}."
                )
            if sep:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            getattr(self, name).set_params(**sub_params)
        return self

    def check(self):
        """Raise a ValueError naming an option whose value cannot work (before any work)."""

    def __repr__(self):
        defaults = self._defaults()
        shown = []
        for name in self._option_names():
            value = getattr(self, name)
            if name in defaults and _same(value, defaults[name]):
                continue
            shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def __eq__(self, other):
        return type(self) is type(other) and all(
            _same(getattr(self, n), getattr(other, n)) for n in self._option_names()
        )

    def __hash__(self):
        return hash((type(self).__name__, repr(self)))


def _same(a, b):
    try:
        return bool(a == b) if type(a) is type(b) else False
    except (TypeError, ValueError):  # arrays and other objects without a plain ==
        return a is b


def check_choice(owner, name, value, choices):
    """Raise a ValueError naming ``owner``'s option ``name`` unless ``value`` is a choice."""
    if value not in choices:
        raise ValueError(
            f"{owner}({name}={value!r}) is not supported; {name} must be one of "
            f"{', '.join(repr(c) for c in choices)}."
        )


def check_fraction(owner, name, value, *, auto=False, closed_right=False):
    """Raise a ValueError unless ``value`` is a number in [0, 1) (or 1 with
    ``closed_right``), or "auto" where allowed."""
    if auto and value == "auto":
        return
    ok = (
        isinstance(value, Real)
        and not isinstance(value, bool)
        and 0 <= value
        and (value <= 1 if closed_right else value < 1)
    )
    if not ok:
        upper = "1]" if closed_right else "1)"
        extra = ' or "auto"' if auto else ""
        raise ValueError(
            f"{owner}({name}={value!r}): {name} must be a number in [0, {upper}{extra}."
        )


def check_positive_int(owner, name, value):
    """Raise a ValueError unless ``value`` is an integer of at least 1."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{owner}({name}={value!r}): {name} must be an integer of at least 1.")


def refuse_moved(owner, given, moved):
    """Raise a TypeError naming the new spelling of every keyword in ``given`` that
    ``moved`` (``{old: new spelling}``) lists; any other unknown keyword is named too."""
    if not given:
        return
    lines = []
    for name in sorted(given):
        if name in moved:
            lines.append(f"{name!r} is now {moved[name]}")
        else:
            lines.append(f"{name!r} is not a parameter")
    raise TypeError(
        f"{owner} got unexpected keyword argument(s): {'; '.join(lines)} (see CHANGELOG.md, "
        "0.8: options moved into parameter objects)."
    )


def hide_moved(function):
    """Decorator: ``function``'s signature without its ``**moved`` catch-all.

    A constructor (or function) takes ``**moved`` only to refuse the keywords of
    0.7 with their new spelling (:func:`refuse_moved`); the catch-all is no
    parameter, so ``inspect.signature`` (scikit-learn's parameter list, the API
    reference, ``help``) does not show it.
    """
    signature = inspect.signature(function)
    function.__signature__ = signature.replace(
        parameters=[p for p in signature.parameters.values() if p.kind != p.VAR_KEYWORD]
    )
    return function
