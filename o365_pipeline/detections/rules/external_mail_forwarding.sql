-- name: external_mail_forwarding
-- severity: high
-- description: An inbox rule (New-InboxRule or Set-InboxRule with ForwardTo, RedirectTo or
--   ForwardAsAttachmentTo) or mailbox forwarding (Set-Mailbox with ForwardingSmtpAddress)
--   that sends mail to an address outside the tenant's own domains, a common step after a
--   mailbox is taken over. One finding per cmdlet run. The tenant's own domains are read
--   from its data (its users' UserId domains and Exchange's OrganizationName, over the week
--   before the day).
-- signal: Microsoft Defender for Office 365 alerts "Suspicious email forwarding activity" and
--   "Creation of forwarding/redirect rule"; Exchange admin audit records (RecordType 1,
--   Parameters) in the Office 365 Management Activity API schema.
WITH own_domains AS (
    SELECT DISTINCT lower(split_part(UserId, '@', 2)) AS domain
    FROM audit
    WHERE tenant = $tenant AND UserType = 0 AND UserId LIKE '%@%'
        AND CreationTime >= $day_start - INTERVAL 7 DAY AND CreationTime < $day_end
    UNION
    SELECT DISTINCT lower(json_extract_string(raw_json, '$.OrganizationName'))
    FROM audit
    WHERE tenant = $tenant AND Workload = 'Exchange'
        AND CreationTime >= $day_start - INTERVAL 7 DAY AND CreationTime < $day_end
),
parameters AS (
    SELECT Id, CreationTime, UserId, client_address, Operation,
        unnest(json_extract(raw_json, '$.Parameters[*]')) AS parameter
    FROM audit
    WHERE tenant = $tenant AND CreationTime >= $day_start AND CreationTime < $day_end
        AND Operation IN ('New-InboxRule', 'Set-InboxRule', 'Set-Mailbox')
),
recipients AS (
    SELECT Id, CreationTime, UserId, client_address, Operation,
        json_extract_string(parameter, '$.Name') AS parameter_name,
        unnest(string_split(json_extract_string(parameter, '$.Value'), ';')) AS recipient
    FROM parameters
    WHERE json_extract_string(parameter, '$.Name') IN
        ('ForwardTo', 'RedirectTo', 'ForwardAsAttachmentTo', 'ForwardingSmtpAddress')
),
outside AS (
    SELECT *, lower(regexp_replace(trim(recipient), '^smtp:', '', 'i')) AS address
    FROM recipients
)
SELECT
    CreationTime AS first_seen,
    CreationTime AS last_seen,
    UserId AS user,
    client_address AS ip,
    [Id] AS evidence_ids,
    format('{} {} sends mail outside the organization to {}', Operation,
        string_agg(DISTINCT parameter_name, '/'), string_agg(DISTINCT address, ', ')) AS summary
FROM outside
WHERE address LIKE '%_@_%'
    AND split_part(address, '@', 2) NOT IN (SELECT domain FROM own_domains WHERE domain <> '')
GROUP BY Id, CreationTime, UserId, client_address, Operation
