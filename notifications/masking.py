"""Masking of personal data (phones, emails, bank accounts) and of secrets in URLs and errors.

The full phone numbers and emails live only in `restricted.contacts`; everything this package
writes elsewhere (ledger, outbox, error text) goes through these functions first. Marts use the
same functions so a masked value looks the same everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

import duckdb

_SECRET_KEYS = re.compile(
    r"pass|secret|token|api_?key|access_?key|auth|signature|^[:+-]?sig$|credential", re.I
)
_USERINFO_PASSWORD = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@/\s]+@", re.I
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)")
_LANDLINE = re.compile(r"(?<![\d-])0\d{2,3}-?\d{7,8}(?![\d-])")
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_LONG_DIGITS = re.compile(r"(?<![\d.])\d{12,}(?![\d.])")  # bank accounts and the like


def mask_phone(phone: str | None) -> str | None:
    """`13812345678` -> `138****5678`: keep the first 3 and last 4 characters.

    Numbers shorter than 8 characters keep only their last 2 characters (`****78`).
    """
    if phone is None:
        return None
    digits = re.sub(r"[\s-]", "", str(phone))
    if len(digits) >= 8:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    if len(digits) > 2:
        return "*" * (len(digits) - 2) + digits[-2:]
    return "*" * len(digits)


def mask_email(email: str | None) -> str | None:
    """`zhangsan@example.com` -> `z***@example.com`: first character and domain kept.

    The mask has a fixed width so it does not leak the length of the local part.
    """
    if email is None:
        return None
    text = str(email).strip()
    local, sep, domain = text.partition("@")
    if not sep:
        return "***" if text else text
    return f"{local[:1]}***@{domain}"


def mask_account(account: str | None) -> str | None:
    """Bank/customer account: every character but the last 4 replaced by `*` (spaces dropped)."""
    if account is None:
        return None
    text = re.sub(r"\s", "", str(account))
    if len(text) <= 4:
        return text
    return "*" * (len(text) - 4) + text[-4:]


def mask_recipient(address: str | None) -> str | None:
    """Mask an address whose kind is unknown: emails as emails, phone-like strings as phones."""
    if address is None:
        return None
    if "@" in address:
        return mask_email(address)
    if re.fullmatch(r"\+?[\d\s-]{5,}", address):
        return mask_phone(address)
    return address


def mask_url(url: str) -> str:
    """Hide the password and secret-looking query values of a URL (`user:****@`, `token=****`)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, has_password, _ = userinfo.partition(":")
        netloc = f"{user}:****@{hostport}" if has_password else f"{userinfo}@{hostport}"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = "&".join(
        f"{quote(k, safe=':+-')}={'****' if _SECRET_KEYS.search(k) else quote(v, safe='@')}"
        for k, v in pairs
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def scrub(text: str | None) -> str | None:
    """Remove secrets and personal data from free text (errors) before it is stored or logged."""
    if text is None:
        return None
    text = _USERINFO_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:****@", text)
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)) or "", text)
    return _MOBILE.sub(lambda m: mask_phone(m.group(0)) or "", text)


def mask_name(name: str | None) -> str | None:
    """`李雷` -> `李**`, `Li Lei` -> `L**`: the first character and a fixed-width mask."""
    if name is None:
        return None
    text = str(name).strip()
    return f"{text[:1]}**" if text else text


def scrub_person(text: str | None) -> str | None:
    """Mask a field that names a person (`requested_by`): every word is personal data.

    E-mails and phone-like words are masked as such, any other word as a name:
    `李雷 13912345678 li@example.cn` -> `李** 139****5678 l***@example.cn`.
    """
    if text is None:
        return None
    words = []
    for word in str(text).split():
        if "@" in word:
            words.append(mask_email(word) or "")
        elif re.fullmatch(r"\+?[\d()-]{5,}", word):
            words.append(mask_phone(word) or "")
        else:
            words.append(mask_name(word) or "")
    return " ".join(words)


class NameSet:
    """Names to mask in free text, prepared once for many texts (`scrub_text(text, names)`).

    Only the names that occur in a text are replaced, longest first, as a plain loop over every
    name would do, found by looking up each of the text's substrings of a name's length: the
    cost grows with the text, not with the thousands of names on file.
    """

    def __init__(self, names: Iterable[str] = ()) -> None:
        self.names = frozenset(n.strip() for n in names if n and len(n.strip()) > 1)
        self.lengths = sorted({len(n) for n in self.names}, reverse=True)

    def mask(self, text: str) -> str:
        """`text` with every name of the set in it masked (`mask_name`)."""
        found = {
            text[i:i + length]
            for length in self.lengths
            for i in range(len(text) - length + 1)
            if text[i:i + length] in self.names
        }
        for name in sorted(found, key=len, reverse=True):
            text = text.replace(name, mask_name(name) or "")
        return text


def scrub_text(text: str | None, names: Iterable[str] | NameSet = ()) -> str | None:
    """Free text (a reason, a note, a reply) with its personal data masked.

    Secrets in URLs, e-mails, mobile and landline numbers, ID-card numbers and any other run
    of 12+ digits (account numbers) are masked; so is every name in `names` (people the text
    may mention, e.g. the customer's contacts), wherever it appears. Many texts against the same
    names: pass a `NameSet` made once.
    """
    if text is None:
        return None
    text = scrub(str(text)) or ""
    text = _ID_NUMBER.sub(lambda m: mask_account(m.group(0)) or "", text)
    text = _LANDLINE.sub(lambda m: mask_phone(m.group(0)) or "", text)
    text = _LONG_DIGITS.sub(lambda m: mask_account(m.group(0)) or "", text)
    return (names if isinstance(names, NameSet) else NameSet(names)).mask(text)


def register_masking_functions(con: duckdb.DuckDBPyConnection) -> None:
    """Register `mask_phone`, `mask_email` and `mask_account` as DuckDB scalar functions."""
    for func in (mask_phone, mask_email, mask_account):
        con.create_function(func.__name__, func, ["VARCHAR"], "VARCHAR", null_handling="special")
