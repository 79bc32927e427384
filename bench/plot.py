"""Throughput vs. concurrency from a `bench.intake --json` file, as a hand-written SVG.

    python -m bench.plot bench/results/latest.json bench/throughput.svg
"""

import argparse
import json
from html import escape
from pathlib import Path
from typing import Any

from bench.cpu import NOT_PER_REQUEST

SERIES = {
    "bare Temporal workflows": "#555555",
    "ClearChart signed webhooks": "#1f77b4",
    "ClearChart claims": "#2ca02c",
    "ClearChart coding submissions": "#d62728",
}
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 380, 60, 200, 30, 50


def series(results: list[dict[str, Any]]) -> dict[str, list[tuple[int, float]]]:
    """Per measure, (concurrency, rate) points of the sweep (suffixed rounds are left out)."""
    out: dict[str, list[tuple[int, float]]] = {name: [] for name in SERIES}
    for r in results:
        if r["name"] in out:
            out[r["name"]].append((r["concurrency"], r["rate"]))
    return {name: sorted(points) for name, points in out.items() if points}


def svg(points: dict[str, list[tuple[int, float]]], title: str) -> str:
    levels = sorted({c for pts in points.values() for c, _ in pts})
    top = max(rate for pts in points.values() for _, rate in pts) * 1.1 or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(c: int) -> float:  # concurrency levels evenly spaced (they grow geometrically)
        return LEFT + (levels.index(c) + 0.5) * plot_w / len(levels)

    def y(rate: float) -> float:
        return TOP + plot_h - rate / top * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{LEFT}" y="18" font-size="13">{escape(title)}</text>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="black"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="black"/>',
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 12}" text-anchor="middle">requests in flight (concurrency)</text>',
        f'<text x="14" y="{TOP + plot_h / 2}" transform="rotate(-90 14 {TOP + plot_h / 2})" text-anchor="middle">per second</text>',
    ]
    for i in range(5):
        rate = top * i / 4
        parts.append(f'<line x1="{LEFT - 4}" y1="{y(rate):.1f}" x2="{LEFT + plot_w}" y2="{y(rate):.1f}" stroke="#e5e5e5"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(rate) + 4:.1f}" text-anchor="end">{rate:.0f}</text>')
    for c in levels:
        parts.append(f'<text x="{x(c):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">{c}</text>')
    for row, (name, pts) in enumerate(points.items()):
        color = SERIES[name]
        path = " ".join(f"{x(c):.1f},{y(rate):.1f}" for c, rate in pts)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        parts += [f'<circle cx="{x(c):.1f}" cy="{y(rate):.1f}" r="3" fill="{color}"/>' for c, rate in pts]
        ly = TOP + 10 + row * 20
        parts.append(f'<line x1="{WIDTH - RIGHT + 15}" y1="{ly}" x2="{WIDTH - RIGHT + 35}" y2="{ly}" stroke="{color}" stroke-width="2"/>')
        parts.append(f'<text x="{WIDTH - RIGHT + 40}" y="{ly + 4}">{escape(name.removeprefix("ClearChart "))}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


PART_COLORS = {
    "this process": "#d62728",
    "Temporal": "#555555",
    "PostgreSQL": "#1f77b4",
    "billing worker": "#ff7f0e",
    "worker processes": "#9467bd",
    "clearinghouse": "#bcbd22",
    "other": "#cccccc",
}


def cpu_rows(results: list[dict[str, Any]]) -> list[tuple[str, dict[str, float]]]:
    """(measure, CPU ms per unit by part) for the rounds at the highest concurrency that have them."""
    top = max((r["concurrency"] for r in results if r.get("cpu_ms")), default=0)
    return [
        (r["name"], r["cpu_ms"])
        for r in results
        if r.get("cpu_ms") and r["concurrency"] == top and r["unit"] not in NOT_PER_REQUEST
    ]


def cpu_svg(rows: list[tuple[str, dict[str, float]]], title: str) -> str:
    """One stacked bar per measure: where a unit's CPU goes, across every process of the stack."""
    bar_h, gap, label_w = 22, 10, 300
    width, height = 860, TOP + len(rows) * (bar_h + gap) + 70
    top = max((sum(parts.values()) for _, parts in rows), default=1.0) * 1.1 or 1.0
    plot_w = width - label_w - 40

    def x(ms: float) -> float:
        return label_w + ms / top * plot_w

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="10" y="18" font-size="13">{escape(title)}</text>',
    ]
    for i, (name, parts) in enumerate(rows):
        y0, start = TOP + i * (bar_h + gap), 0.0
        out.append(f'<text x="{label_w - 8}" y="{y0 + bar_h * 0.7:.1f}" text-anchor="end">{escape(name)}</text>')
        for part, color in PART_COLORS.items():
            ms = parts.get(part, 0.0)
            if ms > 0:
                out.append(f'<rect x="{x(start):.1f}" y="{y0}" width="{x(start + ms) - x(start):.1f}" height="{bar_h}" fill="{color}"/>')
                start += ms
        out.append(f'<text x="{x(start) + 4:.1f}" y="{y0 + bar_h * 0.7:.1f}">{start:.0f} ms</text>')
    legend_y = TOP + len(rows) * (bar_h + gap) + 20
    for i, (part, color) in enumerate(PART_COLORS.items()):
        lx = 10 + i * 120
        out.append(f'<rect x="{lx}" y="{legend_y}" width="12" height="12" fill="{color}"/>')
        out.append(f'<text x="{lx + 16}" y="{legend_y + 10}">{escape(part)}</text>')
    out.append(f'<text x="10" y="{legend_y + 34}">CPU ms per unit (user + system); the bare workflow\'s total is the budget a ratio is measured against</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.plot", description=__doc__.split("\n")[0])
    parser.add_argument("results", type=Path, help="a file written by bench.intake --json")
    parser.add_argument("svg", type=Path)
    parser.add_argument("--title", default="ClearChart vs. bare Temporal, one run, 2 cores (shared)")
    parser.add_argument("--cpu", type=Path, help="also draw where each unit's CPU goes (stacked bars) to this SVG")
    args = parser.parse_args(argv)
    data = json.loads(args.results.read_text())
    args.svg.write_text(svg(series(data["results"]), args.title))
    if args.cpu:
        args.cpu.write_text(cpu_svg(cpu_rows(data["results"]), "CPU per unit by part of the stack, one run, 2 cores"))


if __name__ == "__main__":
    main()
