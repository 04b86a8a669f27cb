"""The one exception type that means "the user's input is wrong".

Commands raise :class:`UsageError` with a message that names the problem; the CLI prints it as
``rnnkit: error: <message>`` and exits with code 2 instead of showing a traceback.
"""


class UsageError(Exception):
    """Bad input from the user: a missing file, an invalid flag value, a foreign checkpoint, ..."""

    exit_code = 2
