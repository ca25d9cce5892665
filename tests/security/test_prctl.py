"""prctl(2) through ``_ctypes``: the supervisor's flags without importing ``ctypes``."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

import maestro.containment.prctl as prctl_module

FOLDER = Path(prctl_module.__file__).resolve().parent

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux")

PR_GET_DUMPABLE = 3


def _as_supervisor(code: str) -> str:
    """Run ``code`` as the supervisor runs: ``python -I -S`` with this folder on the path."""
    program = f"import sys; sys.path.append({str(FOLDER)!r}); import prctl\n{code}"
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", program], capture_output=True,
                          text=True, check=True, timeout=30)
    return proc.stdout.strip()


def test_prctl_sets_and_reads_a_flag_of_the_calling_process() -> None:
    out = _as_supervisor("print(prctl.prctl(prctl.PR_SET_DUMPABLE, 0), prctl.prctl(3))")
    assert out == "0 0"


def test_prctl_answers_minus_one_for_an_option_the_kernel_refuses() -> None:
    assert _as_supervisor("print(prctl.prctl(99999, 0))") == "-1"


def test_the_supervisor_imports_neither_ctypes_nor_typing() -> None:
    out = _as_supervisor("prctl.prctl(prctl.PR_SET_DUMPABLE, 0)\n"
                         "print(sorted(m for m in ('ctypes', 'typing') if m in sys.modules))")
    assert out == "[]"


def test_prctl_falls_back_to_ctypes_where_ctypes_internals_differ(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import ctypes  # loaded first, with the real _ctypes under it

    monkeypatch.setitem(sys.modules, "_ctypes", types.ModuleType("_ctypes"))
    monkeypatch.setattr(prctl_module, "_FUNCTION", [])
    assert prctl_module.prctl(PR_GET_DUMPABLE) in (0, 1, 2)
    assert type(prctl_module._FUNCTION[0]).__module__ == ctypes.__name__  # CDLL's own type


def test_prctl_in_process_returns_the_kernels_answer() -> None:
    assert prctl_module.prctl(PR_GET_DUMPABLE) in (0, 1, 2)
