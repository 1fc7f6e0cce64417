"""Read LLM call logs of many formats into one normalized polars frame."""

from .core import IngestResult, ingest, parse_mapping
from .formats import FORMATS, LogFormat, get_format, register
from .report import FileReport, IngestReport

__all__ = ["FORMATS", "FileReport", "IngestReport", "IngestResult", "LogFormat", "get_format", "ingest",
           "parse_mapping", "register"]
