"""Safe arithmetic expressions over named values, for a profile's derived features.

    expr = parse_expression("torque * speed * (2 * pi / 60)", known={"torque", "speed"})
    expr.names                                  # {'torque', 'speed'}
    expr.evaluate({"torque": t, "speed": s})    # numpy columns or plain floats

The text is parsed with Python's own parser (:mod:`ast`) into a small tree that is
checked node by node and evaluated by this module: it is never handed to ``eval``.
Allowed: numbers, names (the fields and earlier derived features the caller declares,
and the constants ``pi`` and ``e``), ``+ - * / **``, unary minus and plus, parentheses
and the functions abs, min, max, sqrt, exp and log. Anything else (attributes, calls to
other functions, comparisons, subscripts, strings, lambdas...) is an
:class:`ExpressionError` naming what was refused.

Evaluation follows the tree exactly as written, in float64, so ``a * b * (2 * pi / 60)``
gives the same bits as the Python statement ``a * b * (2.0 * math.pi / 60.0)``.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CONSTANTS", "FUNCTIONS", "Expression", "ExpressionError", "parse_expression"]

MAX_LENGTH = 500
MAX_NODES = 200

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


def _minimum(*values: Any) -> Any:
    result = values[0]
    for value in values[1:]:
        result = np.minimum(result, value)
    return result


def _maximum(*values: Any) -> Any:
    result = values[0]
    for value in values[1:]:
        result = np.maximum(result, value)
    return result


# name -> (function, fewest arguments, most arguments)
FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int]] = {
    "abs": (np.abs, 1, 1),
    "sqrt": (np.sqrt, 1, 1),
    "exp": (np.exp, 1, 1),
    "log": (np.log, 1, 1),
    "min": (_minimum, 2, 8),
    "max": (_maximum, 2, 8),
}


class ExpressionError(ValueError):
    """An expression that is not plain arithmetic over known names; the message says why."""


@dataclass(frozen=True)
class Expression:
    """A checked expression: its text, the names it reads, and a tree to evaluate."""

    text: str
    names: frozenset[str]
    _tree: ast.expr

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """The expression over `values` (numpy columns or floats); float64 throughout."""
        with np.errstate(all="ignore"):  # a division by zero gives inf/nan like numpy, not an exception
            return _evaluate(self._tree, values)


def parse_expression(text: str, known: set[str] | frozenset[str]) -> Expression:
    """Parse and check `text`; `known` are the names it may read besides the constants."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("expression is empty")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ExpressionError(f"{text.strip()!r} is not an arithmetic expression ({exc.msg})") from None
    names: set[str] = set()
    functions: set[int] = set()  # the Name nodes that are a call's function, not a value
    count = 0
    for node in ast.walk(tree):  # breadth first: a call is checked before its function name
        count += 1
        if id(node) in functions:
            continue
        _check(node, known, names)
        if isinstance(node, ast.Call):
            functions.add(id(node.func))
    if count > MAX_NODES:
        raise ExpressionError(f"expression has more than {MAX_NODES} parts")
    return Expression(text.strip(), frozenset(names), tree)


def _check(node: ast.AST, known: set[str] | frozenset[str], names: set[str]) -> None:  # noqa: PLR0911 - one case per node type
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise ExpressionError(f"{node.value!r} is not a number")
        return
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return
        if node.id not in known:
            allowed = ", ".join(sorted(known)) or "none"
            raise ExpressionError(f"{node.id!r} is not a known field or derived feature (known: {allowed})")
        names.add(node.id)
        return
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise ExpressionError(f"operator {type(node.op).__name__} is not allowed (use + - * / **)")
        return
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.USub | ast.UAdd):
            raise ExpressionError(f"operator {type(node.op).__name__} is not allowed")
        return
    if isinstance(node, ast.Call):
        _check_call(node)
        return
    if isinstance(node, ast.Load | ast.operator | ast.unaryop):
        return
    raise ExpressionError(f"{type(node).__name__.lower()} is not allowed, only arithmetic")


def _check_call(node: ast.Call) -> None:
    if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
        name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
        raise ExpressionError(f"function {name!r} is not allowed (allowed: {', '.join(FUNCTIONS)})")
    if node.keywords:
        raise ExpressionError(f"{node.func.id}() takes no keyword arguments")
    _, fewest, most = FUNCTIONS[node.func.id]
    if not fewest <= len(node.args) <= most:
        raise ExpressionError(f"{node.func.id}() takes {fewest}..{most} arguments, got {len(node.args)}")
    if any(isinstance(arg, ast.Starred) for arg in node.args):
        raise ExpressionError(f"{node.func.id}() takes no *arguments")


def _evaluate(node: ast.expr, values: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return float(node.value)  # type: ignore[arg-type]  # checked: a number
    if isinstance(node, ast.Name):
        return CONSTANTS[node.id] if node.id in CONSTANTS else values[node.id]
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, values), _evaluate(node.right, values)
        if isinstance(node.op, ast.Div) and isinstance(right, float) and isinstance(left, float) and right == 0.0:
            return _divide_scalar_by_zero(left)
        result = _BINARY[type(node.op)](left, right)
        return math.nan if isinstance(result, complex) else result
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, values)
        return -operand if isinstance(node.op, ast.USub) else +operand
    assert isinstance(node, ast.Call)
    assert isinstance(node.func, ast.Name)
    function = FUNCTIONS[node.func.id][0]
    result = function(*(_evaluate(arg, values) for arg in node.args))
    return float(result) if isinstance(result, np.floating) else result


def _divide_scalar_by_zero(left: float) -> float:
    """What numpy gives for a float64 division by zero (Python raises instead)."""
    if left == 0.0 or math.isnan(left):
        return math.nan
    return math.copysign(math.inf, left)


def describe(expression: Expression) -> str:
    """The expression as normalised Python text (for documentation and errors)."""
    return ast.unparse(expression._tree)


# `**` on two plain floats raises in Python where numpy gives inf; keep numpy's answer.
def _safe_pow(left: Any, right: Any) -> Any:
    try:
        return operator.pow(left, right)
    except (OverflowError, ZeroDivisionError):
        return math.inf


_BINARY[ast.Pow] = _safe_pow
