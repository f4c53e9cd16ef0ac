"""TL710 metric-arguments-swapped."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from trainlint.api import (
    Applicability, Diagnostic, Edit, Example, Fix, FixAvailability, ScriptRule, Severity, dotted,
)

if TYPE_CHECKING:
    from trainlint.api import ParsedScript

# Metrics whose result changes when the two arguments trade places (accuracy, MSE, MAE,
# Matthews and Cohen's kappa are symmetric: a swap there changes nothing).
ASYMMETRIC = frozenset({
    "f1_score", "fbeta_score", "precision_score", "recall_score",
    "precision_recall_fscore_support", "confusion_matrix", "multilabel_confusion_matrix",
    "classification_report", "roc_auc_score", "average_precision_score",
    "precision_recall_curve", "roc_curve", "det_curve", "r2_score", "log_loss",
    "balanced_accuracy_score", "explained_variance_score", "mean_absolute_percentage_error",
    "top_k_accuracy_score", "brier_score_loss", "mean_tweedie_deviance",
    "mean_poisson_deviance", "mean_gamma_deviance", "d2_tweedie_score", "hinge_loss",
    "ndcg_score", "dcg_score", "precision", "recall", "auroc", "average_precision", "roc",
    "binary_precision", "binary_recall", "binary_f1_score", "binary_auroc",
    "multiclass_precision", "multiclass_recall", "multiclass_f1_score", "multiclass_auroc",
    "multiclass_confusion_matrix", "binary_confusion_matrix",
})
PREDICTION_WORDS = ("pred", "preds", "prediction", "predictions", "predicted", "yhat", "hat",
                    "score", "scores", "prob", "probs", "proba", "probas", "probabilities",
                    "logit", "logits", "output", "outputs", "out")
TARGET_WORDS = ("true", "label", "labels", "target", "targets", "gt", "truth", "gold",
                "actual", "ground", "groundtruth", "reference", "references", "ref", "refs")
PREDICTING_CALLS = ("predict", "predict_proba", "decision_function", "argmax", "sigmoid",
                    "softmax")


class MetricArgumentsSwapped(ScriptRule):
    """## What it does
    Finds a metric called with the prediction and the ground truth in each other's place:
    a scikit-learn metric (`f1_score(y_pred, y_true)`, `confusion_matrix(preds, labels)`,
    `roc_auc_score(scores, y)`: scikit-learn takes the truth first) or a torchmetrics
    function (`precision(target, preds)`: torchmetrics takes the prediction first). The
    prediction is known by its name (`pred`, `y_hat`, `probs`, `logits`, `outputs`) or by
    where it came from (`model.predict(X)`, `.argmax(...)`); the truth by its name (`y`,
    `y_test`, `labels`, `targets`, `gt`). Only positional arguments are read, and only
    metrics whose value changes when the arguments trade places: accuracy, mean squared
    and absolute error, Matthews' and Cohen's coefficients are symmetric and left alone.

    ## Why is this bad?
    The metric runs and returns a number, but the wrong one: precision and recall trade
    places, a confusion matrix comes out transposed, `r2_score` and AUC are computed against
    the predictions, and per-class reports are labelled by the predicted class.

    ## Example
    ```python
    f1 = f1_score(y_pred, y_test, average="macro")
    ```

    ## Use instead
    ```python
    f1 = f1_score(y_test, y_pred, average="macro")
    ```

    ## Fix safety
    Unsafe: it changes the reported value (to the right one). The fix swaps the two
    arguments.

    ## Options
    None.

    ## Source
    scikit-learn API: every classification and regression metric takes `(y_true, y_pred)`
    (or `y_score`); torchmetrics functional API: `(preds, target)`.
    """

    code = "TL710"
    name = "metric-arguments-swapped"
    severity = Severity.WARNING
    fix_availability = FixAvailability.SOMETIMES
    message = "metric called with predictions and targets swapped"
    fix_title = "swap the two arguments"
    preview = True
    precision = "no findings on the dev corpus"
    needles = (b"sklearn", b"torchmetrics")

    bad = (
        Example("report.py", (
            "from sklearn.metrics import f1_score\n"
            "\n"
            "y_pred = clf.predict(X_test)\n"
            "print(f1_score(y_pred, y_test, average='macro'))\n"
        ), fixed=(
            "from sklearn.metrics import f1_score\n"
            "\n"
            "y_pred = clf.predict(X_test)\n"
            "print(f1_score(y_test, y_pred, average='macro'))\n"
        ), unsafe=True),
    )
    good = (
        Example("report.py", (
            "from sklearn.metrics import accuracy_score, f1_score\n"
            "\n"
            "y_pred = clf.predict(X_test)\n"
            "print(f1_score(y_test, y_pred, average='macro'), accuracy_score(y_pred, y_test))\n"
        )),
        Example("metrics.py", (
            "from torchmetrics.functional import precision\n"
            "\n"
            "score = precision(preds, target, task='binary')\n"
        )),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        for call in script.calls:
            if len(call.args) < 2 or any(isinstance(a, ast.Starred) for a in call.args[:2]):
                continue
            name = script.qualname(call.func) or ""
            leaf = name.rsplit(".", 1)[-1]
            if leaf not in ASYMMETRIC:
                continue
            first, second = call.args[0], call.args[1]
            if name.startswith("sklearn.metrics"):
                swapped = _prediction(script, first) and _target(script, second)
                order = "(y_true, y_pred)"
            elif name.startswith("torchmetrics.functional"):
                swapped = _target(script, first) and _prediction(script, second)
                order = "(preds, target)"
            else:
                continue
            if not swapped:
                continue
            more = ", ..." if len(call.args) + len(call.keywords) > 2 else ""
            message = (f"`{leaf}({script.source(first)}, {script.source(second)}{more})`: "
                       f"{leaf} takes {order}; with the two swapped it returns the wrong number")
            yield self.diagnostic(script.path, script.span(call), message,
                                  _swap(script, first, second))


def _words(text: str) -> list[str]:
    parts, word = [], ""
    for char in text.lower():
        if char.isalnum():
            word += char
        elif word:
            parts.append(word)
            word = ""
    return [*parts, word] if word else parts


def _name(expr: ast.AST) -> str | None:
    text = dotted(expr)
    return text.rsplit(".", 1)[-1] if text else None


def _prediction(script: ParsedScript, expr: ast.AST) -> bool:
    name = _name(expr)
    if name is not None:
        words = _words(name)
        if any(word in TARGET_WORDS for word in words):
            return False
        if any(word in PREDICTION_WORDS for word in words):
            return True
        value = script.value_of(expr, defaults=False)
        return value is not None and value is not expr and _predicting_call(value)
    return _predicting_call(expr)


def _predicting_call(expr: ast.AST) -> bool:
    while isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and (
            expr.func.attr in ("cpu", "numpy", "tolist", "detach", "squeeze", "flatten", "ravel")):
        expr = expr.func.value
    if not isinstance(expr, ast.Call):
        return False
    func = expr.func
    leaf = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return leaf in PREDICTING_CALLS


def _target(script: ParsedScript, expr: ast.AST) -> bool:
    name = _name(expr)
    if name is None:
        return False
    words = _words(name)
    if any(word in PREDICTION_WORDS for word in words):
        return False
    if any(word in TARGET_WORDS for word in words):
        return True
    return bool(words) and words[0] == "y" and len(words) <= 2  # y, y_test, y_val


def _swap(script: ParsedScript, first: ast.expr, second: ast.expr) -> Fix | None:
    a, b = script.span(first), script.span(second)
    between = script.text[a.end:b.start]
    if "#" in between:
        return None
    content = script.source(second) + between + script.source(first)
    edit = Edit(script.index.span(a.start, b.end), content)
    return Fix(Applicability.UNSAFE, "swap the two arguments", (edit,))
