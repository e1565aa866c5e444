"""The exception types for what a user can fix (bad data, bad config) and for numbers that
stopped being numbers."""


class UserError(Exception):
    """A problem with the user's input: reported as one `error:` line and exit code 2."""


class Interrupted(Exception):
    """Stopped on Ctrl-C after saving what resumes it; the message says how to go on."""


class NonFiniteError(ArithmeticError):
    """A loss, a weight or a model output became NaN or infinite."""
