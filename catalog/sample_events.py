"""Sample events of every Segment spec type, for the Test panel and the template tests.

They follow the Segment spec (common fields: ``messageId``, ``timestamp``, ``sentAt``,
``receivedAt``, ``anonymousId``, ``userId``, ``context`` with ``library``, ``ip``,
``userAgent``...), with stable identifiers so that tests can assert on them.

    sample_events()["track"]      # a fresh deep copy each call: safe to modify
    sample_batch()                # a list of events, as onBatch receives them
"""

from __future__ import annotations

import copy
from typing import Any, Final

EVENT_TYPES: Final = ("track", "identify", "page", "screen", "group", "alias", "delete")

_USER_ID: Final = "user_7f3a9c21"
_ANONYMOUS_ID: Final = "3a12eab0-bca7-11e9-a2a3-2a2ae2dbcce4"
_WEB_USER_AGENT: Final = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
_TRAITS: Final = {
    "email": "jane.kim@example.com",
    "firstName": "Jane",
    "lastName": "Kim",
    "name": "Jane Kim",
    "phone": "+1-415-555-0134",
    "title": "Head of Growth",
    "company": {"id": "grp_acme", "name": "Acme Inc.", "plan": "enterprise"},
    "address": {
        "street": "100 Market St",
        "city": "San Francisco",
        "state": "CA",
        "postalCode": "94105",
        "country": "US",
    },
    "plan": "pro",
    "logins": 14,
    "createdAt": "2024-01-15T09:30:00.000Z",
}


def _web_context(*, path: str, title: str) -> dict[str, Any]:
    url = f"https://www.example.com{path}"
    return {
        "active": True,
        "ip": "203.0.113.42",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "userAgent": _WEB_USER_AGENT,
        "library": {"name": "analytics.js", "version": "next-1.70.0"},
        "page": {
            "path": path,
            "referrer": "https://www.google.com/",
            "search": "",
            "title": title,
            "url": url,
        },
        "campaign": {"name": "spring_sale", "source": "google", "medium": "cpc"},
    }


def _mobile_context() -> dict[str, Any]:
    return {
        "active": True,
        "ip": "198.51.100.7",
        "locale": "en-US",
        "timezone": "America/New_York",
        "userAgent": "Acme/5.2.1 (iPhone; iOS 17.4; Scale/3.00)",
        "library": {"name": "analytics-ios", "version": "4.1.8"},
        "app": {"name": "Acme", "version": "5.2.1", "build": "5210", "namespace": "com.acme.app"},
        "device": {
            "id": "B5372DB0-C21E-11E4-8DFC-AA07A5B093DB",
            "manufacturer": "Apple",
            "model": "iPhone15,2",
            "type": "ios",
        },
        "os": {"name": "iOS", "version": "17.4"},
        "network": {"wifi": True, "cellular": False, "carrier": "T-Mobile"},
        "screen": {"width": 393, "height": 852, "density": 3},
    }


def _common(*, kind: str, message_id: str, timestamp: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "messageId": message_id,
        "timestamp": timestamp,
        "originalTimestamp": timestamp,
        "sentAt": timestamp,
        "receivedAt": timestamp,
        "anonymousId": _ANONYMOUS_ID,
        "userId": _USER_ID,
        "integrations": {},
        "version": 2,
        **fields,
    }


