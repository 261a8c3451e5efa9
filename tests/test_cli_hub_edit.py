"""``gifviz hub new | add | remove``: a user's own model files become a zoo an audit reads, without typing a manifest;
a bad edit is one line, exit 2, and leaves the manifest as it was."""

from __future__ import annotations

import csv
import tomllib
from pathlib import Path

import pytest
from conftest import make_cnn, perturbed, save_torchscript, write_pngs

from gifviz.cli import main
from gifviz.hub import Zoo
from gifviz.hub.working_zoo import WorkingZoo, WorkingZooError


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """A source, a copy of it lightly changed (the suspect) and four models trained apart, as TorchScript files."""
    folder = tmp_path / "zoo" / "models"
    folder.mkdir(parents=True)
    source = make_cnn(0)
    save_torchscript(source, folder / "mine.pt")
    save_torchscript(perturbed(source, 0.01, seed=1), folder / "theirs.pt")
    for i in range(4):
        save_torchscript(make_cnn(10 + i), folder / f"other-{i}.pt")
    return folder


def test_a_zoo_built_on_the_command_line_is_audited(files, tmp_path, isolated_cache, capsys):
    manifest = tmp_path / "zoo" / "audit.toml"
    refs = write_pngs(tmp_path / "refs", 8)
    assert main(["hub", "new", str(manifest), "--space", "1x16x16", "--references", str(refs)]) == 0
    assert main(["hub", "add", str(manifest), str(files / "mine.pt"), "--id", "mine", "--task", "digit"]) == 0
    assert main(["hub", "add", str(manifest), str(files / "theirs.pt")]) == 0
    others = [str(files / f"other-{i}.pt") for i in range(4)]
    assert main(["hub", "add", str(manifest), *others, "--relation", "independent", "--task", "digit"]) == 0
    assert "added other-3: file:models/other-3.pt" in capsys.readouterr().out  # under the zoo's folder: relative
    zoo = Zoo.open(manifest)
    assert zoo.ids == ("mine", "theirs", "other-0", "other-1", "other-2", "other-3")
    assert [s.id for s in zoo.filter(relation="independent")] == ["other-0", "other-1", "other-2", "other-3"]
    out = tmp_path / "audit"
    code = main(
        ["audit", str(manifest), "--source", "mine", "--methods", "modelgif", "--n-refs", "8", "--out", str(out)]
    )
    assert code == 0
    rows = {(r["suspect"], r["method"]): r for r in csv.DictReader((out / "audit.csv").open())}
    assert rows[("theirs", "combined")]["verdict"] == "derived"
    assert main(["hub", "remove", str(manifest), "theirs", "other-0"]) == 0
    assert Zoo.open(manifest).ids == ("mine", "other-1", "other-2", "other-3")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["add", "{zoo}", "{missing}"], "neither a source"),
        (["add", "{zoo}", "{broken}"], "broken.pt"),
        (["add", "{zoo}", "{good}", "{good}", "--id", "x"], "one at a time"),
        (["add", "{zoo}", "{good}", "--id", "mine"], "already in zoo"),
        (["add", "{zoo}", "{good}", "--parent", "nobody"], "parent 'nobody'"),
        (["add", "{zoo}", "{good}", "--tag", "novalue"], "KEY=VALUE"),
        (["remove", "{zoo}", "ghost"], "no model 'ghost'"),
        (["new", "{zoo}", "--space", "1x16x16"], "already exists"),
    ],
)
def test_a_bad_edit_is_one_line_and_changes_nothing(files, tmp_path, capsys, args, expected):
    manifest = tmp_path / "zoo" / "audit.toml"
    assert main(["hub", "new", str(manifest), "--space", "1x16x16"]) == 0
    assert main(["hub", "add", str(manifest), str(files / "mine.pt"), "--id", "mine"]) == 0
    (files / "broken.pt").write_text("not a model")
    before = manifest.read_text()
    capsys.readouterr()
    paths = {
        "zoo": manifest,
        "missing": tmp_path / "nope.pt",
        "broken": files / "broken.pt",
        "good": files / "theirs.pt",
    }
    assert main(["hub", *(a.format(**paths) for a in args)]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1 and "Traceback" not in err
    assert manifest.read_text() == before


def test_paths_are_read_from_the_current_folder_and_written_relative_to_the_manifest(files, tmp_path, monkeypatch):
    manifest = tmp_path / "zoo" / "audit.toml"
    assert main(["hub", "new", str(manifest), "--space", "1x16x16"]) == 0
    monkeypatch.chdir(files)  # typed with or without file:, a relative path is the shell's, not the manifest's
    assert main(["hub", "add", str(manifest), "file:mine.pt", "theirs.pt"]) == 0
    assert [m["source"] for m in tomllib.loads(manifest.read_text())["models"]] == [
        "file:models/mine.pt",
        "file:models/theirs.pt",
    ]
    assert main(["hub", "add", str(manifest), "later.pt", "--no-check"]) == 0  # weights not here yet
    assert Zoo.open(manifest).spec("later").path == files / "later.pt"
    assert main(["hub", "add", str(manifest), "torchvison:resnet18", "--no-check"]) == 2  # a typo is no file name
    assert main(["hub", "new", str(tmp_path / "other.toml"), "--space", "1x16x16", "--references", "nowhere"]) == 2
    assert not (tmp_path / "other.toml").exists()


def test_an_edit_keeps_what_the_zoo_does_not_model_and_refuses_a_file_changed_since_it_was_opened(files, tmp_path):
    manifest = tmp_path / "zoo" / "audit.toml"
    text = (
        '# why these models\r\nname = "audit"\r\nversion = 2\r\n[input]\r\nchannels = 1\r\nsize = [16, 16]\r\n'
        '[data]\r\nchecks = "checks.csv"  # the build\'s own checks\r\n[[models]]\r\nid = "mine"\r\n'
        'file = "models/mine.pt"\r\n'
    )
    manifest.write_bytes(text.encode())
    assert main(["hub", "add", str(manifest), str(files / "theirs.pt")]) == 0
    edited = manifest.read_bytes().decode()
    assert edited.startswith(text.split("[[models]]")[0])  # comments and [data] kept
    assert "\n" not in edited.replace("\r\n", "")  # CRLF throughout, the lines added too
    assert tomllib.loads(edited)["version"] == 2 and tomllib.loads(edited)["data"] == {"checks": "checks.csv"}
    assert main(["hub", "remove", str(manifest), "theirs"]) == 0
    assert tomllib.loads(manifest.read_text())["data"] == {"checks": "checks.csv"}
    for change in ('\n[[models]]\nid = "added-elsewhere"\nsource = "torchvision:resnet18"\n', "\n# a comment\n"):
        opened = WorkingZoo.open(manifest)
        opened.add("torchvision:resnet18", "mine-2")
        manifest.write_text(manifest.read_text() + change)  # another tab, another command
        before = manifest.read_text()
        with pytest.raises(WorkingZooError, match="changed since it was opened"):
            opened.save()
        assert manifest.read_text() == before
    with pytest.raises(SystemExit) as usage:  # argparse's own usage error
        main(["hub", "add", str(manifest), "torchvision:resnet18", "--num-classes", "0", "--no-check"])
    assert usage.value.code == 2
