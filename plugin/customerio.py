"""The Customer.io plugin, ported from PostHog/customerio-plugin (`index.ts`, branch main).

Read it beside the original: every function here has its namesake there, in the same
order. JavaScript semantics the original leans on (ToString in template literals,
truthiness, Set, JSON.stringify, Date.parse, Buffer) come from `plugin.js`.

Two behaviours share this one code path:
- compat="original" reproduces the original's requests and storage byte for byte,
  quirks included.
- compat="safe" (the default) fixes what is unsafe; each fix is marked `if self.safe`
  and listed in the README under "Deviations".
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote_from_bytes

from . import js
from .js import UNDEFINED, JSSet, get_property, to_string, truthy
from .runtime import Meta, RetryError, Storage
from .runtime.fetch import Fetch, Response

Compat = Literal["original", "safe"]
COMPAT_MODES: tuple[Compat, ...] = ("original", "safe")

DEFAULT_HOST = "track.customer.io"
DEFAULT_SEND_EVENTS_FROM_ANONYMOUS_USERS = "Send all events"

# EventsConfig: the original's string enum.
SEND_ALL = "1"
SEND_EMAILS = "2"
SEND_IDENTIFIED = "3"

EVENTS_CONFIG_MAP = {
    "Send all events": SEND_ALL,
    "Only send events from users with emails": SEND_EMAILS,
    "Only send events from users that have been identified": SEND_IDENTIFIED,
}

# The request setupPlugin makes to check the credentials.
CREDENTIALS_CHECK_PATH = "/v1/api/info/ip_addresses"
# Safe mode: the status flag for "Customer.io accepted an upsert of this person".
CREATED = "created"
# Safe mode: error bodies quoted in messages are cut to this many characters.
MAX_QUOTED_BODY = 300

_JS_SPACE = js.values.WHITESPACE
_LOCAL = rf'[^<>()\[\]\\.,;:{_JS_SPACE}@"]+'
_EMAIL = re.compile(
    rf'(({_LOCAL}(\.{_LOCAL})*)|("[^\n\r\u2028\u2029]+"))'
    r"@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\])|(([a-zA-Z\-0-9]+\.)+[a-zA-Z]{2,}))"
)


@dataclass
class Customer:
    status: JSSet
    exists_already: bool
    email: Any

    def to_js(self) -> dict[str, Any]:
        """The object the original logs: `{"status":{},"existsAlready":...,"email":...}`."""
        return {"status": self.status, "existsAlready": self.exists_already, "email": self.email}


class CustomerIoPlugin:
    def __init__(self, compat: Compat = "safe") -> None:
        if compat not in COMPAT_MODES:
            raise ValueError(f"compat must be one of {', '.join(COMPAT_MODES)}, not {compat!r}")
        self.compat = compat

    @property
    def safe(self) -> bool:
        return self.compat == "safe"

    async def call_customerio_api(
        self, fetch: Fetch, method: str, host: Any, path: str, authorization: str, body: Any = UNDEFINED
    ) -> Response:
        headers = {"User-Agent": "PostHog Customer.io App", "Authorization": authorization}
        body_serialized = None
        if body is not None and body is not UNDEFINED:
            headers["Content-Type"] = "application/json"
            body_serialized = js.json.stringify(body)
        try:
            response = await fetch(f"https://{to_string(host)}{path}", method=method, headers=headers,
                                   body=body_serialized)
        except Exception as error:
            raise RetryError(f"Cannot reach the Customer.io API. {to_string(error)}") from error
        status = response.status
        status_class = status // 100
        if status in (401, 403):
            response_data = await self.describe_body(response)
            raise js.JSError(f"Customer.io Site ID or API Key invalid! Response {status}: {response_data}")
        if status in (408, 429) or status_class == 5:
            response_data = await self.describe_body(response)
            raise RetryError(
                f"Received a potentially intermittent error from the Customer.io API. Response {status}: "
                f"{response_data}"
            )
        if status_class != 2:
            response_data = await self.describe_body(response)
            raise js.JSError(
                f"Received an unexpected error from the Customer.io API. Response {status}: {response_data}"
            )
        return response

    async def describe_body(self, response: Response) -> str:
        """`JSON.stringify(await response.json())`, as the error messages quote it."""
        if not self.safe:
            return js.json.stringify(await response.json())  # a non-JSON body raises SyntaxError
        # Safe: the status decides the error, whatever the body is (an HTML 502 is retried).
        text = await response.text()
        try:
            return js.json.stringify(js.json.parse(text))
        except js.JSSyntaxError:
            return text if len(text) <= MAX_QUOTED_BODY else text[:MAX_QUOTED_BODY] + "…"

    def credentials_key(self, authorization_header: str) -> str:
        if self.safe:
            # Never a secret in storage: a digest stands for the credentials.
            digest = hashlib.sha256(authorization_header.encode("utf-8")).hexdigest()
            return f"customerio-credentials-verified/{digest}"
        return authorization_header

    async def setup_plugin(self, meta: Meta) -> None:
        config, global_, storage = meta.config, meta.global_, meta.storage
        customerio_base64_auth_token = js.buffer.base64_of(
            f"{to_string(config.get('customerioSiteId', UNDEFINED))}:"
            f"{to_string(config.get('customerioToken', UNDEFINED))}"
        )
        global_["authorizationHeader"] = f"Basic {customerio_base64_auth_token}"
        events_to_send = config.get("eventsToSend", UNDEFINED)
        if truthy(events_to_send):
            if not isinstance(events_to_send, str):
                raise js.JSTypeError("config.eventsToSend.split is not a function")
            global_["eventNames"] = [name for name in (js.trim(part) for part in events_to_send.split(",")) if name]
        else:
            global_["eventNames"] = []
        anonymous_users = config.get("sendEventsFromAnonymousUsers", UNDEFINED)
        global_["eventsConfig"] = js.lookup(
            EVENTS_CONFIG_MAP,
            anonymous_users if truthy(anonymous_users) else DEFAULT_SEND_EVENTS_FROM_ANONYMOUS_USERS,
        )
        global_["identifyByEmail"] = config.get("identifyByEmail", UNDEFINED) == "Yes"

        credentials_key = self.credentials_key(global_["authorizationHeader"])
        credentials_verified_previously = await storage.get(credentials_key, False)

        if truthy(credentials_verified_previously):
            meta.console.log("Customer.io credentials verified previously. Completing setupPlugin.")
            return

        # The allowlist endpoint doubles as a credential check.
        await self.call_customerio_api(
            meta.fetch, "GET", "api.customer.io", CREDENTIALS_CHECK_PATH, global_["authorizationHeader"]
        )
        await storage.set(credentials_key, True)
        meta.console.log("Successfully authenticated with Customer.io. Completing setupPlugin.")

    async def on_event(self, event: dict[str, Any], meta: Meta) -> None:
        global_, config = meta.global_, meta.config
        # The original's guard for onEvent running after a failed setupPlugin.
        if not truthy(global_.get("eventNames", UNDEFINED)):
            raise RetryError("Cannot run exportEvents because setupPlugin failed!")

        event_name = get_property(event, "event")
        event_names = global_["eventNames"]
        if len(event_names) != 0 and not any(js.same_value_zero(name, event_name) for name in event_names):
            return
        if event_name == "$create_alias":
            return

        customer = await self.sync_customer_metadata(event, meta)
        meta.console.debug(customer.to_js())
        tracked = should_customer_be_tracked(customer, global_.get("eventsConfig", UNDEFINED))
        meta.console.debug(tracked)
        if not tracked:
            return

        host = config.get("host", UNDEFINED)
        await self.export_single_event(
            event,
            customer,
            global_["authorizationHeader"],
            host if truthy(host) else DEFAULT_HOST,
            global_["identifyByEmail"],
            meta,
        )

    async def sync_customer_metadata(self, event: dict[str, Any], meta: Meta) -> Customer:
        storage = meta.storage
        customer_status_key = customer_status_key_for(event)
        customer_status_array = await storage.get(customer_status_key, [])
        customer_status = JSSet(
            () if customer_status_array is None else js.iterate(customer_status_array)
        )
        customer_exists_already = customer_status.has("seen")
        email = get_email_from_event(event)

        meta.console.debug(email)

        customer_status.add("seen")
        if get_property(event, "event") == "$identify":
            customer_status.add("identified")
        if truthy(email):
            customer_status.add("with_email")

        if customer_status.size > get_property(customer_status_array, "length"):
            await storage.set(customer_status_key, list(customer_status))

        return Customer(status=customer_status, exists_already=customer_exists_already, email=email)

    async def export_single_event(
        self,
        event: dict[str, Any],
        customer: Customer,
        authorization_header: str,
        host: Any,
        identify_by_email: bool,
        meta: Meta,
    ) -> None:
        # Clean up properties (this mutates the event, as the original does).
        properties = get_property(event, "properties")
        if truthy(properties) and isinstance(properties, dict):
            properties.pop("$set", None)
            properties.pop("$set_once", None)

        distinct_id = get_property(event, "distinct_id")
        id_ = distinct_id
        if truthy(customer.email) and identify_by_email:
            id_ = customer.email

        set_attributes = get_property(event, "$set")
        customer_payload = js.spread(set_attributes if truthy(set_attributes) else {})
        customer_payload["_update"] = self.update_flag(customer, js.same_value_zero(id_, distinct_id))
        customer_payload["identifier"] = distinct_id

        if "created_at" in customer_payload:
            # Customer.io wants seconds since the epoch.
            customer_payload["created_at"] = js.dates.parse(customer_payload["created_at"]) / 1000

        if truthy(customer.email):
            customer_payload["email"] = customer.email

        # Create or update the customer.
        await self.call_customerio_api(
            meta.fetch, "PUT", host, f"/api/v1/customers/{self.path_segment(id_)}", authorization_header,
            customer_payload,
        )
        if self.safe and js.same_value_zero(id_, distinct_id) and not customer.status.has(CREATED):
            await self.remember_created(event, customer, meta.storage)

        event_type = "page" if event_name_is(event, "$pageview") else "screen" if event_name_is(event, "$screen") \
            else "event"
        timestamp = get_property(event, "timestamp")
        event_timestamp = (js.dates.new_date_value(timestamp) if truthy(timestamp) else meta.clock.now_ms()) / 1000
        # Track the event.
        await self.call_customerio_api(
            meta.fetch,
            "POST",
            host,
            f"/api/v1/customers/{self.path_segment(id_)}/events",
            authorization_header,
            {
                "name": get_property(event, "event"),
                "type": event_type,
                "timestamp": event_timestamp,
                "data": properties if truthy(properties) else {},
            },
        )

    def update_flag(self, customer: Customer, by_distinct_id: bool) -> bool:
        """`_update`: true never creates a person in Customer.io."""
        if self.safe:
            # Only for people Customer.io has accepted under this very identifier.
            return by_distinct_id and customer.status.has(CREATED)
        return customer.exists_already

    def path_segment(self, id_: Any) -> str:
        """An id in a URL path. The original pastes it in as it is."""
        text = to_string(id_)
        return quote_from_bytes(js.buffer.utf8(text), safe="") if self.safe else text

    async def remember_created(self, event: dict[str, Any], customer: Customer, storage: Storage) -> None:
        customer.status.add(CREATED)
        await storage.set(customer_status_key_for(event), list(customer.status))


def customer_status_key_for(event: dict[str, Any]) -> str:
    return f"customer-status/{to_string(get_property(event, 'distinct_id'))}"


def event_name_is(event: dict[str, Any], name: str) -> bool:
    value = get_property(event, "event")
    return isinstance(value, str) and value == name


def should_customer_be_tracked(customer: Customer, events_config: Any) -> bool:
    if events_config == SEND_ALL and isinstance(events_config, str):
        return True
    if events_config == SEND_EMAILS and isinstance(events_config, str):
        return customer.status.has("with_email")
    if events_config == SEND_IDENTIFIED and isinstance(events_config, str):
        return customer.status.has("identified")
    raise js.JSError(f"Unknown eventsConfig: {to_string(events_config)}")


def is_email(email: Any) -> bool:
    if not isinstance(email, str):
        return False
    return _EMAIL.fullmatch(email.lower()) is not None


def get_email_from_event(event: dict[str, Any]) -> Any:
    set_attribute = get_property(event, "$set")
    if js.typeof(set_attribute) != "object" or not truthy(get_property(set_attribute, "email")):
        return None
    email_candidate = get_property(set_attribute, "email")
    if is_email(email_candidate):
        return email_candidate
    # Use the distinct ID as a last resort.
    distinct_id = get_property(event, "distinct_id")
    if is_email(distinct_id):
        return distinct_id
    return None


def create_plugin(compat: Compat = "safe") -> CustomerIoPlugin:
    """The plugin object the host loads (see plugin.json's `main`)."""
    return CustomerIoPlugin(compat)
