"""The job summary as GitHub-flavoured Markdown, for pull-request comments and step summaries.

It shows the best hyperparameters and metric, the trial counts, how long the job ran, what it
used (accelerator and machine hours and their estimated cost, with the prices' source and date),
what the study found (each parameter's importance and best region, and plain advice on the
search space: `scripts.results.analysis`), a Mermaid `xychart-beta` of the metric per trial
(GitHub draws it; no image to host), the trials sorted by metric with each one's hours and cost,
and links: console pages on Vertex AI, local paths for the emulator. When the summary is written
beside the pictures of the study (`scripts.results.plots`), it links them.

GitHub rejects a comment over 65,536 characters. A summary that would be longer keeps the best
trials that fit and says how many it left out; it is never cut in the middle of the Markdown.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Any

from scripts import escaping
from scripts.jobs import states
from scripts.results.summary import Where, summary, tensorboard_command
from scripts.results.trials import trial_sort_key

if TYPE_CHECKING:
    from pathlib import Path

    from google.cloud.aiplatform_v1 import HyperparameterTuningJob

COMMENT_LIMIT = 65_536


def render_markdown(
    job: HyperparameterTuningJob,
    *,
    backend: Where,
    run_dir: Path | None = None,
    limit: int = COMMENT_LIMIT,
    verdict: str = "",
) -> str:
    """The summary of `job` in at most `limit` characters (pass less to leave room for a marker).

    `verdict`: a pull request's comparison with its baseline (`scripts.github.verdicts`), Markdown
    shown right under the best trial and kept whole when the trial table is shortened to fit."""
    return render_summary(summary(job, backend=backend, run_dir=run_dir), limit=limit, verdict=verdict)


def render_summary(data: dict[str, Any], *, limit: int = COMMENT_LIMIT, verdict: str = "") -> str:
    """`render_markdown` from the data of `scripts.results.summary.summary`."""
    data = {**data, "verdict": verdict}
    total = len(data["trials"])
    full = _render(data, shown=total)
    if len(full) <= limit:
        return full
    # The longest table that fits: rendering grows with the number of rows shown.
    fitting = bisect.bisect_right(range(total), limit, key=lambda shown: len(_render(data, shown=shown)))
    text = _render(data, shown=max(fitting - 1, 0))
    if len(text) <= limit:
        return text
    return _fallback(data, limit)


def _render(data: dict[str, Any], *, shown: int) -> str:
    metric = data["metric"]["id"] or "metric"
    parts = [_heading(data), _best(data, metric), data.get("verdict", ""), _facts(data), _used(data)]
    if data["error"]:
        parts.append(f"> **Error:** {escaping.text(data['error'])}")
    parts.append(_findings(data))
    trials = data["trials"][:shown]
    omitted = len(data["trials"]) - shown
    if omitted:
        parts.append(
            f"> Shortened to fit a GitHub comment: the table and chart show the best {shown} of "
            f"{len(data['trials'])} trials ({omitted} left out); `report --format json` has them all."
        )
    chart = _chart(trials, metric)
    if chart:
        parts.append(chart)
    if trials:
        # Trials run as custom jobs on Vertex: link each one's console page when the job names it.
        job_links = any(t.get("console") for t in trials)
        parts.append(_table(trials, metric, job_links=job_links))
    parts.append(_not_emulated(data.get("not_emulated") or []))
    parts.append(_links(data))
    return "\n\n".join(part for part in parts if part) + "\n"


def _findings(data: dict[str, Any]) -> str:
    """What the study found: importance and best region per parameter, the advice, the pictures."""
    analysis = data.get("analysis")
    importance: dict[str, float | None] = data.get("importance") or {}
    regions: dict[str, dict[str, Any] | None] = data.get("best_region") or {}
    if not analysis or not analysis["completed_trials"]:
        return ""
    lines = ["#### What the study found"]
    if analysis["caveat"]:
        lines += ["", f"> {escaping.text(analysis['caveat'])}"]
    if importance:
        order = sorted(importance, key=lambda key: -(importance[key] or 0.0))  # stable: spec order on ties
        top = len(analysis["top_trials"])
        lines += [
            "",
            f"| parameter | importance | best region (top {top} trial{'s' if top != 1 else ''}) | searched |",
            "|---|---|---|---|",
        ]
        for key in order:
            region = regions.get(key)
            lines.append(
                f"| {escaping.code(key)} | {_importance(importance[key])} | {_region(region)} "
                f"| {_searched(region)} |"
            )
    if analysis["advice"]:
        lines.append("")
        lines += [f"- {escaping.text(line)}" for line in analysis["advice"]]
    pictures = data.get("pictures") or []
    if pictures:
        # In the run directory, beside summary.md: relative links.
        shown = ", ".join(f"[{escaping.text(name)}]({name})" for name in pictures if name.endswith(".svg"))
        lines += ["", f"Pictures in the run directory (each also as PNG): {shown}."]
    return "\n".join(lines)


def _importance(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2f} {'█' * round(value * 10)}".rstrip()


def _region(region: dict[str, Any] | None) -> str:
    if region is None:
        return "–"
    if "low" in region:
        scale = " (log)" if region.get("scale") == "log" else ""
        if region["low"] == region["high"]:
            return _short(region["low"]) + scale
        return f"{_short(region['low'])} – {_short(region['high'])}{scale}"
    return ", ".join(_short(value) for value in region["values"][:8]) + (
        f", … ({len(region['values']) - 8} more)" if len(region["values"]) > 8 else ""
    )


def _searched(region: dict[str, Any] | None) -> str:
    if region is None:
        return "–"
    if "range" in region:
        return f"{_short(region['range'][0])} – {_short(region['range'][1])}"
    if "choices" in region:
        choices = region["choices"]
        return ", ".join(_short(value) for value in choices[:8]) + (
            f", … ({len(choices) - 8} more)" if len(choices) > 8 else ""
        )
    return "not in the study spec"


def _short(value: Any) -> str:
    """A value in the findings: numbers to 3 significant digits, anything else as inert text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.3g}"
    return escaping.text(value)


