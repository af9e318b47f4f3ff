"""Fast paths for promotion conditions: the common shapes of CEL compiled to Python, and
what a condition requires of a cart (for the promotion index).

``cel-python`` interprets its parse tree, which costs a few tenths of a millisecond for
``channel == "WEB"`` and milliseconds for ``lines.exists(...)``: a cart cannot afford it for
every promotion. ``compile_fast`` turns a condition written only with the shapes below into a
Python predicate over ``promotion_rules.activation``'s variables, giving the same answer as
``promotion_rules.holds`` (tests/unit/test_promotion_conditions.py compares the two); any
other condition returns None and is left to cel-python.

The shapes: ``&&``, ``||``, ``!`` and parentheses over comparisons (``== != < <= > >=``)
between a documented variable and a literal of the same type (strings in plain quotes without
escapes, decimal ints, doubles written ``d.d``, ``true``/``false``), ``x in [literals]``,
``"s" in segments`` / ``coupons``, the bools ``customer`` and ``first_order``,
``size(lines | segments | coupons)``, and ``lines.exists(l, P)`` / ``lines.all(l, P)`` where
``P`` compares ``l.sku``, ``l.category``, ``l.quantity``, ``l.unit_price``, ``l.amount``.
Every operand's type is known, so a fast predicate never meets CEL's type errors.

``requirements`` reads the top-level ``&&`` terms a cart must meet for the condition to hold:
``channel == "X"`` (or ``in``), ``lines.exists(l, l.sku == "X")`` and the like for SKUs and
categories. The condition is false for a cart that fails one of them, whatever the others.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Predicate = Callable[[Mapping[str, Any]], bool]
_Value = Callable[[Mapping[str, Any], Mapping[str, Any] | None], Any]

_VARIABLES = {
    "channel": "string",
    "currency": "string",
    "country": "string",
    "location": "string",
    "tier": "string",
    "date": "string",
    "segments": "list",
    "coupons": "list",
    "customer": "bool",
    "first_order": "bool",
    "total": "double",
    "units": "int",
    "hour": "int",
    "weekday": "int",
}
_LINE_FIELDS = {
    "sku": "string",
    "category": "string",
    "quantity": "int",
    "unit_price": "double",
    "amount": "double",
}
# Rules that only pass their one child through (parentheses, a lone "or"/"and" term).
_PASS = {
    "addition",
    "multiplication",
    "unary",
    "member",
    "primary",
    "relation",
    "expr",
    "paren_expr",
    "conditionalor",
    "conditionaland",
}
_ORDERED = {"string", "int", "double"}
_STRING = re.compile(r'^"[^"\\\n]*"$|^\'[^\'\\\n]*\'$')
_INT = re.compile(r"^-?\d{1,18}$")
_DOUBLE = re.compile(r"^-?\d{1,15}\.\d{1,15}$")
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "relation_eq": lambda a, b: bool(a == b),
    "relation_ne": lambda a, b: bool(a != b),
    "relation_lt": lambda a, b: bool(a < b),
    "relation_le": lambda a, b: bool(a <= b),
    "relation_gt": lambda a, b: bool(a > b),
    "relation_ge": lambda a, b: bool(a >= b),
}


def _is_tree(node: Any) -> bool:
    """A node of cel-python's parse tree (a lark ``Tree``: ``data`` and ``children``)."""
    return hasattr(node, "data") and hasattr(node, "children")


class _Unsupported(Exception):
    """Outside the fast shapes: cel-python decides."""


@dataclass(frozen=True)
class _Typed:
    type: str  # string, int, double, bool, list (of strings), or a literal list "list:<type>"
    value: _Value
    literal: Any = None  # the Python value when the operand is a literal
    is_literal: bool = False
    name: str | None = None  # "channel", "line.sku", ... when the operand is a plain variable


@dataclass(frozen=True)
class Requirements:
    """What a cart must have for the condition to hold (None: no requirement of that kind)."""

    channels: frozenset[str] | None = None
    skus: frozenset[str] | None = None
    categories: frozenset[str] | None = None


def compile_fast(tree: Any) -> Predicate | None:
    """A predicate equal to cel-python on ``tree`` (a parsed condition), or None."""
    try:
        typed = _Compiler().compile(tree)
    except _Unsupported:
        return None
    if typed.type != "bool":
        return None
    value = typed.value
    return lambda variables: bool(value(variables, None))


