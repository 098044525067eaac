"""The server-side SVG charts: well-formed, accessible, CSP-safe, and drawing the figures they are given."""
import xml.etree.ElementTree as ET

import pytest

from server.dashboard.charts import Series, bar_chart, format_value, line_chart, nice_ticks

NS = {"svg": "http://www.w3.org/2000/svg"}


def parse(svg):
    return ET.fromstring(svg)


def test_nice_ticks_start_at_zero_and_cover_the_maximum():
    assert nice_ticks(0) == [0, 1]
    assert nice_ticks(7) == [0, 2, 4, 6, 8]
    assert nice_ticks(100) == [0, 25, 50, 75, 100]
    assert nice_ticks(0.3)[-1] >= 0.3
    for top in (1, 3, 9, 13, 99, 101, 4321, 250000):
        ticks = nice_ticks(top)
        assert ticks[0] == 0 and ticks[-1] >= top and len(ticks) <= 6


def test_format_value_is_swedish():
    assert format_value(1234567) == "1\u202f234\u202f567"
    assert format_value(2.5, "h") == "2,5 h"
    assert format_value(None) == "–"


def test_line_chart_is_accessible_svg_with_one_dot_per_known_value():
    svg = line_chart("backlog", "Osynkat per dag", ["20/11", "21/11", "22/11"],
                     [Series("Poster", [10, 4, 0]), Series("Enheter", [3, None, 1])], unit="st")
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "backlog-title backlog-desc"
    assert root.find("svg:title", NS).text == "Osynkat per dag"
    desc = root.find("svg:desc", NS).text
    assert "Poster: 0 st" in desc and "Enheter: 1 st" in desc and "20/11–22/11" in desc
    dots = root.findall(".//svg:circle", NS)
    assert len(dots) == 5  # the None is not drawn as zero
    assert [d.find("svg:title", NS).text for d in dots[:3]] == ["20/11: 10 st", "21/11: 4 st", "22/11: 0 st"]


def test_a_missing_value_breaks_the_line_instead_of_dropping_to_zero():
    root = parse(line_chart("c", "t", ["a", "b", "c", "d", "e"], [Series("s", [1, 2, None, 4, 5])]))
    lines = root.findall(".//svg:g[@class='chart-series chart-series-0']/svg:polyline", NS)
    assert [len(p.get("points").split()) for p in lines] == [2, 2]


def test_higher_values_are_drawn_higher():
    root = parse(line_chart("c", "t", ["a", "b"], [Series("s", [0, 50])]))
    low, high = root.findall(".//svg:circle", NS)
    assert float(high.get("cy")) < float(low.get("cy"))
    assert float(high.get("cx")) > float(low.get("cx"))


def test_charts_carry_no_inline_style_and_escape_text():
    svg = line_chart("c", "<script>", ["å&ä"], [Series('"ö"', [1])])
    svg += bar_chart("b", "Luckor", [("<b>", 3, "alert")])
    assert "style=" not in svg and "<script>" not in svg and "<b>" not in svg
    for part in (svg[:svg.index("</svg>") + 6], svg[svg.index("</svg>") + 6:]):
        parse(part)
    assert "å&amp;ä" in svg


def test_line_chart_rejects_series_of_the_wrong_length():
    with pytest.raises(ValueError):
        line_chart("c", "t", ["a", "b"], [Series("s", [1])])


def test_empty_line_chart_still_renders():
    root = parse(line_chart("c", "Tomt", [], [Series("s", [])]))
    assert "inga dagar" in root.find("svg:desc", NS).text


def test_bar_chart_lengths_are_proportional_and_values_are_written_out():
    root = parse(bar_chart("gaps", "Luckor per väg", [("Själv", 10, "ok"), ("Admin", 5, "warn"),
                                                       ("Beslut", 0, "alert")]))
    rects = root.findall(".//svg:rect", NS)
    widths = [float(r.get("width")) for r in rects]
    assert widths[2] == 0 and widths[0] == pytest.approx(2 * widths[1], abs=0.2)
    values = [t.text for t in root.findall(".//svg:text[@class='chart-value']", NS)]
    assert values == ["10", "5", "0"]
    groups = root.findall("svg:g", NS)
    assert [g.get("class") for g in groups] == ["chart-bar chart-bar-ok", "chart-bar chart-bar-warn",
                                                "chart-bar chart-bar-alert"]
    assert "Själv: 10" in root.find("svg:desc", NS).text


def test_a_tiny_nonzero_bar_stays_visible():
    root = parse(bar_chart("b", "t", [("stor", 100000), ("liten", 1)]))
    assert float(root.findall(".//svg:rect", NS)[1].get("width")) >= 2


def test_x_labels_thin_out_evenly_and_always_name_the_last_day():
    labels = [f"{d}/11" for d in range(1, 15)]
    root = parse(line_chart("c", "t", labels, [Series("s", list(range(14)))]))
    shown = [t.text for t in root.findall(".//svg:g[@class='chart-xlabels']/svg:text", NS)]
    assert shown[-1] == "14/11" and len(shown) <= 8
    xs = [float(t.get("x")) for t in root.findall(".//svg:g[@class='chart-xlabels']/svg:text", NS)]
    gaps = {round(b - a, 1) for a, b in zip(xs, xs[1:])}
    assert len(gaps) == 1  # evenly spaced: no two labels crowd each other
