-- name: failed_sign_ins_then_success
-- severity: high
-- description: A burst of at least 6 failed sign-ins for one account (each within 10 minutes
--   of the previous one), followed by a successful sign-in within 30 minutes of the last
--   failure: a password that was guessed or sprayed until it worked. The finding belongs to
--   the day of the first success; evidence is the burst's failures and the successes after it.
-- signal: Entra ID Protection risk detections "Password spray" and "Unfamiliar sign-in
--   properties", and smart lockout (which locks after 10 failures by default); the records are
--   UserLoginFailed / UserLoggedIn (RecordType 15, "Azure Active Directory STS logon schema").
WITH sign_ins AS (
    SELECT Id, CreationTime, UserId, client_address, Operation
    FROM audit
    WHERE tenant = $tenant AND Operation IN ('UserLoginFailed', 'UserLoggedIn')
        AND CreationTime >= $day_start - INTERVAL 2 HOUR AND CreationTime < $day_end
),
failures AS (
    SELECT *,
        CreationTime - lag(CreationTime) OVER (PARTITION BY UserId ORDER BY CreationTime, Id)
            AS gap
    FROM sign_ins
    WHERE Operation = 'UserLoginFailed'
),
numbered AS (
    SELECT *,
        sum(CASE WHEN gap IS NULL OR gap > INTERVAL 10 MINUTE THEN 1 ELSE 0 END)
            OVER (PARTITION BY UserId ORDER BY CreationTime, Id) AS burst
    FROM failures
),
bursts AS (
    SELECT UserId, burst, min(CreationTime) AS started, max(CreationTime) AS ended,
        count(*) AS failed, list(Id ORDER BY CreationTime, Id) AS failure_ids,
        list(DISTINCT client_address) AS failure_addresses
    FROM numbered
    GROUP BY UserId, burst
    HAVING count(*) >= 6
),
followed AS (
    SELECT b.UserId, b.burst,
        any_value(b.started) AS started,
        any_value(b.ended) AS ended,
        any_value(b.failed) AS failed,
        any_value(b.failure_ids) AS failure_ids,
        list(s.Id ORDER BY s.CreationTime, s.Id) AS success_ids,
        min(s.CreationTime) AS first_success,
        max(s.CreationTime) AS last_success,
        -- the address that got in: one the failures came from, else the first success's
        coalesce(
            arg_min(s.client_address, s.CreationTime)
                FILTER (WHERE list_contains(b.failure_addresses, s.client_address)),
            arg_min(s.client_address, s.CreationTime)) AS success_address
    FROM bursts b
    JOIN sign_ins s ON s.UserId = b.UserId AND s.Operation = 'UserLoggedIn'
        AND s.CreationTime > b.started AND s.CreationTime <= b.ended + INTERVAL 30 MINUTE
    GROUP BY b.UserId, b.burst
)
SELECT
    started AS first_seen,
    greatest(ended, last_success) AS last_seen,
    UserId AS user,
    success_address AS ip,
    failure_ids || success_ids AS evidence_ids,
    format('{} failed sign-ins in {} min, then a successful sign-in from {}', failed,
        CAST(round(epoch(ended - started) / 60) AS INTEGER), success_address) AS summary
FROM followed
WHERE first_success >= $day_start AND first_success < $day_end
