"""`python -m scripts emulator`: user errors are one line, never a traceback."""

from __future__ import annotations

import socket

from scripts.cli import main


def test_bad_options_are_one_line_errors(capsys, tmp_path):
    assert main(["emulator", "--max-parallel", "0", "--state-dir", str(tmp_path)]) == 1
    assert main(["emulator", "--port", "70000", "--state-dir", str(tmp_path)]) == 1
    errors = capsys.readouterr().err.strip().splitlines()
    assert errors == [
        "error: --max-parallel: must be at least 1",
        "error: --port: 70000 is not a port number",
    ]


def test_a_state_dir_in_use_by_another_emulator_is_refused(capsys, tmp_path):
    from scripts.emulator.embedded import running_emulator

    with running_emulator(tmp_path) as address:
        assert main(["emulator", "--state-dir", str(tmp_path)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"error: {tmp_path} is in use by another emulator (pid ")
    assert f"serving {address}" in error and "VERTEX_AI_EMULATOR_HOST" in error
    with running_emulator(tmp_path):  # released at the end of the first one
        pass


def test_a_port_in_use_is_reported_without_a_traceback(capsys, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["emulator", "--port", str(port), "--state-dir", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert f"error: cannot start the emulator: cannot listen on 127.0.0.1:{port}" in error
    assert "Traceback" not in error
