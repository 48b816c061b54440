"""`ClientIP` as one address and a port, in SQL, whatever form the workload wrote.

Workloads write `203.0.113.77`, `203.0.113.77:3297`, `[2001:db8::1]:443` or `2001:db8::1`
("Office 365 Management Activity API schema", common schema: `ClientIP` is IPv4 or IPv6; the
port and bracket forms are what live tenants send). Grouping by the raw text would split one
client in two, so the views group by the address alone and keep the port beside it. A bare
IPv6 address has colons but no port. The original text stays in `ClientIP` (and `raw_json`).
"""

from __future__ import annotations


def client_address_sql(column: str) -> str:
    """The address alone: brackets and a trailing IPv4 port removed, '' as NULL."""
    return (
        f"CASE WHEN {column} LIKE '[%]%' THEN regexp_extract({column}, '^\\[([^\\]]*)\\]', 1) "
        f"WHEN regexp_matches({column}, '^[0-9.]+:[0-9]+$') THEN split_part({column}, ':', 1) "
        f"ELSE nullif(trim({column}), '') END"
    )


def client_port_sql(column: str) -> str:
    """The port when the text carries one (`a.b.c.d:port`, `[v6]:port`), else NULL."""
    return (
        f"TRY_CAST(nullif(regexp_extract({column}, "
        "'^(?:\\[[^\\]]*\\]|[0-9.]+):([0-9]+)$', 1), '') AS INTEGER)"
    )
