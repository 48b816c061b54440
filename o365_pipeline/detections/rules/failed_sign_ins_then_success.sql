-- name: failed_sign_ins_then_success
-- severity: high
-- description: A dense burst of failed sign-ins for one account, at least 6 within any 15
--   minutes, followed by a successful sign-in within 30 minutes of the burst's last failure: a
--   password guessed or sprayed until it worked. Dense, because a busy account's occasional
--   failures over a day are no attack: the failures that count are those inside a 15-minute
--   span holding 6 or more of them (overlapping spans make one burst). The finding belongs to
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
        count(*) OVER (PARTITION BY UserId ORDER BY CreationTime
            RANGE BETWEEN INTERVAL 15 MINUTE PRECEDING AND CURRENT ROW) AS within_span
    FROM sign_ins
    WHERE Operation = 'UserLoginFailed'
),
dense_ends AS (
    -- failures closing a 15-minute span of 6 or more; spans that overlap are one burst, whose
    -- failures are those from 15 minutes before its first such end up to its last
    SELECT UserId, CreationTime,
        CreationTime - lag(CreationTime) OVER (PARTITION BY UserId ORDER BY CreationTime)
            AS since_previous_end
    FROM failures
    WHERE within_span >= 6
),
spans AS (
    SELECT UserId, CreationTime,
        sum(CASE WHEN since_previous_end IS NULL OR since_previous_end > INTERVAL 15 MINUTE
            THEN 1 ELSE 0 END) OVER (PARTITION BY UserId ORDER BY CreationTime) AS burst
    FROM dense_ends
),
bursts AS (
    SELECT f.UserId, s.burst, min(f.CreationTime) AS started, max(f.CreationTime) AS ended,
        count(*) AS failed, list(f.Id ORDER BY f.CreationTime, f.Id) AS failure_ids,
        list(DISTINCT f.client_address) AS failure_addresses
    FROM (
        SELECT UserId, burst, min(CreationTime) - INTERVAL 15 MINUTE AS span_start,
            max(CreationTime) AS span_end
        FROM spans
        GROUP BY UserId, burst
    ) s
    JOIN failures f ON f.UserId = s.UserId
        AND f.CreationTime >= s.span_start AND f.CreationTime <= s.span_end
    GROUP BY f.UserId, s.burst
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
