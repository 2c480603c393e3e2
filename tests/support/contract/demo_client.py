"""The demo server over HTTP, for the contract tests; its list paths read from the server's own routes."""

from __future__ import annotations

import requests

from connector.demo.api import OBJECT_NAMES, PATH_STREAMS

KEY = "sk_test_contract0tests0only0abcdefgh"
# every top-level list the demo serves -> the `object` of its entries (nested lists are read per parent)
LIST_PATHS = {f"/v1/{collection}": OBJECT_NAMES[stream]
              for collection, stream in PATH_STREAMS.items() if stream != "subscription_items"}


class DemoClient:
    def __init__(self, server):
        self.url = server.url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {KEY}"

    def call(self, path: str, **params) -> tuple[int, dict]:
        response = self.session.get(self.url + path, params=params, timeout=30)
        return response.status_code, response.json()

    def get(self, path: str, **params) -> dict:
        status, body = self.call(path, **params)
        assert status == 200, (path, params, body)
        return body
