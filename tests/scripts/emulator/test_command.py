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


def test_a_port_in_use_is_reported_without_a_traceback(capsys, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["emulator", "--port", str(port), "--state-dir", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert f"error: cannot start the emulator: cannot listen on 127.0.0.1:{port}" in error
    assert "Traceback" not in error
