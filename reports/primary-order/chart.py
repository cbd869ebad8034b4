#!/usr/bin/env python3
"""Bar chart (SVG) of committed writes per simulated second per Paxos variant, from the
throughput.tsv that measure.sh writes. Usage: chart.py THROUGHPUT.tsv OUT.svg"""
import sys

rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
w, h, left, top, bar, gap = 640, 300, 140, 40, 36, 18
peak = max(float(r[4]) for r in rows) or 1.0
scale = (w - left - 120) / peak
parts = [
    f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="13">',
    f'<text x="{w / 2}" y="22" text-anchor="middle" font-size="15">Committed writes per simulated second (5 servers, no faults, 50 clients)</text>',
]
for i, r in enumerate(rows):
    y = top + i * (bar + gap)
    length = float(r[4]) * scale
    color = "#c0392b" if r[0].startswith("classic-w1000") else "#2e86c1"
    parts.append(f'<text x="{left - 8}" y="{y + bar / 2 + 5}" text-anchor="end">{r[0]}</text>')
    parts.append(f'<rect x="{left}" y="{y}" width="{length:.1f}" height="{bar}" fill="{color}"/>')
    parts.append(f'<text x="{left + length + 6:.1f}" y="{y + bar / 2 + 5}">{float(r[4]):.0f}/s ({r[6]})</text>')
parts.append("</svg>")
open(sys.argv[2], "w").write("\n".join(parts) + "\n")
