"""Shared test helpers: small models, and tiny zoos of TorchScript classifiers with PNG references, built here."""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn


class SmallCNN(nn.Module):
    """(B, C, H, W) -> (B, classes); in-place ReLU on purpose (the engine must cope)."""

    def __init__(self, channels: int = 1, classes: int = 10, width: int = 4, size: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=1, stride=2),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Linear(width * (size // 2) ** 2, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


class Scaled(nn.Module):
    """Another model's logits times a constant."""

    def __init__(self, inner: nn.Module, factor: float) -> None:
        super().__init__()
        self.inner = inner
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x) * self.factor


def make_cnn(seed: int, **kwargs) -> SmallCNN:
    torch.manual_seed(seed)
    return SmallCNN(**kwargs).eval()


def save_torchscript(model: nn.Module, path: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.script(model), str(path))
    return path


def batch_normed_cnn(seed: int) -> nn.Module:
    """A stem convolution followed by a batch norm with running statistics of its own (what freezing folds)."""
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(1, 6, 3, padding=1),
        nn.BatchNorm2d(6),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(6, 10),
    )
    with torch.no_grad():
        model[1].running_mean.normal_()
        model[1].running_var.uniform_(0.5, 2.0)
        model[1].weight.uniform_(0.5, 2.0)
    return model.eval()


def save_frozen(model: nn.Module, path: Path, traced: bool) -> None:
    """``model`` as a frozen TorchScript file: no parameters, its weights constants of the graph."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        compiled = torch.jit.trace(model, torch.zeros(1, 1, 16, 16)) if traced else torch.jit.script(model)
        torch.jit.save(torch.jit.freeze(compiled.eval()), str(path))


def write_pngs(folder: Path, count: int, size: int = 16, channels: int = 1, seed: int = 0) -> Path:
    """Random-but-smooth grayscale/RGB PNGs named img_000.png ..."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        coarse = rng.integers(0, 256, size=(4, 4, channels), dtype=np.uint8)
        image = Image.fromarray(coarse.squeeze(-1) if channels == 1 else coarse).resize((size, size))
        image.save(folder / f"img_{i:03d}.png")
    return folder


def perturbed(model: nn.Module, scale: float, seed: int | None = None) -> nn.Module:
    """``model`` itself, every parameter moved by ``scale`` times its own spread (a fine-tuned-like copy); ``seed``
    seeds the noise, else it continues the global random stream."""
    if seed is not None:
        torch.manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(scale * parameter.std().nan_to_num() * torch.randn_like(parameter))
    return model


def write_zoo(
    root: Path,
    models: dict[str, nn.Module],
    channels: int = 1,
    size: int = 16,
    extra: str = "",
    *,
    name: str = "test-zoo",
    references: str | None = None,
    fields: dict[str, dict[str, str]] | None = None,
    more: tuple[str, ...] = (),
) -> Path:
    """A manifest with one TorchScript file per model; returns the manifest path.

    ``references``: the manifest's references folder; ``fields``: more string keys of a model's entry (relation,
    parent, ...); ``more``: manifest lines appended at the end (an entry that is not a file)."""
    (root / "models").mkdir(parents=True, exist_ok=True)
    header = [f'name = "{name}"', *([f'references = "{references}"'] if references else [])]
    lines = [*header, "[input]", f"channels = {channels}", f"size = [{size}, {size}]", extra]
    for model_id, model in models.items():
        save_torchscript(model, root / "models" / f"{model_id}.pt")
        lines += ["[[models]]", f'id = "{model_id}"', f'file = "models/{model_id}.pt"', 'task = "digit"']
        lines += [f'{key} = "{value}"' for key, value in (fields or {}).get(model_id, {}).items()]
    lines += more
    manifest = root / "zoo.toml"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


# The models of write_one_kin_zoo, in its manifest's order (a page test names them in its address)
ONE_KIN_ZOO_MODELS = ("src", "child", "narrow", "wide0", "wide1")


def write_one_kin_zoo(root: Path) -> Path:
    """A zoo whose source has one independent of its architecture (``narrow``) and two of a wider one, beside its
    fine-tuned ``child``, with 8 reference PNGs: its audit reads ``child`` on a thin same-architecture null
    (:mod:`gifviz.audit.kin`). Returns the manifest path."""
    models = {
        "src": make_cnn(0),
        "child": perturbed(make_cnn(0), 0.02, 1),
        "narrow": make_cnn(10),
        **{f"wide{k}": make_cnn(20 + k, width=6) for k in range(2)},
    }
    fields = {"src": {"relation": "source"}, "child": {"relation": "finetune", "parent": "src"}}
    fields |= {m: {"relation": "independent"} for m in ("narrow", "wide0", "wide1")}
    manifest = write_zoo(root, models, references="refs", fields=fields)
    write_pngs(manifest.parent / "refs", 8)
    assert tuple(models) == ONE_KIN_ZOO_MODELS
    return manifest


