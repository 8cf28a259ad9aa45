"""The stand-in trainer (`trainer_standin.py`) that also writes TensorBoard logs where the real one does.

After the stand-in's reports it writes `$AIP_TENSORBOARD_LOG_DIR/validation/events.out.tfevents.*`:
a real event file (TFRecord framing, `tensorboard.compat.proto` events) with the reported value as
the scalar `epoch_accuracy` for each step, as Keras's TensorBoard callback names it. Nothing of
TensorFlow is imported, so a trial still starts in a fraction of a second.
"""

from __future__ import annotations

import argparse
import os
import socket
import struct
import sys
import time
from pathlib import Path

import google_crc32c
import trainer_standin  # beside this file: run as a script, its folder is first on sys.path
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary


def _masked_crc(data: bytes) -> bytes:
    """TFRecord's checksum: CRC-32C, rotated and offset ("masked")."""
    crc = google_crc32c.value(data)
    return struct.pack("<I", (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF)


def _record(event: Event) -> bytes:
    data = event.SerializeToString()
    length = struct.pack("<Q", len(data))
    return length + _masked_crc(length) + data + _masked_crc(data)


def write_events(directory: Path, tag: str, values: list[tuple[int, float]]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    now = time.time()
    path = directory / f"events.out.tfevents.{int(now)}.{socket.gethostname()}.{os.getpid()}.0.v2"
    events = [Event(wall_time=now, file_version="brain.Event:2")]
    events += [
        Event(wall_time=now, step=step, summary=Summary(value=[Summary.Value(tag=tag, simple_value=value)]))
        for step, value in values
    ]
    path.write_bytes(b"".join(_record(event) for event in events))
    return path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", type=float, default=0.5)
    parser.add_argument("--slope", type=float, default=0.0)
    parser.add_argument("--steps", type=int, default=1)
    args, _ = parser.parse_known_args(argv)
    status = trainer_standin.main(argv)
    log_dir = os.environ.get("AIP_TENSORBOARD_LOG_DIR")
    if log_dir:
        values = [(step, args.base + step * args.slope) for step in range(1, args.steps + 1)]
        write_events(Path(log_dir) / "validation", "epoch_accuracy", values)
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
