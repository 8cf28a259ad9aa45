"""The checks made before calling Google: the settings, the experiments, and whose credentials these are."""

from __future__ import annotations

from scripts.doctor import needs
from scripts.doctor.clients import Clients
from scripts.doctor.credentials import CredentialsProblem, load
from scripts.doctor.report import Check, fail, ok, warn
from scripts.doctor.target import Context


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
        return fail("credentials", str(problem), problem.fix)
    context.clients = Clients(context.endpoints, found)
    return ok("credentials", context.identity.describe())
