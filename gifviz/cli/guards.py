"""Refuse a bad ``--out`` before any model is loaded or any field computed.

A run reads a manifest, model files and reference images; none of them may be replaced by its result, and an output
that cannot be written must be found now, not after an hour of computing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from gifviz.errors import GifvizError
from gifviz.outputs import check_output_file, check_output_folder

if TYPE_CHECKING:
    from gifviz.hub.zoo import Zoo


def _model_files(zoo: Zoo) -> dict[Path, str]:
    """The files the zoo's models are read from: ``file`` entries, built-in models' files, hub ``hubconf.py``."""
    from gifviz.hub.builtin import builtin_manifest_path, resolve_builtin

    files = {}
    for spec in zoo.specs:
        if spec.kind == "file" and spec.path is not None:
            files[spec.path] = f"the file of model {spec.id!r}"
        elif spec.kind == "hub":
            files[Path(spec.source.split(":", 2)[1]) / "hubconf.py"] = f"the hubconf.py of model {spec.id!r}"
        elif spec.kind == "builtin":
            try:  # a missing built-in zoo is reported when the model loads, with the fix; here it has no file
                inner, _ = resolve_builtin(spec)
                manifest = builtin_manifest_path(spec.source.split(":", 1)[1].partition("/")[0])
            except GifvizError:
                continue
            files[manifest] = "a built-in zoo's manifest"
            if inner.path is not None:
                files[inner.path] = f"the file of model {spec.id!r}"
        elif spec.kind in ("hf", "timm"):
            files.update(_cached_hub_files(spec))
    return files


def _cached_hub_files(spec) -> dict[Path, str]:
    """The files of an ``hf:`` or pretrained ``timm:`` model already in the Hugging Face cache (what is not cached
    cannot be overwritten; a name timm does not know is reported when the model loads)."""
    from gifviz.hub.hf import cached_file, parse_hf

    if spec.kind == "hf":
        repo_id, revision = parse_hf(spec.source)
        wanted = [(repo_id, revision, name) for name in ("config.json", "model.safetensors")]
    elif spec.extra.get("pretrained") is False:
        return {}
    else:
        from timm.models import get_pretrained_cfg

        from gifviz.hub.timm_models import parse_timm, weights_location

        arch, tag = parse_timm(spec.source)
        config = get_pretrained_cfg(f"{arch}.{tag}" if tag else arch)
        try:
            wanted = [weights_location(config.to_dict(), arch, spec.id)] if config is not None else []
        except GifvizError:
            wanted = []
    files = {}
    for repo_id, revision, name in wanted:
        path = cached_file(repo_id, name, revision)
        if path is not None:
            files[path] = f"the {name} of model {spec.id!r} in the Hugging Face cache"
    return files


def run_inputs(zoo: Zoo, references: str | Path | None) -> dict[Path, str]:
    """Every file a run on ``zoo`` reads, with what it is: the manifest, the model files, the reference images."""
    from gifviz.refs import image_files

    inputs = {zoo.manifest.path: "the zoo manifest"} if zoo.manifest.path is not None else {}
    inputs.update(_model_files(zoo))
    if references is not None and Path(references).is_dir():
        inputs.update({image: "a reference image" for image in image_files(Path(references))})
    return inputs


def check_output_files(outputs: Iterable[str | Path], inputs: Mapping[Path, str], option: str = "--out") -> None:
    """Each of ``outputs`` is writable and none of ``inputs``; one :class:`~gifviz.outputs.OutputError` line if not."""
    for output in outputs:
        check_output_file(output, inputs, option)


def check_output_dir(
    folder: str | Path, names: Iterable[str], inputs: Mapping[Path, str], option: str = "--out"
) -> None:
    """``folder`` can hold the files ``names``, and none of them would replace one of ``inputs``."""
    check_output_folder(folder, option)
    check_output_files((Path(folder) / name for name in names), inputs, option)
