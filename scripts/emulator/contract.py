"""What the emulator promises its clients: how they find and reach it, what it answers, where its files are.

Import-light (no gRPC, no cloud library), so that the client side (`scripts.vertex.backend`) can
depend on it without depending on the server.

`VERTEX_AI_EMULATOR_HOST=host:port` names a running emulator, as Google's other emulators are
named; `python -m scripts emulator` prints it. The layout of its state directory:

<state>/emulator.sqlite3       jobs and trials
<state>/jobs/<id>/trials/<n>/  a trial's log and metric file
<state>/gcs/<bucket>/<path>    what a trial writes under a `gs://` base output directory
<state>/runs/<id>/             a finished run's summary.md, summary.json, best_params.json, pictures
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

Client = TypeVar("Client")

EMULATOR_HOST_ENV = "VERTEX_AI_EMULATOR_HOST"
DATABASE_FILE = "emulator.sqlite3"  # in the state directory: its jobs and trials


def emulator_setting(address: str = "") -> str:
    """How a process is pointed at an emulator, for messages: `VERTEX_AI_EMULATOR_HOST=host:port`
    (the variable's name alone without an address). Only the backend's choice reads the variable
    (`scripts.vertex.backend`); everything else says it through here."""
    return f"{EMULATOR_HOST_ENV}={address}" if address else EMULATOR_HOST_ENV


def emulator_client(client_class: type[Client], address: str) -> Client:
    """A GAPIC `client_class` for an emulator or a fake at `address`: insecure gRPC, no credentials."""
    import grpc  # here, so that this module stays import-light (above); the client library loaded it

    transport = client_class.get_transport_class("grpc")(channel=grpc.insecure_channel(address))
    return client_class(transport=transport)


# Beside the JobService, the emulator answers one call of its own: where its state directory is,
# so that a report of one of its jobs points at the files it wrote, whichever process asks.
INFO_SERVICE = "hpt.emulator.v1.Emulator"
INFO_METHOD = "GetInfo"  # google.protobuf.Empty -> google.protobuf.Struct {"state_dir": "..."}


class OutsideStateDir(ValueError):
    """A base output directory that would put a trial's files outside `<state>/gcs/`."""


def output_directory(uri: str, state_dir: Path) -> Path:
    """Where a base output directory lives here: `gs://B/P` -> `<state>/gcs/B/P`.

    Only `gs://` URIs (the only kind Vertex AI's `GcsDestination` takes), and never a `.` or
    `..` segment: whatever a job names, its files stay under the state directory
    (`OutsideStateDir` otherwise; the emulator refuses such a job with INVALID_ARGUMENT).
    """
    if not uri.startswith("gs://"):
        raise OutsideStateDir(f"{uri!r} is not a gs:// URI")
    parts = [part for part in uri.removeprefix("gs://").split("/") if part]
    if not parts or any(part in (".", "..") or "\\" in part or "\0" in part for part in parts):
        raise OutsideStateDir(f"{uri!r} is not a gs://BUCKET/PATH without '.' or '..' segments")
    root = state_dir / "gcs"
    path = root.joinpath(*parts)
    if not path.resolve().is_relative_to(root.resolve()):  # a link planted under gcs/
        raise OutsideStateDir(f"{uri!r} leads outside {root}")
    return path


def run_directory(state_dir: Path, job_id: str) -> Path:
    """`<state>/runs/<job id>/`: where a run's summary files go."""
    return state_dir / "runs" / job_id
