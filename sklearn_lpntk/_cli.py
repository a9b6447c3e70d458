"""The ``sklearn-lpntk`` command line (also ``python -m sklearn_lpntk``).

Two commands: ``prune`` writes the kept rows of a CSV, Parquet or NPZ file in
the same format; ``curve`` prints (and plots) cross-validated scores against
the prune ratio. Bad arguments and bad data end with exit code 2 and one line
on standard error, never a traceback (set ``SKLEARN_LPNTK_DEBUG=1`` to see one).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from . import __version__
from ._options import Options
from ._selection import rule_names
from ._tables import DataError, format_of, read_table

__all__ = ["main"]

EXIT_USAGE = 2

#: --method values: the pruner each one builds (lazily, so --help stays fast).
METHODS = {
    "lpntk": ("LpNTKPruner", {}),
    "lpntk-paper": ("LpNTKPruner", "paper"),
    "random": ("RandomPruner", {}),
    "el2n": ("EL2NPruner", {}),
    "grand": ("GraNdPruner", {}),
    "forgetting": ("ForgettingPruner", {}),
    "ccs": ("CCSPruner", {}),
    "moderate": ("ModeratePruner", {}),
}

ESTIMATORS = ("logistic", "mlp", "forest", "knn", "svm")

EPILOG_PRUNE = """examples:
  sklearn-lpntk prune data.csv --target label --prune-ratio 0.3 --output kept.csv
  sklearn-lpntk prune data.parquet --target y --prune-ratio 0.5 --method el2n \\
      --indices kept.txt --report report.json
  sklearn-lpntk prune images.npz --prune-ratio 0.3 --output kept.npz   # arrays X and y
"""

EPILOG_CURVE = """examples:
  sklearn-lpntk curve data.csv --target label --estimator logistic \\
      --prune-ratios 0.1,0.3,0.5 --plot curve.png
  sklearn-lpntk curve data.csv --target label --method lpntk,el2n --cv 3 --report curve.json
