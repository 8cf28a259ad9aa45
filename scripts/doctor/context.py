"""What the checks share: the target, whose credentials and which clients, and what earlier checks found.

Each check is a function of a `Context`; the ones that learn something a later check needs write
it here (the project's number, the APIs that are off, the repository when it may be read).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scripts.doctor.clients import Clients, Endpoints
from scripts.doctor.credentials import Identity
from scripts.doctor.target import Target


@dataclass
class Context:
    target: Target
    endpoints: Endpoints = field(default_factory=Endpoints)
    identity: Identity | None = None  # set by the credentials check
    clients: Clients | None = None  # set by the credentials check
    project_number: str | None = None  # set by the project check
    disabled_apis: set[str] = field(default_factory=set)  # set by the APIs check
    repository: Any = None  # set by the repository check: the repository, when the caller may read it

    @property
    def project(self) -> str:
        return self.target.project or ""

    @property
    def who(self) -> str:
        """The caller, in words, for a check's line."""
        return self.identity.describe() if self.identity else "the caller"

    @property
    def member(self) -> str:
        """The caller as an IAM member, for a fix's grant; MEMBER when unknown."""
        return (self.identity.member if self.identity else None) or "MEMBER"

    def member_note(self) -> str:
        """What to put for MEMBER, appended to a fix that names it; empty when the caller is known."""
        if self.identity and self.identity.member:
            return ""
        return "\n# MEMBER: user:EMAIL or serviceAccount:EMAIL of whoever runs the workflows"

    def enable(self, *services: str) -> str:
        return f"gcloud services enable {' '.join(services)} --project={self.project}"

    def calls(self) -> Clients:
        """The clients: only checks after a passed credentials check call Google."""
        assert self.clients is not None
        return self.clients
