"""Field store: computed once, kept safely on disk, shared by the CLI, the app and the executors."""

from gifviz.store.store import FieldStore, StoreUnavailable, default_home, field_key

__all__ = ["FieldStore", "StoreUnavailable", "default_home", "field_key"]
