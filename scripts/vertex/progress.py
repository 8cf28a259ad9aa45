"""Progress of a tuning job on stderr, for both backends.

On a terminal: a table of trials (id, parameters, state, latest metric, elapsed) with overall
progress, redrawn in place at each poll. Elsewhere (CI logs): one line per change (the job's
state, a trial's state, a new measurement), nothing when nothing changed.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from typing import TYPE_CHECKING, TextIO

from scripts.jobs import states
from scripts.results import trials as trial_results

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob, Trial


def _parameters(trial: Trial) -> str:
    return " ".join(f"{p.parameter_id}={_short(trial_results.parameter_value(p))}" for p in trial.parameters)


def _short(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _state_label(trial: Trial, metric: str) -> str:
    """The trial's outcome once it ended, else its state (`requested`, `active`)."""
    label = trial_results.outcome(trial, metric)
    return trial.state.name.lower() if label == "active" else label


def _elapsed(trial: Trial, now: dt.datetime) -> str:
    if "start_time" not in trial:
        return ""
    end = trial.end_time if "end_time" in trial else now
    seconds = max(0, int((end - trial.start_time).total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}:{seconds:02d}"


class ProgressDisplay:
    """Call `update(job)` after each poll and `close()` at the end."""

    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self._job_state: str | None = None
        self._trials: dict[str, tuple[str, int]] = {}  # id -> (state, number of measurements)
        self._drawn_lines = 0

    def update(self, job: HyperparameterTuningJob, now: dt.datetime | None = None) -> None:
        now = now or dt.datetime.now(dt.UTC)
        if self.live:
            self._redraw(job, now)
        else:
            for line in self.changes(job):
                self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        self._drawn_lines = 0  # the last table stays on screen

    def changes(self, job: HyperparameterTuningJob) -> list[str]:
        """The lines that describe what changed since the last call."""
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
            steps = len(trial.measurements)
            if seen is None or seen[0] != trial_state:
                value = trial_results.latest_value(trial, metric)
                detail = f" {metric}={value:.4g}" if value is not None and trial_state != "active" else ""
                if seen is None:
                    detail = f" {_parameters(trial)}{detail}"
                if trial.infeasible_reason and trial_state != "succeeded":
                    detail += f" ({' '.join(trial.infeasible_reason.split())[:200]})"
                lines.append(f"trial {trial.id} {trial_state}{detail}")
            elif steps > seen[1] and trial_state == "active":
                value = trial_results.metric_value(trial.measurements[-1], metric)
                step = trial.measurements[-1].step_count
                shown = f"{value:.4g}" if value is not None else "?"
                lines.append(f"trial {trial.id} step {step} {metric}={shown}")
            self._trials[trial.id] = (trial_state, steps)
        if ended:
            lines += job_line
        return lines

    def _redraw(self, job: HyperparameterTuningJob, now: dt.datetime) -> None:
        size = shutil.get_terminal_size()
        # A table taller than the screen cannot be redrawn in place; long lines would wrap.
        table = [line[: size.columns - 1] for line in self.table(job, now, max_rows=max(3, size.lines - 4))]
        if self._drawn_lines:
            # Up to the first line of the previous table, then clear to the end of the screen.
            self.stream.write(f"\x1b[{self._drawn_lines}F\x1b[J")
        self.stream.write("\n".join(table) + "\n")
        self._drawn_lines = len(table)

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
        rows = [("trial", "state", metric, "elapsed", "parameters")]
        for trial in trials:
            value = trial_results.latest_value(trial, metric)
            rows.append(
                (
                    trial.id,
                    _state_label(trial, metric),
                    f"{value:.4g}" if value is not None else "",
                    _elapsed(trial, now),
                    _parameters(trial),
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = [
            f"job {state}: {done}/{job.max_trial_count} trials done, {counts['active']} running, "
            f"{counts['succeeded']} succeeded"
        ]
        lines += [
            "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4] for row in rows
        ]
        if hidden:
            lines.append(f"({hidden} earlier trials not shown)")
        return lines
