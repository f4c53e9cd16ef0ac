"""TL709 fit-before-split."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from typing import TYPE_CHECKING

from trainlint.api import Diagnostic, Example, FixAvailability, ScriptRule, Severity, dotted

if TYPE_CHECKING:
    from trainlint.api import ParsedScript

# Preprocessing that learns statistics of the data it is fitted on (not LabelEncoder,
# Normalizer, HashingVectorizer or PolynomialFeatures, which learn nothing a test set
# could leak through).
LEARNING = frozenset({
    "StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler", "QuantileTransformer",
    "PowerTransformer", "KBinsDiscretizer", "TargetEncoder", "SplineTransformer",
    "TfidfVectorizer", "CountVectorizer", "TfidfTransformer", "DictVectorizer",
    "SimpleImputer", "KNNImputer", "IterativeImputer",
    "SelectKBest", "SelectPercentile", "SelectFpr", "SelectFdr", "SelectFwe",
    "GenericUnivariateSelect", "RFE", "RFECV", "SelectFromModel", "SequentialFeatureSelector",
    "VarianceThreshold",
    "PCA", "TruncatedSVD", "KernelPCA", "IncrementalPCA", "FastICA", "NMF", "FactorAnalysis",
    "LatentDirichletAllocation",
})
LEARNING_MODULES = ("sklearn.preprocessing", "sklearn.feature_extraction",
                    "sklearn.feature_selection", "sklearn.decomposition", "sklearn.impute")
# Splits and cross-validation: the argument that carries the data.
SPLITS = {
    "sklearn.model_selection.train_test_split": None,  # every positional argument
    "sklearn.model_selection.cross_val_score": 1,
    "sklearn.model_selection.cross_validate": 1,
    "sklearn.model_selection.cross_val_predict": 1,
    "sklearn.model_selection.learning_curve": 1,
    "sklearn.model_selection.validation_curve": 1,
    "sklearn.model_selection.permutation_test_score": 1,
}
SPLITTER_MODULE = "sklearn.model_selection."
SEARCHES = ("GridSearchCV", "RandomizedSearchCV", "HalvingGridSearchCV", "HalvingRandomSearchCV")


class FitBeforeSplit(ScriptRule):
    """## What it does
    Finds a scikit-learn transformer that learns from the data (a scaler, imputer,
    vectorizer, feature selector or decomposition such as `StandardScaler`,
    `TfidfVectorizer`, `SelectKBest`, `PCA`) fitted (`fit` / `fit_transform`) on data that
    is afterwards split into train and test (`train_test_split`) or cross-validated
    (`cross_val_score`, `KFold(...).split`, `GridSearchCV(...).fit`), in the same function.
    The data is followed by name: the array that was fitted, what `fit_transform` returned,
    and names assigned from them before the split.

    Transformers that learn nothing a test set could leak through (`LabelEncoder`,
    `Normalizer`, `HashingVectorizer`, `PolynomialFeatures`) and fits after the split are
    left alone, and so is a `Pipeline`, which fits inside each fold.

    ## Why is this bad?
    The transformer's statistics (means, vocabulary, IDF weights, selected features,
    principal components) are computed with the test rows included, so information from
    the test set flows into training: the test score is optimistic and does not say how the
    model does on new data. Feature selection on the full data is the most damaging case.

    ## Example
    ```python
    X = StandardScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(X, y)
    ```

    ## Use instead
    ```python
    X_train, X_test, y_train, y_test = train_test_split(X, y)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    ```
    or `cross_val_score(make_pipeline(StandardScaler(), model), X, y)`.

    ## Fix safety
    No fix: the transform has to move after the split and be applied to both parts.

    ## Options
    None.

    ## Source
    scikit-learn User Guide, "Common pitfalls and recommended practices: data leakage
    during pre-processing"; Kaufman et al., "Leakage in data mining" (2012).
    """

    code = "TL709"
    name = "fit-before-split"
    severity = Severity.ERROR
    fix_availability = FixAvailability.NONE
    message = "preprocessing fitted on the whole data before the train/test split"
    preview = True
    precision = "no findings on the dev corpus"
    needles = (b"train_test_split", b"cross_val", b"cross_validate", b"Fold", b"SearchCV",
               b"_curve", b"ShuffleSplit")

    bad = (
        Example("leak.py", (
            "from sklearn.model_selection import train_test_split\n"
            "from sklearn.preprocessing import StandardScaler\n"
            "\n"
            "scaler = StandardScaler()\n"
            "X_scaled = scaler.fit_transform(X)\n"
            "X_train, X_test, y_train, y_test = train_test_split(X_scaled, y, test_size=0.2)\n"
        )),
    )
    good = (
        Example("split.py", (
            "from sklearn.model_selection import train_test_split\n"
            "from sklearn.preprocessing import StandardScaler\n"
            "\n"
            "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)\n"
            "scaler = StandardScaler().fit(X_train)\n"
            "X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)\n"
        )),
        Example("labels.py", (
            "from sklearn.model_selection import train_test_split\n"
            "from sklearn.preprocessing import LabelEncoder\n"
            "\n"
            "y = LabelEncoder().fit_transform(y)\n"
            "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)\n"
        )),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        splits = list(self._splits(script))
        if not splits:
            return
        for call, kind, data in self._fits(script):
            names = _flowing_names(script, call, data)
            scope = script.enclosing_function(call)
            for split, shown in splits:
                if script.enclosing_function(split) is not scope or (
                        split.lineno, split.col_offset) <= (call.lineno, call.col_offset):
                    continue
                used = [arg for arg in _split_data(script, split) if _root(arg) in names]
                if used:
                    message = (f"`{kind}` is fitted on `{script.source(data)}` (line "
                               f"{call.lineno}) before `{shown}` splits it: the test rows "
                               "shape the transform and leak into training; fit it on the "
                               "training part only, or put it in a Pipeline")
                    yield self.diagnostic(script.path, script.span(call), message)
                    break

    @staticmethod
    def _fits(script: ParsedScript) -> Iterator[tuple[ast.Call, str, ast.expr]]:
        for attr in ("fit", "fit_transform"):
            for call in script.method_calls(attr):
                if not call.args:
                    continue
                made = script.constructor(call.func.value)  # type: ignore[attr-defined]
                if not made:
                    continue
                module, _, kind = made.rpartition(".")
                if kind in LEARNING and module.startswith(LEARNING_MODULES):
                    yield call, kind, call.args[0]

    @staticmethod
    def _splits(script: ParsedScript) -> Iterator[tuple[ast.Call, str]]:
        for call, name in script.calls_to(SPLITS):
            yield call, name.rsplit(".", 1)[-1]
        for attr in ("split", "fit"):
            for call in script.method_calls(attr):
                made = script.constructor(call.func.value) or ""  # type: ignore[attr-defined]
                if not made.startswith(SPLITTER_MODULE):
                    continue
                kind = made.rsplit(".", 1)[-1]
                if attr == "split" or kind in SEARCHES:
                    yield call, f"{kind}.{attr}"


def _split_data(script: ParsedScript, call: ast.Call) -> list[ast.expr]:
    name = script.qualname(call.func) or ""
    position = SPLITS.get(name)
    if name in SPLITS and position is None:
        return [arg for arg in call.args if not isinstance(arg, ast.Starred)]
    if position is not None:
        argument = script.argument(call, position, "X")
        return [argument] if argument is not None else []
    return call.args[:1]


def _root(expr: ast.AST) -> str | None:
    """`df` for `df[cols]`, `X` for `X.values`, `data.features` for itself."""
    while isinstance(expr, (ast.Subscript, ast.Call)):
        expr = expr.value if isinstance(expr, ast.Subscript) else expr.func
    text = dotted(expr)
    if text is None:
        return None
    for suffix in (".values", ".to_numpy", ".toarray", ".astype", ".copy"):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    return text


def _flowing_names(script: ParsedScript, call: ast.Call, data: ast.expr) -> set[str]:
    """Names that hold the transformed data after the fit: what `fit_transform` returns,
    what `.transform(...)` of the same data by the same object returns, and names assigned
    from those (two rounds). The fitted array itself is unchanged by a fit."""
    names: set[str] = set()
    receiver = dotted(call.func.value)  # type: ignore[attr-defined]
    data_root = _root(data)
    scope = script.enclosing_function(call)
    later = [node for node in script.nodes(ast.Assign)
             if script.enclosing_function(node) is scope
             and (node.end_lineno or node.lineno, node.end_col_offset or 0) >= (
                 call.lineno, call.col_offset)]
    for node in later:
        value = node.value
        transformed = value is call or (
            isinstance(value, ast.Call) and value is not call and isinstance(value.func, ast.Attribute)
            and value.func.attr == "transform" and value.args
            and (dotted(value.func.value) == receiver or value.func.value is call)
            and _root(value.args[0]) == data_root)
        if call.func.attr == "fit" and isinstance(value, ast.Call) and isinstance(  # type: ignore[attr-defined]
                value.func, ast.Attribute) and value.func.value is call:
            transformed = value.func.attr == "transform" and bool(value.args) and (
                _root(value.args[0]) == data_root)
        if transformed:
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
            names.update(_root(target) for target in node.targets
                         if isinstance(target, ast.Subscript) and _root(target))
    for _ in range(2):
        for node in later:
            used = {_root(n) for n in ast.walk(node.value) if isinstance(n, (ast.Name, ast.Attribute))}
            if used & names:
                names.update(target.id for target in node.targets if isinstance(target, ast.Name))
    return names
