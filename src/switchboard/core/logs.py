"""Log lines an operator can follow: the ids of what a line is about, text or one JSON object.

    HTTP layer (http/context.py) ─▶ request_id ─┐
    chat routes ────────────────▶ thread_id  ──┼─ contextvars, copied into every task
    calling / automation ───────▶ call_id    ──┘  spawned while they are set
    logging.getLogger("switchboard.…").info(...) ─▶ LogContextFilter: ids onto the record
      ─▶ TextFormatter  "time LEVEL logger [request id] message call=… thread=…"
      ─▶ JsonFormatter  {"time","level","logger","message","request_id","call_id","thread_id"}

The ids are contextvars, so a line logged by a background task carries the ids that were set
when the task was spawned, and a line with nothing set carries none (JSON: the keys are left
out; text: ``-``). Servers' own loggers (``uvicorn.error``, ``granian``) are renamed under
``switchboard.http.`` so that everything the process logs is under our names.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TextIO

__all__ = [
    "LOG_FORMATS",
    "JsonFormatter",
    "LogContextFilter",
    "LogFormat",
    "TextFormatter",
    "call_id_var",
    "configure_logging",
    "log_context",
    "request_id_var",
    "thread_id_var",
]

NO_ID = "-"
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default=NO_ID)
call_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("call_id", default=NO_ID)
thread_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("thread_id", default=NO_ID)


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


LOG_FORMATS = tuple(f.value for f in LogFormat)

# Loggers of the servers (and the migration tool) we embed, shown under our names (INFO lines
# under "uvicorn.error" read as errors). Children ("uvicorn.error.x") keep their suffix.
_RENAMED = {
    "uvicorn.error": "switchboard.http.uvicorn",
    "uvicorn": "switchboard.http.uvicorn",
    "uvicorn.access": "switchboard.http.uvicorn",
    "granian": "switchboard.http.granian",
    "_granian": "switchboard.http.granian",
    "alembic": "switchboard.storage.migrations",
}


@contextmanager
def log_context(*, call_id: str | None = None, thread_id: str | None = None) -> Iterator[None]:
    """Set the call and/or thread id for the lines logged inside the block."""
    tokens: list[tuple[contextvars.ContextVar[str], contextvars.Token[str]]] = []
    if call_id is not None:
        tokens.append((call_id_var, call_id_var.set(call_id)))
    if thread_id is not None:
        tokens.append((thread_id_var, thread_id_var.set(thread_id)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class LogContextFilter(logging.Filter):
    """Puts the context's ids on each record (``%(request_id)s`` …) and renames the
    embedded servers' loggers under ``switchboard.http.``."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.call_id = call_id_var.get()
        record.thread_id = thread_id_var.get()
        name = record.name
        if not name.startswith("switchboard"):
            head, _, tail = name.partition(".")
            renamed = _RENAMED.get(name) or _RENAMED.get(head)
            if renamed is not None:
                record.name = renamed if name in _RENAMED else f"{renamed}.{tail}"
        return True


class TextFormatter(logging.Formatter):
    """``time LEVEL logger [request id] message``, then ``call=…``/``thread=…`` when set."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extra = [
            f"{label}={value}"
            for label, value in (
                ("call", getattr(record, "call_id", NO_ID)),
                ("thread", getattr(record, "thread_id", NO_ID)),
            )
            if value != NO_ID
        ]
        if not extra:
            return line
        first, newline, rest = line.partition("\n")  # keep a traceback below the line
        return f"{first} {' '.join(extra)}{newline}{rest}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line; a traceback goes in ``exception`` (newlines escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": _iso_time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "call_id", "thread_id"):
            value = getattr(record, key, NO_ID)
            if value != NO_ID:
                entry[key] = value
        for key in ("method", "path", "status", "duration_ms", "client"):  # the access log
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _iso_time(created: float) -> str:
    seconds = int(created)
    millis = int((created - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def configure_logging(
    level: str, log_format: LogFormat | str = LogFormat.TEXT, *, stream: TextIO | None = None
) -> None:
    """The root logger writes to stderr (or ``stream``) in ``log_format``, from ``level``."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(LogContextFilter())
    json_lines = LogFormat(log_format) is LogFormat.JSON
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # The embedded servers' loggers reach our handler whatever configured them before (uvicorn's
    # own dictConfig gives "uvicorn" a handler and stops propagation; alembic's fileConfig
    # disables the loggers that existed): their lines go through the root, in our format.
    for name in _RENAMED:
        embedded = logging.getLogger(name)
        embedded.handlers.clear()
        embedded.propagate = True
        embedded.disabled = False
        embedded.setLevel(logging.NOTSET)
