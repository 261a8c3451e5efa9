"""The command line starts fast: building the parser and every ``--help`` import no heavy library, and the help
shows each option's default once."""

from __future__ import annotations

import argparse
import inspect
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gifviz.cli import build_parser
from gifviz.cli.parsing import DefaultsHelpFormatter

# Libraries that cost from 0.1 s (numpy) to several seconds (torch) to import; none is needed to print help.
HEAVY = (
    "torch",
    "torchvision",
    "captum",
    "streamlit",
    "umap",
    "ray",
    "pandas",
    "sklearn",
    "scipy",
    "numpy",
    "PIL",
    "plotly",
    "safetensors",
    "skimage",
    "tqdm",
)


def command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command line that reaches a parser: (), ("distances",), ("hub",), ("hub", "ls"), ..."""
    paths = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths += command_paths(sub, (*prefix, name))
    return paths


def parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += parsers(sub)
    return found


ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)


def heavy_modules_after(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; return what it printed last (JSON) and the heavy modules it imported."""
    probe = code + textwrap.dedent(f"""
        import json, sys
        heavy = sorted({{name.split(".")[0] for name in sys.modules}} & set({HEAVY!r}))
        print(json.dumps(heavy))
    """)
    result = run_python(probe)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_import_gifviz_and_building_the_parser_import_no_heavy_library():
    assert heavy_modules_after("import gifviz\nimport gifviz.cli\ngifviz.cli.build_parser()\n") == []


def test_every_help_and_version_import_no_heavy_library():
    code = (
        "import argparse\n"
        + inspect.getsource(command_paths)
        + textwrap.dedent("""
        import contextlib, io
        from gifviz.cli import build_parser, main
        for path in [*command_paths(build_parser()), ("--version",)]:
            argv = [*path, "--help"] if path != ("--version",) else ["--version"]
            with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.suppress(SystemExit):
                main(argv)
            assert out.getvalue().strip(), argv
    """)
    )
    assert heavy_modules_after(code) == []


def test_every_command_is_reached_by_the_help_check():
    paths = command_paths(build_parser())
    for expected in [("hub", "ls"), ("cache", "ls"), ("bench",), ("zoo", "verify"), ("distances",)]:
        assert expected in paths


def test_the_version_comes_without_importing_the_api():
    result = subprocess.run([sys.executable, "-m", "gifviz", "--version"], capture_output=True, text=True, timeout=60)
    from gifviz import __version__

    assert result.returncode == 0 and result.stdout.strip() == f"gifviz {__version__}"


def test_the_public_api_is_still_importable_from_the_package():
    import gifviz
    import gifviz.distance
    import gifviz.field
    from gifviz import FieldConfig, compute_field, distance_matrix

    assert compute_field is gifviz.field.compute_field and distance_matrix is gifviz.distance.distance_matrix
    assert FieldConfig().steps >= 1
    assert set(gifviz.__all__) <= set(dir(gifviz))
    assert all(getattr(gifviz, name) is not None for name in gifviz.__all__)


def test_an_unknown_attribute_of_the_package_is_an_attribute_error():
    import gifviz

    with pytest.raises(AttributeError, match="no_such_thing"):
        gifviz.no_such_thing  # noqa: B018


def test_cli_choices_match_the_library():
    """The torch-free copies the parser uses (gifviz.cli.choices) equal their library definitions."""
    from gifviz.bench.costs import QUICK_METHODS
    from gifviz.bench.suite import METHODS, TESTBEDS
    from gifviz.builtin_zoo.recipes import FAMILIES, SCALES
    from gifviz.builtin_zoo.stress_plan import STRESS_SCALES
    from gifviz.cli import choices
    from gifviz.distance import METRICS, SKETCH_DIM
    from gifviz.hub.builtin import builtin_root
    from gifviz.hub.catalogue import ORIGINS
    from gifviz.hub.loading import SOURCE_LOADERS
    from gifviz.hub.manifest import SOURCE_SCHEMES
    from gifviz.jobs.runner import EXECUTORS

    assert choices.METRICS == METRICS and choices.SKETCH_DIM == SKETCH_DIM and choices.EXECUTORS == EXECUTORS
    assert choices.METHODS == METHODS and choices.TESTBEDS == TESTBEDS and choices.QUICK_METHODS == QUICK_METHODS
    assert choices.SOURCE_SCHEMES == SOURCE_SCHEMES
    assert tuple(STRESS_SCALES) == choices.STRESS_SCALES
    # every scheme the manifest accepts has a loader (builtin: resolved to a file entry first), and no loader is missing
    assert set(SOURCE_SCHEMES) == {*SOURCE_LOADERS, "builtin"}
    assert choices.CATALOGUE_SOURCES == ORIGINS
    families, scales = choices.ZOO_FAMILIES, choices.ZOO_SCALES
    assert families == tuple(FAMILIES) and scales == tuple(SCALES)
    assert choices.builtin_root() == builtin_root()


def test_every_parser_shows_defaults():
    for parser in parsers(build_parser()):
        assert parser.formatter_class is DefaultsHelpFormatter, parser.prog


def option_helps(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Each option's help as printed (defaults filled in)."""
    formatter = parser._get_formatter()
    return {
        "/".join(action.option_strings) or action.dest: formatter._expand_help(action)
        for action in parser._actions
        if action.help and action.help is not argparse.SUPPRESS
    }


def test_every_option_with_a_value_says_its_default_exactly_once():
    for parser in parsers(build_parser()):
        for action in parser._actions:
            flag = action.nargs == 0  # --quiet, --json, --help: off unless given
            if flag or action.required or not action.option_strings:
                continue
            text = option_helps(parser)["/".join(action.option_strings)]
            assert text.lower().count("default") == 1, f"{parser.prog} {action.option_strings}: {text!r}"


def test_defaults_are_the_real_ones():
    helps = option_helps(next(p for p in parsers(build_parser()) if p.prog.endswith(" distances")))
    assert helps["--steps"].endswith("(default: 4)") and helps["--metric"].endswith("(default: cosine)")
    bench = option_helps(next(p for p in parsers(build_parser()) if p.prog.endswith(" bench")))
    assert bench["--steps"].endswith("(default: 10)")  # the bench's own set_defaults, not FieldConfig's
    assert bench["--sweep"].endswith("(default: 8,16,32,64,128,256)")


def test_bench_help_prints_a_plain_percent_sign():
    result = subprocess.run(
        [sys.executable, "-m", "gifviz", "bench", "--help"], capture_output=True, text=True, timeout=60
    )
    text = " ".join(result.stdout.split())  # argparse wraps lines
    assert result.returncode == 0 and "[95% bootstrap interval" in text and "%%" not in result.stdout
