"""Data loss prevention view: `dlp_matches` (RecordType 11 SharePoint/OneDrive, 13 Exchange,
33 SharePoint classification), which land in DLP.All.

One row per record, as in `audit`. A record can match several policies, rules and sensitive
information types: the scalar columns describe the first match and the highest severity, and
`matches` lists every (policy, rule, sensitive type) for `UNNEST`. Field names follow the DLP
schema of "Office 365 Management Activity API schema" (PolicyDetails → Rules →
ConditionsMatched → SensitiveInformation). The matched values themselves
(`SensitiveInformationDetections`) are left out: they need ActivityFeed.ReadDlp, are the
sensitive data, and stay only in `raw_json`.
"""

from __future__ import annotations

from o365_pipeline.storage.workload_columns.audit import RAW_JSON, from_audit, record_columns
from o365_pipeline.storage.workload_columns.json_fields import boolean, json_list, structs, text
from o365_pipeline.storage.workload_columns.model import Column, Prepared, WorkloadView

_POLICIES = (
    '[{"PolicyId":"VARCHAR","PolicyName":"VARCHAR","Rules":[{"RuleId":"VARCHAR",'
    '"RuleName":"VARCHAR","Severity":"VARCHAR","Actions":["VARCHAR"],'
    '"ConditionsMatched":{"SensitiveInformation":[{"SensitiveType":"VARCHAR",'
    '"Count":"DOUBLE","Confidence":"DOUBLE","Location":"VARCHAR"}]}}]}]'
)
_MATCHES = (
    "flatten(list_transform(policies, lambda policy: flatten(list_transform("
    "coalesce(policy.Rules, []), lambda rule: list_transform("
    "coalesce(rule.ConditionsMatched.SensitiveInformation, []), lambda info: {"
    "'policy': policy.PolicyName, 'rule': rule.RuleName, 'severity': rule.Severity, "
    "'sensitive_type': info.SensitiveType, 'count': TRY_CAST(info.Count AS BIGINT), "
    "'confidence': TRY_CAST(info.Confidence AS INTEGER), 'location': info.Location})))))"
)
_SEVERITIES = (
    "flatten(list_transform(policies, lambda policy: list_transform("
    "coalesce(policy.Rules, []), lambda rule: lower(rule.Severity))))"
)
_HIGHEST = (
    f"CASE WHEN list_contains({_SEVERITIES}, 'high') THEN 'High' "
    f"WHEN list_contains({_SEVERITIES}, 'medium') THEN 'Medium' "
    f"WHEN list_contains({_SEVERITIES}, 'low') THEN 'Low' "
    f"ELSE list_filter({_SEVERITIES}, lambda severity: severity IS NOT NULL)[1] END"
)
_MATCH_TYPE = (
    "STRUCT(policy VARCHAR, rule VARCHAR, severity VARCHAR, sensitive_type VARCHAR, "
    "count BIGINT, confidence INTEGER, location VARCHAR)[]"
)


def _recipients() -> str:
    lists = [json_list(f"ExchangeMetaData.{field}") for field in ("To", "CC", "BCC")]
    addresses = f"list_concat({', '.join(lists)})"
    return (
        f"list_filter(list_transform({addresses}, lambda address: address->>'$'), "
        "lambda address: address IS NOT NULL AND address <> '')"
    )


DLP_MATCHES = WorkloadView(
    name="dlp_matches",
    content_type="DLP.All",
    record_types=(11, 13, 33),
    description=(
        "Data loss prevention matches (RecordType 11, 13, 33): the policy and rule that "
        "matched, the sensitive information type, how many and how confidently, in which "
        "workload and object, and who sent or owns it."
    ),
    prepared=(
        Prepared("policies", structs("PolicyDetails", _POLICIES)),
        Prepared("all_matches", _MATCHES),
    ),
    columns=(
        *record_columns(),
        Column("policy_name", "VARCHAR", "policies[1].PolicyName", "The (first) policy matched."),
        Column("policy_id", "VARCHAR", "policies[1].PolicyId", "Its id."),
        Column("rule_name", "VARCHAR", "policies[1].Rules[1].RuleName", "Its (first) rule."),
        Column("severity", "VARCHAR", _HIGHEST, "The highest severity of every rule matched."),
        Column(
            "sensitive_type",
            "VARCHAR",
            "all_matches[1].sensitive_type",
            "The first sensitive information type's GUID (names: Activity API "
            "`resources/dlpSensitiveTypes`).",
        ),
        Column(
            "sensitive_count",
            "BIGINT",
            "list_sum(list_transform(all_matches, lambda match: match.count))",
            "Instances found, summed over every match.",
        ),
        Column(
            "confidence",
            "INTEGER",
            "list_max(list_transform(all_matches, lambda match: match.confidence))",
            "The highest confidence (%) of any match.",
        ),
        Column("matches", _MATCH_TYPE, "all_matches", "Every (policy, rule, sensitive type)."),
        Column("match_total", "INTEGER", "len(all_matches)", "How many entries `matches` has."),
        from_audit("ObjectId", "What matched: the file URL or the message id."),
        Column(
            "file_name", "VARCHAR", text("SharePointMetaData.FileName"), "SharePoint: the file."
        ),
        Column(
            "site_url",
            "VARCHAR",
            text("SharePointMetaData.SiteCollectionUrl"),
            "SharePoint: the site collection.",
        ),
        Column("subject", "VARCHAR", text("ExchangeMetaData.Subject"), "Exchange: the subject."),
        Column(
            "sender",
            "VARCHAR",
            f"coalesce({text('ExchangeMetaData.From')}, {text('SharePointMetaData.From')})",
            "Who sent the message, or who last changed the file.",
        ),
        Column("recipients", "VARCHAR[]", _recipients(), "Exchange: To, CC and BCC."),
        Column("incident_id", "VARCHAR", text("IncidentId"), "The DLP incident."),
        Column(
            "detections_included",
            "BOOLEAN",
            boolean("SensitiveInfoDetectionIsIncluded"),
            "Whether `raw_json` holds the matched values (needs ActivityFeed.ReadDlp).",
        ),
        Column(
            "exception_info",
            "VARCHAR",
            text("ExceptionInfo"),
            "An override or false-positive report, as written (text or JSON).",
        ),
        RAW_JSON,
    ),
)
