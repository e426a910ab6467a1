import os
import signal

import pytest

from lstmlab.utils.atomic_file import atomic_file
from lstmlab.utils.termination import Terminated, terminate_as_interrupt


class SignalledOnCollection:
    """Sends this process a signal from its finalizer, where the handler's exception is printed and dropped."""

    def __init__(self, signum: int) -> None:
        self.signum = signum

    def __del__(self) -> None:
        os.kill(os.getpid(), self.signum)
        for _ in range(10_000):  # the handler runs here, between two bytecodes of the finalizer
            pass


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize(("signum", "raised"), [(signal.SIGTERM, Terminated), (signal.SIGINT, KeyboardInterrupt)],
                         ids=["TERM", "INT"])
def test_a_signal_whose_exception_a_finalizer_dropped_still_keeps_the_old_output(tmp_path, signum, raised):
    output = tmp_path / "out.txt"
    output.write_text("old")
    ran_on = False
    with pytest.raises(raised) as caught, terminate_as_interrupt():
        with atomic_file(output) as temporary:
            temporary.write_text("new")
            SignalledOnCollection(signum)
            ran_on = True
    assert ran_on, "the finalizer's exception was not dropped: this test no longer tests the lost-exception case"
    assert caught.type is raised and output.read_text() == "old"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.txt"]


def test_outside_a_command_an_earlier_signal_is_forgotten(tmp_path):
    with pytest.raises(Terminated), terminate_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(10_000):
            pass
    with atomic_file(tmp_path / "out.txt") as temporary:
        temporary.write_text("new")
    assert (tmp_path / "out.txt").read_text() == "new"
