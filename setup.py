"""pip install --no-build-isolation .   (offline: Debian's pybind11-dev, python3-dev, setuptools)

The compiled core is built by the project's CMake (target rebalance_core) in build/ (or
$REBALANCE_BUILD_DIR; a fresh directory builds the library and the modules only), then copied into
the package beside the pure-Python layer under python/rebalance/. So is rebalance._torch (target
rebalance_torch: the torch extension behind rebalance.torch) with the torch version it was built
against (rebalance/torch/_build.py), where the build found libtorch_python.
"""
import os
import re
import shutil
import subprocess
import sys
import sysconfig

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))


def _version():
    with open(os.path.join(HERE, "CMakeLists.txt")) as f:
        return re.search(r"project\(rebalance VERSION ([0-9.]+)", f.read()).group(1)


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = os.path.abspath(os.environ.get("REBALANCE_BUILD_DIR", os.path.join(HERE, "build")))
        if not os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
            subprocess.check_call(["cmake", "-S", HERE, "-B", build_dir, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
                                   "-DREBALANCE_BUILD_TESTS=OFF", "-DREBALANCE_BUILD_BENCH=OFF",
                                   f"-DPython_EXECUTABLE={sys.executable}"])
        target, stem = {"rebalance._core": ("rebalance_core", "_core"),
                        "rebalance._torch": ("rebalance_torch", "_torch")}[ext.name]
        r = subprocess.run(["cmake", "--build", build_dir, "--target", target, "-j", str(os.cpu_count() or 1)])
        if r.returncode != 0:
            if ext.name == "rebalance._torch":  # optional: a libtorch without libtorch_python
                print("rebalance: rebalance._torch not built; rebalance.torch will not import", file=sys.stderr)
                return
            raise subprocess.CalledProcessError(r.returncode, r.args)
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        built = os.path.join(build_dir, "python", "rebalance", stem + suffix)
        if not os.path.exists(built):
            found = [f for f in os.listdir(os.path.dirname(built)) if f.startswith("_core")]
            raise RuntimeError(f"{build_dir} holds {found}, built for another Python than {sys.executable} "
                               f"({suffix}); set REBALANCE_BUILD_DIR to a fresh directory")
        dest = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copyfile(built, dest)
        if ext.name == "rebalance._torch":
            shutil.copyfile(os.path.join(build_dir, "python", "rebalance", "torch", "_build.py"),
                            os.path.join(os.path.dirname(dest), "torch", "_build.py"))


setup(
    name="rebalance",
    version=_version(),
    description="Learning from class-imbalanced data: imbalanced-learn's API over a C++/libtorch core",
    packages=["rebalance", "rebalance.torch"],
    package_dir={"": "python"},
    ext_modules=[Extension("rebalance._core", sources=[]), Extension("rebalance._torch", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    python_requires=">=3.9",
    install_requires=["numpy", "scipy", "scikit-learn"],
    zip_safe=False,
    options={"build": {"build_base": os.path.join("build", "setuptools")},
             "egg_info": {"egg_base": os.path.join("build", "setuptools")}},
)
