-- name: mass_file_download_or_deletion
-- severity: medium
-- description: One account downloading, or deleting, at least 10 distinct files (ObjectId)
--   of SharePoint or OneDrive within one clock hour: data being taken before the account
--   leaves or is locked, or destroyed. Downloads and deletions are counted apart.
-- signal: Defender for Cloud Apps anomaly policies "Unusual file download" and "Unusual file
--   deletion activities" (mass download by a single user); the records are FileDownloaded,
--   FileSyncDownloadedFull, FileDeleted, FileRecycled (RecordType 6, "SharePoint file
--   operations" in the Office 365 Management Activity API schema).
WITH file_operations AS (
    SELECT Id, CreationTime, UserId, client_address, ObjectId,
        CASE WHEN Operation IN ('FileDownloaded', 'FileSyncDownloadedFull') THEN 'downloaded'
            ELSE 'deleted' END AS action
    FROM audit
    WHERE tenant = $tenant
        AND Operation IN ('FileDownloaded', 'FileSyncDownloadedFull', 'FileDeleted',
            'FileRecycled', 'FileDeletedFirstStageRecycleBin')
        AND CreationTime >= $day_start AND CreationTime < $day_end
)
SELECT
    min(CreationTime) AS first_seen,
    max(CreationTime) AS last_seen,
    UserId AS user,
    mode(client_address) AS ip,
    list(Id ORDER BY CreationTime, Id) AS evidence_ids,
    format('{} {} distinct files in {} min', UserId || ' ' || action, count(DISTINCT ObjectId),
        CAST(round(epoch(max(CreationTime) - min(CreationTime)) / 60) AS INTEGER)) AS summary
FROM file_operations
GROUP BY UserId, action, date_trunc('hour', CreationTime)
HAVING count(DISTINCT ObjectId) >= 10
