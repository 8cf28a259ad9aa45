"""A comparison (`scripts.results.compare.comparison`) as text: aligned for a terminal, or a
Markdown section for a pull-request comment. Both show the verdict and delta, the method in one
sentence with the numbers behind it, and the two sides: job, commit, best value, parameters,
completed trials, accelerator hours and cost."""

from __future__ import annotations

from typing import Any

from scripts import escaping


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.6g}"


def _rows(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(what, JOB's, BASELINE's) for each line of the side-by-side table."""
    job, baseline = data["job"], data["baseline"] or {}

    def both(render) -> tuple[str, str]:
        return render(job), render(baseline) if baseline else "-"

    def parameters(side: dict) -> str:
        return ", ".join(f"{key}={_number(value)}" for key, value in side["best_parameters"].items()) or "-"

    def cost(side: dict) -> str:
        amount = "-" if side["cost"] is None else f"{side['cost']:.2f} {side['currency']}"
        return amount if side["cost_billed"] else f"{amount} (estimate; not billed)"

    rows = [
        ("job", *both(lambda side: side["job"])),
        ("commit", *both(lambda side: (side["commit"] or "-")[:12])),
        ("state", *both(lambda side: side["state"])),
        (f"best {data['metric']}", *both(lambda side: _number(side["best_value"]))),
        ("best trial", *both(lambda side: _number(side["best_trial"]))),
        ("best parameters", *both(parameters)),
        ("completed trials", *both(lambda side: f"{side['completed_trials']} of {side['trials']}")),
        ("accelerator hours", *both(lambda side: _number(side["accelerator_hours"]))),
        ("cost", *both(cost)),
    ]
    return rows


def _evidence(data: dict[str, Any]) -> str:
    """The numbers behind the verdict, in one line."""
    evidence = data["evidence"]
    if evidence.get("test") == "precedence":
        ahead = evidence["baseline_trials_above_job_best"] or evidence["job_trials_above_baseline_best"]
        who = "the baseline's" if evidence["baseline_trials_above_job_best"] else "this job's"
        other = "this job's" if evidence["baseline_trials_above_job_best"] else "the baseline's"
        text = f"p = {evidence['p_value']:.4g} (threshold {evidence['threshold']:g}): "
        text += f"{ahead} of {who} trials beat {other} best" if ahead else "the two bests tie"
        return text + (f"; {evidence['note']}" if "note" in evidence else "")
    if evidence.get("test") == "mann-whitney-u":
        text = f"p = {evidence['p_value']:.4g} (threshold {evidence['threshold']:g}), U = {evidence['u']:g}"
        return text + (f"; {evidence['note']}" if "note" in evidence else "")
    if evidence.get("test") == "bootstrap-best":
        return (
            f"better in {evidence['share_better']:.1%}, worse in {evidence['share_worse']:.1%} of "
            f"{evidence['samples']} resamples (threshold {evidence['threshold']:.1%})"
        )
    return ""


def table(data: dict[str, Any]) -> str:
    """Aligned text: the verdict and delta, the method, its numbers, the two sides."""
    lines = [f"verdict: {data['verdict']}  (delta {_signed(data['delta'])}, {data['metric']} {data['goal']})"]
    lines.append(f"method: {data['method']}")
    evidence = _evidence(data)
    if evidence:
        lines.append(f"evidence: {evidence}")
    rows = [("", "JOB", "BASELINE"), *_rows(data)]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines.append("")
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)


def markdown(data: dict[str, Any]) -> str:
    """A pull-request comment section: the verdict in bold, the method and numbers, the two sides."""
    lines = [
        f"**Verdict: {data['verdict']}** — best {escaping.code(data['metric'])} "
        f"{_signed(data['delta'])} against the baseline ({data['goal']})",
        "",
        escaping.text(data["method"]) + (f" {escaping.text(_evidence(data))}." if _evidence(data) else ""),
        "",
        "| | this job | baseline |",
        "|---|---|---|",
    ]
    for what, job, baseline in _rows(data):
        lines.append(f"| {escaping.text(what)} | {escaping.text(job)} | {escaping.text(baseline)} |")
    return "\n".join(lines)
