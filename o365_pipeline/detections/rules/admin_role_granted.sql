-- name: admin_role_granted
-- severity: high
-- description: An account added to an administrator directory role (any role whose name
--   contains "Administrator": Global, Privileged Role, Exchange, Security, … and "Company
--   Administrator", Global Administrator's older name). The user is the account that got the
--   role; the summary names who granted it.
-- signal: Entra audit activity "Add member to role." (RecordType 8; the role in
--   ModifiedProperties Role.DisplayName), as Microsoft Sentinel's "User added to Microsoft
--   Entra privileged groups" and Defender XDR's role-assignment alerts use it.
WITH grants AS (
    SELECT Id, CreationTime, UserId, ObjectId, client_address,
        json_extract_string(
            list_filter(json_extract(raw_json, '$.ModifiedProperties[*]'),
                lambda p: json_extract_string(p, '$.Name') = 'Role.DisplayName')[1],
            '$.NewValue') AS role
    FROM audit
    WHERE tenant = $tenant AND Operation = 'Add member to role.'
        AND CreationTime >= $day_start AND CreationTime < $day_end
)
SELECT
    CreationTime AS first_seen,
    CreationTime AS last_seen,
    ObjectId AS user,
    client_address AS ip,
    [Id] AS evidence_ids,
    format('{} added {} to the {} role', UserId, ObjectId, role) AS summary
FROM grants
WHERE role ILIKE '%administrator%'
