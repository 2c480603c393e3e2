"""The store's tally of rows created / updated / deleted per table (for the sync summary)."""

from connector.store import AccountIdentity

ACCOUNT = AccountIdentity("stripe", "acct_1", False, "2026-10-28.endive")


def _customer(cid, **extra):
    return {"id": cid, "object": "customer", "created": 1700000000, "livemode": False, "email": f"{cid}@x", **extra}


def test_created_updated_and_deleted_are_told_apart(store):
    store.bind_account(ACCOUNT)
    with store.db.atomic():
        store.upsert_objects("customers", [_customer("cus_1"), _customer("cus_2")])
    store.changes = {}
    with store.db.atomic():
        # one new, one changed, one identical (not written, not counted)
        store.upsert_objects("customers", [_customer("cus_1", name="New"), _customer("cus_2"), _customer("cus_3")])
        store.mark_deleted("customers", [{"id": "cus_2"}, {"id": "cus_9"}])
    assert store.changes == {"customers": {"created": 1, "updated": 1, "deleted": 1}}


def test_no_tally_unless_asked(store):
    store.bind_account(ACCOUNT)
    with store.db.atomic():
        store.upsert_objects("customers", [_customer("cus_1")])
    assert store.changes is None
