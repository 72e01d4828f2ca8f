"""Progress in a pipe or a CI log: a plain line at once, then at most one per interval, never a
carriage return (the live displays themselves run on a real pty: tests/commands/test_terminal.py,
tests/deploy/test_deploy_terminal.py)."""

from __future__ import annotations

import time

from sddd.deploy.wait import WaitState
from sddd.output.deploy import PLAIN_EVERY_S, StatusLine
from sddd.output.index import LineSink


def test_the_wait_says_something_at_once_then_at_most_once_per_interval(capsys):
    line = StatusLine(every=0.3)
    line(WaitState("running", "starting", 0.0, "", "starting"))
    line(WaitState("running", "starting", 0.1, "INFO Loading weights", "waiting for /health"))
    first = capsys.readouterr().err.splitlines()
    assert len(first) == 1 and "0.0s" in first[0] and "starting" in first[0]  # no 10 s of silence
    time.sleep(0.35)
    line(WaitState("running", "starting", 0.5, "INFO Loading weights took 3.1 s", "waiting for /health"))
    line(WaitState("running", "starting", 0.6, "INFO Loading weights took 3.1 s", "waiting for /health"))
    later = capsys.readouterr().err
    assert later.count("\n") == 1 and "\r" not in later
    assert "waiting for /health" in later and "| INFO Loading weights took 3.1 s" in later  # vLLM's own line
    time.sleep(0.35)
    line(WaitState("running", "starting", 0.9, "INFO Loading weights took 3.1 s", "waiting for /health"))
    assert capsys.readouterr().err == ""  # nothing new: nothing said
    assert PLAIN_EVERY_S == 10.0


def test_embedding_in_a_pipe_is_plain_lines_with_rate_and_time_left(capsys):
    sink = LineSink(every=0.2)
    sink.start(100)
    sink.advance(10)
    assert capsys.readouterr().err == "embedding 100 passage(s)\n"  # at once, then quiet until 0.2 s
    time.sleep(0.25)
    sink.advance(10)
    text = capsys.readouterr().err
    assert text.startswith("embedded 20/100 passages (") and "/s, about " in text and " s left)" in text
    assert "\r" not in text and text.count("\n") == 1


def test_a_long_read_is_said_once_and_never_after_embedding_starts(capsys):
    slow = LineSink(reading="sddd index: reading the files under /repo (index .sddd)")
    time.sleep(1.3)  # a large tree: a second passes before the first passage is embedded
    slow.start(5)
    assert capsys.readouterr().err.splitlines() == [
        "sddd index: reading the files under /repo (index .sddd)", "embedding 5 passage(s)"]
    quick = LineSink(reading="sddd index: reading the files under /repo (index .sddd)")
    quick.start(5)
    time.sleep(1.3)
    quick.stop()
    assert capsys.readouterr().err.splitlines() == ["embedding 5 passage(s)"]
