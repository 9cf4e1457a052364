"""Keep OpenBLAS single-threaded while one session is preprocessed or fitted.

The workflow runs one job per session, several at a time, so each job should use one core.
The matrices involved are small (Hankel SVDs of 256 x 257, fit designs of a few hundred rows
by tens of columns), and a multi-threaded OpenBLAS spends more time synchronising threads
than computing, badly so on a busy machine (measured here: a 900 x 20 QR took tens of
milliseconds instead of tens of microseconds, and the preprocessing tests twice as long).

OpenBLAS reads its environment only when loaded, so the thread count is changed through its
own `*_set_num_threads` function in the copies already loaded into the process (NumPy and
SciPy each bundle one), found in /proc/self/maps, and restored afterwards: the technique of
threadpoolctl, reduced to OpenBLAS on Linux; elsewhere it does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
from collections.abc import Iterator

#: (getter, setter) symbol pairs of OpenBLAS builds: plain, SciPy-bundled, 64-bit ints.
_SYMBOLS = (
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
    ("openblas_get_num_threads", "openblas_set_num_threads"),
)
_LOCK = threading.Lock()
_DEPTH = 0
_SAVED: list[tuple[object, int]] = []


def _loaded_openblas() -> list[tuple]:
    """(get, set) function pairs of every OpenBLAS loaded in this process."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return []
    paths = sorted(
        {
            line.split()[-1]
            for line in lines
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
    """Context in which OpenBLAS uses one thread (re-entrant, thread-safe); the previous
    thread counts are restored when the outermost context exits."""
    global _DEPTH
    with _LOCK:
        if _DEPTH == 0:
            _SAVED.clear()
            for get, set_threads in _loaded_openblas():
                _SAVED.append((set_threads, int(get())))
                set_threads(1)
        _DEPTH += 1
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH -= 1
            if _DEPTH == 0:
                for set_threads, n in _SAVED:
                    set_threads(max(n, 1))
                _SAVED.clear()
