"""Jobs and trials in SQLite, so that a run killed at any moment resumes where it stopped.

A job row holds the `HyperparameterTuningJob` as the client sent it plus its state and times
(serialized without trials); each trial row holds one `Trial` and what the scheduler needs to
find its process again after a crash (pid and the process's start time, so that a recycled pid
is never killed). Every write is one transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from google.cloud.aiplatform_v1 import HyperparameterTuningJob, JobState, Model, Trial
from google.protobuf import timestamp_pb2

from scripts.emulator.contract import DATABASE_FILE
from scripts.errors import UserError
from scripts.jobs import names

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT UNIQUE,
    parent TEXT NOT NULL,
    state INTEGER NOT NULL,
    job BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    trial_id INTEGER NOT NULL,
    optimizer_number INTEGER NOT NULL,
    state INTEGER NOT NULL,
    trial BLOB NOT NULL,
    pid INTEGER,
    pid_start_time INTEGER,
    stopped_early INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, trial_id)
);
CREATE TABLE IF NOT EXISTS models (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    parent TEXT NOT NULL,
    model BLOB NOT NULL,
    PRIMARY KEY (name, version)
);
"""

# Jobs a runner still has to drive to an end.
UNFINISHED = (JobState.JOB_STATE_PENDING, JobState.JOB_STATE_RUNNING, JobState.JOB_STATE_CANCELLING)


@dataclass
class TrialRecord:
    """A stored trial and the bookkeeping around it."""

    trial: Trial
    optimizer_number: int
    pid: int | None = None
    pid_start_time: int | None = None
    stopped_early: bool = False


def now() -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.GetCurrentTime()
    return stamp


def job_id(name: str) -> int:
    """The number at the end of `projects/P/locations/L/hyperparameterTuningJobs/N`."""
    return int(names.job_id(name))


class DamagedStore(UserError):
    """The store's file cannot be read: one line naming it and what to do, never a traceback."""


