"""The inline SVG charts: axis labels that read true, bar labels that fit."""

from __future__ import annotations

import re

from omniretail.web.charts import bars, stacked_columns


def _axis_labels(svg: str) -> list[str]:
    return re.findall(r'text-anchor="end" fill="#57606a" font-size="11">([^<]*)<', svg)


def test_a_small_count_has_one_line_per_whole_number_and_no_repeated_label():
    svg = str(stacked_columns(["email"], {"suppressed": [2]}, title="Sends"))
    assert _axis_labels(svg) == ["0", "1", "2"]


def test_a_small_amount_keeps_its_fractions_on_the_axis():
    svg = str(stacked_columns(["w1", "w2"], {"GBP": [1.5, 2.5]}, title="Sales"))
    assert _axis_labels(svg) == ["0", "0.5", "1", "1.5", "2", "2.5"]


def test_larger_values_keep_four_intervals():
    svg = str(stacked_columns(["w1"], {"WEB": [180.0]}, title="Sales"))
    assert _axis_labels(svg) == ["0", "50", "100", "150", "200"]


def test_a_long_bar_label_starts_inside_the_chart():
    name = "suppressed customer inactive"
    svg = str(bars([(name, 1.0), ("consent", 3.0)], title="Reasons"))
    x = float(re.search(r'<text x="([\d.]+)"[^>]*text-anchor="end"[^>]*>' + name, svg).group(1))
    assert x - 8 * len(name) >= 0
    width = float(re.search(r'viewBox="0 0 ([\d.]+) ', svg).group(1))
    bar_end = max(
        float(x) + float(w)
        for x, w in re.findall(r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', svg)
    )
    assert bar_end <= width