"""


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors reported as one line and exit code 2."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _ratio(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not in [0, 1)")
    return value


def _ratio_or_auto(text):
    return "auto" if text.strip() == "auto" else _ratio(text)


def _ratios(text):
    return [_ratio(part) for part in text.split(",") if part.strip()]


def _methods(text):
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in METHODS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown method {', '.join(unknown) or text!r}; choose from {', '.join(METHODS)}"
        )
    return names


def _columns(text):
    return [part.strip() for part in text.split(",") if part.strip()]


def build_parser():
    """The argument parser of ``sklearn-lpntk``."""
    parser = _Parser(
        prog="sklearn-lpntk",
        description="Prune classification training data with lpNTK and other "
        "rules, from data files.",
    )
    parser.add_argument("--version", action="version", version=f"sklearn-lpntk {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    data = _Parser(add_help=False)
    data.add_argument("input", help="a .csv/.tsv, .parquet (needs pyarrow) or .npz file")
    data.add_argument("--target", help="label column (CSV/Parquet)")
    data.add_argument(
        "--ignore",
        type=_columns,
        default=[],
        metavar="COL,...",
        help="columns that are neither features nor labels (ids, notes)",
    )
    data.add_argument("--x-key", default="X", help="NPZ: array of features (default: X)")
    data.add_argument("--y-key", default="y", help="NPZ: array of labels (default: y)")
    data.add_argument("--sep", help="CSV delimiter (default: ',' or tab for .tsv)")
    data.add_argument(
        "--random-state", type=int, default=0, help="seed of every random choice (default: 0)"
    )
    data.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    data.add_argument(
        "--max-memory",
        "--memory-budget",  # the flag's name before 0.8
        dest="max_memory",
        default="auto",
        help="memory the kernel may use, e.g. 4GB (default: auto)",
    )
    data.add_argument(
        "--keep",
        choices=rule_names(),
        help="lpntk only: the keep-rule, with its defaults (default: the pruner's)",
    )
    data.add_argument(
        "--max-epochs",
        type=int,
        help="epochs of the pruner's brief training (default: the pruner's)",
    )
    data.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bars (default: on a terminal only)",
    )
    data.add_argument("--force", action="store_true", help="overwrite existing output files")

    prune = commands.add_parser(
        "prune",
        parents=[data],
        help="write the kept rows of a data file",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG_PRUNE,
        description="Prune a data file and write the kept rows in the input's format.",
    )
    prune.add_argument(
        "--prune-ratio",
        type=_ratio_or_auto,
        required=True,
        help="fraction of every class to remove, in [0, 1); or auto (lpntk only): remove "
        "the near-duplicates the data holds",
    )
    prune.add_argument(
        "--method",
        type=_methods,
        default=["lpntk"],
        metavar="METHOD",
        help=f"one of {', '.join(METHODS)} (default: lpntk)",
    )
    prune.add_argument("--output", help="kept rows, same format as the input")
    prune.add_argument("--indices", help="kept row numbers (0-based), one per line")
    prune.add_argument("--report", help="JSON report: parameters, rows per class, timings")

    curve = commands.add_parser(
        "curve",
        parents=[data],
        help="cross-validated score against the prune ratio",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG_CURVE,
        description="Score a classifier trained on pruned folds against a baseline.",
    )
    curve.add_argument(
        "--estimator",
        choices=ESTIMATORS,
        default="logistic",
        help="downstream classifier (default: logistic)",
    )
    curve.add_argument(
        "--method",
        type=_methods,
        default=["lpntk"],
        metavar="METHOD,...",
        help=f"one or more of {', '.join(METHODS)} (default: lpntk)",
    )
    curve.add_argument(
        "--baseline",
        type=_methods,
        default=["random"],
        metavar="METHOD",
        help="the reference pruner (default: random)",
    )
    curve.add_argument(
        "--prune-ratios",
        type=_ratios,
        default=[0.1, 0.3, 0.5, 0.7, 0.9],
        metavar="R,...",
        help="default: 0.1,0.3,0.5,0.7,0.9",
    )
    curve.add_argument("--cv", type=int, default=5, help="folds (default: 5)")
    curve.add_argument("--scoring", help="scikit-learn scorer name (default: accuracy)")
    curve.add_argument(
        "--tol",
        type=float,
        default=0.005,
        help="allowed score drop for the answer 'prune up to' (default: 0.005)",
    )
    curve.add_argument("--n-jobs", type=int, help="parallel fits (joblib)")
    curve.add_argument("--plot", help="save the curve as an image (needs matplotlib)")
    curve.add_argument("--report", help="JSON report of every score")
    return parser


def make_pruner(method, args, progress):
    """The pruner ``method`` names, with the command line's settings."""
    import sklearn_lpntk

    name, how = METHODS[method]
    cls = getattr(sklearn_lpntk, name)
    pruner = cls.paper() if how == "paper" else cls()
    offered = pruner.get_params(deep=False)
    settings = {
        "random_state": args.random_state,
        "device": args.device,
        "max_memory": args.max_memory,
        "max_epochs": args.max_epochs,
        "verbose": int(progress),
    }
    if "keep" in offered and getattr(args, "keep", None) is not None:
        settings["keep"] = args.keep
    pruner.set_params(**{k: v for k, v in settings.items() if k in offered and v is not None})
    if "scorer" in offered:  # CCS: its difficulty score is trained with the same settings
        pruner.set_params(scorer=make_pruner("el2n", args, progress))
    return pruner


def _check_keep(args, methods):
    """Refuse ``--keep`` when no method given takes a keep-rule (the lpNTK pruners)."""
    if getattr(args, "keep", None) is not None and not any(m.startswith("lpntk") for m in methods):
        raise DataError(
            f"--keep works with --method lpntk or lpntk-paper only, not {', '.join(methods)}."
        )


def _estimator(name, random_state):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline as sk_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    if name == "forest":
        return RandomForestClassifier(random_state=random_state)
    model = {
        "logistic": LogisticRegression(max_iter=2000),
        "mlp": MLPClassifier(max_iter=500, random_state=random_state),
        "knn": KNeighborsClassifier(),
        "svm": SVC(),
    }[name]
    return sk_pipeline(StandardScaler(), model)


