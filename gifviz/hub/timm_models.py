"""``timm:<name>[.<tag>]``: timm's model registry, and the timm-format repos of the ``hf:`` source.

Pretrained weights are found the way timm finds them (the name's pretrained config names a Hugging Face repo,
``hf_hub_id``), then read through :func:`gifviz.hub.hf.resolve_file` (cache first, one line when missing) and as
safetensors only: timm's own download would fall back to unpickling ``pytorch_model.bin``. The weights then go through
timm's ``load_pretrained`` (its per-model checkpoint filter and label offset) by handing it the state dict.
``pretrained = false`` in the manifest entry builds the architecture with random weights, which needs no file.

Preprocess and classes come from the model's own configuration: timm's data config (input size, mean, std) and
``label_names``, else ImageNet's class names when the weights have one of ImageNet's class counts.
"""

from __future__ import annotations

import difflib
import functools
from typing import Any

from torch import nn

from gifviz.errors import ModelLoadError
from gifviz.hub.hf import WEIGHTS_FILE, fetch_command, resolve_file
from gifviz.hub.spec import ModelSpec, SourceModel
from gifviz.space import INTERPOLATIONS, Preprocess

SAFE_SUFFIX = ".safetensors"


@functools.cache
def timm_registry() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(architecture names, pretrained ``name.tag`` names), listed once per process (timm's import costs seconds,
    listing then takes milliseconds)."""
    import timm

    return tuple(timm.list_models()), tuple(timm.list_models(pretrained=True))


def parse_timm(source: str) -> tuple[str, str]:
    """``timm:<name>[.<tag>]`` -> (architecture, tag or ``""``)."""
    arch, _, tag = source.split(":", 1)[1].partition(".")
    return arch, tag


def check_timm_source(source: str) -> str | None:
    """Why ``source`` is not a well-formed ``timm:`` source (checked without importing timm), or None."""
    arch, tag = parse_timm(source)
    body = source.split(":", 1)[1]
    if not arch or any(c.isspace() or c in ":/@" for c in body) or (tag == "" and body.endswith(".")):
        return f"timm sources are 'timm:<name>[.<tag>]' (e.g. timm:resnet18.a1_in1k); got {source!r}"
    return None


def check_timm_name(name: str, model_id: str) -> None:
    """Raise one line, with close names, when ``name`` (``arch`` or ``arch.tag``) is not in timm's registry."""
    archs, pretrained = timm_registry()
    arch, _, tag = name.partition(".")
    if arch in archs and (not tag or name in pretrained):
        return
    if arch in archs:
        tags = [known for known in pretrained if known.partition(".")[0] == arch]
        hint = f"its tags: {', '.join(tags)}" if tags else "it has no pretrained weights: set pretrained = false"
        raise ModelLoadError(f"model {model_id!r}: timm has no weights {name!r}; {hint}")
    close = difflib.get_close_matches(name, (*archs, *pretrained) if tag else archs, n=5, cutoff=0.6)
    hint = f"did you mean {', '.join(close)}?" if close else "search with `gifviz hub search <words> --source timm`"
    raise ModelLoadError(f"model {model_id!r}: timm has no model {name!r}; {hint}")


def create_timm(arch: str, model_id: str, **kwargs: Any) -> nn.Module:
    """``timm.create_model(arch, **kwargs)``; a failure (bad ``model_args``, unknown option) is one line."""
    import timm

    try:
        return timm.create_model(arch, **kwargs)
    except Exception as error:  # timm raises TypeError, RuntimeError, AssertionError, ... for arguments it refuses
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise ModelLoadError(f"model {model_id!r}: timm cannot build {arch!r} with {kwargs} ({reason})") from None


