"""The background file writer: writes land in order, are complete when it closes, and failures surface."""

from __future__ import annotations

import sys

import pytest

from evolve.file_writer import SWITCH_INTERVAL, FileWriter


def test_writes_land_in_submission_order_and_are_complete_on_close(tmp_path):
    seen = []
    with FileWriter() as writer:
        for i in range(50):
            writer.write(tmp_path / "doc.json", f'{{"i": {i}}}'.encode(), then=lambda i=i: seen.append(i))
            writer.write(tmp_path / f"file-{i}.txt", b"x" * i)
    assert seen == list(range(50))
    assert (tmp_path / "doc.json").read_text() == '{"i": 49}'
    assert all((tmp_path / f"file-{i}.txt").stat().st_size == i for i in range(50))
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def test_a_failed_write_is_raised_on_close_and_on_the_next_write(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a directory should be")
    writer = FileWriter()
    writer.write(blocker / "checkpoint.json", b"{}")
    with pytest.raises(OSError):
        writer.close()
    with pytest.raises(OSError):
        writer.write(tmp_path / "later.json", b"{}")


def test_the_loops_own_error_wins_over_a_write_error(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(KeyError):
        with FileWriter() as writer:
            writer.write(blocker / "x.json", b"{}")
            raise KeyError("the loop failed")


def test_the_gil_switch_interval_is_short_while_a_writer_is_open_and_restored_after(tmp_path):
    before = sys.getswitchinterval()
    with FileWriter() as writer:
        assert sys.getswitchinterval() == min(before, SWITCH_INTERVAL)
        writer.write(tmp_path / "a.json", b"{}")
    assert sys.getswitchinterval() == before
