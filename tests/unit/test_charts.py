"""The dashboard's SVG charts (proportional marks, drill-down links, escaping, stable output) and
the drill-down filters they link to."""

import re
import xml.etree.ElementTree as ET
from datetime import date
from types import SimpleNamespace
from typing import cast
from urllib.parse import parse_qs, urlsplit

from api.web.charts import Mark, bar_chart, histogram, line_chart
from api.web.dashboard import Window
from api.web.dashboard_revenue import percent, window
from api.web.data import chart_filter

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def bars(svg: ET.Element) -> list[ET.Element]:
    return list(svg.iter(f"{SVG}rect"))


class TestBarChart:
    def test_bar_heights_are_proportional_to_values(self) -> None:
        svg = parse(bar_chart([Mark("a", 2), Mark("b", 4), Mark("c", 1)], title="t"))
        heights = [float(r.get("height", "0")) for r in bars(svg)]
        assert heights[1] == max(heights)
        assert abs(heights[0] * 2 - heights[1]) < 0.2
        assert abs(heights[2] * 4 - heights[1]) < 0.2

    def test_every_bar_links_to_its_drill_down_with_an_accessible_name(self) -> None:
        svg = parse(bar_chart([Mark("q1", 3, "/ui/encounters?queue=q1&status=ready"), Mark("er", 0, "/ui/encounters?queue=er")], title="Backlog"))
        links = list(svg.iter(f"{SVG}a"))
        assert [a.get("href") for a in links] == ["/ui/encounters?queue=q1&status=ready", "/ui/encounters?queue=er"]
        assert [a.get("aria-label") for a in links] == ["q1: 3", "er: 0"]
        # A zero bar still has a visible, clickable sliver.
        assert float(bars(svg)[1].get("height", "0")) > 0

    def test_labels_and_links_are_escaped(self) -> None:
        markup = str(bar_chart([Mark('<script>alert(1)</script>', 1, '/ui/x?a=1&b="2"')], title="<b>t</b>"))
        assert "<script>" not in markup
        assert "&lt;script&gt;" in markup or "&lt;scri" in markup
        assert 'b="2"' not in markup
        parse(markup)  # still well-formed XML

    def test_count_axes_use_whole_numbers(self) -> None:
        svg = parse(bar_chart([Mark("a", 1), Mark("b", 0)], title="t"))
        ticks = [t.text or "" for t in svg.iter(f"{SVG}text") if t.get("text-anchor") == "end"]
        assert ticks == ["0", "1"]

    def test_no_data_says_so_instead_of_drawing_an_empty_axis(self) -> None:
        markup = str(bar_chart([], title="t"))
        assert "No data for this period" in markup
        assert "<rect" not in markup

    def test_output_is_deterministic_and_titled_for_screen_readers(self) -> None:
        marks = [Mark("a", 1.5, "/x")]
        first, second = str(bar_chart(marks, title="Hours")), str(bar_chart(marks, title="Hours"))
        assert first == second
        svg = parse(first)
        assert svg.get("role") == "img"
        labelled = (svg.get("aria-labelledby") or "").split()
        assert {e.get("id") for e in svg if e.tag in (f"{SVG}title", f"{SVG}desc")} == set(labelled)
        assert "a 1.5" in (svg.find(f"{SVG}desc").text or "")  # type: ignore[union-attr]


class TestHistogramAndLine:
    def test_histogram_bins_touch(self) -> None:
        svg = parse(histogram([Mark("0-2d", 1), Mark("3-7d", 2)], title="t"))
        a, b = bars(svg)
        gap = float(b.get("x", "0")) - (float(a.get("x", "0")) + float(a.get("width", "0")))
        assert 0 <= gap < 20
        wide = parse(bar_chart([Mark("0-2d", 1), Mark("3-7d", 2)], title="t"))
        c, d = bars(wide)
        assert float(d.get("x", "0")) - (float(c.get("x", "0")) + float(c.get("width", "0"))) > gap

    def test_line_points_run_left_to_right_with_higher_values_higher(self) -> None:
        marks = [Mark("2026-01-01", 2, "/d1"), Mark("2026-01-02", 6, "/d2"), Mark("2026-01-03", 4, "/d3")]
        svg = parse(line_chart(marks, title="Turnaround", unit=" h"))
        points = [(float(c.get("cx", "0")), float(c.get("cy", "0"))) for c in svg.iter(f"{SVG}circle")]
        assert [x for x, _ in points] == sorted(x for x, _ in points)
        assert points[1][1] < points[2][1] < points[0][1]  # SVG y grows downwards
        assert [a.get("href") for a in svg.iter(f"{SVG}a")] == ["/d1", "/d2", "/d3"]
        assert re.search(r"2026-01-02: 6 h", str(line_chart(marks, title="Turnaround", unit=" h")))

    def test_a_single_point_is_drawn_in_the_middle(self) -> None:
        svg = parse(line_chart([Mark("2026-01-01", 3)], title="t"))
        (circle,) = list(svg.iter(f"{SVG}circle"))
        assert 200 < float(circle.get("cx", "0")) < 280


class TestDrillLinks:
    def test_revenue_drill_downs_keep_the_dashboard_window_and_the_filter(self) -> None:
        w = cast(Window, SimpleNamespace(date_from=date(2026, 1, 1), date_to=date(2026, 1, 31)))
        url = urlsplit(window(w, denial_category="coding", denial_payer=""))
        assert url.path == "/ui/encounters"
        assert parse_qs(url.query) == {"received_from": ["2026-01-01"], "received_to": ["2026-01-31"], "denial_category": ["coding"]}
        assert percent(0.3333) == 33.3
        assert percent(None) == 0.0

    def test_the_encounter_lists_empty_form_fields_mean_any(self) -> None:
        f = chart_filter(status="", payer="", scrub_rule="em.modifier25_missing", rework=True)
        assert f.status is None
        assert f.payer is None
        assert f.describe() == [("scrub_rule", "em.modifier25_missing"), ("rework", "True")]
