"""Errors raised by the domain; the HTTP layer maps each to a status code once."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""


class JobNotFoundError(DomainError):
    """Raised when a job id names no job."""

    def __init__(self, job_id: int) -> None:
        super().__init__(f"there is no job {job_id}")
        self.job_id = job_id


class UserNotFoundError(DomainError):
    """Raised when a user name or number names no user."""

    def __init__(self, name: str) -> None:
        super().__init__(f"there is no user {name!r}")
        self.name = name


class UserExistsError(DomainError):
    """Raised when a user is created with a name that is taken."""

    def __init__(self, name: str) -> None:
        super().__init__(f"a user named {name!r} already exists")
        self.name = name


class TransitionError(DomainError):
    """Raised when a command is not allowed from the job's current status."""

    def __init__(self, command: str, status: str, allowed: tuple[str, ...]) -> None:
        allowed_text = ", ".join(allowed) if allowed else "none"
        super().__init__(
            f"cannot {command} a job that is {status}; allowed from {status}: {allowed_text}"
        )
        self.command = command
        self.status = status
        self.allowed = allowed


class ForbiddenError(DomainError):
    """Raised when the user asking may not do what they ask (nothing is recorded)."""


class InvalidJobError(DomainError):
    """Raised when a submitted job names an unknown kind or carries bad params."""


class InvalidUserError(DomainError):
    """Raised when a user's name or fields are not acceptable."""


class StaleRunError(DomainError):
    """Raised when a runtime event comes from a run that no longer owns the job."""

    def __init__(self, job_id: int, run_id: str) -> None:
        super().__init__(f"run {run_id} no longer owns job {job_id}")
        self.job_id = job_id
        self.run_id = run_id


class ConflictError(DomainError):
    """Raised when a command lost every retry against concurrent writers."""


class KeyReusedError(DomainError):
    """Raised when an idempotency key comes back with a different request."""


class KeyInFlightError(DomainError):
    """Raised when a request's idempotency key is held by a request still being answered."""


class ReplayedError(DomainError):
    """The error the first request with an idempotency key met, given again to a retry."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error
