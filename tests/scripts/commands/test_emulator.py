"""`python -m scripts emulator`: user errors are one line, never a traceback."""

from __future__ import annotations

import socket

from scripts.cli import main


def test_bad_options_are_one_line_errors(capsys, tmp_path):
    assert main(["emulator", "--max-parallel", "0", "--state-dir", str(tmp_path)]) == 1
    assert main(["emulator", "--port", "70000", "--state-dir", str(tmp_path)]) == 1
    assert main(["emulator", "--preempt-after", "0", "--state-dir", str(tmp_path)]) == 1
    errors = capsys.readouterr().err.strip().splitlines()
    assert errors == [
        "error: --max-parallel: must be at least 1",
        "error: --port: 70000 is not a port number",
        "error: --preempt-after: must be a positive number of seconds",
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


def test_a_damaged_store_is_one_line_without_a_traceback(capsys, tmp_path):
    (tmp_path / "emulator.sqlite3").write_bytes(b"not a database" * 64)
    assert main(["emulator", "--state-dir", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"error: {tmp_path / 'emulator.sqlite3'} is damaged")
    assert "move it aside" in error and "Traceback" not in error and error.count("\n") == 1


def test_a_port_in_use_is_reported_without_a_traceback(capsys, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["emulator", "--port", str(port), "--state-dir", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert f"error: cannot start the emulator: cannot listen on 127.0.0.1:{port}" in error
    assert "Traceback" not in error


def test_report_and_status_of_an_emulator_job_point_at_the_emulators_own_files(
    emulator, monkeypatch, capsys, tmp_path
):
    import json

    from tests.scripts.emulator.conftest import make_job

    job = make_job()
    job.trial_job_spec.base_output_directory.output_uri_prefix = "gs://bucket/hpt"
    name = emulator.wait(emulator.submit(job).name).name
    # The reporter runs elsewhere, with a state directory of its own: not where the trials wrote.
    monkeypatch.setenv("HPT_STATE_DIR", str(tmp_path / "reporter"))
    monkeypatch.setenv("VERTEX_AI_EMULATOR_HOST", emulator.address)
    capsys.readouterr()

    assert main(["report", name, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    outputs = emulator.state_dir.resolve() / "gcs" / "bucket" / "hpt"
    assert data["backend"] == "local"
    assert data["links"]["outputs"] == str(outputs)
    assert data["trials"][0]["output"] == f"{outputs}/{data['trials'][0]['id']}/"
    assert "console" not in data["links"]

    assert main(["status", name]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{name} (test-job)\n")
    assert "console.cloud.google.com" not in out
