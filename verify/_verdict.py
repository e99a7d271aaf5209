"""The verifier room's door: a verdict per sample, and the sandbox it was run in."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

OUTPUT_CAP = 16_384  # bytes of stdout / stderr kept per verdict


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"  # the sample could not run (syntax error, crash at import, ...)
    TIMEOUT = "timeout"
    OOM = "oom"
    SANDBOX_ERROR = "sandbox_error"  # the sandbox failed, not the sample


@dataclass(frozen=True)
class Verdict:
    status: Status
    duration_s: float
    exit_code: int | None = None
    failing_test: str | None = None
    stdout: str = ""
    stderr: str = ""
    sandbox: str = ""  # the sandbox that produced it, e.g. "docker" or "local bwrap+cgroups ..."

    @property
    def passed(self) -> bool:
        return self.status is Status.PASS


@dataclass(frozen=True)
class ExecResult:
    """What running one program in a sandbox gave."""

    exit_code: int | None
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    oom: bool = False
    truncated: bool = False


@runtime_checkable
class Sandbox(Protocol):
    """Runs untrusted Python programs, one process per program, with limits."""

    @property
    def name(self) -> str:
        """Short label shown to the user, e.g. "docker" or
        "local bwrap+cgroups (weaker isolation)"."""

    @property
    def weaker_isolation(self) -> bool: ...

    async def start(self) -> None: ...

    async def run(
        self, program: str, *, stdin: str = "", timeout_s: float = 10.0, memory_mb: int = 512
    ) -> ExecResult: ...

    async def close(self) -> None: ...


class SandboxUnavailable(RuntimeError):
    """The requested sandbox cannot run here; the message says why and what to do."""


class SandboxError(RuntimeError):
    """The sandbox failed while running a program (not the program's fault): a verdict of
    ``sandbox_error``."""
