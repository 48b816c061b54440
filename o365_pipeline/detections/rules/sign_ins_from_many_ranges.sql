-- name: sign_ins_from_many_ranges
-- severity: medium
-- description: One account signing in successfully from at least 5 distinct address ranges
--   (IPv4 /16, IPv6 /32: different providers, usually different places) within one clock
--   hour: a shared or stolen credential or session used from several places at once. Without
--   a geolocation database the range stands in for the country.
-- signal: Entra ID Protection risk detections "Atypical travel" and "Impossible travel", and
--   Defender for Cloud Apps "Activity from infrequent country"; the records are UserLoggedIn
--   (RecordType 15) with ClientIP ("Azure Active Directory STS logon schema").
WITH sign_ins AS (
    SELECT Id, CreationTime, UserId, client_address,
        CASE
            WHEN client_address LIKE '%:%'
                THEN array_to_string(string_split(client_address, ':')[1:2], ':') || '::/32'
            ELSE regexp_extract(client_address, '^([0-9]+\.[0-9]+)\.', 1) || '.0.0/16'
        END AS address_range
    FROM audit
    WHERE tenant = $tenant AND Operation = 'UserLoggedIn'
        AND CreationTime >= $day_start AND CreationTime < $day_end
        AND client_address IS NOT NULL
)
SELECT
    min(CreationTime) AS first_seen,
    max(CreationTime) AS last_seen,
    UserId AS user,
    arg_max(client_address, CreationTime) AS ip,
    list(Id ORDER BY CreationTime, Id) AS evidence_ids,
    format('{} successful sign-ins from {} address ranges within an hour: {}', count(*),
        count(DISTINCT address_range),
        string_agg(DISTINCT address_range, ', ' ORDER BY address_range)) AS summary
FROM sign_ins
GROUP BY UserId, date_trunc('hour', CreationTime)
HAVING count(DISTINCT address_range) >= 5
