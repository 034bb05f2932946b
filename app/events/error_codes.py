"""Error codes of events: the webhook mutations' (EventsErrorCode) and a delivery attempt's
(DeliveryErrorCode, shown in the delivery log). tests/schema/test_error_codes.py keeps them complete."""

from __future__ import annotations

import enum

from app.errors import CommonErrorCode, error_codes


class WebhookCode(enum.StrEnum):
    """Registering, changing and redelivering webhooks."""

    INVALID_URL = "INVALID_URL"  # not an absolute URL with a host, or too long
    UNSUPPORTED_SCHEME = "UNSUPPORTED_SCHEME"  # only http and https
    CREDENTIALS_IN_URL = "CREDENTIALS_IN_URL"  # user:password@ has no place in a webhook URL
    ADDRESS_REFUSED = "ADDRESS_REFUSED"  # resolves to loopback, private, link-local, multicast or reserved
    UNRESOLVABLE_HOST = "UNRESOLVABLE_HOST"  # the host name does not resolve now
    DUPLICATE_EVENT = "DUPLICATE_EVENT"  # an event kind listed twice
    TOO_MANY_WEBHOOKS = "TOO_MANY_WEBHOOKS"
    DELIVERY_PENDING = "DELIVERY_PENDING"  # redeliver: it is still due, nothing to redo
    WEBHOOK_INACTIVE = "WEBHOOK_INACTIVE"  # redeliver: turn the webhook on first


EventsErrorCode = error_codes(
    "EventsErrorCode",
    "Registering, changing, deleting webhooks and redelivering their deliveries.",
    CommonErrorCode,
    WebhookCode,
)


class DeliveryErrorCode(enum.StrEnum):
    """Why a delivery attempt failed."""

    HTTP_STATUS = "HTTP_STATUS"  # the receiver answered, but not 2xx
    REDIRECT_NOT_FOLLOWED = "REDIRECT_NOT_FOLLOWED"  # 3xx: a webhook URL names the receiver itself
    TIMEOUT = "TIMEOUT"  # no answer within the timeout
    CONNECTION_FAILED = "CONNECTION_FAILED"  # refused, reset, unreachable
    TLS_FAILED = "TLS_FAILED"  # the certificate or handshake failed
    DNS_FAILED = "DNS_FAILED"  # the host name did not resolve
    ADDRESS_REFUSED = "ADDRESS_REFUSED"  # it resolved to an address webhooks may not reach (checked again at each send)
    UNEXPECTED = "UNEXPECTED"  # a bug on our side, logged with its stack
