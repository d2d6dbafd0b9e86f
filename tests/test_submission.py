"""Submissions: .py, folder, .zip, .ipynb; archives are hostile input."""

from __future__ import annotations

import json
import stat
import zipfile
from pathlib import Path

import pytest

from autograder.submission import SubmissionError, stage

SRC = "def broadcast_shape(*s):\n    return ()\n"


def test_py_file_and_wrong_name(tmp_path):
    f = tmp_path / "broadcasting.py"
    f.write_text(SRC)
    staged = stage(f, "broadcasting.py", tmp_path / "out")
    assert staged.module_file.read_text() == SRC
    other = tmp_path / "mine.py"
    other.write_text(SRC)
    with pytest.raises(SubmissionError, match="expected a file named broadcasting.py"):
        stage(other, "broadcasting.py", tmp_path / "out2")


def test_folder_picks_shallowest_module_and_copies_helpers(tmp_path):
    (tmp_path / "sub" / "deep").mkdir(parents=True)
    (tmp_path / "sub" / "broadcasting.py").write_text("import helper\n")
    (tmp_path / "sub" / "helper.py").write_text("X = 1\n")
    (tmp_path / "sub" / "deep" / "broadcasting.py").write_text("# old copy\n")
    staged = stage(tmp_path / "sub", "broadcasting.py", tmp_path / "out")
    assert (staged.directory / "helper.py").exists()
    assert staged.module_file.read_text() == "import helper\n"
    assert any("several" in n for n in staged.notes)


def test_missing_module_in_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "other.py").write_text("")
    with pytest.raises(SubmissionError, match="no broadcasting.py"):
        stage(tmp_path / "sub", "broadcasting.py", tmp_path / "out")


def _zip(path: Path, entries: dict[str, bytes], symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return path


def test_zip_with_module(tmp_path):
    z = _zip(tmp_path / "s.zip", {"hw/broadcasting.py": SRC.encode(), "hw/notes.txt": b"hi"})
    staged = stage(z, "broadcasting.py", tmp_path / "out")
    assert staged.module_file.read_text() == SRC


@pytest.mark.parametrize("name", ["../broadcasting.py", "/etc/broadcasting.py", "a/../../x.py", "C:\\x.py"])
def test_zip_path_traversal_is_refused(tmp_path, name):
    z = _zip(tmp_path / "s.zip", {name: SRC.encode()})
    with pytest.raises(SubmissionError, match="unsafe path"):
        stage(z, "broadcasting.py", tmp_path / "out")
    assert not (tmp_path / "broadcasting.py").exists()


def test_zip_symlink_is_refused(tmp_path):
    z = _zip(tmp_path / "s.zip", {"broadcasting.py": SRC.encode()}, symlink="link.py")
    with pytest.raises(SubmissionError, match="symbolic link"):
        stage(z, "broadcasting.py", tmp_path / "out")


def test_zip_bomb_is_refused(tmp_path):
    z = _zip(tmp_path / "s.zip", {"broadcasting.py": SRC.encode(), "bomb.bin": b"\0" * (60 << 20)})
    assert z.stat().st_size < 1 << 20
    with pytest.raises(SubmissionError, match="zip bomb|unpacks to"):
        stage(z, "broadcasting.py", tmp_path / "out")


def test_not_a_zip(tmp_path):
    z = tmp_path / "s.zip"
    z.write_bytes(b"not a zip")
    with pytest.raises(SubmissionError, match="not a readable zip"):
        stage(z, "broadcasting.py", tmp_path / "out")


def test_notebook_code_cells_become_the_module(tmp_path):
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "# title"},
        {"cell_type": "code", "metadata": {}, "source": ["!pip install torch\n", "X = 1\n"],
         "outputs": [], "execution_count": None},
        {"cell_type": "code", "metadata": {}, "source": "def broadcast_shape(*s):\n    return ()\n",
         "outputs": [], "execution_count": None},
    ]}
    f = tmp_path / "broadcasting.ipynb"
    f.write_text(json.dumps(nb))
    staged = stage(f, "broadcasting.py", tmp_path / "out")
    text = staged.module_file.read_text()
    assert "pip install" not in text.replace("# dropped: !pip install torch", "")
    assert "def broadcast_shape" in text and "X = 1" in text
    assert any("dropped" in n for n in staged.notes)
    compile(text, "broadcasting.py", "exec")


def _notebook_with_output(png_bytes: int) -> dict:
    """One code cell and an embedded plot of about ``png_bytes`` (base64 text, as Jupyter stores it)."""
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "source": "def broadcast_shape(*s):\n    return ()\n",
         "execution_count": 1, "outputs": [{"output_type": "display_data", "metadata": {},
                                           "data": {"image/png": "A" * png_bytes}}]}]}


@pytest.mark.parametrize("how", ["file", "zip"])
def test_notebook_outputs_may_be_large_but_not_unbounded(tmp_path, how):
    """Plots make notebooks bigger than any .py: 12 MiB is accepted, over 32 MiB is refused unread."""
    for size, ok in ((12 << 20, True), (33 << 20, False)):
        folder = tmp_path / str(size)
        folder.mkdir()
        nb = folder / "broadcasting.ipynb"
        nb.write_text(json.dumps(_notebook_with_output(size)))
        sub = nb
        if how == "zip":
            sub = folder / "work.zip"
            with zipfile.ZipFile(sub, "w", zipfile.ZIP_STORED) as z:
                z.write(nb, "work/broadcasting.ipynb")
        if ok:
            staged = stage(sub, "broadcasting.py", folder / "out")
            text = staged.module_file.read_text()
            assert "def broadcast_shape" in text and "AAAA" not in text  # outputs are not kept
        else:
            with pytest.raises(SubmissionError, match="MiB"):
                stage(sub, "broadcasting.py", folder / "out")
