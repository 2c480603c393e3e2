"""The bundled demo Stripe account and the HTTP server that speaks the Stripe API for it.

``DemoServer`` is imported lazily so ``python -m connector.demo.server`` does not
find its own module already imported (runpy warns about that).
"""

from .account import STREAMS, DemoAccount

__all__ = ["STREAMS", "DemoAccount", "DemoServer"]


def __getattr__(name: str):
    if name == "DemoServer":
        from .server import DemoServer

        return DemoServer
    raise AttributeError(f"module 'connector.demo' has no attribute {name!r}")
