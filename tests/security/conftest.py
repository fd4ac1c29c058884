"""Counts the fuzzing examples run, and prints them at the end of the session."""

from collections import Counter

import pytest

FUZZ_COUNTS: Counter[str] = Counter()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FUZZ_COUNTS:
        terminalreporter.write_line(
            f"schemathesis: {sum(FUZZ_COUNTS.values())} examples over {len(FUZZ_COUNTS)} operations"
        )
