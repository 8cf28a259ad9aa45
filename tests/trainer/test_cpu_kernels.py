"""oneDNN kernels on x86 unless the user chose; the switch really reaches TensorFlow."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from trainer.cpu_kernels import ONEDNN_VARIABLE, choose_onednn, prefer_onednn


@pytest.mark.parametrize(
    ("environ", "machine", "expected"),
    [
        ({}, "x86_64", "1"),
        ({}, "AMD64", "1"),
        ({ONEDNN_VARIABLE: "0"}, "x86_64", None),  # the user asked for Eigen's kernels
        ({ONEDNN_VARIABLE: "1"}, "x86_64", None),
        ({}, "aarch64", None),  # Arm wheels choose for themselves
    ],
)
def test_choice(environ, machine, expected):
    assert choose_onednn(environ, machine) == expected


def test_prefer_onednn_sets_the_variable_and_says_how_to_undo_it(monkeypatch):
    environ: dict[str, str] = {}
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    line = prefer_onednn(environ, "x86_64")
    assert environ == {ONEDNN_VARIABLE: "1"}
    assert "oneDNN" in line and f"{ONEDNN_VARIABLE}=1" in line and "0" in line


def test_a_user_setting_is_left_alone_and_reported(monkeypatch):
    environ = {ONEDNN_VARIABLE: "0"}
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    line = prefer_onednn(environ, "x86_64")
    assert environ == {ONEDNN_VARIABLE: "0"}
    assert f"{ONEDNN_VARIABLE}=0" in line


def test_too_late_once_tensorflow_is_loaded(monkeypatch):
    environ: dict[str, str] = {}
    monkeypatch.setitem(sys.modules, "tensorflow", object())
    line = prefer_onednn(environ, "x86_64")
    assert environ == {}
    assert "loaded before" in line


PROBE = (
    "from trainer import cpu_kernels; cpu_kernels.prefer_onednn();"
    "from tensorflow.python.util import _pywrap_util_port;"  # no public API reports it
    "print(_pywrap_util_port.IsMklEnabled())"
)


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="oneDNN's default is chosen on x86 only")
@pytest.mark.parametrize(("preset", "expected"), [(None, "True"), ("0", "False")])
def test_tensorflow_loads_with_the_chosen_kernels(preset, expected):
    env = {key: value for key, value in os.environ.items() if key != ONEDNN_VARIABLE}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if preset is not None:
        env[ONEDNN_VARIABLE] = preset
    probe = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=99)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip().splitlines()[-1] == expected
