"""Logging of a service process: JSON lines (`python-json-logger`) or plain text, and the request id.

`MSO_FLOW_LOG_FORMAT=json` writes one JSON object per line with `time`, `level`, `logger`, `message`, the
fields given as `extra=` (`request_id`, `user`, `route`, `instance_id`, …) and the id of the request being
served. Nothing logs variables' values: they hold citizens' personal data.
"""

from __future__ import annotations

import logging
import logging.config
from contextvars import ContextVar
from typing import Any, Literal

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["json", "text"]
# the level `mso-flow serve --log-level` asked for, read by each worker's app factory (which configures logging
# again for `uvicorn --factory` runs): without it a worker logged at INFO whatever the flag said
LEVEL_ENV = "MSO_FLOW_LOG_LEVEL"
REQUEST_ID: ContextVar[str | None] = ContextVar("mso_flow_request_id", default=None)
TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _stamp_request_id() -> None:
    """Every log record made while a request is served carries its id, whichever handler writes it."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "stamps_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        request_id = REQUEST_ID.get()
        if request_id is not None:
            record.request_id = request_id
        return record

    factory.stamps_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


_stamp_request_id()


def formatter(log_format: LogFormat = "text") -> logging.Formatter:
    """JSON: `time` (ISO 8601, UTC), `level`, `logger`, `message` and every `extra` field; or one text line."""
    if log_format == "json":
        return JsonFormatter(
            "{levelname}{name}{message}",
            style="{",
            timestamp="time",
            rename_fields={"levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
            reserved_attrs=[*RESERVED_ATTRS, "color_message"],  # uvicorn's ANSI-coloured copy of the message
        )
    return logging.Formatter(TEXT)


def config(log_format: LogFormat = "text", level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` for the service and uvicorn (also given to uvicorn's `log_config`)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": {"()": f"{__name__}.formatter", "log_format": log_format}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {
            # uvicorn's loggers go through the root handler; its access log is replaced by `mso_flow.access`
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
            "spiff": {"level": "WARNING"},  # a line per task state change; the audit trail records what matters
        },
    }


def configure(log_format: LogFormat = "text", level: str = "INFO") -> None:
    logging.config.dictConfig(config(log_format, level))
