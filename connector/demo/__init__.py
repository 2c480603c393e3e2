"""The bundled demo Stripe account and the HTTP server that speaks the Stripe API for it."""

from .account import STREAMS, DemoAccount
from .server import DemoServer

__all__ = ["STREAMS", "DemoAccount", "DemoServer"]
