"""What the command line writes: never over an input, refused before any work when it cannot be written, atomic
when the disk fills up; output cut short by a closed pipe; and what ``hub show`` says about classes."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_cnn, save_torchscript, write_pngs

from gifviz import DistanceMatrix, FieldConfig, InputSpace, compute_field
from gifviz.bench.report import write_csvs
from gifviz.bench.suite import BenchResult
from gifviz.cli import EXIT_BROKEN_PIPE, main
from gifviz.field.files import save_field_npz
from gifviz.hub.zoo import Zoo
from gifviz.outputs import OutputError, write_file, write_files
from gifviz.refs import load_reference_folder

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def nothing_loads(monkeypatch):
    """Fail the test if any model is loaded: a refused output must be found before any work."""

    def refuse(self, model_id):
        raise AssertionError(f"model {model_id!r} was loaded before the output was checked")

    monkeypatch.setattr(Zoo, "load", refuse)


def one_error_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gifviz: error: "), lines
    return lines[0]


def distances(manifest: Path, refs: Path, out: Path | str) -> int:
    return main(["distances", str(manifest), "--refs", str(refs), "--steps", "2", "--quiet", "--out", str(out)])


def field(manifest: Path, refs: Path, out: Path | str) -> int:
    return main(["field", str(manifest), "other", "--refs", str(refs), "--steps", "2", "--quiet", "--out", str(out)])


# --- --out never replaces an input ---------------------------------------------------------------------------------


def test_distances_refuses_to_write_over_its_manifest(tiny_zoo, nothing_loads, capsys):
    manifest, refs = tiny_zoo
    before = manifest.read_bytes()
    assert distances(manifest, refs, manifest) == 2
    line = one_error_line(capsys)
    assert f"--out {manifest} would replace the zoo manifest;" in line
    assert manifest.read_bytes() == before


def test_field_refuses_to_write_over_a_model_file(tiny_zoo, nothing_loads, capsys):
    manifest, refs = tiny_zoo
    model_file = manifest.parent / "models" / "source.pt"
    before = model_file.read_bytes()
    assert field(manifest, refs, model_file) == 2
    assert "source.pt would replace the file of model 'source'" in one_error_line(capsys)
    assert model_file.read_bytes() == before


def test_an_input_reached_through_a_symlink_or_a_relative_path_is_still_refused(
    tiny_zoo, nothing_loads, capsys, monkeypatch
):
    manifest, refs = tiny_zoo
    link = manifest.parent / "result.csv"
    link.symlink_to(manifest.parent / "models" / "other.pt")
    assert distances(manifest, refs, link) == 2
    line = one_error_line(capsys)
    assert "result.csv would replace the file of model 'other'" in line and "other.pt" in line
    monkeypatch.chdir(manifest.parent)
    assert field(manifest, refs, "models/../models/scaled.pt") == 2
    assert "the file of model 'scaled'" in one_error_line(capsys)


def test_a_reference_image_is_never_an_output(tiny_zoo, nothing_loads, capsys):
    manifest, refs = tiny_zoo
    assert distances(manifest, refs, refs / "img_003.png") == 2
    assert "img_003.png would replace a reference image" in one_error_line(capsys)


def test_the_sidecar_may_not_replace_an_input_either(tiny_zoo, nothing_loads, capsys, tmp_path):
    manifest, refs = tiny_zoo
    renamed = manifest.with_name("d.csv.json")  # the sidecar of --out d.csv is the manifest itself
    manifest.rename(renamed)
    assert distances(renamed, refs, renamed.with_name("d.csv")) == 2
    assert "d.csv.json would replace the zoo manifest" in one_error_line(capsys)
    assert not renamed.with_name("d.csv").exists()


# --- an output that cannot be written is refused before any work ---------------------------------------------------


def test_an_existing_folder_is_not_a_file_name(tiny_zoo, nothing_loads, capsys, tmp_path):
    manifest, refs = tiny_zoo
    assert distances(manifest, refs, tmp_path) == 2
    assert "is a folder" in one_error_line(capsys)


def test_a_sidecar_name_taken_by_a_folder_is_refused(tiny_zoo, nothing_loads, capsys, tmp_path):
    manifest, refs = tiny_zoo
    (tmp_path / "d.csv.json").mkdir()
    assert distances(manifest, refs, tmp_path / "d.csv") == 2
    assert "d.csv.json is a folder" in one_error_line(capsys)


def test_an_output_under_a_regular_file_is_refused(tiny_zoo, nothing_loads, capsys, tmp_path):
    manifest, refs = tiny_zoo
    (tmp_path / "notes.txt").write_text("not a folder")
    assert field(manifest, refs, tmp_path / "notes.txt" / "f.npz") == 2
    line = one_error_line(capsys)
    assert "notes.txt is a file" in line


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc (unwritable even for root)")
def test_an_output_folder_that_cannot_be_created_is_refused(tiny_zoo, nothing_loads, capsys):
    manifest, refs = tiny_zoo
    assert distances(manifest, refs, "/proc/gifviz-results/d.csv") == 2
    assert "cannot write in /proc" in one_error_line(capsys)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_refused(tiny_zoo, nothing_loads, capsys, tmp_path):
    manifest, refs = tiny_zoo
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert distances(manifest, refs, locked / "d.csv") == 2
        assert "cannot write in" in one_error_line(capsys)
    finally:
        locked.chmod(0o700)


def test_bench_refuses_an_out_folder_that_is_a_file_before_running(tiny_zoo, monkeypatch, capsys, tmp_path):
    import gifviz.bench.suite

    def refuse(*args, **kwargs):
        raise AssertionError("the testbed started before --out was checked")

    monkeypatch.setattr(gifviz.bench.suite, "bench_inputs", refuse)
    manifest, _ = tiny_zoo
    target = tmp_path / "results"
    target.write_text("a file")
    assert main(["bench", "ipp", str(manifest), "--quiet", "--out", str(target)]) == 2
    assert "is a file, not a folder" in one_error_line(capsys)
    assert main(["bench", "ipp", str(manifest), "--quiet", "--out", str(target / "sub")]) == 2
    assert "results is a file" in one_error_line(capsys)


def test_zoo_build_refuses_an_out_that_is_a_file_before_training(capsys, tmp_path):
    target = tmp_path / "zoo"
    target.write_text("a file")
    assert main(["zoo", "build", "--scale", "smoke", "--out", str(target)]) == 2
    assert "is a file, not a folder" in one_error_line(capsys)


def test_a_good_output_in_a_new_folder_is_written(tiny_zoo, tmp_path):
    manifest, refs = tiny_zoo
    out = tmp_path / "new" / "deeper" / "d.csv"
    assert distances(manifest, refs, out) == 0
    assert DistanceMatrix.from_csv(out).labels == ("source", "scaled", "other")
    assert sorted(p.name for p in out.parent.iterdir()) == ["d.csv", "d.csv.json"]  # no temporary file left


# --- atomic writes ---------------------------------------------------------------------------------------------------


def fail_fsync_on_call(monkeypatch, failing_call: int) -> None:
    """The ``failing_call``-th fsync of gifviz.outputs reports a full disk (what a write-back filesystem does)."""
    calls = {"n": 0}
    real = os.fsync

    def fsync(descriptor: int) -> None:
        calls["n"] += 1
        if calls["n"] == failing_call:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(descriptor)

    monkeypatch.setattr("gifviz.outputs.os.fsync", fsync)


def test_a_full_disk_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "d.csv"
    target.write_text("previous results\n")

    def half_then_full(handle):
        handle.write(b"new results, first hal")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(OutputError) as caught:
        write_file(target, half_then_full)
    message = str(caught.value)
    assert str(target) in message and "No space left on device" in message and "\n" not in message
    assert target.read_text() == "previous results\n"
    assert [p.name for p in tmp_path.iterdir()] == ["d.csv"]


def test_a_full_disk_on_a_new_file_leaves_nothing(tmp_path, monkeypatch):
    fail_fsync_on_call(monkeypatch, 1)
    with pytest.raises(OutputError, match="No space left"):
        write_file(tmp_path / "new.json", "{}")
    assert list(tmp_path.iterdir()) == []


def test_distance_csv_and_sidecar_are_replaced_together_or_not_at_all(tmp_path, monkeypatch):
    out = tmp_path / "d.csv"
    old = DistanceMatrix(("a", "b"), np.array([[0.0, 0.25], [0.25, 0.0]]), provenance={"run": "old"})
    old.to_csv(out)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    new = DistanceMatrix(("a", "b"), np.array([[0.0, 0.5], [0.5, 0.0]]), provenance={"run": "new"})
    fail_fsync_on_call(monkeypatch, 2)  # the CSV is staged, the sidecar hits the full disk
    with pytest.raises(OutputError, match=r"d\.csv\.json: No space left"):
        new.to_csv(out)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_field_npz_write_is_atomic(tmp_path, monkeypatch):
    refs = load_reference_folder(write_pngs(tmp_path / "refs", 2), InputSpace(1, 16, 16))
    result = compute_field(make_cnn(0), refs, FieldConfig(steps=2))
    out = tmp_path / "out" / "f.npz"
    out.parent.mkdir()
    out.write_bytes(b"an older field")
    fail_fsync_on_call(monkeypatch, 1)
    with pytest.raises(OutputError, match="No space left"):
        save_field_npz(result, out)
    assert out.read_bytes() == b"an older field" and [p.name for p in out.parent.iterdir()] == ["f.npz"]
    monkeypatch.undo()
    save_field_npz(result, out)
    assert np.load(out)["values"].shape == result.shape


def test_bench_csvs_are_written_all_or_none(tmp_path, monkeypatch):
    frame = pd.DataFrame({"method": ["modelgif"], "value": [1.0]})
    result = BenchResult(testbed="ipp", table=frame, sweep=frame, details=frame)
    fail_fsync_on_call(monkeypatch, 3)
    with pytest.raises(OutputError, match=r"ipp_details\.csv: No space left"):
        write_csvs(result, tmp_path / "bench")
    assert not (tmp_path / "bench").exists() or list((tmp_path / "bench").iterdir()) == []
    monkeypatch.undo()
    paths = write_csvs(result, tmp_path / "bench")
    assert [p.name for p in paths] == ["ipp.csv", "ipp_sweep.csv", "ipp_details.csv"]
    assert pd.read_csv(paths[0]).equals(frame)


def test_a_full_disk_ends_the_command_in_one_line(tiny_zoo, tmp_path, monkeypatch, capsys):
    manifest, refs = tiny_zoo
    fail_fsync_on_call(monkeypatch, 1)
    assert (
        main(
            [
                "distances",
                str(manifest),
                "--refs",
                str(refs),
                "--steps",
                "2",
                "--quiet",
                "--no-cache",
                "--out",
                str(tmp_path / "d.csv"),
            ]
        )
        == 2
    )
    assert "No space left on device" in capsys.readouterr().err.strip().splitlines()[-1]
    assert not (tmp_path / "d.csv").exists()
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".d.csv")] == []


def test_written_files_get_the_usual_permissions(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    path = write_file(tmp_path / "new.txt", "x")
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0o600
    path.chmod(0o640)
    write_files({path: b"y"})
    assert path.stat().st_mode & 0o777 == 0o640 and path.read_bytes() == b"y"


# --- a reader that stops early ---------------------------------------------------------------------------------------


def closed_pipe_run(*args: str) -> subprocess.CompletedProcess:
    """Run ``gifviz ARGS`` with a stdout whose reader is gone before gifviz writes (``gifviz ... | head -0``)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gifviz", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT
    )
    process.stdout.close()
    _, stderr = process.communicate(timeout=300)
    return subprocess.CompletedProcess(args, process.returncode, "", stderr.decode())