SAMPLE_EVENTS: Final[dict[str, dict[str, Any]]] = {
    "track": _common(
        kind="track",
        message_id="ajs-next-1717406400000-6f9c3b7e-0d2a-4c51-9b1e-4e2f8a7d1c03",
        timestamp="2024-06-03T09:20:00.000Z",
        event="Order Completed",
        properties={
            "order_id": "50314b8e9bcf000000000000",
            "checkout_id": "fksdjfsdjfisjf9sdfjsd9f",
            "total": 27.5,
            "revenue": 25.0,
            "shipping": 3.0,
            "tax": 2.0,
            "discount": 2.5,
            "coupon": "hasbros",
            "currency": "USD",
            "products": [
                {
                    "product_id": "507f1f77bcf86cd799439011",
                    "sku": "45790-32",
                    "name": "Monopoly: 3rd Edition",
                    "price": 19.0,
                    "quantity": 1,
                    "category": "Games",
                },
                {
                    "product_id": "505bd76785ebb509fc183733",
                    "sku": "46493-32",
                    "name": "Uno Card Game",
                    "price": 3.0,
                    "quantity": 2,
                    "category": "Games",
                },
            ],
        },
        context=_web_context(path="/checkout/complete", title="Thank you - Acme Store"),
    ),
    "identify": _common(
        kind="identify",
        message_id="ajs-next-1717405800000-1b8d4f2c-7e3a-4f09-a6c2-9d5e0b8f7a14",
        timestamp="2024-06-03T09:10:00.000Z",
        traits=copy.deepcopy(_TRAITS),
        context=_web_context(path="/signup", title="Create your account - Acme"),
    ),
    "page": _common(
        kind="page",
        message_id="ajs-next-1717405500000-9e2c7a1d-4b6f-4d83-8f0a-2c1e5d9b3a77",
        timestamp="2024-06-03T09:05:00.000Z",
        name="Pricing",
        category="Marketing",
        properties={
            "name": "Pricing",
            "path": "/pricing",
            "referrer": "https://www.google.com/",
            "search": "?plan=pro",
            "title": "Pricing - Acme",
            "url": "https://www.example.com/pricing?plan=pro",
        },
        context=_web_context(path="/pricing", title="Pricing - Acme"),
    ),
    "screen": _common(
        kind="screen",
        message_id="4c1f9a2e-8b3d-4e7f-a5c6-0d9e8f7a6b51",
        timestamp="2024-06-03T09:25:00.000Z",
        name="Order Details",
        properties={"name": "Order Details", "order_id": "50314b8e9bcf000000000000"},
        context=_mobile_context(),
    ),
    "group": _common(
        kind="group",
        message_id="ajs-next-1717406700000-5d7b3e9f-2a1c-4f68-b0e4-7c9a1d3f5e22",
        timestamp="2024-06-03T09:25:00.000Z",
        groupId="grp_acme",
        traits={
            "name": "Acme Inc.",
            "industry": "Manufacturing",
            "employees": 329,
            "plan": "enterprise",
            "website": "https://www.acme.example",
            "createdAt": "2021-03-08T12:00:00.000Z",
        },
        context=_web_context(path="/settings/team", title="Team settings - Acme"),
    ),
    "alias": _common(
        kind="alias",
        message_id="ajs-next-1717405860000-2e6a9c4b-3f1d-4a57-9c8e-1b0d7f6e5a39",
        timestamp="2024-06-03T09:11:00.000Z",
        previousId=_ANONYMOUS_ID,
        context=_web_context(path="/signup", title="Create your account - Acme"),
    ),
    "delete": {
        # A user deletion (GDPR/CCPA request) sent by the platform, not by a library.
        "type": "delete",
        "messageId": "delete-7f3a9c21-1717492800",
        "timestamp": "2024-06-04T09:20:00.000Z",
        "receivedAt": "2024-06-04T09:20:00.000Z",
        "userId": _USER_ID,
        "context": {
            "library": {"name": "segment-regulation", "version": "1.0.0"},
            "ip": "0.0.0.0",
            "userAgent": "Segment Regulation Service",
        },
        "integrations": {},
        "version": 2,
    },
}


def sample_events() -> dict[str, dict[str, Any]]:
    """One sample event per spec type (keys in ``EVENT_TYPES`` order); a deep copy."""
    return copy.deepcopy(SAMPLE_EVENTS)


def sample_event(event_type: str) -> dict[str, Any]:
    """The sample event of one type; ``KeyError`` for a type the spec does not define."""
    return copy.deepcopy(SAMPLE_EVENTS[event_type])


def sample_batch(types: tuple[str, ...] = ("track", "identify", "track", "page")) -> list[dict]:
    """A batch as ``onBatch`` receives it: the sample events of ``types`` in that order,
    each with its own ``messageId`` (a repeated type gets a numbered copy)."""
    batch = []
    for index, kind in enumerate(types):
        event = sample_event(kind)
        event["messageId"] = f"{event['messageId']}-b{index}"
        batch.append(event)
    return batch