def timm_preprocess(pretrained_cfg: dict[str, Any]) -> tuple[Preprocess, str]:
    """The model's input size, mean and std from timm's data config, as gifviz's differentiable :class:`Preprocess`,
    and a note on its interpolation.

    Like torchvision entries, the whole image is resized to the model's input size (no centre crop: on a shared
    input space every pixel matters), with the interpolation the weights were trained with (often bicubic).
    """
    from timm.data import resolve_data_config

    data = resolve_data_config(pretrained_cfg=pretrained_cfg)
    _, height, width = data["input_size"]
    interpolation = data.get("interpolation") or "bilinear"
    if interpolation not in INTERPOLATIONS:  # timm also knows e.g. "random": resize the usual way, and say so
        note = f"{height}x{width} px, {interpolation} in timm (bilinear here)"
        interpolation = "bilinear"
    else:
        note = f"{height}x{width} px, {interpolation}"
    preprocess = Preprocess(
        size=(height, width), mean=tuple(data["mean"]), std=tuple(data["std"]), interpolation=interpolation
    )
    return preprocess, note


def label_names(pretrained_cfg: dict[str, Any], num_classes: int | None) -> tuple[str, ...] | None:
    """Class names: the config's ``label_names`` (a list, or a dict index -> name), else ImageNet's when the class
    count is one of ImageNet's subsets (timm's own guess), else None."""
    names = pretrained_cfg.get("label_names")
    if isinstance(names, dict):
        try:
            ordered = sorted((int(index), str(name)) for index, name in names.items())
        except ValueError:
            ordered = []
        if [index for index, _ in ordered] == list(range(len(ordered))):
            return tuple(name for _, name in ordered) or None
        return None
    if isinstance(names, list | tuple) and names:
        return tuple(str(name) for name in names)
    from timm.data import ImageNetInfo, infer_imagenet_subset

    subset = infer_imagenet_subset({"num_classes": num_classes})
    if subset is None:
        return None
    info = ImageNetInfo(subset)
    return tuple(info.index_to_description(index) for index in range(info.num_classes()))


def weights_location(pretrained_cfg: dict[str, Any], name: str, model_id: str) -> tuple[str, str | None, str]:
    """(repo id, revision, safetensors file name) of a registry name's pretrained weights, as timm resolves them."""
    hub_id = pretrained_cfg.get("hf_hub_id")
    if not hub_id:
        where = pretrained_cfg.get("url") or "a URL"
        raise ModelLoadError(
            f"model {model_id!r}: timm keeps the weights of {name!r} only as a pickled file at {where}, and gifviz "
            "loads safetensors only; set pretrained = false, or save the weights as an hf: repo with model.safetensors"
        )
    if pretrained_cfg.get("custom_load"):
        raise ModelLoadError(
            f"model {model_id!r}: the weights of {name!r} need timm's custom loader (not safetensors); "
            "set pretrained = false or pick another tag"
        )
    repo_id, _, revision = str(hub_id).partition("@")
    filename = str(pretrained_cfg.get("hf_hub_filename") or WEIGHTS_FILE)
    if not filename.endswith(SAFE_SUFFIX):
        # timm's safe alternative: pytorch_model.bin -> model.safetensors, x.bin / x.pth -> x.safetensors
        stem = filename.rsplit(".", 1)[0]
        filename = WEIGHTS_FILE if stem == "pytorch_model" else stem + SAFE_SUFFIX
    return repo_id, revision or None, filename


def _random_description(name: str) -> str:
    return f"timm {name}, random init (pretrained = false): no trained weights"


