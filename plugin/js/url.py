"""WHATWG URL serialisation (`new URL(s).href`) for the http and https URLs fetch gets.

node-fetch hands the string it is given to the WHATWG parser, so this is what goes on
the wire: spaces and non-ASCII percent-encoded, dot segments resolved, `?` starting the
query and `#` the fragment, the host lower-cased (IDNA for non-ASCII) and IPv4 forms
normalised.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import unquote

from .values import JSTypeError

_SPECIAL_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443", "ftp": "21"}
_C0_SPACE = "".join(chr(c) for c in range(0x21))
_FORBIDDEN_HOST = set("\0\t\n\r #/:<>?@[\\]^|%")
_USERINFO_SET = set(' "#<>?`{}/:;=@[\\]^|')
_PATH_SET = set(' "#<>?`{}')
_QUERY_SET = set(" \"#<>'")
_FRAGMENT_SET = set(' "<>`')


class InvalidURL(JSTypeError):
    def __init__(self, url: str) -> None:
        super().__init__("Invalid URL")
        self.url = url


def _percent_encode(text: str, encode_set: set[str]) -> str:
    out = []
    for ch in text:
        cp = ord(ch)
        if cp < 0x20 or cp >= 0x7F or ch in encode_set:
            data = ch.encode("utf-8", "surrogatepass") if not 0xD800 <= cp <= 0xDFFF else b"\xef\xbf\xbd"
            out.append("".join(f"%{b:02X}" for b in data))
        else:
            out.append(ch)
    return "".join(out)


def _parse_ipv4_number(part: str) -> int | None:
    if not part:
        return None
    base = 10
    if len(part) >= 2 and part[:2] in ("0x", "0X"):
        part, base = part[2:], 16
    elif len(part) >= 2 and part[0] == "0":
        part, base = part[1:], 8
    if part == "":
        return 0
    digits = {10: "0123456789", 16: "0123456789abcdefABCDEF", 8: "01234567"}[base]
    if any(c not in digits for c in part):
        return None
    return int(part, base)


def _ends_in_number(host: str) -> bool:
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    last = parts[-1]
    if last and all(c in "0123456789" for c in last):
        return True
    return _parse_ipv4_number(last) is not None and last[:2] in ("0x", "0X")


def _parse_ipv4(host: str, url: str) -> str:
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    if len(parts) > 4:
        raise InvalidURL(url)
    numbers = [_parse_ipv4_number(p) for p in parts]
    if any(n is None for n in numbers):
        raise InvalidURL(url)
    values = [n for n in numbers if n is not None]
    if any(n > 255 for n in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        raise InvalidURL(url)
    address = values[-1] + sum(n * 256 ** (3 - i) for i, n in enumerate(values[:-1]))
    return ".".join(str((address >> shift) & 0xFF) for shift in (24, 16, 8, 0))


def _parse_ipv6(text: str, url: str) -> str:
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        raise InvalidURL(url) from None
    # WHATWG compresses the first longest run of two or more zero pieces.
    pieces = [int(address.exploded.split(":")[i], 16) for i in range(8)]
    best_start, best_len, i = -1, 1, 0
    while i < 8:
        if pieces[i] == 0:
            j = i
            while j < 8 and pieces[j] == 0:
                j += 1
            if j - i > best_len:
                best_start, best_len = i, j - i
            i = j
        else:
            i += 1
    out = ""
    i = 0
    while i < 8:
        if i == best_start:
            out += "::" if i == 0 else ":"
            i += best_len
            continue
        out += f"{pieces[i]:x}" + (":" if i < 7 else "")
        i += 1
    return "[" + out + "]"


def _parse_host(raw: str, url: str) -> str:
    if raw.startswith("["):
        if not raw.endswith("]"):
            raise InvalidURL(url)
        return _parse_ipv6(raw[1:-1], url)
    domain = unquote(raw, errors="strict") if "%" in raw else raw
    try:
        if not domain.isascii():
            domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidURL(url) from None
    domain = domain.lower()
    for label in domain.split("."):
        if label.startswith("xn--"):
            try:
                label[4:].encode("ascii").decode("punycode")
            except UnicodeError:
                raise InvalidURL(url) from None
    if not domain or any(c in _FORBIDDEN_HOST or ord(c) < 0x20 or ord(c) == 0x7F for c in domain):
        raise InvalidURL(url)
    if _ends_in_number(domain):
        return _parse_ipv4(domain, url)
    return domain


def _is_single_dot(segment: str) -> bool:
    return segment == "." or segment.lower() == "%2e"


def _is_double_dot(segment: str) -> bool:
    return segment.lower() in ("..", ".%2e", "%2e.", "%2e%2e")


def _normalise_path(path: str) -> str:
    segments = path.split("/")[1:] if path.startswith("/") else path.split("/")
    out: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if _is_double_dot(segment):
            if out:
                out.pop()
            if last:
                out.append("")
        elif _is_single_dot(segment):
            if last:
                out.append("")
        else:
            out.append(_percent_encode(segment, _PATH_SET))
    return "/" + "/".join(out)


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+\-.]*):")
# URLs that are already what the parser would produce: a lower-case ASCII host of letters, digits
# and hyphens (its last label starting with a letter, so never an IPv4 form; no punycode to check),
# no port, no query or fragment, and a path of characters the parser leaves alone, with no dot
# segment. Every request a plugin makes to a fixed host with ids in its path looks like this.
_CANONICAL = re.compile(
    r"https?://(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)*[a-z](?:[a-z0-9-]*[a-z0-9])?(?:/[A-Za-z0-9\-._~!$&'()*+,;=:@%]*)+"
)
_DOT_SEGMENT = re.compile(r"/(?:\.|%2[eE]){1,2}(?=/|$)")


def href(url: str) -> str:
    """`new URL(url).href` for an absolute http(s) URL; InvalidURL (a TypeError) otherwise."""
    if _CANONICAL.fullmatch(url) and "xn--" not in url and not _DOT_SEGMENT.search(url):
        return url
    return _parse_href(url)


def _parse_href(url: str) -> str:
    text = url.strip(_C0_SPACE)
    text = text.replace("\t", "").replace("\n", "").replace("\r", "")
    match = _SCHEME.match(text)
    if not match or match.group(1).lower() not in _SPECIAL_PORTS or match.group(1).lower() == "ftp":
        raise InvalidURL(url)
    scheme = match.group(1).lower()
    rest = text[match.end():].replace("\\", "/")
    rest = rest.lstrip("/")
    end = len(rest)
    for stop in "/?#":
        position = rest.find(stop)
        if position != -1:
            end = min(end, position)
    authority, remainder = rest[:end], rest[end:]
    userinfo = ""
    if "@" in authority:
        credentials, _, authority = authority.rpartition("@")
        user, _, password = credentials.partition(":")
        userinfo = _percent_encode(user, _USERINFO_SET)
        if password:
            userinfo += ":" + _percent_encode(password, _USERINFO_SET)
        if userinfo:
            userinfo += "@"
    host, port = authority, ""
    if not authority.startswith("[") or "]:" in authority:
        head, sep, tail = authority.rpartition(":")
        if sep and (not authority.startswith("[") or head.endswith("]")):
            host, port = head, tail
    if port:
        if not port.isdigit() or not port.isascii() or int(port) > 65535:
            raise InvalidURL(url)
        port = str(int(port))
        if port == _SPECIAL_PORTS[scheme]:
            port = ""
    serialized_host = _parse_host(host, url)
    fragment = None
    if "#" in remainder:
        remainder, fragment = remainder.split("#", 1)
    query = None
    if "?" in remainder:
        remainder, query = remainder.split("?", 1)
    result = f"{scheme}://{userinfo}{serialized_host}{':' + port if port else ''}{_normalise_path(remainder)}"
    if query is not None:
        result += "?" + _percent_encode(query, _QUERY_SET)
    if fragment is not None:
        result += "#" + _percent_encode(fragment, _FRAGMENT_SET)
    return result
