"""Library storage: SQLite schema and migrations, the engine, and the in-memory search matrix."""

from db.engine import Database
from db.errors import (
    DatabaseCorruptError,
    DiskFullError,
    LibraryBusyError,
    LibraryError,
    LibraryNotFoundError,
    LibraryReadOnlyError,
    NotALibraryError,
    SchemaTooNewError,
    translate_db_errors,
)
from db.migrations import MIGRATIONS, SCHEMA_VERSION, migrate
from db.paths import FsPath, inside_folder, prefix_range
from db.schema import MEDIA_KINDS, MEDIA_STATUSES, Base, Embedding, EmbeddingTombstone, Media, MediaText, Model, Root
from db.search_matrix import MatrixHits, SearchMatrix

__all__ = [
    "MEDIA_KINDS",
    "MEDIA_STATUSES",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Base",
    "Database",
    "DatabaseCorruptError",
    "DiskFullError",
    "Embedding",
    "EmbeddingTombstone",
    "FsPath",
    "LibraryBusyError",
    "LibraryError",
    "LibraryNotFoundError",
    "LibraryReadOnlyError",
    "MatrixHits",
    "Media",
    "MediaText",
    "Model",
    "NotALibraryError",
    "Root",
    "SchemaTooNewError",
    "SearchMatrix",
    "inside_folder",
    "migrate",
    "prefix_range",
    "translate_db_errors",
]
