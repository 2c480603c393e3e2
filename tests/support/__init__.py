"""What the tests share: the one support layer.

Test modules and conftest files import helpers from here (and from the package
under test and third-party libraries), never from another test module or
conftest; tests/test_layout.py keeps it so. One module per concept:

- ``keys``: the canary key every test uses and checks never leaks.
- ``cli``: the one way to run a command (``run_cli``), canary checked absent.
- ``fakestripe``: the request-level fake of Stripe's lists (``FakeStripe``) and small accounts.
- ``loopback``: the one loopback HTTP server (hostile answers, or a FakeStripe over HTTP).
- ``syncing``: a StripeProvider on the fake and a synced in-memory store.
- ``stripe_objects``: Stripe objects in the pinned API's shapes, loaded into a store, mapped.
- ``segments``: MRR segments built by hand and read back.
- ``mrr_store`` / ``export_store``: the built stores the report and export tests read.
- ``postgres``, ``demo``, ``faults``, ``store_checks``, ``truth_checks``, ``chromium``,
  ``png``, and the ``contract``, ``integration`` and ``chargebee`` packages.
"""
