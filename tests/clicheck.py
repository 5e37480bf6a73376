"""Assertions about what the CLI printed, shared by the test files."""


def one_error_line(result, *expected: str) -> str:
    """The CLI failed through UserError: a non-zero exit, a single ``error:`` line, no traceback;
    the line holds every ``expected`` text. Returns the line."""
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # not an uncaught exception
    assert result.exit_code != 0
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]
