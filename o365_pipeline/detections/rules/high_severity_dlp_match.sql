-- name: high_severity_dlp_match
-- severity: high
-- description: A data loss prevention rule of High severity matched at least 10 instances of
--   sensitive information in one item (a message or a file): bulk sensitive data leaving or
--   exposed, not a single card number in a signature. The user is the sender or the file's
--   author (ExchangeMetaData.From / SharePointMetaData.From).
-- signal: Microsoft Purview DLP alerts (rule severity High, alert on volume of matched
--   instances); the records are DlpRuleMatch / DLPRuleMatch in DLP.All (RecordType 11 and 13,
--   PolicyDetails.Rules.Severity and ConditionsMatched.SensitiveInformation.Count in the
--   "Data Loss Prevention schema").
WITH matches AS (
    SELECT Id, CreationTime, UserId, client_address,
        coalesce(json_extract_string(raw_json, '$.ExchangeMetaData.From'),
            json_extract_string(raw_json, '$.SharePointMetaData.From'), UserId) AS author,
        json_extract_string(raw_json, '$.ObjectId') AS item,
        list_filter(json_extract(raw_json, '$.PolicyDetails[*].Rules[*]'),
            lambda r: json_extract_string(r, '$.Severity') = 'High'
                AND coalesce(list_sum(CAST(json_extract(r,
                    '$.ConditionsMatched.SensitiveInformation[*].Count') AS INTEGER[])), 0) >= 10)
            AS high_rules
    FROM audit
    WHERE tenant = $tenant AND content_type = 'DLP.All' AND lower(Operation) = 'dlprulematch'
        AND CreationTime >= $day_start AND CreationTime < $day_end
)
SELECT
    CreationTime AS first_seen,
    CreationTime AS last_seen,
    author AS user,
    client_address AS ip,
    [Id] AS evidence_ids,
    format('High-severity DLP rule {} matched {} sensitive items in {}',
        json_extract_string(high_rules[1], '$.RuleName'),
        list_sum(CAST(json_extract(high_rules[1],
            '$.ConditionsMatched.SensitiveInformation[*].Count') AS INTEGER[])),
        item) AS summary
FROM matches
WHERE len(high_rules) > 0
