-- name: consent_to_application
-- severity: medium
-- description: A user or an administrator granted an application access to the tenant's
--   data (delegated or application permissions). Illicit consent grants phish a user into
--   approving an attacker's app, which then reads mail and files without a password. One
--   finding per consent; the summary names the app, the scopes and whether it was an admin
--   consent for all users.
-- signal: Entra audit activity "Consent to application." (RecordType 8; ConsentContext.* and
--   ConsentAction.Permissions in ModifiedProperties), as in Microsoft's "Detect and remediate
--   illicit consent grants".
WITH consents AS (
    SELECT Id, CreationTime, UserId, client_address,
        json_extract(raw_json, '$.ModifiedProperties[*]') AS properties,
        json_extract_string(
            list_filter(json_extract(raw_json, '$.Target[*]'),
                lambda t: json_extract_string(t, '$.Type') = '1')[1],
            '$.ID') AS application
    FROM audit
    WHERE tenant = $tenant AND Operation = 'Consent to application.'
        AND CreationTime >= $day_start AND CreationTime < $day_end
),
described AS (
    SELECT *,
        json_extract_string(list_filter(properties,
            lambda p: json_extract_string(p, '$.Name') = 'ConsentContext.IsAdminConsent')[1],
            '$.NewValue') AS admin_consent,
        regexp_extract(json_extract_string(list_filter(properties,
            lambda p: json_extract_string(p, '$.Name') = 'ConsentAction.Permissions')[1],
            '$.NewValue'), 'Scope: ([^,\]]+)', 1) AS scopes
    FROM consents
)
SELECT
    CreationTime AS first_seen,
    CreationTime AS last_seen,
    UserId AS user,
    client_address AS ip,
    [Id] AS evidence_ids,
    format('{} consented to {} ({}){}', UserId, coalesce(application, 'an application'),
        coalesce(nullif(trim(scopes), ''), 'scopes not recorded'),
        CASE WHEN lower(admin_consent) = 'true' THEN ', admin consent for all users' ELSE '' END)
        AS summary
FROM described
