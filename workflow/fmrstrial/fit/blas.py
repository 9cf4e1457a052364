"""Run the fit with single-threaded OpenBLAS.

The fit works on small matrices (a few hundred rows, tens of columns). Multi-threaded
OpenBLAS gains nothing there, and on a busy machine its threads wait for cores: a 900 x 20
QR or SVD then takes tens of milliseconds instead of tens of microseconds. Workflows run one
fit per core anyway. `single_threaded_blas()` sets every OpenBLAS loaded in the process
(numpy's and scipy's bundled copies) to one thread and restores the previous counts on exit;
where the library or its thread-control functions are not found it does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from collections.abc import Iterator

#: (getter, setter) symbol pairs of OpenBLAS builds (scipy-openblas 64- and 32-bit ints,
#: plain OpenBLAS).
_SYMBOLS = (
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
    ("openblas_get_num_threads", "openblas_set_num_threads"),
)
_LOCK = threading.Lock()
_DEPTH = 0
_SAVED: list[tuple[object, int]] = []


def _loaded_openblas() -> list[str]:
    try:
        with open("/proc/self/maps", encoding="utf-8") as fh:
            paths = {line.split()[-1] for line in fh if "openblas" in line.lower()}
    except OSError:
        return []
    return sorted(p for p in paths if p.startswith("/"))


def _controls() -> list[tuple[object, object]]:
    out = []
    for path in _loaded_openblas():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for getter, setter in _SYMBOLS:
            if hasattr(lib, getter) and hasattr(lib, setter):
                get, set_ = getattr(lib, getter), getattr(lib, setter)
                get.restype = ctypes.c_int
                set_.argtypes = [ctypes.c_int]
                out.append((get, set_))
                break
    return out


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Context in which OpenBLAS uses one thread (re-entrant, thread-safe)."""
    global _DEPTH
    with _LOCK:
        if _DEPTH == 0:
            _SAVED.clear()
            for get, set_ in _controls():
                _SAVED.append((set_, int(get())))
                set_(1)
        _DEPTH += 1
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH -= 1
            if _DEPTH == 0:
                for set_, n in _SAVED:
                    set_(n)
                _SAVED.clear()
