"""Edit a manifest's text in place: comments, key order and layout of what an edit did not touch stay as written.

A manifest is often typed by hand and commented (why a model is in the zoo, where its weights came from). Writing the
edited data out whole (``tomli_w``) would drop every comment; ``tomlkit`` keeps a parsed document's trivia, so each
value is changed where it stands and only what changed is rewritten.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, MutableMapping, MutableSequence
from typing import Any

from gifviz.errors import ManifestError


def _plain(value: Any) -> Any:
    """A tomlkit item as plain Python data (plain data is returned as it is)."""
    return value.unwrap() if hasattr(value, "unwrap") else value


def _normalised(value: Any) -> Any:
    """Plain data as TOML reads it back: tuples become lists (a working zoo's options may hold tuples)."""
    if isinstance(value, Mapping):
        return {key: _normalised(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_normalised(item) for item in value]
    return value


def _sync_table(table: MutableMapping[str, Any], wanted: Mapping[str, Any], keep: tuple[str, ...] = ()) -> None:
    """Make ``table`` hold ``wanted``: keys it no longer has are removed (but those in ``keep``), changed values set,
    unchanged ones kept with their comments; a sub-table present on both sides is synced key by key rather than
    replaced."""
    for key in [k for k in table if k not in wanted and k not in keep]:
        del table[key]
    for key, value in wanted.items():
        if key not in table:
            table[key] = value
        elif _plain(table[key]) != value:
            if isinstance(value, Mapping) and isinstance(table[key], MutableMapping):
                _sync_table(table[key], value)
            else:
                table[key] = value


def _new_entry(entries: MutableSequence[Any], entry: Mapping[str, Any]) -> Any:
    """``entry`` as an element of ``entries``: a ``[[models]]`` table set off by a blank line, or as it is for an
    inline array (its author's layout)."""
    import tomlkit
    from tomlkit.items import AoT

    if not isinstance(entries, AoT):
        return entry
    table = tomlkit.item(dict(entry))
    table.trivia.indent = "\n"
    return table


def _sync_entries(entries: MutableSequence[Any], wanted: list[dict[str, Any]], origins: list[str | None]) -> bool:
    """Make the array of ``[[models]]`` tables hold ``wanted``. ``origins[i]`` is the id ``wanted[i]`` has in the
    text (None: a new model), so a renamed model keeps its table and comments. Works when the models kept are in the
    text's order and come before the new ones (removals, edits in place and additions at the end: the edits a working
    zoo makes); False otherwise."""
    written = [_plain(table.get("id")) for table in entries]
    kept = [origin for origin in origins if origin is not None]
    if origins[: len(kept)] != kept or [w for w in written if w in kept] != kept:
        return False
    for i in reversed(range(len(entries))):
        if written[i] not in kept:
            del entries[i]
    for table, entry in zip(entries, wanted, strict=False):
        _sync_table(table, entry)
    for entry in wanted[len(kept) :]:
        entries.append(_new_entry(entries, entry))
    return True


def edited_toml(text: str, data: Mapping[str, Any], origins: list[str | None] | None = None) -> str:
    """``text`` (a manifest) edited to parse as ``data``, keeping everything an edit did not change as written.

    ``origins``: for each of ``data``'s models, its id in ``text`` (None for a model the edit added); default: its id
    in ``data`` where ``text`` has it (no model renamed).

    Raises :class:`ManifestError` when the text cannot be edited so (it does not parse, or its models were reordered
    in a way no edit of a working zoo makes); a manifest is never written with anything lost silently.
    """
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        document = tomlkit.parse(text)
    except TOMLKitError as error:
        raise ManifestError(f"the manifest does not parse as TOML ({error}); fix it by hand first") from None
    data = _normalised(data)
    models = list(data.get("models", []))
    _sync_table(document, {key: value for key, value in data.items() if key != "models"}, keep=("models",))
    entries = document.get("models")
    if entries is not None and not (entries and models):  # emptied, or the `models = []` of a new zoo now filled
        del document["models"]
        entries = None
    if entries is not None:
        if origins is None:
            written = {_plain(table.get("id")) for table in entries}
            origins = [entry["id"] if entry["id"] in written else None for entry in models]
        if not _sync_entries(entries, models, list(origins)):
            raise ManifestError("the manifest's models are in another order than the edit's; edit it by hand")
    elif models:  # written as [[models]] tables
        document["models"] = tomlkit.aot()
        for entry in models:
            document["models"].append(_new_entry(document["models"], entry))
    elif "models" in data:
        document["models"] = tomlkit.array()
    edited = tomlkit.dumps(document)
    if "\r\n" in text:  # the lines tomlkit adds end in \n: a CRLF manifest stays CRLF throughout
        edited = edited.replace("\r\n", "\n").replace("\n", "\r\n")
    # The point of editing in place is to lose nothing; the edit must also say exactly what the data says.
    try:
        read_back = tomllib.loads(edited)
    except tomllib.TOMLDecodeError:
        read_back = None
    if read_back != data:
        raise ManifestError("editing the manifest in place would not give the edited zoo; edit it by hand")
    return edited
