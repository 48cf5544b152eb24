"""Login throttling: failed sign-ins are counted, and too many lock sign-in for a while.

Three counters, each over a window of LOGIN_LOCKOUT_MINUTES from its first failure:

- one account from one address: LOGIN_FAILURE_LIMIT failures (password guessing);
- one account from anywhere: 4× the limit (guessing spread over many addresses);
- one address, any account: 10× the limit (one password tried against many accounts).

Keying the first on the address too means someone elsewhere cannot lock a rep out of
their own account just by failing five times. While a counter is over its limit, no
password is checked at all, so guessing stops. Counts live in the shared cache (Redis
when several app servers run), so every server sees the same counts.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

ACCOUNT_FROM_ANYWHERE = 4
ADDRESS = 10


@dataclass(frozen=True)
class Lock:
    seconds: int
    reason: str

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.seconds / 60))

    @property
    def message(self) -> str:
        """What the sign-in page says while locked: /login/ and the admin's alike."""
        unit = "minute" if self.minutes == 1 else "minutes"
        return (
            f"Too many failed sign-ins {self.reason}. Try again in {self.minutes} {unit}, "
            "or ask an administrator to reset your password."
        )


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return f"stagecoach:login-failures:{kind}:{digest}"


def _counters(username: str, ip: str | None) -> list[tuple[str, int, str]]:
    limit: int = settings.LOGIN_FAILURE_LIMIT
    name = username.strip().lower()
    counters = [
        (_key("account", name), limit * ACCOUNT_FROM_ANYWHERE, "for this account"),
    ]
    if ip:
        counters.insert(0, (_key("account-address", f"{name}|{ip}"), limit, "for this account"))
        counters.append((_key("address", ip), limit * ADDRESS, "from your network address"))
    return counters


def locked(username: str, ip: str | None) -> Lock | None:
    """The lock in force for this sign-in, if any."""
    now = time.time()
    for key, limit, reason in _counters(username, ip):
        entry = cache.get(key)
        if entry and entry["n"] >= limit and entry["until"] > now:
            return Lock(seconds=int(entry["until"] - now), reason=reason)
    return None


def failed(username: str, ip: str | None) -> Lock | None:
    """Count a failed sign-in; the lock it causes, if it is the one over the limit."""
    now = time.time()
    window = settings.LOGIN_LOCKOUT_MINUTES * 60
    for key, _limit, _reason in _counters(username, ip):
        entry = cache.get(key)
        if not entry or entry["until"] <= now:
            entry = {"n": 0, "until": now + window}
        entry["n"] += 1
        cache.set(key, entry, timeout=max(1, math.ceil(entry["until"] - now)))
    return locked(username, ip)


def succeeded(username: str, ip: str | None) -> None:
    """A right password clears this account's counts from this address."""
    if ip:
        cache.delete(_key("account-address", f"{username.strip().lower()}|{ip}"))
