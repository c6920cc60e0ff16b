"""Which faces of an account a search may return (LUNA's match-policy candidates, origin faces)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CandidateFilter:
    """All given fields must hold (AND); ``None`` means no condition.

    ``user_data`` matches as a substring. Times are aware datetimes; ``create_time__lt`` and
    ``face_id__lt`` are exclusive, the ``__gte`` bounds inclusive (LUNA's convention).
    """

    list_id: str | None = None
    face_ids: tuple[str, ...] | None = None
    external_ids: tuple[str, ...] | None = None
    user_data: str | None = None
    create_time__gte: datetime | None = None
    create_time__lt: datetime | None = None
    face_id__gte: str | None = None
    face_id__lt: str | None = None

    @property
    def selects_by_key(self) -> bool:
        """Whether a key (list, face ids, external ids) narrows the rows before any scan."""
        return (
            self.list_id is not None or self.face_ids is not None or (self.external_ids is not None)
        )

    @property
    def has_row_predicates(self) -> bool:
        """Whether some condition must be checked row by row."""
        return any(
            value is not None
            for value in (
                self.user_data,
                self.create_time__gte,
                self.create_time__lt,
                self.face_id__gte,
                self.face_id__lt,
            )
        )


NO_FILTER = CandidateFilter()
