import io
import sys

from factdb.progress import MIN_ITEMS, progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_bar_when_piped_or_small(monkeypatch):
    items = list(range(MIN_ITEMS))
    assert progress(items, "x") is items  # pytest's stderr is not a terminal
    monkeypatch.setattr(sys, "stderr", _Terminal())
    monkeypatch.delenv("CI", raising=False)
    small = list(range(MIN_ITEMS - 1))
    assert progress(small, "x") is small


def test_a_bar_on_a_terminal_for_long_work(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.delenv("CI", raising=False)
    items = list(range(MIN_ITEMS))
    assert list(progress(items, "Reading facts")) == items
    assert "Reading facts" in terminal.getvalue()


def test_no_bar_in_ci(monkeypatch):
    monkeypatch.setattr(sys, "stderr", _Terminal())
    monkeypatch.setenv("CI", "true")
    items = list(range(MIN_ITEMS))
    assert progress(items, "x") is items


def test_a_bar_updated_by_hand_for_work_done_elsewhere(monkeypatch):
    from factdb.progress import progress_bar

    monkeypatch.delenv("CI", raising=False)
    silent = progress_bar(MIN_ITEMS, "Checking claim files")  # pytest's stderr: not a terminal
    silent.update(5)
    silent.close()
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    bar = progress_bar(MIN_ITEMS, "Checking claim files")
    bar.update(MIN_ITEMS)
    assert bar.n == MIN_ITEMS
    bar.close()
    assert f"Checking claim files:   0%|          | 0/{MIN_ITEMS}" in terminal.getvalue()


def test_writing_a_large_database_shows_its_steps(monkeypatch, tmp_path):
    """The build's last part (merge, indexes, full-text search) has a bar of its own: its steps,
    each named as it starts; shown by the number of claims, not of steps."""
    from pathlib import Path

    import factdb.progress as progress_module
    from factdb import validate
    from factdb.building import WRITE_STEPS, build_database

    result = validate(Path(__file__).resolve().parent.parent, cache=False)
    monkeypatch.delenv("CI", raising=False)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(progress_module, "MIN_ITEMS", len(result.facts.claims) + 1)
    build_database(result, tmp_path / "small.db")
    assert terminal.getvalue() == ""  # fewer claims than a bar is worth
    monkeypatch.setattr(progress_module, "MIN_ITEMS", len(result.facts.claims))
    build_database(result, tmp_path / "large.db")
    shown = terminal.getvalue()
    assert f"Writing the database:   0%|          | 0/{len(WRITE_STEPS)}" in shown
    for number, name in enumerate(WRITE_STEPS):
        assert f"| {number}/{len(WRITE_STEPS)} " in shown and name in shown, name
