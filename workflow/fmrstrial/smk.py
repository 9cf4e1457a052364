"""Glue for `script:` entry points run by Snakemake: logging to the rule's log file."""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

from .errors import InputError


@contextlib.contextmanager
def logged(log_path: str | None) -> Iterator[None]:
    """Send stdout, stderr and logging to `log_path`; record a failure before re-raising.

    Bad input (InputError) is logged as its plain message, anything else with a traceback.
    """
    if not log_path:
        yield
        return
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", encoding="utf-8") as fh:
        old_out, old_err = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = fh
        handler = logging.StreamHandler(fh)
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(logging.INFO)
        try:
            yield
        except InputError as exc:
            print(f"error: {exc}", file=fh)
            raise
        except BaseException:
            traceback.print_exc(file=fh)
            raise
        finally:
            logging.getLogger().removeHandler(handler)
            sys.stdout, sys.stderr = old_out, old_err
