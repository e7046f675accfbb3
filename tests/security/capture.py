"""Capture every log record of every logger at DEBUG, whatever the logging configuration
(levels, ``propagate=False``, disabled loggers), restoring it afterwards."""

from __future__ import annotations

import contextlib
import logging
import traceback
from collections.abc import Iterator


class AllLogs(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def texts(self) -> list[str]:
        """Each record as any handler could write it: message, arguments, traceback, extras."""
        found = []
        for record in self.records:
            parts = [record.getMessage(), repr(record.args), repr(record.__dict__)]
            if record.exc_info and record.exc_info[1] is not None:
                parts.append("".join(traceback.format_exception(*record.exc_info)))
            found.append("\n".join(parts))
        return found

    def containing(self, *secrets: str) -> list[str]:
        return [
            f"{record.name} {record.levelname}: {text[:300]}"
            for record, text in zip(self.records, self.texts(), strict=True)
            if any(secret in text for secret in secrets)
        ]


@contextlib.contextmanager
def all_logs() -> Iterator[AllLogs]:
    handler = AllLogs()
    manager = logging.root.manager
    loggers = [logging.root] + [
        logger for logger in manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    saved = [(logger, logger.level, logger.propagate, logger.disabled) for logger in loggers]
    disable = logging.root.manager.disable
    logging.disable(logging.NOTSET)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
        logger.addHandler(handler)
        logger.propagate = False  # each logger hands its records to the handler once
    try:
        yield handler
    finally:
        for logger, level, propagate, disabled in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate
            logger.disabled = disabled
        logging.disable(disable)
