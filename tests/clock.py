"""A clock for tests of code that reads the time through a callable it is given."""


class FakeClock:
    """A wall clock that moves only when slept on, or when a test sets `now`."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds
