import os
import signal

import pytest

from lstmlab.utils.atomic_file import atomic_file
from lstmlab.utils.termination import Terminated, terminate_as_interrupt


class SignalledOnCollection:
    """Sends this process SIGTERM from its finalizer, where the handler's exception is printed and dropped."""

    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(10_000):  # the handler runs here, between two bytecodes of the finalizer
            pass


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_sigterm_whose_exception_a_finalizer_dropped_still_keeps_the_old_output(tmp_path):
    output = tmp_path / "out.txt"
    output.write_text("old")
    ran_on = False
    with pytest.raises(Terminated), terminate_as_interrupt():
        with atomic_file(output) as temporary:
            temporary.write_text("new")
            SignalledOnCollection()
            ran_on = True
    assert ran_on, "the finalizer's Terminated was not dropped: this test no longer tests the lost-exception case"
    assert output.read_text() == "old" and sorted(path.name for path in tmp_path.iterdir()) == ["out.txt"]


def test_outside_a_command_an_earlier_sigterm_is_forgotten(tmp_path):
    with pytest.raises(Terminated), terminate_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(10_000):
            pass
    with atomic_file(tmp_path / "out.txt") as temporary:
        temporary.write_text("new")
    assert (tmp_path / "out.txt").read_text() == "new"
