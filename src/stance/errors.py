"""The project's own error type: every expected failure (bad input, bad model folder) raises it."""


class StanceError(Exception):
    """An error the user can fix; the CLI prints its message on one line and exits non-zero."""