def _not_emulated(items: list[dict[str, str]]) -> str:
    """The fields the emulator ran without their effect, said out loud (`scripts.jobs.fidelity`)."""
    if not items:
        return ""
    shown = ", ".join(
        escaping.code(item["field"]) + (f" ({escaping.text(item['value'])})" if item.get("value") else "")
        for item in items
    )
    return f"Not emulated here (recorded, without effect locally): {shown}."


def _heading(data: dict[str, Any]) -> str:
    name = data["display_name"] or data["id"]
    backend = "Vertex AI" if data["backend"] == "vertex" else "local emulator"
    return f"### Hyperparameter tuning {escaping.code(name)}: {states.short(data['state'])} ({backend})"


def _best(data: dict[str, Any], metric: str) -> str:
    best = data["best_trial"]
    goal = data["metric"]["goal"]
    if best is None:
        return f"**No best trial yet**: no trial succeeded with a final {escaping.code(metric)} ({goal})."
    lines = [
        f"**Best trial {escaping.text(best['id'])}**: {escaping.code(metric)} = **{_number(best['value'])}** "
        f"({goal})",
        "",
        "| hyperparameter | value |",
        "|---|---|",
    ]
    lines += [f"| {escaping.code(key)} | {_cell(value)} |" for key, value in best["parameters"].items()]
    return "\n".join(lines)


def _facts(data: dict[str, Any]) -> str:
    counts = data["counts"]
    facts = [
        f"{counts['total']} of {counts['max_trial_count']} trials",
        f"{counts['succeeded']} succeeded",
        f"{counts['infeasible']} infeasible",
        f"{counts['failed']} failed",
        f"{counts['stopped']} stopped",
    ]
    for ended in ("collapsed", "diverged"):  # trials the trainer stopped itself
        if counts.get(ended):
            facts.append(f"{counts[ended]} {ended}")
    if counts["active"]:
        facts.append(f"{counts['active']} running")
    if data["duration_seconds"] is not None:
        facts.append(f"ran {format_duration(data['duration_seconds'])}")
    return " · ".join(facts)


def _used(data: dict[str, Any]) -> str:
    """What the job used and what that costs, as an estimate with the prices' source and date."""
    estimate = data.get("cost_estimate")
    if not estimate:
        return ""
    pools = " + ".join(
        f"{pool['replica_count']} × {pool['machine_type']}"
        + (
            f" with {pool['accelerator_count']} × {pool['accelerator_type']}"
            if pool["accelerator_type"]
            else ""
        )
        for pool in data.get("pools") or []
    )
    hours = (
        f"{_hours(data['accelerator_hours'])} accelerator-hours, "
        f"{_hours(data['machine_hours'])} machine-hours" + (f" ({pools} per trial)" if pools else "")
    )
    if data["cost"] is None:
        cost = f"cost {escaping.text(estimate['not_known'] or 'not known')}"
        if estimate["not_known"] and estimate["not_known"].startswith("not known for "):
            refresh = f"python -m scripts prices --refresh --region {estimate['region']}"
            cost += f" ({escaping.code(refresh)} fetches them)"
    else:
        # The citation of our own price table, as the plan shows it: its source stays a link.
        cost = (
            f"estimated cost **{_money(data['cost'], estimate['currency'])}** at "
            f"{estimate['prices']}; no discounts, storage, network or start-up time"
        )
    text = f"**Used** (estimate): {hours}; {cost}."
    if not estimate.get("billed", True):
        text += (
            " Ran on the local emulator: nothing was billed; this is what those machines would cost "
            "on Vertex AI."
        )
    return text


def _hours(value: float) -> str:
    return f"{value:,.2f}" if value >= 0.01 or value == 0 else f"{value:.2g}"


