"""TensorFlow's CPU kernels: oneDNN's, also on the x86 CPUs where TensorFlow leaves them off.

TensorFlow's Linux x86 wheels turn oneDNN on by default only on CPUs with AVX512-VNNI,
AVX512-BF16 or AMX (TF 2.9 release notes). On the others (AMD EPYC before Zen 4, older Intel)
convolutions fall back to Eigen kernels built for plain AVX, while oneDNN picks AVX2 and FMA
at run time. On the 2-core AMD EPYC this project is developed on, that halves an epoch of
the codelab CNN (10.0 s to 5.0 s; `python -m bench trainer` shows the whole-trial effect).

TensorFlow reads `TF_ENABLE_ONEDNN_OPTS` once, when it loads, so `prefer_onednn` must run
before the first `import tensorflow` or `import keras`. A value the user set always stands:
`TF_ENABLE_ONEDNN_OPTS=0` gives TensorFlow's Eigen kernels back.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Mapping, MutableMapping

from trainer.environment import process_environment

ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"
_X86_MACHINES = frozenset({"x86_64", "amd64"})


def choose_onednn(environ: Mapping[str, str], machine: str) -> str | None:
    """The value to give `TF_ENABLE_ONEDNN_OPTS`, or None to leave it as it is (pure)."""
    if ONEDNN_VARIABLE in environ:
        return None  # the user's choice
    if machine.lower() not in _X86_MACHINES:
        return None  # Arm builds pair oneDNN with their own library and choose for themselves
    return "1"


def prefer_onednn(environ: MutableMapping[str, str] | None = None, machine: str | None = None) -> str:
    """Turns oneDNN on where `choose_onednn` says so; returns what was done, for the log."""
    environ = process_environment() if environ is None else environ
    machine = platform.machine() if machine is None else machine
    value = choose_onednn(environ, machine)
    if value is None:
        current = environ.get(ONEDNN_VARIABLE)
        shown = f"{ONEDNN_VARIABLE}={current}" if current is not None else f"{ONEDNN_VARIABLE} unset"
        return f"CPU kernels: TensorFlow's choice on {machine} ({shown})"
    if "tensorflow" in sys.modules:
        return f"CPU kernels: TensorFlow's default; it loaded before the trainer could set {ONEDNN_VARIABLE}"
    environ[ONEDNN_VARIABLE] = value
    return f"CPU kernels: oneDNN ({ONEDNN_VARIABLE}={value}; set it to 0 for TensorFlow's Eigen kernels)"
