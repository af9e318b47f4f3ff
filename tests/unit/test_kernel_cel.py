"""The shared CEL kernel: compile once, evaluate to a bool, errors as false."""

from __future__ import annotations

import sys

import pytest

from omniretail.kernel import cel


def test_compile_is_cached_and_a_syntax_error_is_raised() -> None:
    assert cel.compile_program("a > 1") is cel.compile_program("a > 1")
    with pytest.raises(cel.CelSyntaxError) as caught:
        cel.compile_program("a >")
    assert str(caught.value) and "\n" not in str(caught.value)
    assert caught.value.detail.startswith(str(caught.value).strip())


def test_holds_and_evaluate() -> None:
    assert cel.holds(None, {}) and cel.holds("  ", {})
    assert cel.holds('a > 1 && "x" in b', {"a": 2, "b": ["x"]})
    assert not cel.holds("a > 1", {"a": 1})
    assert not cel.holds("a > 1", {"a": "s"})  # a type error: false
    assert not cel.holds("missing == 1", {})  # an unknown variable: false
    assert not cel.holds("a >", {"a": 1})  # does not parse: false
    assert not cel.holds("a", {"a": 3})  # not a bool: false
    prepared = cel.activation({"a": 2.5})
    assert cel.evaluate(cel.compile_program("a >= 2.5"), prepared)
    assert not cel.evaluate(cel.compile_program("a < 2.5"), prepared)


def test_compiling_leaves_the_recursion_limit_as_the_import_set_it():
    before = sys.getrecursionlimit()
    assert before >= cel.CEL_RECURSION_LIMIT
    cel.compile_program("1 + 1 == 2 && 'recursion' != ''")
    assert sys.getrecursionlimit() == before


# --- bounded cost (kernel/cel.py's docstring)

DIGITS = "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"


def _refusal(text: str) -> str:
    with pytest.raises(cel.CelTooCostly) as caught:
        cel.compile_program(text)
    assert str(caught.value).startswith("too costly to evaluate: ")
    return str(caught.value)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        # the outside probe's nesting, 3 levels: 10 x 10 x 10 items per evaluation
        (
            f"size({DIGITS}.map(a, {DIGITS}.map(b, {DIGITS}))) > 0",
            "map() inside the body of map()",
        ),
        (
            "lines.exists(l, lines.exists(m, m.sku == l.sku))",
            "exists() inside the body of exists()",
        ),
        (
            "channels.filter(c, consent.all(k, k != c)).size() > 0",
            "all() inside the body of filter()",
        ),
        ("lines.map(l, [l].exists(x, true)).size() > 0", "exists() inside the body of map()"),
    ],
)
def test_a_comprehension_inside_anothers_body_is_refused(text: str, said: str) -> None:
    refusal = _refusal(text)
    assert said in refusal and "at most one level" in refusal
    assert not cel.holds(text, {"lines": [], "channels": [], "consent": []})


def test_map_over_the_result_of_a_map_is_refused_other_chains_are_not() -> None:
    # each map doubling the items: 2^n after n steps
    assert "map() over the result of another map()" in _refusal(
        "x.map(a, a + a).map(b, b + b).size() > 0"
    )
    assert "map() over the result" in _refusal("(x.map(a, a) + x).map(b, b).size() > 0")
    for fine in (
        'lines.filter(l, l.category == "Socks").map(l, l.amount)[0] >= 12.0',
        "x.map(a, a + a).exists(b, size(b) > 2)",
        "x.filter(a, a > 1).filter(b, b < 9).size() > 0",
    ):
        cel.compile_program(fine)
    assert cel.holds("x.map(a, a * 2).exists(b, b == 4)", {"x": [1, 2]})


def test_the_size_limits_name_the_limit_and_their_bound_itself_passes() -> None:
    def items(n: int) -> str:
        return ", ".join(str(i) for i in range(n))

    cel.compile_program(f"x in [{items(cel.MAX_LITERAL)}]")
    assert f"a literal of {cel.MAX_LITERAL + 1} items, at most {cel.MAX_LITERAL}" in _refusal(
        f"x in [{items(cel.MAX_LITERAL + 1)}]"
    )
    entries = ", ".join(f'"k{i}": {i}' for i in range(cel.MAX_LITERAL + 1))
    assert "at most 100 in one list or map" in _refusal(f"{{{entries}}}.size() > 0")

    exists = " || ".join(['lines.exists(l, l.sku == "A")'] * cel.MAX_MACROS)
    cel.compile_program(exists)
    assert f"more than {cel.MAX_MACROS} comprehension macros" in _refusal(
        exists + ' || lines.all(l, l.sku == "B")'
    )

    assert f"more than {cel.MAX_TERMS} operations and values" in _refusal(
        " && ".join(["a == 1"] * 200)
    )
    # the body of a macro over a literal list counts once per item: 100 x 11 terms
    assert "counts once per item" in _refusal(
        f"[{items(100)}].exists(i, i == a && i == b && i == c)"
    )
    cel.compile_program(f"size({DIGITS}.map(a, {DIGITS})) > 0")  # 10 x 10: 100 items, bounded

    # evaluated, this depth overflowed cel-python's recursion and the rule was silently false
    assert f"nested more than {cel.MAX_DEPTH} levels deep" in _refusal(
        "(" * 100 + "true" + ")" * 100
    )
    cel.compile_program("(" * 20 + "true" + ")" * 20)