def _check_outputs(args, paths):
    """Refuse outputs that exist (without --force) or would overwrite the input."""
    given = {k: v for k, v in paths.items() if v}
    if given.get("output") and format_of(given["output"], "output") != format_of(args.input):
        raise DataError(
            f"--output {given['output']} must have the input's format ({Path(args.input).suffix})."
        )
    for flag, path in given.items():
        if Path(path).resolve() == Path(args.input).resolve():
            raise DataError(f"--{flag} {path} is the input file; write somewhere else.")
        if Path(path).exists() and not args.force:
            raise DataError(f"--{flag} {path} exists; pass --force to overwrite it.")
        if not Path(path).resolve().parent.is_dir():
            raise DataError(f"--{flag} {path}: folder {str(Path(path).parent)!r} does not exist.")


def _read(args):
    start = time.perf_counter()
    table = read_table(
        args.input,
        target=args.target,
        ignore=args.ignore,
        x_key=args.x_key,
        y_key=args.y_key,
        sep=args.sep,
    )
    classes, counts = np.unique(table.y, return_counts=True)
    if len(classes) < 2:
        raise DataError(
            f"{Path(args.input).name} has a single class ({classes[0]!r}); pruning "
            "keeps rows of every class and needs at least two."
        )
    return table, time.perf_counter() - start


def _features(table):
    return table.X.reshape(len(table.X), -1)


def _per_class(y, kept):
    classes, before = np.unique(y, return_counts=True)
    after = np.array([np.sum(y[kept] == c) for c in classes])
    return {str(c): {"before": int(b), "after": int(a)} for c, b, a in zip(classes, before, after)}


def _json(path, payload):
    with open(path, "w") as f:
        json.dump(payload, f, indent=2, default=str)
        f.write("\n")


def cmd_prune(args, progress, out):
    if len(args.method) != 1:
        raise DataError("prune takes one --method.")
    _check_outputs(args, {"output": args.output, "indices": args.indices, "report": args.report})
    if args.prune_ratio == "auto" and args.method[0] != "lpntk":
        raise DataError(
            f"--prune-ratio auto works with --method lpntk only, not {args.method[0]}; "
            "give a number in [0, 1)."
        )
    _check_keep(args, args.method)
    pruner = make_pruner(args.method[0], args, progress)
    pruner.set_params(prune_ratio=args.prune_ratio)
    table, t_read = _read(args)
    start = time.perf_counter()
    pruner.fit_resample(_features(table), table.y)
    t_prune = time.perf_counter() - start
    kept = np.sort(pruner.sample_indices_)
    start = time.perf_counter()
    if args.output:
        table.write(args.output, kept)
    if args.indices:
        np.savetxt(args.indices, kept, fmt="%d")
    t_write = time.perf_counter() - start
    n = len(table.y)
    print(
        f"kept {len(kept)} of {n} rows ({1 - len(kept) / n:.1%} pruned) with "
        f"{args.method[0]} in {t_prune:.1f} s",
        file=out,
    )
    encoder = getattr(pruner, "encoder_", None)
    if encoder is not None:
        print(
            f"(the network read {table.X.shape[1]} columns encoded as "
            f"{len(encoder.get_feature_names_out())} numbers: text one-hot, blanks imputed; "
            "the rows are written as read)",
            file=out,
        )
    if args.report:
        params = {  # a rule or kernel object as its repr, e.g. "Centres(selfmax='repo')"
            k: repr(v) if isinstance(v, Options) else v
            for k, v in pruner.get_params(deep=False).items()
            if v is None or isinstance(v, (bool, int, float, str, Options))
        }
        timings = {"read": t_read, "prune": t_prune, "write": t_write}
        timings.update({f"prune.{k}": v for k, v in getattr(pruner, "timings_", {}).items()})
        _json(
            args.report,
            {
                "version": __version__,
                "command": "prune",
                "input": str(args.input),
                "method": args.method[0],
                "pruner": type(pruner).__name__,
                "parameters": params,
                "rows": {"before": n, "after": int(len(kept))},
                "network_inputs": None
                if encoder is None
                else [str(f) for f in encoder.get_feature_names_out()],
                "per_class": _per_class(table.y, kept),
                "timings_s": timings,
                "outputs": {"output": args.output, "indices": args.indices},
            },
        )
    return 0