class RecordingProgress:
    """A progress reporter (:class:`gifviz.pipeline.ZooProgress`) that records each call, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def start(self, model_id: str, position: int, count: int, total_points: int) -> None:
        self.calls.append(("start", model_id, position, count, total_points))

    def advance(self, points_done: int, total_points: int) -> None:
        self.calls.append(("advance", points_done, total_points))

    def finish(self, model_id: str) -> None:
        self.calls.append(("finish", model_id))


@pytest.fixture(scope="module")
def lineage(tmp_path_factory) -> tuple[Path, Path]:
    """(manifest, references) of the audit tests' zoo of known lineage (:mod:`lineage_zoo`), built once per module."""
    from lineage_zoo import lineage_zoo  # it builds on this module's helpers

    return lineage_zoo(tmp_path_factory.mktemp("lineage"))


# The test files that take longest, started first (seconds each under `OMP_NUM_THREADS=1 pytest -n 2 --dist loadfile
# --durations=0` on a 2-core machine: test_zoo 146, test_browser 118, test_store 87, test_browser_add_models 88,
# test_cli 61, test_browser_serving 82, then 38-25; every other file under 25). With `--dist loadfile
# --no-loadscope-reorder` (.ci/run) xdist hands whole files to the workers in collection order. Its default order, most
# tests first, started the three browser walks (one or two tests each, 290 s together) last, one after another on one
# worker while the other sat idle (555-595 s in all). Starting the longest files first lets the short ones fill the
# gaps at the end (longest-processing-time-first scheduling: 493 s, the two workers done within 7 s of each other).
# The list is longest first but for the walks, which alternate with files that compute: a walk waits on its server
# and browser about half the time, and the file beside it on the other worker uses that core.
# A name that no longer exists fails tests/test_layout.py, so this list cannot silently stop working.
LONGEST_FIRST = (
    "test_zoo.py",
    "test_browser.py",
    "test_store.py",
    "test_browser_add_models.py",
    "test_cli.py",
    "test_browser_serving.py",
    "test_stress_zoo.py",
    "test_unlearning_stress.py",
    "test_bench.py",
    "test_hub.py",
    "test_app.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run :data:`LONGEST_FIRST`'s files first, in its order; the rest keep their order, and so does every file's own
    tests (the sort is stable), which its module-scoped fixtures rely on."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--screenshots",
        metavar="DIR",
        default=None,
        help="browser walk: use the app's default settings and save the screenshots to DIR (the README's are "
        "refreshed with --screenshots assets/screenshots); without it the walk is small and saves to a temp folder",
    )


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch) -> Path:
    """Every test (and every command it starts) gets its own field store: never the user's ~/.cache/gifviz, and no
    test sees fields another test left behind."""
    home = tmp_path_factory.mktemp("gifviz-home")
    monkeypatch.setenv("GIFVIZ_HOME", str(home))
    return home


@pytest.fixture
def tiny_zoo(tmp_path: Path) -> tuple[Path, Path]:
    """(manifest, reference folder): three 1x16x16 classifiers, one of them a scaled copy of another."""
    source = make_cnn(0)
    models = {"source": source, "scaled": Scaled(source, 3.0), "other": make_cnn(1)}
    return write_zoo(tmp_path / "zoo", models), write_pngs(tmp_path / "refs", 6)


def read_audit(evidence, roles, methods, settings=None, alpha: float = 0.05):
    """An :class:`~gifviz.audit.run_audit.AuditResult` read from distances a test wrote (no model runs), by
    ``settings`` (default the shipped reading), with an empty configuration for :meth:`reread` to record into."""
    from gifviz.audit.run_audit import AuditResult, assess
    from gifviz.audit.settings import DEFAULT_READING

    settings = settings or DEFAULT_READING
    rows = tuple(assess(evidence, roles, list(methods), alpha, settings))
    return AuditResult(roles, tuple(methods), alpha, evidence, rows, {"config": {}}, settings)


def load_benchmark(name: str):
    """The script ``benchmarks/<name>.py`` as a module (the benchmarks are scripts, not a package), registered in
    ``sys.modules`` so that its dataclasses can find their module."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
