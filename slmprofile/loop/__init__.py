"""After the verdict: the steps that close the loop (fine-tuning data per task type, ...)."""

from .training_data import FinetuneDataSettings, FinetuneExport, TypeExport, check_example, export_finetune

__all__ = ["FinetuneDataSettings", "FinetuneExport", "TypeExport", "check_example", "export_finetune"]
