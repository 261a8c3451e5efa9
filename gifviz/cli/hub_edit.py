"""``gifviz hub new | add | remove``: build a zoo manifest from the command line, as the app's "Add models" page does,
so a user's own models (files, torchvision, timm, the Hugging Face cache) reach ``gifviz audit`` and every other
command without a hand-written manifest.

Each command edits the manifest through :class:`gifviz.hub.working_zoo.WorkingZoo`: every edit is checked before the
file changes, the file is written atomically, and a hand-written manifest keeps its comments.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gifviz.cli.choices import SOURCE_SCHEMES
from gifviz.cli.parsing import parse_tags, whole_number
from gifviz.errors import ConfigError

# The handlers import the hub (torch, torchvision) when they run: the parser, and so every --help, stays light.


def register(actions: argparse._SubParsersAction) -> None:
    new = actions.add_parser(
        "new",
        help="create an empty zoo manifest to add models to",
        description="Create an empty zoo manifest named after its file, for 'gifviz hub add'. An existing file is "
        "never replaced.",
    )
    new.add_argument("zoo", metavar="ZOO.toml", help="the manifest to create")
    new.add_argument(
        "--space",
        required=True,
        metavar="CxHxW",
        help="the input space every model is compared on, e.g. 3x224x224 (ImageNet models) or 1x16x16",
    )
    new.add_argument(
        "--references",
        metavar="DIR",
        help="folder of reference images the fields are computed on (default: none, and each command then needs "
        "--refs DIR)",
    )
    new.add_argument("--description", default="", help="free text about the zoo (default: none)")
    new.set_defaults(handler=run_new)

    add = actions.add_parser(
        "add",
        help="add models to a zoo manifest: catalogue sources or model files",
        description="Add models to a zoo manifest. Each model is loaded first (unless --no-check); if one fails, "
        "nothing is written and the error names it.",
    )
    add.add_argument("zoo", metavar="ZOO.toml", help="the manifest to add to (made by 'gifviz hub new')")
    add.add_argument(
        "sources",
        metavar="SOURCE",
        nargs="+",
        help="a source as 'gifviz hub search' prints it (torchvision:resnet18@IMAGENET1K_V1, timm:NAME, hf:ORG/REPO, "
        "file:PATH, ...) or a model file's path",
    )
    add.add_argument("--id", dest="model_id", help="the model's id, with one SOURCE (default: made from the source)")
    add.add_argument(
        "--task",
        help="the task the models were trained for; an audit's usual independents share the source's (default: none)",
    )
    add.add_argument(
        "--relation",
        help="how the models relate to --parent (finetune, prune, ...), or 'independent' for models trained "
        "independently, an audit's usual independents (default: none)",
    )
    add.add_argument("--parent", metavar="ID", help="the model of the zoo they derive from (default: none)")
    add.add_argument(
        "--arch",
        help="architecture of a weights-only file, 'gifviz hub archs' lists them (default: none; a TorchScript or "
        "exported file carries its own)",
    )
    add.add_argument(
        "--num-classes",
        type=whole_number(1),
        metavar="K",
        help="output classes, when the model does not say (default: what the model says)",
    )
    add.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a tag for the models; repeat for several (default: none)",
    )
    add.add_argument("--random-init", action="store_true", help="a timm model with random weights (no download)")
    add.add_argument(
        "--no-check", action="store_true", help="write the entries without loading the models (weights not yet here)"
    )
    add.set_defaults(handler=run_add)

    remove = actions.add_parser(
        "remove",
        help="remove models from a zoo manifest",
        description="Remove models from a zoo manifest; models that named one as their parent lose that link.",
    )
    remove.add_argument("zoo", metavar="ZOO.toml", help="the manifest to edit")
    remove.add_argument("model_ids", metavar="ID", nargs="+", help="ids of the models to remove")
    remove.set_defaults(handler=run_remove)


def source_of(text: str, root: Path, must_exist: bool = True) -> str:
    """A manifest source for what the user typed: a source of another scheme as it is; a file's path, bare or as
    ``file:PATH``, read from the current folder (as every shell path is) and written relative to the manifest's folder
    ``root`` when it lies under it (the folder can then move or be shared whole), else absolute. A file that does not
    exist is one line, unless ``must_exist`` is off (``--no-check``: weights not here yet)."""
    scheme, sep, rest = text.partition(":")
    if sep and scheme in SOURCE_SCHEMES and scheme != "file":
        return text
    path = Path(rest if sep and scheme == "file" else text).expanduser()
    if sep and scheme != "file" and "/" not in scheme and not path.exists():  # a mistyped scheme is no file name
        raise ConfigError(
            f"unknown source scheme {scheme + ':'!r} in {text!r}; choose one of: {', '.join(SOURCE_SCHEMES)}"
        )
    if must_exist and not path.is_file():
        raise ConfigError(
            f"{text!r} is neither a source ({', '.join(f'{s}:' for s in SOURCE_SCHEMES)}) nor a model file; find "
            "sources with 'gifviz hub search'"
        )
    resolved, root = path.resolve(), root.resolve()
    return f"file:{resolved.relative_to(root).as_posix() if resolved.is_relative_to(root) else resolved}"


def _entry_options(args: argparse.Namespace) -> dict:
    """The manifest keys every added model gets from the command's options."""
    options: dict = {}
    for key, value in (
        ("task", args.task),
        ("relation", args.relation),
        ("parent", args.parent),
        ("arch", args.arch),
        ("num_classes", args.num_classes),
    ):
        if value is not None:
            options[key] = value
    tags = parse_tags(args.tag)
    if tags:
        options["tags"] = tags
    if args.random_init:
        options["pretrained"] = False
    return options


