"""A routing gateway: the exported router in front of real traffic, in shadow mode first.

:func:`create_app` builds an OpenAI-compatible ASGI app (Starlette; run it with uvicorn, or with
:func:`~slmprofile.gateway.server.serve`) around a :class:`slmprofile.runtime.Router`; :mod:`.calllog` writes its
append-only call log; :mod:`.summary` turns the log into agreement per task type and a shadow-to-route
recommendation. Needs the ``serve`` extra (``pip install 'slmprofile[serve]'``).
"""

from .app import ESCALATION_REASONS, TASK_TYPE_HEADER, create_app
from .calllog import CALLS_FILE, SHADOW_FILE, CallLog, read_log
from .server import BackgroundGateway, load_router, serve
from .settings import MODES, GatewaySettings, Upstream

__all__ = ["CALLS_FILE", "ESCALATION_REASONS", "MODES", "SHADOW_FILE", "TASK_TYPE_HEADER", "BackgroundGateway",
           "CallLog", "GatewaySettings", "Upstream", "create_app", "load_router", "read_log", "serve"]
