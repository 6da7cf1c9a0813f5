"""Errors that reach the user as one clear line (the exit statuses are in docs/cli.md)."""


class HeadblockError(Exception):
    """Bad input or usage: the command line prints the message and exits 2."""

    exit_status = 2


class VerificationFailed(HeadblockError):
    """A failed fixity or sign-off verification: exit 1."""

    exit_status = 1


class TakeCutShort(HeadblockError):
    """A take that could not be finished as asked (the disk is full): what it captured is
    kept; the message says what is missing and what to do. Exit 1 (docs/cli.md)."""

    exit_status = 1
