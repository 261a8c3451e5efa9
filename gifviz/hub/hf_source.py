"""Loading an ``hf:`` source: a timm-format repo through :mod:`gifviz.hub.timm_models`, or a plain repo's
``model.safetensors`` poured into the manifest entry's ``arch``; files come through :mod:`gifviz.hub.hf`."""

from __future__ import annotations

from gifviz.errors import ModelLoadError
from gifviz.hub.hf import CONFIG_FILE, WEIGHTS_FILE, cached_file, parse_hf, read_config, resolve_file
from gifviz.hub.spec import ModelSpec, SourceModel


def load_hf(spec: ModelSpec) -> SourceModel:
    """Load an ``hf:`` source: a timm-format repo, or ``model.safetensors`` poured into the entry's ``arch``."""
    from gifviz.hub.architectures import build_architecture
    from gifviz.hub.files import fit_state_dict, read_safetensors

    repo_id, revision = parse_hf(spec.source)
    at = f"@{revision}" if revision else ""
    if spec.arch:
        # A plain repo: the manifest names the network, the repo gives only the weights.
        weights = resolve_file(repo_id, WEIGHTS_FILE, revision, spec.id)
        module = build_architecture(spec.arch, spec.num_classes, spec.id)
        fit_state_dict(module, read_safetensors(weights, spec.id), weights, spec.id, spec.arch)
        description = f"{spec.arch} with weights from hf:{repo_id}{at}"
        return SourceModel(module, spec.preprocess, spec.classes, spec.arch, description)
    config_path = cached_file(repo_id, CONFIG_FILE, revision)
    if config_path is None and cached_file(repo_id, WEIGHTS_FILE, revision) is not None:
        raise ModelLoadError(
            f"model {spec.id!r}: hf:{repo_id}{at} has {WEIGHTS_FILE} but no {CONFIG_FILE} saying its architecture; "
            'add arch = "<name>" (see `gifviz hub archs`) and num_classes to its manifest entry'
        )
    config_path = config_path or resolve_file(repo_id, CONFIG_FILE, revision, spec.id)
    config = read_config(config_path, repo_id, spec.id)
    from gifviz.hub import timm_models  # on first use: it imports timm (seconds), and plain repos do without it

    return timm_models.load_timm_repo(spec, repo_id, revision, config)
