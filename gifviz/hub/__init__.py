"""Model hub: manifests, sources, safe loading and model descriptions."""

from gifviz.hub.loading import load_model
from gifviz.hub.manifest import Manifest, load_manifest, parse_manifest
from gifviz.hub.spec import LoadedModel, ModelSpec
from gifviz.hub.zoo import Zoo

__all__ = ["LoadedModel", "Manifest", "ModelSpec", "Zoo", "load_manifest", "load_model", "parse_manifest"]