def requirements(tree: Any) -> Requirements:
    """The top-level ``&&`` terms of ``tree`` a cart must meet (module docstring)."""
    found: dict[str, frozenset[str]] = {}
    for term in _conjuncts(tree):
        for kind, values in _requirement(term):
            found[kind] = found[kind] & values if kind in found else values
    return Requirements(
        channels=found.get("channels"), skus=found.get("skus"), categories=found.get("categories")
    )


def _unwrap(node: Any) -> Any:
    """Through single-child pass-through rules and parentheses."""
    while _is_tree(node):
        if node.data in _PASS and len(node.children) == 1:
            node = node.children[0]
        else:
            break
    return node


def _conjuncts(tree: Any) -> list[Any]:
    node = _unwrap(tree)
    if _is_tree(node) and node.data == "conditionaland" and len(node.children) == 2:
        return _conjuncts(node.children[0]) + _conjuncts(node.children[1])
    return [node]


def _requirement(term: Any) -> list[tuple[str, frozenset[str]]]:
    try:
        compiler = _Compiler()
        if _is_tree(term) and term.data == "relation" and len(term.children) == 2:
            op, left, right = _relation_parts(term)
            a, b = compiler.compile(left), compiler.compile(right)
            if op == "relation_eq":
                for var, lit in ((a, b), (b, a)):
                    if var.name == "channel" and lit.is_literal and lit.type == "string":
                        return [("channels", frozenset([lit.literal]))]
            if op == "relation_in" and a.name == "channel" and b.is_literal:
                return [("channels", frozenset(b.literal))]
            return []
        macro = _macro(term)
        if macro is not None and macro[0] == "exists":
            out = []
            for inner in _conjuncts(macro[2]):
                out.extend(_line_requirement(inner, macro[1]))
            return out
    except _Unsupported:
        return []
    return []


def _line_requirement(term: Any, bound: str) -> list[tuple[str, frozenset[str]]]:
    if not (_is_tree(term) and term.data == "relation" and len(term.children) == 2):
        return []
    compiler = _Compiler(bound)
    op, left, right = _relation_parts(term)
    a, b = compiler.compile(left), compiler.compile(right)
    kinds = {"line.sku": "skus", "line.category": "categories"}
    if op == "relation_eq":
        for var, lit in ((a, b), (b, a)):
            if var.name in kinds and lit.is_literal and lit.type == "string":
                return [(kinds[var.name], frozenset([lit.literal]))]
    if op == "relation_in" and a.name in kinds and b.is_literal:
        return [(kinds[a.name], frozenset(b.literal))]
    return []


def _relation_parts(node: Any) -> tuple[str, Any, Any]:
    head, right = node.children
    if not _is_tree(head) or len(head.children) != 1:
        raise _Unsupported
    return str(head.data), head.children[0], right


def _macro(node: Any) -> tuple[str, str, Any] | None:
    """(exists | all, bound name, predicate tree) of ``lines.exists(l, P)``, else None."""
    node = _unwrap(node)
    if not (_is_tree(node) and node.data == "member_dot_arg"):
        return None
    target, method, args = node.children
    if _ident(target) != "lines" or str(method) not in ("exists", "all"):
        return None
    if not _is_tree(args) or len(args.children) != 2:
        raise _Unsupported
    bound = _ident(args.children[0])
    if bound is None or bound in _VARIABLES or bound == "lines":
        raise _Unsupported
    return str(method), bound, args.children[1]


def _ident(node: Any) -> str | None:
    node = _unwrap(node)
    if _is_tree(node) and node.data == "ident" and len(node.children) == 1:
        return str(node.children[0])
    return None


