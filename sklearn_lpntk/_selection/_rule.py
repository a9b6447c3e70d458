"""The keep-rule protocol, the registry of rules by name, and a class as rules read it.

A keep-rule is a small parameter object (:class:`KeepRule`): its options are its
constructor's keywords, it says what the fit must provide (:meth:`KeepRule.plan`),
and it turns one class's kernel into a :class:`~._cuts.Cut` (:meth:`KeepRule.cut`)
that gives the kept rows for any count. Each rule family lives in a module of
its own (``_herding``, ``_facility``, ``_pairs``, ``_coverage``, ``_d2``,
``_traversal_rules``, ``_near_duplicates``) and registers its classes under the
names ``keep=`` accepts (:func:`register_rule`), the way the engine registers
its layer rules; :func:`rule_from` reads a name or an object.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from .._options import Options, check_choice
from ._graph import NeighbourGraph
from ._traversal import as_lazy_kernel, row_extremes

_RULES = {}
#: How a rule that can read a neighbour graph reads a class (``graph`` option).
GRAPH_MODES = ("auto", "dense", "exact", "approximate")


def register_rule(name):
    """Class decorator: ``keep=name`` builds the rule class with its defaults.

    Parameters
    ----------
    name : str
        The name (one per class; registering a name again replaces its class).

    Returns
    -------
    decorate : callable
        Registers the decorated :class:`KeepRule` subclass and returns it.
    """

    def decorate(cls):
        _RULES[name] = cls
        cls.name = name
        return cls

    return decorate


def rule_names():
    """The names ``keep=`` accepts, in registration order.

    Returns
    -------
    names : tuple of str
        One registered name per rule class (:func:`register_rule`).
    """
    return tuple(_RULES)


def rule_from(keep, **options):
    """The :class:`KeepRule` that ``keep`` names (with ``options``), or ``keep`` itself.

    Parameters
    ----------
    keep : str or KeepRule
        A registered name (:func:`rule_names`) or a rule object.
    **options : dict
        Options of the named rule (only with a name); an option the rule does
        not have raises a TypeError listing the ones it has.

    Returns
    -------
    rule : KeepRule
    """
    if isinstance(keep, KeepRule):
        if options:
            raise TypeError(
                f"options {sorted(options)} go with a rule name; {keep!r} is already a "
                "rule object: set them on it."
            )
        return keep
    if not isinstance(keep, str):
        raise TypeError(
            f"keep must be a rule name ({', '.join(rule_names())}) or a rule object from "
            f"sklearn_lpntk.rules; got {type(keep).__name__}."
        )
    if keep not in _RULES:
        raise ValueError(f"keep={keep!r} is not a rule; use one of {rule_names()}.")
    cls = _RULES[keep]
    unknown = sorted(set(options) - set(cls._option_names()))
    if unknown:
        raise TypeError(
            f"{cls.__name__} (keep={keep!r}) has no option {', '.join(unknown)}; its options "
            f"are {', '.join(cls._option_names()) or 'none'}."
        )
    return cls(**options)


@dataclass(frozen=True)
class ClassView:
    """One class's kernel as the fit offers it to a rule.

    Attributes
    ----------
    matrix : ndarray of shape (n, n) or None
        The whole (normalised) matrix, when it was formed.
    graph : NeighbourGraph or None
        Every row's most similar rows, when the class is read through a graph.
    kernel : object or None
        The kernel read on demand (``shape``, ``diagonal()``, ``row(i)``,
        ``rows(start, stop)``; for blocks also ``submatrix(rows)`` and
        ``typicality()``), such as a :class:`~sklearn_lpntk.kernels.ClassKernel`.
    """

    matrix: np.ndarray = None
    graph: NeighbourGraph = None
    kernel: object = None

    @property
    def n(self):
        for part in (self.matrix, self.graph, self.kernel):
            if part is not None:
                return part.shape[0]
        raise ValueError("a class view holds no kernel.")

    def rows(self):
        """The kernel read row by row (the matrix, or the kernel on demand)."""
        if self.matrix is not None:
            return as_lazy_kernel(self.matrix)
        if self.kernel is not None:
            return as_lazy_kernel(self.kernel)
        raise ValueError(
            "this rule reads the class's kernel itself; a neighbour graph alone does not hold it."
        )

    def full(self):
        """The whole matrix (read from the kernel when it was not formed)."""
        if self.matrix is not None:
            S = np.asarray(self.matrix)
        else:
            kernel = self.rows()
            S = np.asarray(
                kernel.rows(0, kernel.shape[0])
                if hasattr(kernel, "rows")
                else [kernel.row(i) for i in range(kernel.shape[0])]
            )
        return S if S.dtype in (np.float32, np.float64) else S.astype(np.float64)


def as_view(kernel):
    """A :class:`ClassView` of a matrix, a neighbour graph or a kernel read on demand."""
    if isinstance(kernel, ClassView):
        return kernel
    if isinstance(kernel, NeighbourGraph):
        return ClassView(graph=kernel)
    if hasattr(kernel, "row") and hasattr(kernel, "diagonal") and hasattr(kernel, "shape"):
        return ClassView(kernel=kernel)
    matrix = np.asarray(kernel)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"kernel must be a square matrix, got shape {matrix.shape}.")
    return ClassView(matrix=matrix)


class KeepRule(Options, ABC):
    """Base class of the keep-rules: which rows of a class survive.

    Subclasses take their options as constructor keywords (``get_params``,
    ``set_params``, a repr of the options that differ from their defaults and
    equality come with the base class), check them in ``check()``, say in
    :meth:`plan` how the fit must read a class, and implement :meth:`cut`.
    Register a subclass under a name with :func:`register_rule` to make it a
    ``keep=`` shortcut.

    Attributes
    ----------
    name : str or None
        The ``keep=`` name the class is registered under.
    nested : bool
        Whether one keep order serves every count (the first ``k`` rows of the
        cut's ``order`` are its selection of ``k``).
    """

    name = None
    nested = False

    def plan(self):
        """What the fit must provide for this rule, read by the kernel's memory plan.

        Returns
        -------
        plan : dict
            ``need_full`` (the whole class matrix, or a substitute: a neighbour
            graph or blocks; False: rows read on demand suffice), ``graph``
            (None: the kernel itself; "auto", "dense", "exact", "approximate" or
            "blocks" for classes past the dense limit), ``n_neighbors`` and
            ``block_rows``.
        """
        return {"need_full": True, "graph": None, "n_neighbors": 0, "block_rows": None}

    @abstractmethod
    def cut(self, kernel, n_keep=None, *, random_state=None):
        """One class's :class:`~._cuts.Cut`: its ``select(k)`` keeps ``k`` rows.

        Parameters
        ----------
        kernel : ndarray, NeighbourGraph, lazy kernel or ClassView
            The class's kernel: its matrix, its neighbour graph, a kernel read
            on demand, or a :class:`ClassView` of them.
        n_keep : int or None, default=None
            The largest count that will be asked for, where a rule can stop
            early (a traversal on a kernel read on demand); None: every count.
        random_state : int or None, default=None
            The rule's draws (an int, so that every count draws alike).

        Returns
        -------
        cut : Cut
        """


def contradictory_mask(view, threshold):
    """Rows having a partner of lpNTK cosine below ``threshold`` (reads every row)."""
    _, min_cos = row_extremes(view.rows())
    return min_cos < threshold


class ContradictionOption:
    """The ``drop_contradictory`` option shared by the rules that read whole rows."""

    def _check_contradictory(self):
        value = self.drop_contradictory
        if value is not None and not (
            isinstance(value, (int, float)) and not isinstance(value, bool) and -1 <= value <= 1
        ):
            raise ValueError(
                f"{type(self).__name__}(drop_contradictory={value!r}): a cosine threshold in "
                "[-1, 1] (rows with a partner below it are never kept) or None."
            )


class GraphOptions:
    """The ``graph`` and ``n_neighbors`` options of the rules that can read a class
    through its neighbour graph."""

    def _check_graph(self):
        owner = type(self).__name__
        check_choice(owner, "graph", self.graph, GRAPH_MODES)
        if isinstance(self.n_neighbors, bool) or not isinstance(
            self.n_neighbors, (int, np.integer)
        ):
            raise ValueError(f"{owner}(n_neighbors={self.n_neighbors!r}): a positive integer.")
        if self.n_neighbors < 1:
            raise ValueError(f"{owner}(n_neighbors={self.n_neighbors!r}): a positive integer.")
        if self.graph in ("exact", "approximate") and self.drop_contradictory is not None:
            raise ValueError(
                f"{owner}(graph={self.graph!r}, drop_contradictory={self.drop_contradictory!r}): "
                "the contradiction filter reads every pair of a class (a row's least similar "
                "partner), which a neighbour graph does not hold. Use graph='auto' or "
                "'dense', or drop_contradictory=None."
            )

    def plan(self):
        # the contradiction filter reads the kernel itself, so no graph then
        graph = self.graph if self.drop_contradictory is None else None
        return {
            "need_full": True,
            "graph": graph,
            "n_neighbors": self.n_neighbors,
            "block_rows": None,
        }


class MatrixRule(GraphOptions, ContradictionOption, KeepRule):
    """Base of the rules that read a class's whole matrix or, past the dense limit,
    its neighbour graph: a subclass implements ``_matrix_cut`` and ``_graph_cut``."""

    def check(self):
        self._check_graph()
        self._check_contradictory()

    def cut(self, kernel, n_keep=None, *, random_state=None):
        view = as_view(kernel)
        if view.matrix is None and view.graph is not None:  # the class's neighbour graph
            if self.drop_contradictory is not None:
                raise ValueError(
                    f"{type(self).__name__}(drop_contradictory=...) reads every pair of a "
                    "class, which a neighbour graph does not hold; give the class's matrix."
                )
            return self._graph_cut(view.graph, random_state)
        S = view.full()
        n = S.shape[0]
        masks, rows = {}, np.arange(n)
        if self.drop_contradictory is not None:
            masks["contradictory"] = contradictory_mask(view, self.drop_contradictory)
            if (~masks["contradictory"]).any():
                rows = np.flatnonzero(~masks["contradictory"])
        sub = S if len(rows) == n else S[np.ix_(rows, rows)]
        return self._matrix_cut(S, sub, rows, masks, random_state)

    @abstractmethod
    def _matrix_cut(self, S, sub, rows, masks, random_state):
        """The cut on the whole matrix ``S``; ``sub`` is its block of the candidate
        ``rows`` (all rows, or those the contradiction filter leaves)."""

    @abstractmethod
    def _graph_cut(self, graph, random_state):
        """The cut on a neighbour graph."""


def rule_cut(kernel, n_keep=None, *, keep="centres", random_state=None, **options):
    """One class's :class:`~._cuts.Cut` under a rule: computed once, read at any count.

    Parameters
    ----------
    kernel : ndarray of shape (n, n), NeighbourGraph or lazy kernel
        One class's kernel (see :meth:`~sklearn_lpntk.rules.KeepRule.cut`).
    n_keep : int or None, default=None
        The largest count that will be asked for (a traversal on a kernel read
        on demand stops there); None: every count.
    keep : str or KeepRule, default="centres"
        The rule: an object from :mod:`sklearn_lpntk.rules` or a name
        (:func:`~sklearn_lpntk.rules.rule_names`).
    random_state : int or None, default=None
        The rule's draws (an int, so that every count draws alike).
    **options : dict
        With a name: the rule's options (e.g. ``keep="thin_largest",
        cluster_ratio=0.3``).

    Returns
    -------
    cut : Cut
        ``cut.select(k)`` gives the :class:`~._cuts.Selection` of ``k`` rows.
    """
    rule = rule_from(keep, **options)
    rule.check()
    return rule.cut(kernel, n_keep, random_state=random_state)


def choose_rows(kernel, n_keep, *, keep="centres", random_state=None, **options):
    """The rows a rule keeps in one class: ``rule_cut(...).select(n_keep)``.

    Parameters
    ----------
    kernel : ndarray of shape (n, n), NeighbourGraph or lazy kernel
        One class's kernel.
    n_keep : int
        Rows to keep.
    keep : str or KeepRule, default="centres"
        The rule (see :func:`rule_cut`).
    random_state : int, Generator or None, default=None
        The rule's draws.
    **options : dict
        With a name: the rule's options.

    Returns
    -------
    selection : Selection
        ``kept`` (ascending), and what the rule decided (centres, assignment,
        filter masks).
    """
    return rule_cut(kernel, n_keep, keep=keep, random_state=random_state, **options).select(n_keep)
