"""Execution engines for :func:`slmprofile.pipeline.run`: ``local`` (this process) and ``ray`` (a Ray cluster).

The Ray engine (extra ``scale``) is :class:`slmprofile.engines.ray_engine.RayEngine`.
"""

ENGINES = ("local", "ray")

__all__ = ["ENGINES"]