def test_a_refusal_is_a_syntax_error_everywhere_and_is_cached() -> None:
    nested = "lines.exists(l, lines.exists(m, true))"
    for _ in range(2):
        with pytest.raises(cel.CelSyntaxError) as caught:
            cel.compile_program(nested)
        assert isinstance(caught.value, cel.CelTooCostly)
        assert caught.value.summary == str(caught.value) == caught.value.detail
    assert cel._compiled.cache_info().hits >= 1
    with pytest.raises(cel.CelSyntaxError) as broken:
        cel.compile_program("a >")
    assert not isinstance(broken.value, cel.CelTooCostly)
    assert broken.value.summary == "not valid CEL: a >"
    assert not cel.holds(nested, {"lines": [1]})


def test_matches_runs_on_re2_linear_whatever_the_pattern() -> None:
    """RE2 has no backreferences (Python's ``re`` would match ``(a)\\1`` on "aa") and never
    backtracks: ``(a+)+$`` on a long run of a's ending in "!" (exponential for ``re``)
    answers at once. A pattern RE2 refuses is an evaluation error: false."""
    assert cel.FUNCTIONS["matches"] is cel._matches
    assert cel.holds('name.matches("^A[a-z]+$")', {"name": "Ada"})
    assert not cel.holds('name.matches("^[0-9]+$")', {"name": "Ada"})
    assert not cel.holds('name.matches("(a)\\\\1")', {"name": "aa"})
    hostile = "a" * (cel.MAX_MATCH_TEXT - 1) + "!"  # exponential for ``re`` from ~30
    assert not cel.holds('name.matches("(a+)+$")', {"name": hostile})
    assert not cel.holds('name.matches("(a|aa)+$")', {"name": hostile})
    assert cel.holds('name.matches("(a+)+!$")', {"name": hostile})
    assert not cel.holds("name.matches(1)", {"name": "a"})  # not a pattern: false


def test_a_deadline_passes_once_its_seconds_are_spent() -> None:
    assert cel.Deadline(0).passed()
    assert not cel.Deadline(3600).passed()


def _balanced_sum(depth: int) -> str:
    return "a" if depth == 0 else f"({_balanced_sum(depth - 1)}+{_balanced_sum(depth - 1)})"


def test_a_value_built_past_its_bound_is_an_error_so_false() -> None:
    """The fifth probe's rule passed every static limit and took 26 s an evaluation: a tree
    of ``a + a`` built a 440 KB text for ``matches`` to crawl. ``+`` now refuses a text or a
    list past its bound before building it."""
    long_text, short_text = "x" * (cel.MAX_VALUE_CHARS // 2 + 1), "x" * 100
    assert cel.holds("(name + name).size() > 0", {"name": short_text})
    assert not cel.holds("(name + name).size() > 0", {"name": long_text})
    items = list(range(cel.MAX_VALUE_ITEMS // 2 + 1))
    assert cel.holds("(xs + xs).size() > 0", {"xs": items[:10]})
    assert not cel.holds("(xs + xs).size() > 0", {"xs": items})
    # Other sums are untouched.
    assert cel.holds(
        'timestamp("2024-01-01T00:00:00Z") + duration("1h") > timestamp("2024-01-01T00:00:00Z")'
        " && 1 + 2 == 3 && 1.5 + 1.0 == 2.5",
        {},
    )
    probe = '["{}"].map(a, {}).exists(s, s.matches("a[ab]{{1000}}c0"))'.format(
        "ab" * 1100, _balanced_sum(7)
    )
    assert not cel.holds(probe, {})


def test_matches_is_bounded_in_its_text_and_its_pattern() -> None:
    at_most = "a" * cel.MAX_MATCH_TEXT
    assert cel.holds('name.matches("^a+$")', {"name": at_most})
    assert not cel.holds('name.matches("^a+$")', {"name": at_most + "a"})
    assert cel.holds('name.matches("[ab]{30}")', {"name": "a" * 300})
    assert not cel.holds('name.matches("[ab]{300}")', {"name": "a" * 300})  # program > bound


def test_more_than_ten_matches_evaluations_are_refused() -> None:
    ten = " || ".join(f'name.matches("x{i}")' for i in range(cel.MAX_MATCHES))
    cel.compile_program(ten)
    with pytest.raises(cel.CelTooCostly, match="matches"):
        cel.compile_program(ten + ' || matches(name, "y")')
    with pytest.raises(cel.CelTooCostly, match="matches"):
        cel.compile_program(f'[{",".join(["1"] * 11)}].exists(i, name.matches("z"))')
