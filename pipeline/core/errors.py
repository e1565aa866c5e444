"""The one exception type for mistakes a user can fix (bad data, bad config)."""


class UserError(Exception):
    """A problem with the user's input: reported as one `error:` line and exit code 2."""
