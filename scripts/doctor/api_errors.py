"""What a Google API error says, in one line: its type and message, or the API it says is disabled."""

from __future__ import annotations


def one_line(text: str, limit: int = 240) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_error(error: BaseException) -> str:
    """`PermissionDenied: ...` for an API error; the type and message in one line for anything else."""
    message = getattr(error, "message", None) or str(error) or ""
    return one_line(f"{type(error).__name__}: {message}" if message else type(error).__name__)


def disabled_service(error: BaseException) -> str | None:
    """The API an error says is disabled (ErrorInfo reason SERVICE_DISABLED), else None."""
    if getattr(error, "reason", None) != "SERVICE_DISABLED":
        return None
    metadata = getattr(error, "metadata", None) or {}
    return metadata.get("service") or metadata.get("serviceTitle") or "the API"


def missing_account(error: BaseException) -> bool:
    """IAM answers 403 rather than 404 for an account that does not exist, saying so in the message."""
    return "does not exist" in str(getattr(error, "message", error))
