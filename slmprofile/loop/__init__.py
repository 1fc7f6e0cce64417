"""After the verdict: the steps that close the loop (fine-tuning data per task type, drift, ...)."""

from .drift import DriftResult, DriftSettings, detect_drift
from .placement import NearestTypes
from .training_data import FinetuneDataSettings, FinetuneExport, TypeExport, check_example, export_finetune

__all__ = ["DriftResult", "DriftSettings", "FinetuneDataSettings", "FinetuneExport", "NearestTypes", "TypeExport",
           "check_example", "detect_drift", "export_finetune"]