class Store:
    """The emulator's durable state: one SQLite file, shared by the server and the runners.

    A damaged file is refused at open (`DamagedStore`), never repaired or replaced in place. Job
    numbers continue after every number the state directory already used (`runs/<id>`,
    `jobs/<id>`), so a new or emptied store never hands out a number whose files exist.
    """

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.path = directory / DATABASE_FILE
        try:
            # One connection guarded by a lock: writes are small and the runners are few.
            self._connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            # WAL with NORMAL sync: a crash of the process loses nothing committed (a power cut might).
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=NORMAL")
            self._connection.execute("PRAGMA foreign_keys=ON")
            self._connection.executescript(_SCHEMA)
            check = self._connection.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise sqlite3.DatabaseError(check[0] if check else "integrity check failed")
            self._connection.execute("SELECT COUNT(*) FROM jobs").fetchone()
            self._connection.execute("SELECT COUNT(*) FROM trials").fetchone()
        except sqlite3.DatabaseError as error:
            with_connection = getattr(self, "_connection", None)
            if with_connection is not None:
                with_connection.close()
            raise DamagedStore(
                f"{self.path} is damaged ({error}); move it aside (mv {self.path} {self.path}.damaged) "
                f"and start again: the files of earlier runs under {directory} are kept, and new jobs "
                "are numbered after them"
            ) from None
        self._lock = threading.RLock()

    def _highest_number_in_use(self) -> int:
        """The highest job number the state directory's files use (`runs/<id>`, `jobs/<id>`)."""
        highest = 0
        for folder in ("runs", "jobs"):
            try:
                entries = list((self.directory / folder).iterdir())
            except OSError:
                continue
            highest = max([highest, *(int(entry.name) for entry in entries if entry.name.isdigit())])
        return highest

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    # -- jobs ---------------------------------------------------------------------------------

    def create_job(self, parent: str, job: HyperparameterTuningJob) -> HyperparameterTuningJob:
        """Store a new job as PENDING under the next free number and return it with its name."""
        job = HyperparameterTuningJob(job)
        message = HyperparameterTuningJob.pb(job)
        for output_only in ("trials", "start_time", "end_time", "update_time", "error"):
            message.ClearField(output_only)  # whatever the client sent in them
        job.state = JobState.JOB_STATE_PENDING
        job.create_time = job.update_time = now()
        in_use = self._highest_number_in_use()
        with self._transaction() as db:
            (highest,) = db.execute("SELECT MAX(id) FROM jobs").fetchone()
            issued = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'jobs'").fetchone()
            number = max(in_use, highest or 0, issued[0] if issued else 0) + 1
            row = db.execute(
                "INSERT INTO jobs (id, parent, state, job) VALUES (?, ?, ?, ?)",
                (number, parent, job.state, b""),
            )
            job.name = f"{parent}/hyperparameterTuningJobs/{row.lastrowid}"
            db.execute(
                "UPDATE jobs SET name = ?, job = ? WHERE id = ?",
                (job.name, HyperparameterTuningJob.serialize(job), row.lastrowid),
            )
        return job

    def job(self, name: str, with_trials: bool = True) -> HyperparameterTuningJob | None:
        with self._lock:
            row = self._connection.execute("SELECT job FROM jobs WHERE name = ?", (name,)).fetchone()
            if row is None:
                return None
            job = HyperparameterTuningJob.deserialize(row[0])
            if with_trials:
                job.trials.extend(record.trial for record in self.trials(name))
            return job

    def jobs(self, parent: str) -> list[HyperparameterTuningJob]:
        """Every job under `parent`, newest first (as Vertex lists them), with trials. A `-` for
        the project or the location matches any (AIP-159: `projects/-/locations/-` is every job)."""
        wanted = parent.split("/")
        with self._lock:
            names = [
                name
                for name, job_parent in self._connection.execute(
                    "SELECT name, parent FROM jobs ORDER BY id DESC"
                )
                if len(have := job_parent.split("/")) == len(wanted)
                and all(w in ("-", h) for w, h in zip(wanted, have, strict=True))
            ]
            return [job for job in (self.job(name) for name in names) if job is not None]

    def unfinished_jobs(self) -> list[str]:
        marks = ",".join("?" * len(UNFINISHED))
        with self._lock:
            return [
                row[0]
                for row in self._connection.execute(
                    f"SELECT name FROM jobs WHERE state IN ({marks}) ORDER BY id",
                    [int(state) for state in UNFINISHED],
                )
            ]

    def save_job(self, job: HyperparameterTuningJob) -> None:
        """Write the job's own fields (never its trials, which have their own rows)."""
        job = HyperparameterTuningJob(job)
        del job.trials[:]
        job.update_time = now()
        with self._transaction() as db:
            stored = db.execute("SELECT state FROM jobs WHERE name = ?", (job.name,)).fetchone()
            if stored and stored[0] == JobState.JOB_STATE_CANCELLING and job.state in UNFINISHED:
                # A cancel arrived after the runner read the job: only an end state replaces it.
                job.state = JobState.JOB_STATE_CANCELLING
            db.execute(
                "UPDATE jobs SET state = ?, job = ? WHERE name = ?",
                (int(job.state), HyperparameterTuningJob.serialize(job), job.name),
            )

    def delete_job(self, name: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM trials WHERE job_id = ?", (job_id(name),))
            db.execute("DELETE FROM jobs WHERE name = ?", (name,))

    # -- trials -------------------------------------------------------------------------------

    def trials(self, job_name: str) -> list[TrialRecord]:
        with self._lock:
            rows = self._connection.execute(
                "SELECT trial, optimizer_number, pid, pid_start_time, stopped_early FROM trials"
                " WHERE job_id = ? ORDER BY trial_id",
                (job_id(job_name),),
            ).fetchall()
        return [TrialRecord(Trial.deserialize(row[0]), row[1], row[2], row[3], bool(row[4])) for row in rows]

    def save_trial(self, job_name: str, record: TrialRecord) -> None:
        """Insert or replace one trial; its id is unique within the job, so never duplicated."""
        trial = record.trial
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO trials (job_id, trial_id, optimizer_number, state, trial, pid,"
                " pid_start_time, stopped_early) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id(job_name),
                    int(trial.id),
                    record.optimizer_number,
                    int(trial.state),
                    Trial.serialize(trial),
                    record.pid,
                    record.pid_start_time,
                    int(record.stopped_early),
                ),
            )

    # -- models (the Model Registry's versions: scripts.emulator.model_service) ---------------------

    def add_model_version(self, model: Model, *, first: bool) -> Model:
        """Store `model` (named `.../models/ID`) as its model's next version, in one transaction.

        `first`: version 1 of a new model, with the `default` alias (`ModelExists` when the id is
        taken); else the highest version + 1 (`ModelMissing` when there is no such model). The new
        version's aliases are taken off the versions that held them.
        """
        model = Model(model)
        parent = model.name.split("/models/")[0]
        stamp = now()
        with self._transaction() as db:
            rows = db.execute(
                "SELECT version, model FROM models WHERE name = ? ORDER BY version", (model.name,)
            ).fetchall()
            if first and rows:
                raise ModelExists(model.name)
            if not first and not rows:
                raise ModelMissing(model.name)
            version = rows[-1][0] + 1 if rows else 1
            if first and "default" not in model.version_aliases:
                model.version_aliases.insert(0, "default")
            model.version_id = str(version)
            model.create_time = Model.deserialize(rows[0][1]).create_time if rows else stamp
            model.update_time = model.version_create_time = model.version_update_time = stamp
            self._take_aliases(db, model.name, version, list(model.version_aliases), stamp)
            db.execute(
                "INSERT INTO models (name, version, parent, model) VALUES (?, ?, ?, ?)",
                (model.name, version, parent, Model.serialize(model)),
            )
        return model

    def model_versions(self, name: str) -> list[Model]:
        """Every version of model `name`, oldest first (none: no such model)."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT model FROM models WHERE name = ? ORDER BY version", (name,)
            ).fetchall()
        return [Model.deserialize(row[0]) for row in rows]

    def merge_version_aliases(
        self, name: str, version: int, add: list[str], remove: list[str]
    ) -> Model | None:
        """Give version `version` of model `name` the aliases `add` (taken off the versions that held
        them) and take `remove` off it; the version as it is then, or None when there is none."""
        stamp = now()
        with self._transaction() as db:
            row = db.execute(
                "SELECT model FROM models WHERE name = ? AND version = ?", (name, version)
            ).fetchone()
            if row is None:
                return None
            self._take_aliases(db, name, version, add, stamp)
            model = Model.deserialize(row[0])
            kept = [alias for alias in model.version_aliases if alias not in remove]
            model.version_aliases = kept + [alias for alias in add if alias not in kept]
            model.version_update_time = model.update_time = stamp
            db.execute(
                "UPDATE models SET model = ? WHERE name = ? AND version = ?",
                (Model.serialize(model), name, version),
            )
        return model

    @staticmethod
    def _take_aliases(db: sqlite3.Connection, name: str, version: int, aliases: list[str], stamp) -> None:
        """Aliases are unique within a model: take `aliases` off its other versions."""
        if not aliases:
            return
        rows = db.execute(
            "SELECT version, model FROM models WHERE name = ? AND version != ?", (name, version)
        ).fetchall()
        for other_version, blob in rows:
            other = Model.deserialize(blob)
            kept = [alias for alias in other.version_aliases if alias not in aliases]
            if len(kept) != len(other.version_aliases):
                other.version_aliases = kept
                other.version_update_time = stamp
                db.execute(
                    "UPDATE models SET model = ? WHERE name = ? AND version = ?",
                    (Model.serialize(other), name, other_version),
                )


class ModelExists(Exception):
    """A new model's id is taken."""


class ModelMissing(LookupError):
    """A version's model does not exist."""