def cmd_curve(args, progress, out):
    from ._curve import compute_curves, max_prune_ratio
    from ._encoding import auto_encoder

    if not args.prune_ratios:
        raise DataError("--prune-ratios is empty; give e.g. 0.1,0.3,0.5.")
    if args.cv < 2:
        raise DataError(f"--cv must be at least 2; got {args.cv}.")
    _check_outputs(args, {"plot": args.plot, "report": args.report})
    if args.plot:
        try:
            import matplotlib

            matplotlib.use("Agg")
        except ImportError:
            raise DataError("--plot needs matplotlib: pip install matplotlib.") from None
    _check_keep(args, args.method)
    pruners = [make_pruner(m, args, progress) for m in args.method]
    baseline = make_pruner(args.baseline[0], args, False)
    estimator = _estimator(args.estimator, args.random_state)
    table, _ = _read(args)
    _, encoder = auto_encoder(_features(table), "sklearn-lpntk curve")
    if encoder is not None:  # text or blanks: the classifier reads them encoded as well
        from sklearn.pipeline import make_pipeline as sk_pipeline

        estimator = sk_pipeline(encoder, estimator)
    start = time.perf_counter()
    curves = compute_curves(
        estimator,
        _features(table),
        table.y,
        pruners,
        prune_ratios=args.prune_ratios,
        baseline=baseline,
        cv=args.cv,
        scoring=args.scoring,
        n_jobs=args.n_jobs,
        random_state=args.random_state,
    )
    elapsed = time.perf_counter() - start
    full = curves[0].full_scores
    print(
        f"{args.estimator}, {args.cv}-fold, full data: {full.mean():.4f} ± {full.std():.4f}",
        file=out,
    )
    print(f"{'method':<14}{'ratio':>7}{'kept':>7}{'score':>17}{args.baseline[0]:>17}", file=out)
    for method, curve in zip(args.method, curves):
        for row in curve.summary():
            print(
                f"{method:<14}{row['prune_ratio']:>7.2f}{row['kept_fraction']:>7.2f}"
                f"{row['score_mean']:>10.4f} ± {row['score_std']:.3f}"
                f"{row['baseline_mean']:>10.4f} ± {row['baseline_std']:.3f}",
                file=out,
            )
    answers = {m: max_prune_ratio(c, args.tol) for m, c in zip(args.method, curves)}
    for method, ratio in answers.items():
        print(f"{method}: prune up to {ratio:.2f} within {args.tol} of the full data", file=out)
    print(f"({elapsed:.1f} s)", file=out)
    if args.plot:
        from ._display import PruningCurveDisplay

        display = PruningCurveDisplay(curves=curves, estimator_name=args.estimator).plot()
        display.figure_.savefig(args.plot, dpi=120, bbox_inches="tight")
    if args.report:
        _json(
            args.report,
            {
                "version": __version__,
                "command": "curve",
                "input": str(args.input),
                "estimator": args.estimator,
                "cv": args.cv,
                "baseline": args.baseline[0],
                "full_scores": full.tolist(),
                "seconds": elapsed,
                "tol": args.tol,
                "max_prune_ratio": answers,
                "curves": {
                    m: {
                        "prune_ratios": c.prune_ratios.tolist(),
                        "kept_fraction": c.kept_fraction.tolist(),
                        "scores": c.scores.tolist(),
                        "baseline_scores": c.baseline_scores.tolist(),
                    }
                    for m, c in zip(args.method, curves)
                },
            },
        )
    return 0


def main(argv=None):
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    command = {"prune": cmd_prune, "curve": cmd_curve}[args.command]
    try:
        return command(args, progress, sys.stdout)
    except (DataError, ValueError, TypeError, ImportError, OSError) as exc:
        if os.environ.get("SKLEARN_LPNTK_DEBUG"):
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{parser.prog} {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
