#!/usr/bin/env python3
"""`rebalance report` as a user runs it: run the tiny grid, write the HTML report, open it in
headless Chromium and check that every chart rendered without a script error; take a screenshot.

Usage: test_report.py PATH_TO_rebalance
"""
import base64
import json
import html.parser
import os
import re
import shutil
import struct
import subprocess
import tempfile
import unittest
import zlib

import cli_util
from cli_util import run

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def read_png(data):
    """Decode an 8-bit, non-interlaced PNG (grey, RGB, grey+alpha or RGBA) -> (width, height,
    channels, rows of bytes). Checks every chunk's CRC: a file rebalance wrote must be exact."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and interlace == 0, header
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    raw, stride, rows, prev = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
    assert len(raw) == height * (stride + 1), "IDAT holds the wrong number of bytes"
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            else:
                assert f == 0, f"bad filter {f}"
        rows.append(bytes(line))
        prev = line
    return width, height, channels, rows


def write_png(path, rows):
    """A grey PNG from rows of bytes, built independently of rebalance (stands in for the sample
    grids the runner saves)."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    raw = b"".join(b"\x00" + bytes(r) for r in rows)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", len(rows[0]), len(rows), 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class Page(html.parser.HTMLParser):
    """What the test needs from a (rendered) page: element counts and the text of #errors."""

    def __init__(self):
        super().__init__()
        self.ids, self.text, self.open = {}, {}, []
        self.svgs, self.documents, self.tables, self.charts, self.images = 0, 0, 0, 0, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids[a["id"]] = tag
            self.text[a["id"]] = ""
        if tag in ("div", "section"):
            self.open.append(a.get("id"))
        if tag == "svg" and "marks" in (a.get("class") or "").split():
            self.svgs += 1
        if a.get("role") == "graphics-document":
            self.documents += 1
        if tag == "table" and "results" in (a.get("class") or "").split():
            self.tables += 1
        if tag == "div" and "chart" in (a.get("class") or "").split():
            self.charts += 1
        if tag == "img":
            self.images.append(a.get("src", ""))

    def handle_endtag(self, tag):
        if tag in ("div", "section") and self.open:
            self.open.pop()

    def handle_data(self, data):
        for i in self.open:
            if i is not None:
                self.text[i] += data


def chromium(*args):
    assert shutil.which("chromium"), "chromium is not installed: run scripts/setup (it installs Debian's chromium)"
    profile = tempfile.mkdtemp(prefix="rebalance-chromium-")
    try:
        p = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                            "--no-first-run", "--disable-background-networking", "--disable-component-update",
                            "--disable-sync", f"--user-data-dir={profile}", "--virtual-time-budget=10000", *args],
                           capture_output=True, text=True, timeout=180)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return p


