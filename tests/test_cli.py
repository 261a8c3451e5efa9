"""The command line on tiny zoos the tests build: results, files, help, and one clear line per bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import make_cnn, save_torchscript, write_pngs, write_zoo
from reference_impl import distances as reference_distances

from gifviz import DistanceMatrix
from gifviz.cli import main
from gifviz.field.files import load_field_npz


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gifviz", *map(str, args)], capture_output=True, text=True, timeout=300
    )


def test_distances_reproduce_an_independent_implementation(tmp_path):
    models = {f"m{i}": make_cnn(i, width=3 + i % 2) for i in range(4)}
    manifest = write_zoo(tmp_path / "zoo", models)
    refs = write_pngs(tmp_path / "refs", 7)
    out = tmp_path / "d.csv"
    code = main(
        [
            "distances",
            str(manifest),
            "--refs",
            str(refs),
            "--n-refs",
            "5",
            "--steps",
            "8",
            "--baseline",
            "zeros",
            "--target",
            "predicted",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    matrix = DistanceMatrix.from_csv(out)
    names, expected = reference_distances(
        {k: tmp_path / "zoo" / "models" / f"{k}.pt" for k in models}, refs, n=5, steps=8
    )
    assert list(matrix.labels) == names
    np.testing.assert_allclose(matrix.values, expected, atol=2e-3)
    assert np.array_equal(matrix.values, matrix.values.T) and np.all(np.diag(matrix.values) == 0)
    info = json.loads(Path(str(out) + ".json").read_text())
    assert info["reference_names"] == [f"img_{i:03d}.png" for i in range(5)]
    assert set(info["model_digests"]) == set(models) and info["field_config"]["steps"] == 8


def test_console_script_end_to_end(tiny_zoo, tmp_path):
    manifest, refs = tiny_zoo
    result = run_cli("distances", manifest, "--refs", refs, "--steps", "4", "--out", tmp_path / "d.csv")
    assert result.returncode == 0, result.stderr
    assert "pt/s" in result.stderr  # progress bar with a rate (and ETA)
    matrix = DistanceMatrix.from_csv(tmp_path / "d.csv")
    assert matrix.distance("source", "scaled") == pytest.approx(0.0, abs=1e-5)
    assert matrix.distance("source", "other") > 0.05


def test_field_command_writes_a_readable_npz(tiny_zoo, tmp_path):
    manifest, refs = tiny_zoo
    out = tmp_path / "f.npz"
    assert (
        main(["field", str(manifest), "other", "--refs", str(refs), "--steps", "3", "--out", str(out), "--quiet"]) == 0
    )
    field, info = load_field_npz(out)
    assert field.shape == (6, 3, 256) and field.model_id == "other" and len(info["model_digest"]) == 64


def test_help_documents_every_option():
    result = run_cli("distances", "--help")
    for option in ("--refs", "--n-refs", "--steps", "--baseline", "--target", "--out", "--rule", "--pool", "--metric"):
        assert option in result.stdout


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gifviz: error: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def distances_cli(manifest: Path, refs: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_cli("distances", manifest, "--refs", refs, "--steps", "2", "--out", tmp_path / "d.csv", *extra)


def test_missing_model_file(tiny_zoo, tmp_path):
    manifest, refs = tiny_zoo
    (manifest.parent / "models" / "other.pt").unlink()
    assert_one_line_error(distances_cli(manifest, refs, tmp_path), "'other'", "does not exist", "other.pt")


def test_corrupt_model_file(tiny_zoo, tmp_path):
    manifest, refs = tiny_zoo
    path = manifest.parent / "models" / "other.pt"
    path.write_bytes(path.read_bytes()[:300])
    assert_one_line_error(distances_cli(manifest, refs, tmp_path), "'other'", "other.pt")


def test_output_not_batch_by_classes(tmp_path):
    import torch

    class Dense(torch.nn.Module):
        def forward(self, x):
            return x * 2

    manifest = write_zoo(tmp_path / "zoo", {"dense": Dense()})
    refs = write_pngs(tmp_path / "refs", 3)
    assert_one_line_error(distances_cli(manifest, refs, tmp_path), "(batch, classes)", "'dense'")


def test_undecodable_image(tiny_zoo, tmp_path):
    manifest, refs = tiny_zoo
    (refs / "img_002.png").write_bytes(b"this is not a png")
    assert_one_line_error(distances_cli(manifest, refs, tmp_path), "img_002.png", "cannot be decoded")


def test_more_references_than_images(tiny_zoo, tmp_path):
    manifest, refs = tiny_zoo
    assert_one_line_error(distances_cli(manifest, refs, tmp_path, "--n-refs", "50"), "50", "only 6")


def test_duplicate_model_id(tiny_zoo, tmp_path):
    manifest, refs = tiny_zoo
    text = manifest.read_text()
    manifest.write_text(text + '[[models]]\nid = "other"\nfile = "models/other.pt"\n')
    assert_one_line_error(distances_cli(manifest, refs, tmp_path), "duplicate model id 'other'")


def test_unknown_manifest_key(tiny_zoo, tmp_path):
    manifest, refs = tiny_zoo
    manifest.write_text(manifest.read_text().replace('task = "digit"', 'tsak = "digit"', 1))
    assert_one_line_error(distances_cli(manifest, refs, tmp_path), "unknown key(s) tsak")


def test_wrong_input_channels(tmp_path):
    manifest = write_zoo(tmp_path / "zoo", {"rgb": make_cnn(0, channels=3)}, channels=1)
    refs = write_pngs(tmp_path / "refs", 3)
    assert_one_line_error(distances_cli(manifest, refs, tmp_path), "'rgb'", "1 channel(s)")


def test_nothing_is_written_on_error(tiny_zoo, tmp_path):
    manifest, refs = tiny_zoo
    save_torchscript(make_cnn(0, channels=3), manifest.parent / "models" / "other.pt")
    distances_cli(manifest, refs, tmp_path)
    assert not (tmp_path / "d.csv").exists()


def test_distances_with_sketch_approximate_the_exact_matrix(tiny_zoo, tmp_path):
    manifest, refs = tiny_zoo
    exact_csv, sketch_csv = tmp_path / "exact.csv", tmp_path / "sketch.csv"
    common = ["--refs", str(refs), "--steps", "4", "--quiet"]
    assert main(["distances", str(manifest), "--out", str(exact_csv), *common]) == 0
    assert main(["distances", str(manifest), "--out", str(sketch_csv), *common, "--sketch", "16384"]) == 0
    exact, sketched = DistanceMatrix.from_csv(exact_csv), DistanceMatrix.from_csv(sketch_csv)
    assert exact.labels == sketched.labels
    np.testing.assert_allclose(sketched.values, exact.values, atol=0.05)
    assert json.loads(sketch_csv.with_name("sketch.csv.json").read_text())["sketch"]["dim"] == 16384


def test_a_stopped_run_is_reported_as_a_stop_not_an_error(monkeypatch, capsys):
    from gifviz.cli import compute, main
    from gifviz.errors import Cancelled, GifvizError

    assert not issubclass(Cancelled, GifvizError)  # --skip-bad and error reports must never swallow a stop

    def stopped(args):
        raise Cancelled("field computation stopped after 3 of 8 path points")

    monkeypatch.setattr(compute, "run_field", stopped)
    assert main(["field", "zoo.toml", "m", "--out", "f.npz"]) == 130
    assert capsys.readouterr().err.strip() == "gifviz: stopped by the user; finished results are kept"
