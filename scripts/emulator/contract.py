"""What the emulator promises its clients: how they find it, what it answers, where its files are.

Import-light (no gRPC, no cloud library), so that the client side (`scripts.vertex.backend`) can
depend on it without depending on the server.

`VERTEX_AI_EMULATOR_HOST=host:port` names a running emulator, as Google's other emulators are
named; `python -m scripts emulator` prints it. The layout of its state directory:

<state>/emulator.sqlite3       jobs and trials
<state>/jobs/<id>/trials/<n>/  a trial's log and metric file
<state>/gcs/<bucket>/<path>    what a trial writes under a `gs://` base output directory
<state>/runs/<id>/             a finished run's summary.md, summary.json, chart.png
"""

from __future__ import annotations

from pathlib import Path

EMULATOR_HOST_ENV = "VERTEX_AI_EMULATOR_HOST"

# Beside the JobService, the emulator answers one call of its own: where its state directory is,
# so that a report of one of its jobs points at the files it wrote, whichever process asks.
INFO_SERVICE = "hpt.emulator.v1.Emulator"
INFO_METHOD = "GetInfo"  # google.protobuf.Empty -> google.protobuf.Struct {"state_dir": "..."}


def output_directory(uri: str, state_dir: Path) -> Path:
    """Where a base output directory lives here: `gs://B/P` -> `<state>/gcs/B/P`; a path as is."""
    if uri.startswith("gs://"):
        return state_dir / "gcs" / uri.removeprefix("gs://").strip("/")
    return Path(uri).expanduser().resolve()


def run_directory(state_dir: Path, job_id: str) -> Path:
    """`<state>/runs/<job id>/`: where a run's summary files go."""
    return state_dir / "runs" / job_id