class Report(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.d = cls.tmp.name
        cls.run_dir = os.path.join(cls.d, "tiny")
        run("run", os.path.join(ROOT, "examples", "tiny.toml"), "--out", cls.run_dir)
        cls.results = os.path.join(cls.run_dir, "results.jsonl")
        if not os.path.exists(os.path.join(cls.run_dir, "config.toml")):
            shutil.copy(os.path.join(ROOT, "examples", "tiny.toml"), os.path.join(cls.run_dir, "config.toml"))
        samples = os.path.join(cls.run_dir, "samples")
        os.makedirs(samples, exist_ok=True)
        cls.runner_samples = sorted(f for f in os.listdir(samples) if f.endswith(".png"))
        # A checkerboard standing in for a sample grid, written here so the embedding is tested
        # whether or not the runner saved any.
        write_png(os.path.join(samples, "zz_checker.png"),
                  [[255 * ((x // 4 + y // 4) % 2) for x in range(32)] for y in range(16)])
        cls.html = os.path.join(cls.d, "report.html")
        cls.report = run("report", cls.results, "-o", cls.html)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_writes_one_self_contained_file(self):
        self.assertIn(f"wrote {self.html}", self.report.stdout)
        with open(self.html, encoding="utf-8") as f:
            text = f.read()
        # Offline: no script, stylesheet or image is fetched from anywhere.
        self.assertIsNone(re.search(r"<(script|img|link)[^>]*(src|href)=\"(https?:)?//", text))
        self.assertEqual(len(re.findall(r"<script>/\* vega(-lite|-embed)?@", text)), 3)
        page = Page()
        page.feed(text)
        self.assertEqual(page.tables, 3 + 7, "the metric tables and the seven sample-quality tables")
        for section in ("tables", "metrics", "pr", "confusion", "samples", "quality", "machine", "config"):
            self.assertIn(section, page.ids)
        self.assertIn("tiny", page.text["config"])
        self.assertIn("weighted_ce:weights=ratio", page.text["config"])

    def test_runner_samples_are_valid_pngs(self):
        # Sample grids from the runner (once it saves them) must decode, CRCs and all.
        for name in self.runner_samples:
            with open(os.path.join(self.run_dir, "samples", name), "rb") as f:
                width, height, channels, rows = read_png(f.read())
            self.assertGreater(width * height, 0, name)
            self.assertIn(channels, (1, 3), name)

    def test_sample_pngs_are_embedded_with_their_names(self):
        with open(self.html, encoding="utf-8") as f:
            page = Page()
            page.feed(f.read())
        names = self.runner_samples + ["zz_checker.png"]
        self.assertEqual(len(page.images), len(names))
        for name, src in zip(names, page.images):
            self.assertTrue(src.startswith("data:image/png;base64,"), src[:40])
            with open(os.path.join(self.run_dir, "samples", name), "rb") as f:
                self.assertEqual(base64.b64decode(src.split(",", 1)[1]), f.read(), name)
            self.assertIn(name, page.text["samples"])

    def test_renders_every_chart_without_errors(self):
        p = chromium("--dump-dom", "file://" + self.html)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        page = Page()
        page.feed(p.stdout)
        self.assertIn("errors", page.ids, "no #errors element in the rendered page")
        self.assertEqual(page.text["errors"].strip(), "", "script errors in the report")
        self.assertEqual(page.text["warnings"].strip(), "", "console warnings in the report")
        # tiny: 6 metric charts, the precision-recall curves, the confusion matrices and SMOTE's
        # embedding of real and synthetic rows.
        self.assertEqual(page.charts, 9)
        self.assertEqual(page.svgs, page.charts, "a chart did not render")
        self.assertEqual(page.documents, page.charts)
        self.assertIn('data-charts-done="9"', p.stdout)
        self.assertEqual(page.tables, 3 + 7)
        self.assertIn("two-sample AUC", page.text["quality"])
        self.assertIn("SMOTE", page.text["quality"])
        for method in ("Vanilla", "CS", "TS"):
            self.assertIn(f"<th>{method}</th>", p.stdout)

    def test_screenshot_shows_a_page(self):
        shot = os.path.join(self.d, "report.png")
        p = chromium(f"--screenshot={shot}", "--window-size=1400,3000", "--hide-scrollbars",
                     "file://" + self.html)
        self.assertTrue(os.path.exists(shot), p.stderr[-2000:])
        with open(shot, "rb") as f:
            data = f.read()
        width, height, channels, rows = read_png(data)
        self.assertEqual((width, height), (1400, 3000))
        # Charts in colour: far more than a blank or text-only page's handful of colours.
        colours = {row[i:i + 3] for row in rows[::7] for i in range(0, len(row), channels * 5)}
        self.assertGreater(len(colours), 200)
        shutil.copy(shot, os.path.join(os.path.dirname(cli_util.BIN), "report-screenshot.png"))

    def test_errors_are_clear(self):
        p = run("report", os.path.join(self.d, "missing", "results.jsonl"), ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no such results file", p.stderr)
        p = run("report", self.results, "-o", os.path.join(self.d, "x.html"), "--level", "7", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("--level 7: no results at that level; levels present: 10, 40", p.stderr)
        empty = os.path.join(self.d, "empty-cache")
        os.makedirs(empty, exist_ok=True)
        p = run("report", self.results, "-o", os.path.join(self.d, "x.html"), env={"REBALANCE_DATA": empty}, ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("run scripts/setup", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.d, "x.html")))
        self.assertEqual(run("report", ok=False).returncode, 2)

    def test_one_level_draws_the_methods_side_by_side(self):
        # A grid of one level (the tiny grid's results at 40): every chart still renders, the
        # metric charts put each method on its own row, and the caption says what bold means.
        one = os.path.join(self.d, "one-level")
        os.makedirs(one, exist_ok=True)
        with open(self.results, encoding="utf-8") as f, open(os.path.join(one, "results.jsonl"), "w") as out:
            out.writelines(line for line in f if json.loads(line)["level"] == "40")
        html = os.path.join(self.d, "one-level.html")
        run("report", os.path.join(one, "results.jsonl"), "-o", html)
        with open(html, encoding="utf-8") as f:
            text = f.read()
        self.assertIn('"y":{"field":"method","sort":["Vanilla"', text)
        self.assertIn("paired t-test over 2 seeds", text)
        p = chromium("--dump-dom", "file://" + html)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        page = Page()
        page.feed(p.stdout)
        self.assertEqual(page.text["errors"].strip(), "", "script errors in the report")
        self.assertEqual(page.text["warnings"].strip(), "", "console warnings in the report")
        self.assertEqual(page.svgs, page.charts, "a chart did not render")

    def test_level_and_seed_pick_the_detail_charts(self):
        out = os.path.join(self.d, "level40.html")
        run("report", self.results, "-o", out, "--level", "40", "--seed", "1")
        with open(out, encoding="utf-8") as f:
            self.assertIn("confusion matrices, minority size 40, seed 1", f.read())


if __name__ == "__main__":
    cli_util.main()
