"""Per-request journal of resources replaced during a stack update.

The CloudFormation models record (original, replacement) pairs here; the engine
deletes the originals in the cleanup phase after a successful update, or deletes
the replacements and restores the originals when the update rolls back. Stack
operations run inside one request thread, so the journal is thread-local.
"""

from __future__ import annotations

import threading
from typing import Any

_local = threading.local()


def begin() -> list[tuple[Any, Any]]:
    entries: list[tuple[Any, Any]] = []
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    stack.append(entries)
    return entries


def end() -> None:
    stack = getattr(_local, "stack", None)
    if stack:
        stack.pop()


def record(original: Any, replacement: Any) -> bool:
    """Record a replacement; False when no stack update is in progress."""
    stack = getattr(_local, "stack", None)
    if not stack:
        return False
    stack[-1].append((original, replacement))
    return True
