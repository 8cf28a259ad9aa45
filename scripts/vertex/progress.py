"""Progress of a tuning job on stderr, for both backends.

On a terminal: a table of trials (id, state, latest metric and its step, elapsed, parameters)
under a line of overall progress, redrawn in place at each poll; whatever else is said while it
is up (a retry, a warning of the emulator) is written above it, never through it. Elsewhere (CI
logs): one line per change (the job's state, a trial's state, every new measurement, each step
once, none dropped when several arrive between two polls), nothing when nothing changed.

`ProgressDisplay(stream, live=...)` takes the stream and whether it is a terminal, so both
modes are tested without one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import shutil
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, TextIO

from scripts.jobs import states
from scripts.results import trials as trial_results

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob, Measurement, Trial


def _parameters(trial: Trial) -> str:
    return " ".join(f"{p.parameter_id}={_short(trial_results.parameter_value(p))}" for p in trial.parameters)


def _short(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _state_label(trial: Trial, metric: str) -> str:
    """The trial's outcome once it ended, else its state (`requested`, `active`)."""
    label = trial_results.outcome(trial, metric)
    return trial.state.name.lower() if label == "active" else label


def _step_line(trial_id: str, measurement: Measurement, metric: str) -> str:
    value = trial_results.metric_value(measurement, metric)
    shown = f"{value:.4g}" if value is not None else "?"
    return f"trial {trial_id} step {measurement.step_count} {metric}={shown}"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class _NoteHandler(logging.Handler):
    def __init__(self, display: ProgressDisplay, level: int) -> None:
        super().__init__(level)
        self.display = display

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.display.note(" ".join(self.format(record).split()))
        except Exception:  # a log line must never end the run
            self.handleError(record)


def _elapsed(trial: Trial, now: dt.datetime) -> str:
    seconds = trial_results.run_seconds(trial, now)
    if seconds is None:
        return ""
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}:{seconds:02d}"


class ProgressDisplay:
    """Call `update(job)` after each poll, `note(message)` for anything else to say, `close()` at the end."""

    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = _is_terminal(self.stream) if live is None else live
        self._job_state: str | None = None
        self._trials: dict[str, tuple[str, int]] = {}  # id -> (state, number of measurements)
        self._drawn: list[str] = []  # the table on screen (live), to redraw under a note

    def update(self, job: HyperparameterTuningJob, now: dt.datetime | None = None) -> None:
        now = now or dt.datetime.now(dt.UTC)
        if self.live:
            self._redraw(job, now)
        else:
            for line in self.changes(job):
                self.stream.write(line + "\n")
        self.stream.flush()

    def note(self, message: str) -> None:
        """A line that is not progress: above the live table (which is drawn again under it), or
        simply the next line of the log."""
        if self.live and self._drawn:
            self.stream.write(f"\x1b[{len(self._drawn)}F\x1b[J{message}\n" + "\n".join(self._drawn) + "\n")
        else:
            self.stream.write(message + "\n")
        self.stream.flush()

    def close(self) -> None:
        self._drawn = []  # the last table stays on screen

    @contextlib.contextmanager
    def capturing_logs(self, level: int = logging.WARNING) -> Iterator[None]:
        """While the live table is up, log records of `level` and above (the in-process emulator's
        warnings) are notes above it instead of lines written through it."""
        if not self.live:
            yield
            return
        handler = _NoteHandler(self, level)
        root = logging.getLogger()
        root.addHandler(handler)
        try:
            yield
        finally:
            root.removeHandler(handler)

    def changes(self, job: HyperparameterTuningJob) -> list[str]:
        """The lines that describe what changed since the last call: a trial's new state (with its
        parameters when first seen), each of its new measurements in step order, then its end."""
        lines = []
        metric = trial_results.objective(job).metric_id
        state = states.short(job.state.name)
        job_line = [f"job {state}"] if state != self._job_state else []
        self._job_state = state
        ended = "end_time" in job
        if not ended:  # the job's news first, except its end, which comes after its trials'
            lines += job_line
        for trial in sorted(job.trials, key=lambda t: trial_results.trial_sort_key(t.id)):
            trial_state = _state_label(trial, metric)
            seen = self._trials.get(trial.id)
            seen_state, seen_steps = seen if seen is not None else (None, 0)
            running = trial_state in ("requested", "active")
            steps = [_step_line(trial.id, step, metric) for step in list(trial.measurements)[seen_steps:]]
            if trial_state != seen_state:
                value = trial_results.latest_value(trial, metric)
                detail = f" {metric}={value:.4g}" if value is not None and not running else ""
                if seen is None:
                    detail = f" {_parameters(trial)}{detail}"
                if trial.infeasible_reason and trial_state != "succeeded":
                    # The state is on the line already: drop the tag that would repeat it.
                    why = states.untagged(trial.infeasible_reason, trial_state)
                    detail += f" ({' '.join(why.split())[:200]})"
                state_line = f"trial {trial.id} {trial_state}{detail}"
                # A trial that started shows its parameters before its steps; one that ended, after.
                lines += [state_line, *steps] if running else [*steps, state_line]
            else:
                lines += steps
            self._trials[trial.id] = (trial_state, max(seen_steps, len(trial.measurements)))
        if ended:
            lines += job_line
        return lines

    def _redraw(self, job: HyperparameterTuningJob, now: dt.datetime) -> None:
        size = shutil.get_terminal_size()
        # A table taller than the screen cannot be redrawn in place; long lines would wrap.
        table = [line[: size.columns - 1] for line in self.table(job, now, max_rows=max(3, size.lines - 4))]
        if self._drawn:
            # Up to the first line of the previous table, then clear to the end of the screen.
            self.stream.write(f"\x1b[{len(self._drawn)}F\x1b[J")
        self.stream.write("\n".join(table) + "\n")
        self._drawn = table

    @staticmethod
    def table(job: HyperparameterTuningJob, now: dt.datetime, max_rows: int | None = None) -> list[str]:
        """Overall progress, then one row per trial; past `max_rows` trials, the running ones and
        the latest others, with a line that says how many are not shown."""
        metric = trial_results.objective(job).metric_id or "metric"
        counts = trial_results.count_outcomes(job)
        done = counts["total"] - counts["active"]
        state = states.short(job.state.name)
        trials = sorted(job.trials, key=lambda t: trial_results.trial_sort_key(t.id))
        hidden = 0
        if max_rows is not None and len(trials) > max_rows:
            running = [t for t in trials if _state_label(t, metric) in ("requested", "active")]
            running_ids = {t.id for t in running}
            ended = [t for t in trials if t.id not in running_ids]
            keep = running[-max_rows:] + ended[len(ended) - max(0, max_rows - len(running)) :]
            hidden = len(trials) - len(keep)
            trials = sorted(keep, key=lambda t: trial_results.trial_sort_key(t.id))
        rows = [("trial", "state", metric, "step", "elapsed", "parameters")]
        for trial in trials:
            value = trial_results.latest_value(trial, metric)
            step = trial.measurements[-1].step_count if trial.measurements else None
            rows.append(
                (
                    trial.id,
                    _state_label(trial, metric),
                    f"{value:.4g}" if value is not None else "",
                    str(step) if step is not None else "",
                    _elapsed(trial, now),
                    _parameters(trial),
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = [
            f"job {state}: {done}/{job.max_trial_count} trials done, {counts['active']} running, "
            f"{counts['succeeded']} succeeded"
        ]
        lines += [
            "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:5])) + "  " + row[5] for row in rows
        ]
        if hidden:
            lines.append(f"({hidden} earlier trials not shown)")
        return lines
