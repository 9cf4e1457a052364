"""Keep OpenBLAS single-threaded while one session is processed.

The workflow runs one job per session, several at a time, so each job should use one core.
The matrices of one session are small (Hankel SVD of 256 x 257, 760-column products), and
a multi-threaded OpenBLAS spends more time synchronising threads than computing, badly so
on a busy machine (measured here: twice the run time of the tests with 2 threads on a
loaded 2-core machine). Snakemake sets OPENBLAS_NUM_THREADS for its jobs; this covers
direct use of the API and of `fmrstrial preprocess`.

OpenBLAS reads its environment only when loaded, so the thread count is changed through
its own `*_set_num_threads` function in the copies already loaded into the process (NumPy
and SciPy each bundle one), found in /proc/self/maps, and restored afterwards. The same
technique as threadpoolctl, reduced to OpenBLAS on Linux; elsewhere it does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Iterator

#: (getter, setter) symbol pairs of OpenBLAS builds: plain, SciPy-bundled, 64-bit SciPy.
_SYMBOLS = (
    ("openblas_get_num_threads", "openblas_set_num_threads"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
)


def _loaded_openblas() -> list[tuple]:
    """(get, set) function pairs of every OpenBLAS loaded in this process."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as fh:
            maps = fh.read()
    except OSError:
        return []
    paths = sorted(
        {
            line.split()[-1]
            for line in maps.splitlines()
            if "openblas" in line.rsplit("/", 1)[-1].lower() and line.split()[-1].startswith("/")
        }
    )
    mode = getattr(os, "RTLD_NOLOAD", 0) | getattr(os, "RTLD_LAZY", 1)
    found = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path, mode=mode)
        except OSError:
            continue
        for get_name, set_name in _SYMBOLS:
            if hasattr(lib, get_name) and hasattr(lib, set_name):
                getter, setter = getattr(lib, get_name), getattr(lib, set_name)
                getter.restype = ctypes.c_int
                setter.argtypes = [ctypes.c_int]
                found.append((getter, setter))
                break
    return found


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run the block with one OpenBLAS thread, restoring the previous counts after."""
    libs = _loaded_openblas()
    previous = [get() for get, _ in libs]
    try:
        for _, set_threads in libs:
            set_threads(1)
        yield
    finally:
        for (_, set_threads), n in zip(libs, previous, strict=True):
            set_threads(max(int(n), 1))
