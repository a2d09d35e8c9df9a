"""The Customer.io port's intended deviations in safe mode, as a comparison recognises them.

Each recognizer explains one kind of difference between the original's trace and the
safe port's trace; the README's "Deviations of the safe mode" table lists the same four.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from .compare import MISSING, Difference, Recognizer, StepPair
from .customerio import CREATED, CREDENTIALS_CHECK_PATH

IDS_ENCODED = "ids percent-encoded"
STATUS_DECIDES = "status decides on non-JSON error bodies"
NO_SECRET_IN_STORAGE = "credential check cached without the secret"
UPDATE_AFTER_UPSERT = "_update only after an accepted upsert"

_REQUEST = re.compile(r"requests\[(\d+)\]\.(url|body \$\._update)$")


def ids_encoded(difference: Difference, pair: StepPair) -> str | None:
    if difference.where == "error.message" and isinstance(difference.port, str):
        # A network error quotes the URL, id and all.
        return IDS_ENCODED if unquote(difference.port) == difference.original else None
    match = _REQUEST.match(difference.where)
    if not match or match.group(2) != "url" or pair.original is None or pair.port is None:
        return None
    i = int(match.group(1))
    original, port = pair.original["requests"][i], pair.port["requests"][i]
    # The port's URL is the original's string with the id percent-encoded.
    return IDS_ENCODED if unquote(port["url"]) == original["url"] else None


def status_decides(difference: Difference, pair: StepPair) -> str | None:
    if pair.original is None or pair.port is None:
        return None
    if not (difference.where == "ok" or difference.where.startswith("error.")):
        return None
    original_error = pair.original.get("error") or {}
    port_error = pair.port.get("error") or {}
    if original_error.get("type") == "SyntaxError" and port_error.get("type") != "SyntaxError":
        return STATUS_DECIDES
    return None


def no_secret_in_storage(difference: Difference, pair: StepPair) -> str | None:
    if difference.where == "requests (count)" and pair.original is not None and pair.port is not None:
        # A check the original skipped because its storage key (the secret) was already set.
        if pair.port["step"] == "setup" and not pair.original["requests"] and all(
            CREDENTIALS_CHECK_PATH in request["url"] for request in pair.port["requests"]
        ):
            return NO_SECRET_IN_STORAGE
        return None
    key = difference.where.removeprefix("storage ")
    if difference.step is not None or key == difference.where:
        return None
    if key.startswith("Basic ") and difference.port == MISSING:
        return NO_SECRET_IN_STORAGE
    if key.startswith("customerio-credentials-verified/") and difference.original == MISSING:
        return NO_SECRET_IN_STORAGE
    return None


def update_after_upsert(difference: Difference, pair: StepPair) -> str | None:
    match = _REQUEST.match(difference.where)
    if match and match.group(2) != "url":
        return UPDATE_AFTER_UPSERT
    if difference.step is None and difference.where.startswith("storage customer-status/"):
        original, port = difference.original, difference.port
        if isinstance(original, list) and isinstance(port, list) and set(port) - {CREATED} == set(original):
            return UPDATE_AFTER_UPSERT
    return None


RECOGNIZERS: list[Recognizer] = [ids_encoded, status_decides, no_secret_in_storage, update_after_upsert]
