"""ORM models of the library (SQLAlchemy 2.x declarative).

These classes describe the *current* schema for queries. The schema itself is created and changed
only by ``db.migrations`` (frozen DDL per version); a test checks that both agree.

Times are float epoch seconds. ``Media.taken_at`` is the EXIF capture time, with a naive EXIF time
read as UTC; ``Media.date`` is ``taken_at`` when known, else the file's mtime, and is what date
filters and date sorting use. Embedding vectors are float32 little-endian, L2-normalised, one BLOB
per photo or per video keyframe (``timestamp`` = seconds into the video, NULL for photos).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from db.paths import FsPath

MEDIA_KINDS: Final = ("photo", "video")
MEDIA_STATUSES: Final = ("pending", "indexed", "failed")


class Base(DeclarativeBase):
    pass


class Root(Base):
    """A folder the user added to the library."""

    __tablename__ = "roots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(FsPath, unique=True, nullable=False)
    added_at: Mapped[float] = mapped_column(Float, nullable=False)

    media: Mapped[list[Media]] = relationship(back_populates="root", passive_deletes=True)

    def __repr__(self) -> str:
        return f"Root(id={self.id!r}, path={self.path!r})"


class Media(Base):
    """One photo or video file below a root, with what indexing learned about it."""

    __tablename__ = "media"
    __table_args__ = (
        CheckConstraint("kind IN ('photo', 'video')", name="ck_media_kind"),
        CheckConstraint("status IN ('pending', 'indexed', 'failed')", name="ck_media_status"),
        Index("ix_media_date_id", "date", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    root_id: Mapped[int] = mapped_column(ForeignKey("roots.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(FsPath, unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(8))
    size: Mapped[int] = mapped_column(Integer)
    mtime_ns: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str | None] = mapped_column(String, index=True)
    status: Mapped[str] = mapped_column(String(8), index=True, default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    taken_at: Mapped[float | None] = mapped_column(Float)
    date: Mapped[float] = mapped_column(Float)
    gps_lat: Mapped[float | None] = mapped_column(Float)
    gps_lon: Mapped[float | None] = mapped_column(Float)
    camera_make: Mapped[str | None] = mapped_column(Text)
    camera_model: Mapped[str | None] = mapped_column(Text)
    duration: Mapped[float | None] = mapped_column(Float)
    indexed_at: Mapped[float | None] = mapped_column(Float)

    root: Mapped[Root] = relationship(back_populates="media")
    embeddings: Mapped[list[Embedding]] = relationship(back_populates="media", passive_deletes=True)

    def __repr__(self) -> str:
        return f"Media(id={self.id!r}, path={self.path!r}, kind={self.kind!r}, status={self.status!r})"


class Model(Base):
    """An embedding model whose vectors are stored; ``name`` matches its folder under models/."""

    __tablename__ = "models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    embed_dim: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float)

    def __repr__(self) -> str:
        return f"Model(id={self.id!r}, name={self.name!r}, embed_dim={self.embed_dim!r})"


class Embedding(Base):
    """One vector: a photo, or one keyframe of a video.

    Ids come from AUTOINCREMENT, so they are never reused: the search matrix loads "everything with
    an id above the last one seen" and can trust that a deleted id never comes back.
    """

    __tablename__ = "embeddings"
    __table_args__ = (
        Index("ix_embeddings_model_id_id", "model_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"), index=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    timestamp: Mapped[float | None] = mapped_column(Float)
    vector: Mapped[bytes] = mapped_column(LargeBinary)

    media: Mapped[Media] = relationship(back_populates="embeddings")
    model: Mapped[Model] = relationship()

    def __repr__(self) -> str:
        return f"Embedding(id={self.id!r}, media_id={self.media_id!r}, model_id={self.model_id!r})"


class EmbeddingTombstone(Base):
    """Written by an AFTER DELETE trigger on ``embeddings``.

    Deletions by any process (including FK cascades from media and roots) leave a row here, so a
    search matrix in another process can drop those vectors without re-reading everything.
    """

    __tablename__ = "embedding_tombstones"
    __table_args__ = ({"sqlite_autoincrement": True},)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    embedding_id: Mapped[int] = mapped_column(Integer)
    model_id: Mapped[int] = mapped_column(Integer)


class MediaText(Base):
    """The text the text pass read in one photo (issue 11).

    ``size``/``mtime_ns`` are the media row's at reading time: when they no longer match, the file
    changed and the text is stale (ignored by search, read again by the next pass). ``lines`` is a
    JSON list of ``{"text", "score", "box": [[x, y] x4]}`` with boxes normalised to the upright
    picture; ``text`` is the lines joined by newlines, indexed by the FTS5 table ``media_text_fts``
    (created by the migrations, kept in step by triggers). ``error`` is the reason reading failed.
    """

    __tablename__ = "media_text"

    media_id: Mapped[int] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    mtime_ns: Mapped[int] = mapped_column(Integer)
    read_at: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text, default="")
    lines: Mapped[str] = mapped_column(Text, default="[]")
    error: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"MediaText(media_id={self.media_id!r}, chars={len(self.text or '')!r}, error={self.error!r})"
