/** Revocation of managed keys (issue 3 item 4). See service.ts. */
export { RevocationService, type RevocationClient, type RevocationDeps, type RevocationRetryQueue, type RevokeOutcome, type RevokeReport, type RevokeRequest } from './service.js';
export { RevocationRecords, setKeyStatus, vaultVersions, type RevocationRow, type Verification } from './records.js';
export { REVOKE_RETRY_CHANNEL, OutboxRevocationRetry, revokeRetryChannel, startRevocationRetry, type RetrySettings, type RevocationRetryRuntime } from './retry.js';
export { isEmptySelector, parseLabel, revokeMany, selectKeys, type KeySelector } from './select.js';
export { Announcer, logNotifier, NOTICE_KINDS, type AuditHook, type Notice, type NoticeKind, type Notifier } from './types.js';