def test_hub_listing_into_a_closed_pipe_ends_quietly(tiny_zoo):
    """``gifviz hub ls ZOO | head -0``; ``hub show`` and every other command print through the same main()."""
    manifest, _ = tiny_zoo
    result = closed_pipe_run("hub", "ls", str(manifest))
    assert result.returncode == EXIT_BROKEN_PIPE, result.stderr
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr


def test_a_broken_pipe_that_is_not_stdout_keeps_its_traceback():
    """Only a closed stdout ends quietly; a lost worker connection is a real failure."""
    code = (
        "import gifviz.cli.hub as hub\n"
        "def lost_connection(args):\n"
        "    raise BrokenPipeError(32, 'connection to a worker lost')\n"
        "hub.run_archs = lost_connection\n"
        "from gifviz.cli import main\n"
        "main(['hub', 'archs'])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 1 and "BrokenPipeError: [Errno 32] connection to a worker lost" in result.stderr


# --- hub show: classes ------------------------------------------------------------------------------------------------


def _one_model_zoo(root: Path, extra: str = "") -> Path:
    (root / "models").mkdir(parents=True, exist_ok=True)
    save_torchscript(make_cnn(0), root / "models" / "m.pt")
    manifest = root / "zoo.toml"
    manifest.write_text(
        'name = "one"\n[input]\nchannels = 1\nsize = [16, 16]\n[[models]]\nid = "m"\nfile = "models/m.pt"\n' + extra
    )
    return manifest


@pytest.mark.parametrize("extra", ["num_classes = 10\n", ""])
def test_hub_show_counts_the_classes_of_a_model_without_class_names(tmp_path, capsys, extra):
    manifest = _one_model_zoo(tmp_path, extra)
    assert main(["hub", "show", str(manifest), "m"]) == 0
    assert json.loads(capsys.readouterr().out)["classes"] == 10
    assert Zoo.open(manifest).load("m").classes == tuple(str(k) for k in range(10))


def test_named_classes_are_kept(tmp_path):
    names = [f"class {k}" for k in range(10)]
    manifest = _one_model_zoo(tmp_path, f"classes = {json.dumps(names)}\n")
    assert Zoo.open(manifest).load("m").classes == tuple(names)


def test_a_num_classes_that_contradicts_the_model_is_one_clear_error(tmp_path, capsys):
    manifest = _one_model_zoo(tmp_path, "num_classes = 7\n")
    assert main(["hub", "show", str(manifest), "m"]) == 2
    line = one_error_line(capsys)
    assert "'m'" in line and "num_classes = 7" in line and "10 outputs" in line


def test_unnamed_classifiers_get_the_same_classes_with_or_without_num_classes(tmp_path):
    """Numbering the classes of a model with num_classes must not set it apart from an unnamed model without it
    (the output-comparing peers compare classes)."""
    manifest = _one_model_zoo(tmp_path, 'num_classes = 10\n[[models]]\nid = "n"\nfile = "models/m.pt"\n')
    zoo = Zoo.open(manifest)
    assert zoo.load("m").classes == zoo.load("n").classes
