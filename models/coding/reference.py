"""ICD-10-CM releases an operator loaded from the CMS files, beside the release the code ships."""

from datetime import date, datetime

from sqlalchemy import String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class Icd10cmRelease(Base):
    __tablename__ = "icd10cm_releases"
    fiscal_year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    effective_from: Mapped[date]
    source: Mapped[str] = mapped_column(Text)
    codes: Mapped[int]
    loaded_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Icd10cmCode(Base):
    __tablename__ = "icd10cm_codes"
    fiscal_year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(8), primary_key=True)  # with the dot
    description: Mapped[str] = mapped_column(Text)
    billable: Mapped[bool]
