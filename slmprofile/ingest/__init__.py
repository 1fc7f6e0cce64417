"""Read LLM call logs of many formats into one normalized polars frame."""

from .core import IngestResult, ingest
from .formats import FORMATS, LogFormat, get_format, register
from .mapping import parse_mapping
from .report import FileReport, IngestReport
from .stream import StreamResult, ingest_to_parquet

__all__ = ["FORMATS", "FileReport", "IngestReport", "IngestResult", "LogFormat", "StreamResult", "get_format", "ingest",
           "ingest_to_parquet", "parse_mapping", "register"]
