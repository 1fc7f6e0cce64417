"""What every plot of slmprofile shares: labels drawn as written.

Model names, task-type names and keywords come from users' logs. Matplotlib reads text between two ``$`` signs as
mathtext, so a model called ``$team$-llm`` or a price in a task name could raise while a figure is saved (and end
a report). :func:`plain_text` draws a function's figures with ``text.parse_math`` off; the setting is read when
each text is created, so saving the figure later is safe too.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def plain_text(func: F) -> F:
    """Decorate a plotting function so that every label it creates is shown as written (no mathtext)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import matplotlib

        with matplotlib.rc_context({"text.parse_math": False}):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
