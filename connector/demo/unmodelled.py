"""What Stripe always sends on an object that the demo business never uses.

Stripe's definitions of the pinned version make these fields required (present,
possibly null): an account without Connect, shipping, tax ids, custom invoice
rendering or payment-method extras sends them empty. Builders merge them under the
fields they do model, ``stripe_object("invoice", {...})``, so a builder reads as what
the simulation decides. ``tests/contract`` holds every served object to the SDK's
declarations and Stripe's own fixtures: a field missing here fails there.
"""

from __future__ import annotations

import copy

_NO_ADDRESS = {"city": None, "country": None, "line1": None, "line2": None, "postal_code": None, "state": None}

_NO_REQUIREMENTS = {"alternatives": [], "current_deadline": None, "currently_due": [], "disabled_reason": None,
                    "errors": [], "eventually_due": [], "past_due": [], "pending_verification": []}

UNMODELLED: dict[str, dict] = {
    "account": {
        "capabilities": {"card_payments": "active", "transfers": "active"}, "controller": {"type": "account"},
        "future_requirements": _NO_REQUIREMENTS, "requirements": _NO_REQUIREMENTS,
        "settings": {
            "bacs_debit_payments": {"display_name": None, "service_user_number": None},
            "branding": {"icon": None, "logo": None, "primary_color": None, "secondary_color": None},
            "card_issuing": {"tos_acceptance": {"date": None, "ip": None}},
            "card_payments": {"decline_on": {"avs_failure": True, "cvc_failure": True},
                              "statement_descriptor_prefix": None, "statement_descriptor_prefix_kana": None,
                              "statement_descriptor_prefix_kanji": None},
            "dashboard": {"display_name": "Demo SaaS", "timezone": "Etc/UTC"},
            "invoices": {"default_account_tax_ids": None, "hosted_payment_method_save": None},
            "payments": {"statement_descriptor": "DEMO SAAS", "statement_descriptor_kana": None,
                         "statement_descriptor_kanji": None, "statement_descriptor_prefix_kana": None,
                         "statement_descriptor_prefix_kanji": None},
            "payouts": {"debit_negative_balances": True, "schedule": {"delay_days": 2, "interval": "daily"},
                        "statement_descriptor": None},
            "sepa_debit_payments": {},
        },
        "tos_acceptance": {"date": None, "ip": None, "user_agent": None},
    },
    "account.business_profile": {
        "annual_revenue": None, "estimated_worker_count": None, "mcc": None,
        "minority_owned_business_designation": None, "product_description": None, "support_address": None,
        "support_email": None, "support_phone": None, "support_url": None,
    },
    "charge": {
        "application": None, "application_fee": None, "application_fee_amount": None,
        "failure_balance_transaction": None, "fraud_details": {}, "on_behalf_of": None, "receipt_email": None,
        "receipt_number": None, "refunds": None, "review": None, "shipping": None, "source": None,
        "source_transfer": None, "statement_descriptor": None, "statement_descriptor_suffix": None,
        "transfer_data": None, "transfer_group": None,
    },
    "charge.billing_details": {"address": _NO_ADDRESS, "phone": None, "tax_id": None},
    "charge.outcome": {"advice_code": None, "network_advice_code": None, "network_decline_code": None},
    "charge.card": {
        "amount_authorized": None, "authorization_code": None,
        "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"},
        "extended_authorization": None, "fingerprint": None, "incremental_authorization": None,
        "installments": None, "mandate": None, "multicapture": None, "network": "visa", "network_token": None,
        "network_transaction_id": None, "overcapture": None, "regulated_status": None, "three_d_secure": None,
        "transaction_link_id": None, "wallet": None,
    },
    "credit_note": {"customer_account": None, "shipping_cost": None},
    "discount": {"customer_account": None},
    "invoice": {
        "account_tax_ids": None, "amount_overpaid": 0, "application": None, "automatically_finalizes_at": None,
        "custom_fields": None, "customer_account": None, "customer_address": None, "customer_phone": None,
        "customer_shipping": None, "customer_tax_exempt": "none", "customer_tax_ids": [],
        "default_payment_method": None, "default_source": None, "footer": None, "from_invoice": None,
        "issuer": {"type": "self"}, "last_finalization_error": None, "latest_revision": None,
        "next_payment_attempt": None, "on_behalf_of": None,
        "payment_settings": {"default_mandate": None, "payment_method_options": None, "payment_method_types": None},
        "receipt_number": None, "rendering": None, "shipping_cost": None, "shipping_details": None,
        "statement_descriptor": None,
    },
    "invoice.automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None, "provider": None,
                              "status": None},
    "invoiceitem": {"customer_account": None},
    "line_item": {"quantity_decimal": None},
    "promotion_code": {"customer_account": None},
    "refund": {"customer": None, "customer_account": None, "payment_method": None,
               "source_transfer_reversal": None, "transfer_reversal": None},
    "subscription": {"billing_schedules": [], "billing_thresholds": None, "customer_account": None,
                     "managed_payments": None},
    "subscription.invoice_settings": {"custom_fields": None, "description": None, "footer": None},
    "subscription_item": {"billing_thresholds": None},
}


def stripe_object(kind: str, modelled: dict) -> dict:
    """``modelled`` with Stripe's unmodelled fields of ``kind`` added (a fresh copy of each).

    The modelled fields come first: served payloads start with ``{"id":`` (listing.payload_id).
    """
    extra = {name: value for name, value in UNMODELLED[kind].items() if name not in modelled}
    return {**modelled, **copy.deepcopy(extra)}
