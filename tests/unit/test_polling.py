"""poll_until: one way to wait — a value ends the wait, a transient error means "not yet", any other error
ends it at once, and the deadline error names what was awaited and the last thing seen."""

import pytest

from pipeline.errors import ConfigError, EnvironmentProblem, TransientError
from pipeline.polling import holds_within, poll_until


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_returns_the_first_value_and_treats_transient_errors_as_not_yet():
    clock, answers = Clock(), iter([None, TransientError("starting"), False, "ready"])

    def check():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert poll_until(check, timeout=10, every=1, what="x", sleep=clock.sleep, clock=clock) == "ready"
    assert clock.now == 3


def test_deadline_names_what_and_the_last_state():
    clock = Clock()
    with pytest.raises(EnvironmentProblem) as info:
        poll_until(lambda: None, timeout=5, every=1, what="kafka healthy", last=lambda: "state STARTING",
                   error=EnvironmentProblem, sleep=clock.sleep, clock=clock)
    assert str(info.value) == "kafka healthy not reached after 5s (state STARTING)"


def test_a_real_error_ends_the_wait_at_once():
    clock = Clock()

    def check():
        raise ConfigError("bad key")

    with pytest.raises(ConfigError):
        poll_until(check, timeout=5, sleep=clock.sleep, clock=clock, what="x")
    assert clock.now == 0


def test_holds_within_answers_instead_of_raising():
    assert holds_within(lambda: True, 0)
    assert not holds_within(lambda: False, 0, every=0)