def _money(amount: float, currency: str = "USD") -> str:
    if currency != "USD":
        return f"{amount:,.2f} {currency}"
    return f"${amount:,.2f}" if amount >= 0.01 or amount == 0 else f"${amount:.2g}"


def _chart(trials: list[dict[str, Any]], metric: str) -> str:
    points = sorted((t for t in trials if t["value"] is not None), key=lambda t: trial_sort_key(t["id"]))
    if not points:
        return ""
    categories = ", ".join(f'"{_quoted(t["id"])}"' for t in points)
    values = ", ".join(_number(t["value"]) for t in points)
    return "\n".join(
        [
            "```mermaid",
            "xychart-beta",
            f'    title "{_quoted(metric)} per trial"',
            f'    x-axis "trial" [{categories}]',
            f'    y-axis "{_quoted(metric)}"',
            f"    bar [{values}]",
            "```",
        ]
    )


def _table(trials: list[dict[str, Any]], metric: str, *, job_links: bool) -> str:
    keys: list[str] = []
    for trial in trials:
        keys += [key for key in trial["parameters"] if key not in keys]
    header = ["trial", escaping.code(metric), "state", *(escaping.code(k) for k in keys), "time"]
    gpus = any(t.get("accelerator_hours") for t in trials)
    priced = any(t.get("cost") is not None for t in trials)
    if gpus:
        header.append("accel-h")
    if priced:
        header.append("est. cost")
    if job_links:
        header.append("job")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for trial in trials:
        row = [
            escaping.text(trial["id"]),
            _number(trial["value"]) if trial["value"] is not None else "–",
            _outcome(trial),
            *(_cell(trial["parameters"].get(k, "")) for k in keys),
            format_duration(trial["seconds"]) if trial["seconds"] is not None else "",
        ]
        if gpus:
            row.append(_hours(trial.get("accelerator_hours") or 0.0))
        if priced:
            row.append(_money(trial["cost"]) if trial.get("cost") is not None else "")
        if job_links:
            url = trial.get("console")
            row.append(f"[console]({url})" if url else "")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _links(data: dict[str, Any]) -> str:
    links = data["links"]
    items = []
    if "console" in links:
        items.append(f"[Vertex AI console]({links['console']})")
    if "run" in links:
        items.append(f"run directory {escaping.code(links['run'])}")
    if "outputs" in links:
        items.append(f"trial outputs {escaping.code(links['outputs'])}")
    if "tensorboard" in links:  # every trial's TensorBoard logs, one run per trial
        items.append(f"TensorBoard {escaping.code(tensorboard_command(links['tensorboard']))}")
    items.append(f"job {escaping.code(data['job'])}")
    return " · ".join(items)


def _fallback(data: dict[str, Any], limit: int) -> str:
    """Heading and best metric only, for the pathological case where even no table fits."""
    best = data["best_trial"]
    lines = [_heading(data)]
    if best is not None:
        lines.append(f"Best trial {escaping.text(best['id'])}: {_number(best['value'])}.")
    lines.append("The full summary is too long for a comment; `report --format json` has it.")
    text = "\n\n".join(line[: max(0, limit // 4)] for line in lines) + "\n"
    return text if len(text) <= limit else ""


def format_duration(seconds: float) -> str:
    """`45 s`, `3 min 12 s`, `2 h 05 min`."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _number(value: float | int) -> str:
    """Six significant digits; a whole float keeps a decimal point (`1.0`, not `1`) so it reads as one."""
    if not isinstance(value, float):
        return str(value)
    text = f"{value:.6g}"
    return text if any(mark in text for mark in ".en") else text + ".0"


# A reason in the table is cut to this many characters; the summary JSON keeps all of it.
REASON_LIMIT = 160


def _outcome(trial: dict[str, Any]) -> str:
    """The trial's outcome; for one the trainer stopped, its reason too ("collapsed at epoch 2: ...");
    for a failed, infeasible or stopped one, why (`failed: exit status 1: ...`), as the service or the
    emulator wrote it."""
    reason = trial.get("reason") or ""
    outcome = trial["outcome"]
    why = states.untagged(reason, outcome)
    if outcome in ("collapsed", "diverged") and why != reason:
        return escaping.text(why)
    if outcome in ("failed", "infeasible", "stopped") and reason:
        if len(why) > REASON_LIMIT:
            why = why[: REASON_LIMIT - 1] + "…"
        return escaping.text(f"{outcome}: {why}")
    return outcome


def _cell(value: Any) -> str:
    """A parameter's value in a table cell: a number as a number, anything else as inert text."""
    return _number(value) if isinstance(value, int | float) else escaping.text(value)


def _quoted(text: str) -> str:
    """Text safe inside a Mermaid double-quoted string (Mermaid's, not Markdown's: `scripts.escaping`
    is for Markdown and logs): one line, no double quote to end the string."""
    return " ".join(str(text).split()).replace('"', "'")
