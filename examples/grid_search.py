"""Grid-search the prune ratio and keep-rule inside a pipeline, then cross-validate.

Run with ``python examples/grid_search.py``. The pruner only ever sees training
folds; every test row is scored by the downstream classifier. The second
pipeline shows the same with scikit-learn's own ``Pipeline`` through
``PrunedClassifier``.
"""

from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline as SkPipeline
from sklearn.preprocessing import StandardScaler

from sklearn_lpntk import LpNTKPruner, PrunedClassifier, make_pipeline


def main():
    X, y = load_digits(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), LpNTKPruner(max_epochs=5, random_state=0),
                         LogisticRegression(max_iter=2000))
    grid = {"lpntkpruner__prune_ratio": [0.1, 0.3, 0.5],
            "lpntkpruner__keep": ["centres", "random_member", "thin_largest"]}
    search = GridSearchCV(pipe, grid, cv=3).fit(X, y)
    for params, score in zip(search.cv_results_["params"],
                             search.cv_results_["mean_test_score"]):
        print(f"{params['lpntkpruner__keep']:<14s} prune {params['lpntkpruner__prune_ratio']:.1f}"
              f"  cv accuracy {score:.4f}")
    print("best:", search.best_params_)

    sk_pipe = SkPipeline([
        ("scale", StandardScaler()),
        ("clf", PrunedClassifier(LogisticRegression(max_iter=2000),
                                 LpNTKPruner(prune_ratio=0.3, max_epochs=5, random_state=0))),
    ])
    print("sklearn Pipeline + PrunedClassifier, 5-fold accuracy:",
          cross_val_score(sk_pipe, X, y, cv=5).round(4))


if __name__ == "__main__":
    main()
