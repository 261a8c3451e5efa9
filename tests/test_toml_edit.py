"""Editing a manifest's text in place: what an edit does not touch stays as written, and the result reads back as
exactly the edited data."""

from __future__ import annotations

import tomllib

import pytest

from gifviz.errors import ManifestError
from gifviz.hub.toml_edit import edited_toml

INLINE = 'name = "q"\nmodels = [{id = "a", file = "a.pt"}, {id = "b", file = "b.pt"}]  # two\n[input]\nchannels = 1\n'


def test_an_inline_array_of_models_stays_inline_and_keeps_its_comment():
    data = tomllib.loads(INLINE)
    del data["models"][0]
    data["models"].append({"id": "c", "file": "c.pt", "classes": ("0", "1")})  # a tuple reads back as a list
    text = edited_toml(INLINE, data)
    assert "# two" in text and "[[models]]" not in text
    assert tomllib.loads(text)["models"] == [
        {"id": "b", "file": "b.pt"},
        {"id": "c", "file": "c.pt", "classes": ["0", "1"]},
    ]


def test_top_level_keys_are_added_changed_and_removed_in_place():
    data = tomllib.loads(INLINE)
    data["description"] = "hello"
    data["input"]["channels"] = 3
    text = edited_toml(INLINE, data)
    assert tomllib.loads(text) == data and "# two" in text
    del data["description"]
    assert "description" not in edited_toml(text, data)


def test_text_that_does_not_parse_is_one_line():
    with pytest.raises(ManifestError, match="does not parse") as caught:
        edited_toml("name = \n", {"name": "x"})
    assert "\n" not in str(caught.value)