class _Compiler:
    def __init__(self, bound: str | None = None) -> None:
        self.bound = bound

    def compile(self, node: Any) -> _Typed:
        node = _unwrap(node)
        if not _is_tree(node):
            raise _Unsupported
        kind = node.data
        if kind in ("conditionalor", "conditionaland"):
            a, b = (self._bool(c) for c in node.children)
            if kind == "conditionalor":
                return _Typed("bool", lambda v, ln: a(v, ln) or b(v, ln))
            return _Typed("bool", lambda v, ln: a(v, ln) and b(v, ln))
        if kind == "unary" and len(node.children) == 2:
            head, operand = node.children
            if not (_is_tree(head) and head.data == "unary_not"):
                raise _Unsupported
            inner = self._bool(operand)
            return _Typed("bool", lambda v, ln: not inner(v, ln))
        if kind == "relation" and len(node.children) == 2:
            return self._relation(node)
        if kind == "literal":
            return _literal(node.children[0])
        if kind == "list_lit":
            return self._list(node)
        if kind == "ident":
            return self._variable(str(node.children[0]))
        if kind == "member_dot":
            return self._field(node)
        if kind == "member_dot_arg":
            return self._macro(node)
        if kind == "ident_arg":
            return self._size(node)
        raise _Unsupported

    def _bool(self, node: Any) -> _Value:
        typed = self.compile(node)
        if typed.type != "bool":
            raise _Unsupported
        return typed.value

    def _relation(self, node: Any) -> _Typed:
        op, left_node, right_node = _relation_parts(node)
        left, right = self.compile(left_node), self.compile(right_node)
        lv, rv = left.value, right.value
        if op == "relation_in":
            if right.type == "list" and left.type == "string":
                return _Typed("bool", lambda v, ln: lv(v, ln) in rv(v, ln))
            if right.type == f"list:{left.type}":
                members = frozenset(right.literal)
                return _Typed("bool", lambda v, ln: lv(v, ln) in members)
            raise _Unsupported
        compare = _COMPARE.get(op)
        if compare is None or left.type != right.type or left.type.startswith("list"):
            raise _Unsupported
        if left.type not in _ORDERED and op not in ("relation_eq", "relation_ne"):
            raise _Unsupported
        return _Typed("bool", lambda v, ln: compare(lv(v, ln), rv(v, ln)))

    def _list(self, node: Any) -> _Typed:
        items = node.children[0].children if node.children else []
        typed = [self.compile(i) for i in items]
        types = {t.type for t in typed}
        if not typed or len(types) != 1 or not all(t.is_literal for t in typed):
            raise _Unsupported
        (item_type,) = types
        if item_type not in _ORDERED and item_type != "bool":
            raise _Unsupported
        values = [t.literal for t in typed]
        return _Typed(f"list:{item_type}", lambda v, ln: values, values, True)

    def _variable(self, name: str) -> _Typed:
        if name not in _VARIABLES or name == self.bound:
            raise _Unsupported
        return _Typed(_VARIABLES[name], lambda v, ln: v[name], name=name)

    def _field(self, node: Any) -> _Typed:
        target, field = node.children
        if self.bound is None or _ident(target) != self.bound or str(field) not in _LINE_FIELDS:
            raise _Unsupported
        key = str(field)
        return _Typed(
            _LINE_FIELDS[key], lambda v, ln: ln[key] if ln is not None else None, name=f"line.{key}"
        )

    def _macro(self, node: Any) -> _Typed:
        macro = _macro(node)
        if macro is None or self.bound is not None:
            raise _Unsupported
        method, bound, body = macro
        predicate = _Compiler(bound)._bool(body)
        if method == "exists":
            return _Typed("bool", lambda v, ln: any(predicate(v, x) for x in v["lines"]))
        return _Typed("bool", lambda v, ln: all(predicate(v, x) for x in v["lines"]))

    def _size(self, node: Any) -> _Typed:
        name, args = node.children
        if str(name) != "size" or not _is_tree(args) or len(args.children) != 1:
            raise _Unsupported
        target = _ident(args.children[0])
        if target not in ("lines", "segments", "coupons") or target == self.bound:
            raise _Unsupported
        return _Typed("int", lambda v, ln: len(v[target]))


def _literal(token: Any) -> _Typed:
    if not (isinstance(token, str) and hasattr(token, "type")):  # a lark Token
        raise _Unsupported
    text = str(token)
    value: Any
    if token.type == "STRING_LIT" and _STRING.match(text):
        value, kind = text[1:-1], "string"
    elif token.type == "INT_LIT" and _INT.match(text):
        value, kind = int(text), "int"
    elif token.type == "FLOAT_LIT" and _DOUBLE.match(text):
        value, kind = float(text), "double"
    elif token.type == "BOOL_LIT" and text in ("true", "false"):
        value, kind = text == "true", "bool"
    else:
        raise _Unsupported
    return _Typed(kind, lambda v, ln: value, value, True)
