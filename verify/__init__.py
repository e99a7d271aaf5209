"""Verification: run each sample in a sandbox and turn the result into a Verdict."""

from verify._answerkey import AnswerGroups, answer_keys_of
from verify._audit import audit_problems, auditable, planned_runs
from verify._audit_types import (
    ProblemAudit,
    ReferenceOutcome,
    SuspectReason,
    SuspectTest,
    audit_key,
)
from verify._bwrap import BwrapSandbox, find_bwrap
from verify._docker import DockerSandbox, Limits, remove_stale_containers
from verify._image import (
    DEFAULT_TAG,
    BuildResult,
    build_image,
    build_image_report,
    ensure_image,
    find_host_python,
    image_exists,
)
from verify._local import LocalSandbox
from verify._math import answers_match, extract_answer, normalize_answer, parse_answer
from verify._open import SANDBOX_KINDS, best_local, open_sandbox, sandbox_status
from verify._verdict import (
    OUTPUT_CAP,
    ExecResult,
    Sandbox,
    SandboxError,
    SandboxUnavailable,
    Status,
    Verdict,
)
from verify._verifiers import (
    Verifier,
    extract_choice,
    extract_code,
    function_program,
    stdout_matches,
)

__all__ = [
    "DEFAULT_TAG",
    "OUTPUT_CAP",
    "SANDBOX_KINDS",
    "AnswerGroups",
    "BuildResult",
    "BwrapSandbox",
    "DockerSandbox",
    "ExecResult",
    "Limits",
    "LocalSandbox",
    "ProblemAudit",
    "ReferenceOutcome",
    "Sandbox",
    "SandboxError",
    "SandboxUnavailable",
    "Status",
    "SuspectReason",
    "SuspectTest",
    "Verdict",
    "Verifier",
    "answer_keys_of",
    "answers_match",
    "audit_key",
    "audit_problems",
    "auditable",
    "best_local",
    "build_image",
    "build_image_report",
    "ensure_image",
    "extract_answer",
    "extract_choice",
    "extract_code",
    "find_bwrap",
    "find_host_python",
    "function_program",
    "image_exists",
    "normalize_answer",
    "open_sandbox",
    "parse_answer",
    "planned_runs",
    "remove_stale_containers",
    "sandbox_status",
    "stdout_matches",
]
