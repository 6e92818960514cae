"""The image index tools' results: structured content of the tools and what the CLI prints with --json."""

from __future__ import annotations

from pydantic import BaseModel, Field


class IndexFailure(BaseModel):
    path: str
    error: str = Field(description="One line: why this file was not indexed.")


class IndexReport(BaseModel):
    folder: str
    added: int
    updated: int = Field(description="Files whose content changed, embedded again.")
    renamed: int = Field(description="Files moved or renamed: recognised by their hash, not embedded again.")
    removed: int = Field(description="Files gone from the folder, dropped from the index.")
    unchanged: int
    failed: int
    failures: list[IndexFailure] = Field(description="Each file that failed, with its reason (first 50).")
    remaining: int = Field(description="Files left for the next call (a call is bounded in files and time).")
    complete: bool = Field(description="True when the folder is fully indexed; else call index_images again.")
    model: str
    index_path: str
    elapsed_ms: float


class ImageHit(BaseModel):
    path: str
    score: float = Field(description="Cosine of the image with the query (or the fused rank score for 'both').")
    size: int = Field(description="File size in bytes.")
    width: int
    height: int
    caption: str | None = Field(None, description="The caption stored when the folder was indexed with captions.")


class SearchImagesResult(BaseModel):
    hits: list[ImageHit] = Field(description="Best first.")
    model: str
    searched: int = Field(description="Images the query was compared with.")
    elapsed_ms: float


class DuplicateGroup(BaseModel):
    kind: str = Field(description="exact: byte-identical files; similar: re-encoded, resized or lightly edited.")
    paths: list[str]
    similarity: float = Field(description="The lowest cosine between members (1.0 for exact copies).")


class DuplicatesResult(BaseModel):
    groups: list[DuplicateGroup]
    folder: str
    images: int = Field(description="Indexed images under the folder that were compared.")
    threshold: float


class FolderCount(BaseModel):
    folder: str
    images: int


class IndexStatus(BaseModel):
    index_path: str
    images: int
    models: dict[str, int] = Field(description="Images per embedding model.")
    folders: list[FolderCount]
    last_indexed: str | None
    size_bytes: int
