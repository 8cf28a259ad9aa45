"""The checks, in the order a run meets them; each one line, with the command that fixes it.

    checks = run_checks(target, Endpoints.from_environment(env))

A check that cannot run because an earlier one failed is skipped (–) and says why; one that
could not be confirmed is a warning (!). Every Google call is bounded by `CALL_TIMEOUT` and is
not retried, and no error ends the run: an API error becomes that check's line.

The checks made before calling Google (the settings, the experiments, and whose credentials these
are) are here; those that call Google are in a module per subject (`STEPS`).
"""

from __future__ import annotations

from collections.abc import Callable

from scripts.doctor import (
    binding_checks,
    bucket_checks,
    needs,
    project_checks,
    quota_checks,
    registry_checks,
    tensorboard_checks,
)
from scripts.doctor.clients import Clients, Endpoints, describe_error, disabled_service
from scripts.doctor.credentials import CREDENTIALS_FIX, CredentialsProblem, load
from scripts.doctor.report import Check, fail, ok, skip, warn
from scripts.doctor.target import Context, Target
from scripts.emulator.contract import emulator_setting

# The checks that call Google, in the order a run meets them: (the name a skipped step shows, the check).
STEPS: tuple[tuple[str, Callable[[Context], list[Check]]], ...] = (
    ("project", project_checks.project),
    ("APIs", project_checks.apis),
    ("permissions", project_checks.permissions),
    ("service accounts", project_checks.service_accounts),
    ("identity bindings", binding_checks.run),
    ("bucket", bucket_checks.bucket),
    ("tensorboard", tensorboard_checks.tensorboard),
    ("repository", registry_checks.repository),
    ("tags", registry_checks.immutable_tags),
    ("image", registry_checks.image),
    ("quota", quota_checks.quota),
)


def run_checks(target: Target, endpoints: Endpoints) -> list[Check]:
    """Runs every check in order, skipping those an earlier failure leaves without ground."""
    context = Context(target, endpoints)
    if target.emulator:
        return _emulated(context)
    checks = [settings(context), experiments(context), credentials(context)]
    blocked = None
    if checks[2].failed:
        blocked = "no usable credentials"
    elif not target.project:
        blocked = "GOOGLE_CLOUD_PROJECT is not set"
    for name, step in STEPS:
        if blocked:
            checks.extend(_skipped(context, name, blocked))
            continue
        results = _guarded(context, name, step)
        checks.extend(results)
        if name == "project" and results[0].failed and results[0].data.get("unreachable"):
            blocked = "project not reachable"
    return checks


def _emulated(context: Context) -> list[Check]:
    """Jobs go to the local emulator: the experiments still count, Google Cloud does not."""
    reason = f"jobs go to the emulator at {context.target.emulator} ({emulator_setting()})"
    cloud = ("credentials", "project", "APIs", "permissions", "service accounts", "identity bindings")
    cloud += ("bucket", "repository", "image", "quota")
    backend = ok("backend", f"{reason}; no Google Cloud project is used")
    return [experiments(context), backend, *(skip(name, reason) for name in cloud)]


def _guarded(context: Context, name: str, step: Callable[[Context], list[Check]]) -> list[Check]:
    """The step's checks; an error no check expected becomes a failed line, not a traceback."""
    try:
        return step(context)
    except Exception as error:  # noqa: BLE001 - doctor reports every failure as a line
        service = disabled_service(error)
        if service:
            return [fail(name, f"{service} is not enabled", context.enable(service))]
        return [fail(name, f"could not check: {describe_error(error)}")]


def _skipped(context: Context, name: str, reason: str) -> list[Check]:
    if name == "quota":
        return quota_checks.skipped(context, reason)
    if name == "tensorboard":
        return tensorboard_checks.skipped(context, reason)
    return [skip(name, reason)]


# -- the checks made before calling Google ---------------------------------------------------------


def settings(context: Context) -> Check:
    target = context.target
    if target.missing:
        names = ", ".join(f"{item.variable} ({item.why})" for item in target.missing)
        fix = "\n".join(f"export {item.variable}=..." for item in target.missing)
        fix += "\n# in GitHub Actions: the repository variables the workflows map to them (docs/setup.md)"
        return fail("settings", f"not set: {names}", fix)
    region = f"{target.region} (default)" if target.region_is_default else target.region
    return ok(
        "settings",
        f"project {target.project}, region {region}, bucket gs://{target.bucket}, "
        f"repository {target.repository}, image {target.image}",
    )


def experiments(context: Context) -> Check:
    target = context.target
    if target.experiments_problem:
        return fail("experiments", target.experiments_problem, "python -m scripts validate")
    if target.experiments_note and not target.experiments:
        return warn("experiments", target.experiments_note)
    if not target.experiments:
        return warn("experiments", "no experiment compiled: nothing to size the quota check from")
    peaks = needs.peaks(target.demands)
    sized = "; peak " + ", ".join(peak.short() for peak in peaks) if peaks else ""
    if target.experiments_note:
        return warn("experiments", f"{', '.join(target.experiments)}{sized}; {target.experiments_note}")
    return ok("experiments", f"{', '.join(target.experiments)}{sized}")


def credentials(context: Context) -> Check:
    """Whose the Application Default Credentials are; on success the clients every later check calls."""
    try:
        found, context.identity = load(context.target.project)
    except CredentialsProblem as problem:
        return fail("credentials", str(problem), CREDENTIALS_FIX)
    context.clients = Clients(context.endpoints, found)
    return ok("credentials", context.identity.describe())
