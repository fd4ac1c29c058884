"""Build bank notifications the way SePay, Casso and the simulator's bank send them."""

import hashlib
import hmac
import json
import time
from itertools import count
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from payments.bank_formats import sign_simbank
from tests.settings import TEST_SECRETS

ACCOUNT = "0011001234567"
_ids = count(1)


def simbank(
    client: FlaskClient,
    memo: str,
    amount_vnd: int,
    *,
    account: str = ACCOUNT,
    transaction_id: str | None = None,
    occurred_at: str = "2026-11-20T19:30:00+07:00",
    secret: str = TEST_SECRETS["SIMBANK_WEBHOOK_SECRET"],
    timestamp: int | None = None,
) -> TestResponse:
    body = json.dumps(
        {
            "transaction_id": transaction_id or f"SIM{next(_ids)}",
            "account_number": account,
            "amount_vnd": amount_vnd,
            "memo": memo,
            "occurred_at": occurred_at,
        }
    ).encode()
    signature = sign_simbank(body, secret, timestamp if timestamp is not None else int(time.time()))
    return client.post(
        "/api/v1/webhooks/bank/simbank",
        data=body,
        content_type="application/json",
        headers={"X-OCOP-Signature": signature},
    )


def sepay(
    client: FlaskClient,
    memo: str,
    amount_vnd: int,
    *,
    transaction_id: int | None = None,
    api_key: str = TEST_SECRETS["SEPAY_API_KEY"],
    transfer_type: str = "in",
) -> TestResponse:
    body = {
        "id": transaction_id or next(_ids),
        "gateway": "Vietcombank",
        "transactionDate": "2026-11-20 19:30:00",
        "accountNumber": ACCOUNT,
        "code": None,
        "content": memo,
        "transferType": transfer_type,
        "transferAmount": amount_vnd,
        "accumulated": 19_077_000,
        "subAccount": None,
        "referenceCode": "MBVCB.3278907687",
    }
    return client.post(
        "/api/v1/webhooks/bank/sepay", json=body, headers={"Authorization": f"Apikey {api_key}"}
    )


def casso(
    client: FlaskClient,
    memo: str,
    amount_vnd: int,
    *,
    key: str = TEST_SECRETS["CASSO_WEBHOOK_KEY"],
    stamp_ms: int | None = None,
) -> TestResponse:
    data: dict[str, Any] = {
        "error": 0,
        "data": {
            "id": next(_ids),
            "reference": "BANK_REF_1",
            "description": memo,
            "amount": amount_vnd,
            "runningBalance": 25_000_000,
            "transactionDateTime": "2026-11-20 19:30:00",
            "accountNumber": ACCOUNT,
            "bankName": "Vietcombank",
            "bankAbbreviation": "VCB",
        },
    }
    stamp = str(stamp_ms if stamp_ms is not None else int(time.time() * 1000))
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hmac.new(key.encode(), f"{stamp}.{canonical}".encode(), hashlib.sha512).hexdigest()
    return client.post(
        "/api/v1/webhooks/bank/casso",
        data=json.dumps(data),
        content_type="application/json",
        headers={"X-Casso-Signature": f"t={stamp},v1={digest}"},
    )
