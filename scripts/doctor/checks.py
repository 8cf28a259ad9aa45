"""The checks, in the order a run meets them; each one line, with the command that fixes it.

    checks = Doctor(target, Endpoints.from_environment(env)).run()

A check that cannot run because an earlier one failed is skipped (–) and says why; one that
could not be confirmed is a warning (!). Every Google call is bounded by `CALL_TIMEOUT` and is
not retried, and no error ends the run: an API error becomes that check's line.
"""

from __future__ import annotations

from collections.abc import Callable

from scripts.doctor import (
    account_checks,
    binding_checks,
    bucket_checks,
    local_checks,
    project_checks,
    quota_checks,
    registry_checks,
    tensorboard_checks,
)
from scripts.doctor.clients import Endpoints, describe_error, disabled_service
from scripts.doctor.report import Check, fail, ok, skip
from scripts.doctor.target import Context, Target
from scripts.emulator.contract import emulator_setting

# The checks that call Google, in the order a run meets them: (the name a skipped step shows, the check).
STEPS: tuple[tuple[str, Callable[[Context], list[Check]]], ...] = (
    ("project", project_checks.project),
    ("APIs", project_checks.apis),
    ("permissions", project_checks.permissions),
    ("service accounts", account_checks.service_accounts),
    ("identity bindings", binding_checks.run),
    ("bucket", bucket_checks.bucket),
    ("tensorboard", tensorboard_checks.tensorboard),
    ("repository", registry_checks.repository),
    ("tags", registry_checks.immutable_tags),
    ("image", registry_checks.image),
    ("quota", quota_checks.quota),
)


class Doctor:
    """Runs every check in order, skipping those an earlier failure leaves without ground."""

    def __init__(self, target: Target, endpoints: Endpoints | None = None) -> None:
        self.target = target
        self.context = Context(target, endpoints or Endpoints())

    # -- running -----------------------------------------------------------------------------

    def run(self) -> list[Check]:
        if self.target.emulator:
            return self._emulated()
        context = self.context
        checks = [
            local_checks.settings(context),
            local_checks.experiments(context),
            local_checks.credentials(context),
        ]
        blocked = None
        if checks[2].failed:
            blocked = "no usable credentials"
        elif not self.target.project:
            blocked = "GOOGLE_CLOUD_PROJECT is not set"
        for name, step in STEPS:
            if blocked:
                checks.extend(self._skipped(name, blocked))
                continue
            results = self._guarded(name, step)
            checks.extend(results)
            if name == "project" and results[0].failed and results[0].data.get("unreachable"):
                blocked = "project not reachable"
        return checks

    def _emulated(self) -> list[Check]:
        """Jobs go to the local emulator: the experiments still count, Google Cloud does not."""
        reason = f"jobs go to the emulator at {self.target.emulator} ({emulator_setting()})"
        cloud = ("credentials", "project", "APIs", "permissions", "service accounts", "identity bindings")
        cloud += ("bucket",)
        cloud += ("repository", "image", "quota")
        backend = ok("backend", f"{reason}; no Google Cloud project is used")
        return [local_checks.experiments(self.context), backend, *(skip(name, reason) for name in cloud)]

    def _guarded(self, name: str, step: Callable[[Context], list[Check]]) -> list[Check]:
        """The step's checks; an error no check expected becomes a failed line, not a traceback."""
        try:
            return step(self.context)
        except Exception as error:  # noqa: BLE001 - doctor reports every failure as a line
            service = disabled_service(error)
            if service:
                return [fail(name, f"{service} is not enabled", self.context.enable(service))]
            return [fail(name, f"could not check: {describe_error(error)}")]

    def _skipped(self, name: str, reason: str) -> list[Check]:
        if name == "quota":
            return quota_checks.skipped(self.context, reason)
        if name == "tensorboard":
            return tensorboard_checks.skipped(self.context, reason)
        return [skip(name, reason)]