def load_timm(spec: ModelSpec) -> SourceModel:
    """Load a ``timm:`` source: pretrained weights from the Hugging Face cache, or random init."""
    from timm.models import get_pretrained_cfg

    from gifviz.hub.files import read_safetensors

    arch, tag = parse_timm(spec.source)
    name = f"{arch}.{tag}" if tag else arch
    check_timm_name(name, spec.id)
    options: dict[str, Any] = {"num_classes": spec.num_classes} if spec.num_classes is not None else {}
    if spec.extra.get("pretrained") is False:
        module = create_timm(name, spec.id, pretrained=False, **options)
        config = dict(module.pretrained_cfg)
        preprocess, note = timm_preprocess(config)
        preprocess = spec.preprocess if not spec.preprocess.is_identity else preprocess
        return SourceModel(module, preprocess, spec.classes, arch, f"{_random_description(name)}; {note}")
    found = get_pretrained_cfg(name)
    if found is None:
        raise ModelLoadError(
            f"model {spec.id!r}: timm has no pretrained weights for {name!r}; set pretrained = false for random init"
        )
    config = found.to_dict()
    repo_id, revision, filename = weights_location(config, name, spec.id)
    path = resolve_file(repo_id, filename, revision, spec.id)
    state = read_safetensors(path, spec.id)
    try:
        # timm's own loading (checkpoint filter, label offset, a new head when num_classes differs), with our state.
        module = create_timm(
            name, spec.id, pretrained=True, pretrained_cfg_overlay={"state_dict": state, "source": ""}, **options
        )
    except ModelLoadError:
        _explain_mismatch(name, state, path, spec, options)
        raise
    preprocess, note = timm_preprocess(config)
    preprocess = spec.preprocess if not spec.preprocess.is_identity else preprocess
    classes = spec.classes or label_names(config, int(getattr(module, "num_classes", 0)) or None)
    return SourceModel(
        module, preprocess, classes, arch, f"timm {found.architecture}.{found.tag} from hf:{repo_id}; {note}"
    )


def _explain_mismatch(name: str, state: dict, path, spec: ModelSpec, options: dict[str, Any]) -> None:
    """When timm refuses the weights, say which keys or shapes differ (one line), from a random-init twin."""
    from gifviz.hub.files import fit_state_dict

    twin = create_timm(name, spec.id, pretrained=False, **options)
    fit_state_dict(twin, state, path, spec.id, name)


def load_timm_repo(spec: ModelSpec, repo_id: str, revision: str | None, config: dict[str, Any]) -> SourceModel:
    """A timm-format Hub repo (``config.json`` + ``model.safetensors``): build ``architecture`` with the config's
    ``num_classes`` and ``model_args``, pour the weights in strictly, preprocess and classes from its config."""
    from gifviz.hub.files import fit_state_dict, read_safetensors

    at = f"@{revision}" if revision else ""
    arch = config.get("architecture")
    if not isinstance(arch, str) or not arch:
        raise ModelLoadError(
            f"model {spec.id!r}: config.json of hf:{repo_id}{at} names no 'architecture', so it is not a timm repo; "
            'add arch = "<name>" (see `gifviz hub archs`) to use its model.safetensors with a gifviz architecture'
        )
    # timm >= 0.9 nests the data config in pretrained_cfg; older repos keep it at the top level.
    pretrained_cfg = config.get("pretrained_cfg") if isinstance(config.get("pretrained_cfg"), dict) else config
    label_source = {**pretrained_cfg, **({"label_names": config["label_names"]} if "label_names" in config else {})}
    num_classes = config.get("num_classes", pretrained_cfg.get("num_classes"))
    model_args = config.get("model_args") or {}
    if not isinstance(model_args, dict):
        raise ModelLoadError(f"model {spec.id!r}: config.json of hf:{repo_id}{at} has model_args that are not a table")
    check_timm_name(arch, spec.id)
    weights = resolve_file(repo_id, WEIGHTS_FILE, revision, spec.id)
    options = {**model_args, **({"num_classes": int(num_classes)} if num_classes is not None else {})}
    module = create_timm(arch, spec.id, pretrained=False, **options)
    fit_state_dict(module, read_safetensors(weights, spec.id), weights, spec.id, arch)
    try:
        preprocess, note = timm_preprocess(dict(pretrained_cfg))
    except (KeyError, TypeError, ValueError) as error:
        raise ModelLoadError(
            f"model {spec.id!r}: config.json of hf:{repo_id}{at} has an unusable data config ({error}); fix its "
            f"pretrained_cfg (input_size, mean, std) or fetch the repo again (`{fetch_command(repo_id, revision)}`)"
        ) from None
    preprocess = spec.preprocess if not spec.preprocess.is_identity else preprocess
    classes = spec.classes or label_names(label_source, num_classes)
    return SourceModel(module, preprocess, classes, arch, f"timm {arch} from hf:{repo_id}{at}; {note}")
