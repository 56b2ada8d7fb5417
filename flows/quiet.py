"""Expected failures end flow and task runs without a traceback: their message says it all.

Prefect logs every exception that ends a run with its traceback. A `PhasegateError` is raised
on purpose with a message that names what failed (the endpoint, the file, the field), so its
record keeps that message and drops the traceback; anything else keeps its traceback.
"""

import logging

from state.errors import PhasegateError

RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")


class ExpectedErrors(logging.Filter):
    """Drop the traceback of a record whose exception is a PhasegateError."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record; strip the traceback of an expected error."""
        if record.exc_info and isinstance(record.exc_info[1], PhasegateError):
            record.exc_info = None
            record.exc_text = None
        return True


def install() -> None:
    """Add the filter to Prefect's run loggers, once."""
    for name in RUN_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ExpectedErrors) for f in logger.filters):
            logger.addFilter(ExpectedErrors())
