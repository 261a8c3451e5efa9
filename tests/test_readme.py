"""The README's Python API example runs as written, on a small zoo laid out as it assumes."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import make_cnn, write_pngs, write_zoo

README = Path(__file__).resolve().parents[1] / "README.md"


def python_api_example() -> str:
    section = README.read_text().split("## Python API", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    return code


def test_the_readme_python_api_example_runs(tmp_path, monkeypatch, capsys):
    zoo_folder = write_zoo(tmp_path, {"a": make_cnn(0), "b": make_cnn(1), "c": make_cnn(2)}).parent
    write_pngs(zoo_folder / "refs", 32)
    monkeypatch.chdir(zoo_folder)
    exec(compile(python_api_example(), "README.md", "exec"), {})
    assert Path("distances.csv").read_text().startswith("model,a,b,c")
    printed = capsys.readouterr().out
    assert "ModelGiF" in printed and "ModelDiff" in printed and "SAC-m" in printed
