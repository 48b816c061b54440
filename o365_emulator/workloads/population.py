"""A tenant's small, fixed population: users, their usual addresses, devices and files.

Analyst queries ("a user's activity", "failed sign-ins by IP", "downloads by user") need the
same people and addresses to recur, so every builder draws from here. Everything is derived
from the tenant id, so two processes agree without sharing anything.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass
from functools import cached_property

USER_NAMES = (
    "megan.b", "alex.w", "diego.s", "isaiah.l", "joni.s", "lee.g",
    "lynne.r", "miriam.g", "nestor.w", "patti.f", "pradeep.g", "adele.v",
)  # fmt: skip
# Documentation ranges (RFC 5737 / RFC 3849): realistic shapes, never a real address.
HOME_IPV4 = (
    "198.51.100.23", "203.0.113.77", "192.0.2.41", "198.51.100.180",
    "203.0.113.9", "192.0.2.200", "198.51.100.61", "203.0.113.140",
)  # fmt: skip
HOME_IPV6 = ("2001:db8:4f::17", "2001:db8:12::a1", "2001:db8:77::3c")
# A handful of hostile addresses that account for most failed sign-ins (a password spray).
HOSTILE_IPV4 = ("192.0.2.250", "198.51.100.251", "203.0.113.252")
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/142.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.0 Safari/605.1.15",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.18025; Pro)",
    "OneDriveMpc-Transform_Thumbnail/1.0",
)
# A sign-in fails this often at everyday volumes (mistyped passwords, expired sessions, MFA
# prompts, and the slow spray from HOSTILE_IPV4), but a tenant-hour holds at most
# FAILED_SIGN_INS_PER_HOUR failures whatever the volume served: twelve users do not fail more
# often because the emulator serves more records. With the cap the busiest user fails 23-26
# times a day (70% of them the spray) and the quietest once or twice (measured at 400-2,000
# records an hour); without it, at 2,000, the busiest failed 946 times a day and 22 times
# within 15 minutes, which any detection rightly calls an attack. Up to 40 records an hour
# (the demo's and the tests' volumes) are below the cap: their content is unchanged.
SIGN_IN_FAILURE_CHANCE = 0.15
FAILED_SIGN_INS_PER_HOUR = 6
FILES = (
    ("Finance", "Q4 forecast.xlsx"),
    ("Finance", "Budget 2027.xlsx"),
    ("Sales", "Pipeline.pptx"),
    ("Sales", "Customer list.csv"),
    ("HR", "Salaries.xlsx"),
    ("Legal", "NDA template.docx"),
    ("Engineering", "Design.docx"),
    ("Engineering", "Release notes.pdf"),
)


def sign_in_failure_chance(sign_ins_per_hour: float) -> float:
    """The chance of one background sign-in failing when a tenant-hour holds this many."""
    if sign_ins_per_hour <= 0:
        return SIGN_IN_FAILURE_CHANCE
    return min(SIGN_IN_FAILURE_CHANCE, FAILED_SIGN_INS_PER_HOUR / sign_ins_per_hour)


def guid(rng: random.Random) -> str:
    """A random (seeded) GUID in the API's lowercase form."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass(frozen=True)
class Person:
    """One user, with the identifiers each workload writes for them."""

    upn: str
    object_id: str
    puid: str
    home_ip: str

    @property
    def alias(self) -> str:
        """The part before the `@`."""
        return self.upn.split("@")[0]


@dataclass(frozen=True)
class Population:
    """The users and addresses of one tenant, and how often their sign-ins fail
    (`sign_in_failure_chance`: the synthetic content lowers it as its volume grows, so that a
    user's failures stay a few an hour at most instead of growing with every record served).
    """

    tenant_id: str
    domain: str
    sign_in_failure_chance: float = SIGN_IN_FAILURE_CHANCE

    @cached_property
    def people(self) -> tuple[Person, ...]:
        """The tenant's users, the first ones much more active than the rest."""
        people = []
        for index, name in enumerate(USER_NAMES):
            digest = hashlib.sha256(f"{self.tenant_id}|{name}".encode()).digest()
            people.append(
                Person(
                    upn=f"{name}@{self.domain}",
                    object_id=str(uuid.UUID(bytes=digest[:16], version=4)),
                    puid=f"1003{digest[16:22].hex().upper()}",
                    home_ip=HOME_IPV4[index % len(HOME_IPV4)],
                )
            )
        return tuple(people)

    @property
    def sharepoint_host(self) -> str:
        """`https://{org}.sharepoint.com`."""
        return f"https://{self.domain.split('.')[0]}.sharepoint.com"

    def person(self, rng: random.Random) -> Person:
        """A user, weighted so a few users dominate (as in real tenants)."""
        weights = [len(USER_NAMES) - index for index in range(len(USER_NAMES))]
        return rng.choices(self.people, weights)[0]

    def user(self, rng: random.Random) -> str:
        """A user principal name of the tenant."""
        return self.person(rng).upn

    def client_ip(self, rng: random.Random, person: Person | None = None) -> str:
        """An address as the service writes it: mostly the user's own IPv4, sometimes IPv6,
        with a port, or bracketed IPv6 with a port (`ClientIP` in the Office 365 Management
        Activity API schema; the port forms are observed behaviour, not in the public reference).
        """
        ip = person.home_ip if person and rng.random() < 0.8 else rng.choice(HOME_IPV4)
        roll = rng.random()
        if roll < 0.08:
            return rng.choice(HOME_IPV6)
        if roll < 0.10:
            return f"[{rng.choice(HOME_IPV6)}]:{rng.randint(1024, 65535)}"
        if roll < 0.20:
            return f"{ip}:{rng.randint(1024, 65535)}"
        return ip