def run_new(args: argparse.Namespace) -> int:
    from gifviz.hub.working_zoo import WorkingZoo

    if args.references is not None and not Path(args.references).expanduser().is_dir():
        raise ConfigError(f"--references {args.references} is not a folder; name the folder of reference images")
    zoo = WorkingZoo.create_at(args.zoo, args.space, references=args.references, description=args.description)
    print(
        f"created {zoo.path} (zoo {zoo.name!r}, input {args.space}); add models with: gifviz hub add {args.zoo} "
        "SOURCE ..."
    )
    return 0


def run_add(args: argparse.Namespace) -> int:
    from gifviz.hub.working_zoo import WorkingZoo
    from gifviz.hub.zoo import Zoo

    if args.model_id is not None and len(args.sources) > 1:
        raise ConfigError(f"--id names one model, and {len(args.sources)} sources were given; add them one at a time")
    zoo = WorkingZoo.open(args.zoo)
    options = _entry_options(args)
    root = zoo.path.parent
    added = [zoo.add(source_of(text, root, not args.no_check), args.model_id, **options) for text in args.sources]
    if not args.no_check:
        check = Zoo(zoo.manifest())
        for model_id in added:
            check.load(model_id)  # a model that does not load is one line here, and nothing is written
    zoo.save()
    for model_id in added:
        print(f"added {model_id}: {zoo.models[zoo.ids.index(model_id)]['source']}")
    checked = "" if args.no_check else ", each loaded"
    print(f"{zoo.path}: {len(zoo.ids)} model(s){checked}; 'gifviz hub ls {args.zoo}' lists them")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    from gifviz.hub.working_zoo import WorkingZoo

    zoo = WorkingZoo.open(args.zoo)
    children = {entry["id"] for entry in zoo.models if entry.get("parent") in args.model_ids}
    for model_id in args.model_ids:
        zoo.remove(model_id)
    zoo.save()
    print(f"removed {', '.join(args.model_ids)}")
    unlinked = sorted(children - set(args.model_ids))
    if unlinked:
        print(f"no longer naming a removed parent: {', '.join(unlinked)}")
    print(f"{zoo.path}: {len(zoo.ids)} model(s)")
    return 0
