// Generated from openapi/openapi.json by openapi-typescript (deno task openapi); do not edit.
// deno-fmt-ignore-file
// deno-lint-ignore-file
export interface paths {
    "/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Health check
         * @description No authentication. Answers 503 when the database does not answer, and while the process is shutting down (so a load balancer stops sending it requests).
         */
        get: operations["getHealth"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/environments": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List environments
         * @description Every environment the caller is a member of, with the caller's role in each, oldest first. The next page's URL is in the `Link: <…>; rel="next"` header.
         */
        get: operations["listEnvironments"];
        put?: never;
        /**
         * Register an environment
         * @description Registers an RDS MySQL instance. The caller becomes its first admin and its owner; names are unique per owner (409 when the caller already owns one of that name). Credentials are optional; without them the server-wide AWS credentials are used for CloudWatch, for instances the operator allowed (AWS_INSTANCE_ALLOWLIST, else 403), each bound to one such environment (else 409). 429 when the caller owns QUOTA_ENVIRONMENTS_PER_USER environments.
         */
        post: operations["createEnvironment"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/environments/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get an environment
         * @description Answers 404 when the caller is not a member. The `ETag` answers If-None-Match (304) and If-Match on PATCH and DELETE.
         */
        get: operations["getEnvironment"];
        put?: never;
        post?: never;
        /**
         * Delete an environment
         * @description Admins only. Deletes its memberships, captures and stored metrics too. With `If-Match`, 412 unless the environment still has that ETag.
         */
        delete: operations["deleteEnvironment"];
        options?: never;
        head?: never;
        /**
         * Change an environment
         * @description Admins only. `credentials: null` removes the environment's own credentials. With `If-Match`, 412 unless the environment still has that ETag. Names are unique per owner.
         */
        patch: operations["updateEnvironment"];
        trace?: never;
    };
    "/api/environments/{id}/members": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List an environment's members
         * @description Any member may read the member list: admins first, then by user id. The next page's URL is in the `Link: <…>; rel="next"` header.
         */
        get: operations["listMembers"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/environments/{id}/members/{userId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Add a member or change a role
         * @description Admins only. Demoting the last admin answers 409: an environment always keeps at least one admin.
         */
        put: operations["putMember"];
        post?: never;
        /**
         * Remove a member
         * @description Admins remove anyone; any member may remove themselves (leave). Removing the last admin answers 409.
         */
        delete: operations["deleteMember"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/captures": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get all captures
         * @description Captures of every environment you are a member of, newest first. The next page's URL is in the `Link: <…>; rel="next"` header.
         */
        get: operations["listCaptures"];
        put?: never;
        /**
         * Post a new capture
         * @description Starts a capture now, schedules one (`scheduledStart` in the future), or backfills a past window (`start` in the past; DONE at once when `start + duration` is past). Names are unique within an environment. 429 when the environment has QUOTA_CAPTURES_PER_ENVIRONMENT captures, or when its window (from now on; open-ended: to infinity) would overlap QUOTA_RUNNING_CAPTURES_PER_ENVIRONMENT other captures, scheduled ones included.
         */
        post: operations["createCapture"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/captures/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get a specific capture
         * @description Answers 404 when you are not a member of the capture's environment. The ETag changes whenever the capture does (including its status moving on with time); send it in If-None-Match for a 304, or in If-Match with a change.
         */
        get: operations["getCapture"];
        /**
         * Edit a capture
         * @description Rename any capture; move `scheduledStart` while SCHEDULED; change `duration` while SCHEDULED or RUNNING (the new end may not be in the past). The capture's owner or an environment admin only. 429 when the moved window would overlap QUOTA_RUNNING_CAPTURES_PER_ENVIRONMENT other captures.
         */
        put: operations["updateCapture"];
        post?: never;
        /**
         * Delete a capture
         * @description Deletes a capture in any status, with its stored metrics. The capture's owner or an environment admin only.
         */
        delete: operations["deleteCapture"];
        options?: never;
        head?: never;
        /**
         * Edit a capture (PATCH)
         * @description Rename any capture; move `scheduledStart` while SCHEDULED; change `duration` while SCHEDULED or RUNNING (the new end may not be in the past). The capture's owner or an environment admin only. 429 when the moved window would overlap QUOTA_RUNNING_CAPTURES_PER_ENVIRONMENT other captures.
         */
        patch: operations["patchCapture"];
        trace?: never;
    };
    "/api/captures/{id}/stop": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Stop a capture
         * @description Ends a RUNNING capture now. Other statuses answer 409 (cancel a SCHEDULED one with DELETE). The capture's owner or an environment admin only.
         */
        post: operations["stopCapture"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/captures/{id}/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get metrics for a capture
         * @description The CloudWatch data (namespace AWS/RDS) of the capture's window for its environment's DB instance, in one GetMetricData call, or from the snapshot stored after the capture ended. A SCHEDULED capture answers 409, as does an environment without AWS credentials. Upstream trouble: 502 (bad answer), 503 with Retry-After (throttled), 504 (timed out). Each user may make QUOTA_METRICS_REQUESTS_PER_MINUTE of these a minute (all instances together); RateLimit-Policy and RateLimit say where the caller stands, and past the limit 429 with Retry-After.
         */
        get: operations["getCaptureMetrics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/captures/{id}/load": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get database load for a capture
         * @description Performance Insights' db.load.avg (average active sessions) over the capture's window, in total and for the top `limit` waits, SQL digests, users or hosts, with each group's share; SQL digests carry per-call statistics. A capture that ended answers from the load stored then (`source: snapshot`, no AWS call). 409 when the capture has not started, Performance Insights is off for the instance or no longer has the window, or the instance is unknown to RDS. Upstream trouble: 502, 503 with Retry-After, 504. Counts against QUOTA_METRICS_REQUESTS_PER_MINUTE like the metrics (RateLimit headers; 429 with Retry-After past it).
         */
        get: operations["getCaptureLoad"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/captures/{id}/sql/{digestId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get the full text of a SQL digest's statement
         * @description One statement of the digest seen during the capture, in full (Performance Insights GetDimensionKeyDetails; the load answer cuts statements short). 404 when Performance Insights saw no statement of the digest in the window. Counts against QUOTA_METRICS_REQUESTS_PER_MINUTE like the metrics (RateLimit headers; 429 with Retry-After past it).
         */
        get: operations["getCaptureSqlText"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/captures/{id}/metrics.svg": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Chart of a capture's metrics
         * @description The series of `GET /api/captures/{id}/metrics` as an SVG image: one panel per series (small multiples) over the capture's window, times in UTC, each with its unit. Upstream trouble: 502 (bad answer), 503 with Retry-After (throttled), 504 (timed out). Counts against QUOTA_METRICS_REQUESTS_PER_MINUTE like the metrics (RateLimit headers; 429 with Retry-After past it).
         */
        get: operations["getCaptureMetricsChart"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/captures/{id}/compare": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Compare a capture with a baseline
         * @description The path's capture (candidate) against `with` (baseline), both on one relative axis (seconds from each capture's first period) at one period, over their common length. Per series: a summary (count, mean, min, max, p50, p95) of each side and the change of mean, p95 and max. You must be a member of both captures' environments; a capture you cannot see is 404 in either position. Served from snapshots without AWS when both have one; otherwise one GetMetricData call per capture. `include=load` adds the database load by SQL digest and wait (stored with the captures, else Performance Insights); without it no Performance Insights call is made. Upstream trouble: 502 (bad answer), 503 with Retry-After (throttled), 504 (timed out). Counts against QUOTA_METRICS_REQUESTS_PER_MINUTE like the metrics (RateLimit headers; 429 with Retry-After past it).
         */
        get: operations["compareCaptures"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/captures/{id}/compare.svg": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Chart of a capture compared with a baseline
         * @description The comparison of `GET /api/captures/{id}/compare` as an SVG image: one panel per series, baseline (solid) and candidate (dashed) overlaid on the time since each capture's start; `view=load` instead stacks each capture's average active sessions by its top waits (409 when either capture has no load, e.g. Performance Insights off; Performance Insights' faults answer 503 + Retry-After, 502 or 504); only `view=load` calls Performance Insights. Upstream trouble: 502 (bad answer), 503 with Retry-After (throttled), 504 (timed out). Counts against QUOTA_METRICS_REQUESTS_PER_MINUTE like the metrics (RateLimit headers; 429 with Retry-After past it).
         */
        get: operations["getComparisonChart"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/problems/{kind}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Explain a problem type
         * @description What a problem's `type` means and what to do about it, as plain text. No authentication.
         */
        get: operations["getProblemType"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        Health: {
            /**
             * @description `unavailable` when the database does not answer; `shutting_down` after SIGTERM
             * @example ok
             * @enum {string}
             */
            status: "ok" | "unavailable" | "shutting_down";
            /**
             * @example ok
             * @enum {string}
             */
            database: "ok" | "unreachable";
            /**
             * @description How many migrations the database has applied
             * @example 1
             */
            schemaVersion: number | null;
        };
        Environment: {
            /** @example 1 */
            id: number;
            /** @example production */
            name: string;
            /** @example us-east-1 */
            region: string;
            /** @example prod-mysql-1 */
            dbInstanceIdentifier: string;
            /** @example user-1 */
            ownerId: string;
            /**
             * @description The caller's role
             * @enum {string}
             */
            role: "admin" | "member";
            credentials: components["schemas"]["Credentials"];
            /**
             * @description The instance's DbiResourceId from RDS DescribeDBInstances; null until resolved
             * @example db-ABCDEFGHIJKLMNOPQRSTU1VW2X
             */
            dbiResourceId: string | null;
            /**
             * @description Null until the instance is resolved
             * @example {
             *       "enabled": true,
             *       "retentionDays": 7
             *     }
             */
            performanceInsights: {
                enabled: boolean;
                /**
                 * @description Days Performance Insights keeps data (7 is the free tier)
                 * @example 7
                 */
                retentionDays: number | null;
            } | null;
            resolution: components["schemas"]["InstanceResolution"];
            /**
             * Format: date-time
             * @example 2026-01-15T10:00:00.000Z
             */
            createdAt: string;
            /**
             * Format: date-time
             * @example 2026-01-15T10:00:00.000Z
             */
            updatedAt: string;
        };
        Credentials: {
            /**
             * @description Where CloudWatch credentials come from: this environment's own keys, its role (assumed with STS), the server-wide AWS_* keys, the server's web identity (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE), the container credential endpoint, or nowhere
             * @enum {string}
             */
            source: "environment" | "role" | "server" | "web-identity" | "container" | "none";
            /**
             * @description Masked
             * @example AKIA…MPLE
             */
            accessKeyId: string | null;
            /**
             * @description The role assumed, when source is role
             * @example arn:aws:iam::123456789012:role/capwatch-read
             */
            roleArn?: string;
            /**
             * @description The ExternalId sent when assuming the role (put it in the role's trust policy as the sts:ExternalId condition), when source is role; only for the environment's admins
             * @example capwatch-0f1e2d3c4b5a69788796a5b4c3d2e1f0
             */
            externalId?: string | null;
            /** @description True when capwatch generated externalId (the environment is then not limited by AWS_INSTANCE_ALLOWLIST); false when the caller chose it; only for admins */
            externalIdIssued?: boolean;
        };
        InstanceResolution: {
            /**
             * @description pending: not looked up yet or AWS failed (asked again when needed); resolved; not_found: RDS says no such instance
             * @enum {string}
             */
            status: "pending" | "resolved" | "not_found";
            /** @description Why it is not resolved, or a warning such as an instance being deleted; only for the environment's admins (AWS errors name the principal), null for members */
            reason: string | null;
        };
        /**
         * @example {
         *       "type": "/problems/validation",
         *       "title": "Invalid request",
         *       "status": 400,
         *       "detail": "Check name",
         *       "instance": "/api/captures",
         *       "requestId": "5f0c6e1e-3c1a-4a4b-9a51-3f1f0f5d2b7e",
         *       "errors": [
         *         {
         *           "path": "name",
         *           "message": "Too small: expected string to have >=1 characters"
         *         }
         *       ]
         *     }
         */
        Problem: {
            /**
             * @description What kind of problem this is; switch on it rather than on the text. A URI reference relative to this server (RFC 9457 §3.1.1): the same string on every deployment, and GET on it (resolved against the request's URL) answers a short explanation. One of: `/problems/validation` (400), `/problems/unauthenticated` (401), `/problems/forbidden` (403), `/problems/not-found` (404), `/problems/method-not-allowed` (405), `/problems/request-timeout` (408), `/problems/conflict` (409), `/problems/name-taken` (409), `/problems/invalid-state` (409), `/problems/idempotency-in-progress` (409), `/problems/precondition-failed` (412), `/problems/payload-too-large` (413), `/problems/unsupported-media-type` (415), `/problems/idempotency-key-reused` (422), `/problems/rate-limited` (429), `/problems/quota-exceeded` (429), `/problems/internal` (500), `/problems/upstream-failed` (502), `/problems/upstream-throttled` (503), `/problems/database-busy` (503), `/problems/unavailable` (503), `/problems/upstream-timeout` (504).
             * @example /problems/validation
             */
            type: string;
            /** @example Invalid request */
            title: string;
            /** @example 400 */
            status: number;
            /** @example Check name */
            detail: string;
            /** @example /api/captures */
            instance?: string;
            /**
             * @description Quote it when reporting a problem
             * @example 5f0c6e1e-3c1a-4a4b-9a51-3f1f0f5d2b7e
             */
            requestId?: string;
            /** @description One entry per offending field, at most 20; moreErrors counts the rest */
            errors?: {
                /** @example name */
                path: string;
                /** @example Too small: expected string to have >=1 characters */
                message: string;
            }[];
            /**
             * @description How many offending fields errors[] leaves out (present only when it does)
             * @example 89980
             */
            moreErrors?: number;
        };
        /**
         * @example {
         *       "name": "production",
         *       "region": "us-east-1",
         *       "dbInstanceIdentifier": "prod-mysql-1"
         *     }
         */
        CreateEnvironment: {
            /**
             * @description Stored in Unicode NFC without surrounding spaces; needs a visible character; no control, invisible (default-ignorable or format, such as U+200B), bidirectional-control or non-characters, and no lone surrogates. The pattern is partial: it refuses control characters and U+2028/U+2029 only (white space around the name is allowed and trimmed); the server checks the rest, so a name matching it may still be refused, never the other way round
             * @example production
             */
            name: string;
            /**
             * @description An AWS region of a known partition (aws, aws-cn, aws-us-gov, aws-iso*, aws-eusc); its endpoints use that partition's DNS suffix, e.g. cn-north-1 → amazonaws.com.cn
             * @example us-east-1
             */
            region: string;
            /**
             * @description Case-insensitive, as in RDS: stored and shown in lower case
             * @example prod-mysql-1
             */
            dbInstanceIdentifier: string;
            credentials?: components["schemas"]["CredentialsInput"];
            /**
             * @description An IAM role capwatch assumes with STS (using the server's AWS credentials) to read CloudWatch; replaces stored credentials
             * @example arn:aws:iam::123456789012:role/capwatch-read
             */
            roleArn?: string;
            /**
             * @description An ExternalId of your choosing for the role's trust policy; send with roleArn. Omit it and capwatch issues one (shown to admins): only an issued one exempts the environment from the operator's AWS_INSTANCE_ALLOWLIST, as the confused-deputy defence needs the service, not the caller, to pick it
             * @example capwatch-7f3a
             */
            externalId?: string;
        };
        /** @description AWS credentials for this environment; stored encrypted, never returned */
        CredentialsInput: {
            /** @example AKIAIOSFODNN7EXAMPLE */
            accessKeyId: string;
            /** @example wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY */
            secretAccessKey: string;
            /**
             * @description For temporary credentials only
             * @example IQoJb3JpZ2luX2VjEXAMPLE
             */
            sessionToken?: string;
        };
        /**
         * @example {
         *       "name": "production-eu",
         *       "region": "eu-west-1"
         *     }
         */
        UpdateEnvironment: {
            /**
             * @description Stored in Unicode NFC without surrounding spaces; needs a visible character; no control, invisible (default-ignorable or format, such as U+200B), bidirectional-control or non-characters, and no lone surrogates. The pattern is partial: it refuses control characters and U+2028/U+2029 only (white space around the name is allowed and trimmed); the server checks the rest, so a name matching it may still be refused, never the other way round
             * @example production
             */
            name?: string;
            /**
             * @description An AWS region of a known partition (aws, aws-cn, aws-us-gov, aws-iso*, aws-eusc); its endpoints use that partition's DNS suffix, e.g. cn-north-1 → amazonaws.com.cn
             * @example us-east-1
             */
            region?: string;
            /**
             * @description Case-insensitive, as in RDS: stored and shown in lower case
             * @example prod-mysql-1
             */
            dbInstanceIdentifier?: string;
            /** @description New credentials (a role set before is dropped), or null to remove them */
            credentials?: {
                /** @example AKIAIOSFODNN7EXAMPLE */
                accessKeyId: string;
                /** @example wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY */
                secretAccessKey: string;
                /**
                 * @description For temporary credentials only
                 * @example IQoJb3JpZ2luX2VjEXAMPLE
                 */
                sessionToken?: string;
            } | null;
            /**
             * @description A role to assume instead of stored credentials (which are dropped), or null to remove it and its externalId
             * @example arn:aws:iam::123456789012:role/capwatch-read
             */
            roleArn?: string | null;
            /**
             * @description An ExternalId of your choosing for the role's trust policy; send with roleArn. Omit it and capwatch issues one (shown to admins): only an issued one exempts the environment from the operator's AWS_INSTANCE_ALLOWLIST, as the confused-deputy defence needs the service, not the caller, to pick it
             * @example capwatch-7f3a
             */
            externalId?: string | null;
        };
        Member: {
            /** @example user-2 */
            userId: string;
            /** @enum {string} */
            role: "admin" | "member";
            /**
             * Format: date-time
             * @example 2026-01-15T10:00:00.000Z
             */
            createdAt: string;
        };
        PutMember: {
            /**
             * @example member
             * @enum {string}
             */
            role: "admin" | "member";
        };
        /**
         * @example {
         *       "id": 42,
         *       "envId": 1,
         *       "ownerId": "user-1",
         *       "name": "black-friday-peak",
         *       "status": "RUNNING",
         *       "scheduledStart": null,
         *       "scheduledEnd": "2026-01-15T11:00:00.000Z",
         *       "start": "2026-01-15T10:00:00.000Z",
         *       "end": null,
         *       "duration": 3600,
         *       "reason": null,
         *       "createdAt": "2026-01-15T10:00:00.000Z",
         *       "updatedAt": "2026-01-15T10:00:00.000Z"
         *     }
         */
        Capture: {
            /** @example 42 */
            id: number;
            /** @example 1 */
            envId: number;
            /** @example user-1 */
            ownerId: string;
            /** @example black-friday-peak */
            name: string;
            status: components["schemas"]["CaptureStatus"];
            /**
             * Format: date-time
             * @description When a scheduled capture starts
             * @example 2026-01-15T10:00:00.000Z
             */
            scheduledStart: string | null;
            /**
             * Format: date-time
             * @description When the capture is planned to end (start + duration), or null if open-ended
             * @example 2026-01-15T10:00:00.000Z
             */
            scheduledEnd: string | null;
            /**
             * Format: date-time
             * @description When it started; null while SCHEDULED
             * @example 2026-01-15T10:00:00.000Z
             */
            start: string | null;
            /**
             * Format: date-time
             * @description When it ended; null until DONE
             * @example 2026-01-15T10:00:00.000Z
             */
            end: string | null;
            /**
             * @description Seconds: the planned length, or the actual length once DONE; null if open-ended
             * @example 3600
             */
            duration: number | null;
            /**
             * @description Why it failed, or null
             * @example null
             */
            reason: string | null;
            /**
             * Format: date-time
             * @example 2026-01-15T10:00:00.000Z
             */
            createdAt: string;
            /**
             * Format: date-time
             * @example 2026-01-15T10:00:00.000Z
             */
            updatedAt: string;
        };
        /**
         * @description SCHEDULED → RUNNING → DONE; FAILED carries a reason
         * @enum {string}
         */
        CaptureStatus: "SCHEDULED" | "RUNNING" | "DONE" | "FAILED";
        /**
         * @example {
         *       "name": "black-friday-peak",
         *       "envId": 1,
         *       "duration": 3600
         *     }
         */
        CreateCapture: {
            /**
             * @description Stored in Unicode NFC without surrounding spaces; needs a visible character; no control, invisible (default-ignorable or format, such as U+200B), bidirectional-control or non-characters, and no lone surrogates. The pattern is partial: it refuses control characters and U+2028/U+2029 only (white space around the name is allowed and trimmed); the server checks the rest, so a name matching it may still be refused, never the other way round
             * @example black-friday-peak
             */
            name: string;
            /** @example 1 */
            envId: number;
            /**
             * @description SCHEDULED needs scheduledStart; RUNNING, STARTED and STARTING (the old API's values) start now
             * @enum {string}
             */
            status?: "SCHEDULED" | "RUNNING" | "STARTED" | "STARTING";
            /**
             * Format: date-time
             * @description A past instant backfills a window; the future is refused (use scheduledStart)
             * @example 2026-01-15T10:00:00Z
             */
            start?: string;
            /**
             * Format: date-time
             * @description A future instant: the capture is SCHEDULED until then
             * @example 2026-01-15T10:00:00Z
             */
            scheduledStart?: string;
            /**
             * @description Whole seconds, 60 (one minute) to 2,592,000 (30 days)
             * @example 3600
             */
            duration?: number;
        };
        /**
         * @example {
         *       "name": "black-friday-peak-2",
         *       "duration": 7200
         *     }
         */
        UpdateCapture: {
            /**
             * @description Stored in Unicode NFC without surrounding spaces; needs a visible character; no control, invisible (default-ignorable or format, such as U+200B), bidirectional-control or non-characters, and no lone surrogates. The pattern is partial: it refuses control characters and U+2028/U+2029 only (white space around the name is allowed and trimmed); the server checks the rest, so a name matching it may still be refused, never the other way round
             * @example black-friday-peak-2
             */
            name?: string;
            /**
             * Format: date-time
             * @description Only while SCHEDULED
             * @example 2026-01-15T10:00:00Z
             */
            scheduledStart?: string;
            /**
             * @description While SCHEDULED or RUNNING; the new end may not be in the past
             * @example 3600
             */
            duration?: number;
        };
        /**
         * @example {
         *       "captureId": 42,
         *       "start": "2026-01-15T10:00:00.000Z",
         *       "end": "2026-01-15T10:02:00.000Z",
         *       "period": 60,
         *       "stat": "Average",
         *       "source": "cloudwatch",
         *       "complete": true,
         *       "series": [
         *         {
         *           "type": "CPUUtilization",
         *           "label": "CPU utilization",
         *           "unit": "Percent",
         *           "complete": true,
         *           "datapoints": [
         *             {
         *               "timestamp": "2026-01-15T10:00:00.000Z",
         *               "value": 12.5
         *             },
         *             {
         *               "timestamp": "2026-01-15T10:01:00.000Z",
         *               "value": 14.25
         *             }
         *           ]
         *         }
         *       ]
         *     }
         */
        CaptureMetrics: {
            /** @example 42 */
            captureId: number;
            /**
             * Format: date-time
             * @example 2026-01-15T10:00:00.000Z
             */
            start: string;
            /**
             * Format: date-time
             * @description The capture's end, or now while it runs
             * @example 2026-01-15T10:00:00.000Z
             */
            end: string;
            /** @example 60 */
            period: number;
            /** @example Average */
            stat: string;
            /**
             * @description snapshot: served from the copy stored after the capture ended, without AWS
             * @enum {string}
             */
            source: "cloudwatch" | "snapshot";
            complete: boolean;
            series: components["schemas"]["MetricSeries"][];
        };
        MetricSeries: {
            /**
             * @example CPUUtilization
             * @enum {string}
             */
            type: "CPUUtilization" | "FreeableMemory" | "ReadIOPS" | "WriteIOPS" | "ReadThroughput" | "WriteThroughput" | "FreeStorageSpace" | "DatabaseConnections" | "ReadLatency" | "WriteLatency" | "DiskQueueDepth" | "NetworkReceiveThroughput" | "NetworkTransmitThroughput" | "SwapUsage" | "DBLoad" | "DBLoadCPU" | "DBLoadNonCPU" | "DBLoadRelativeToNumVCPUs";
            /** @example CPU utilization */
            label: string;
            /** @example Percent */
            unit: string;
            /** @description False while running or when CloudWatch said PartialData */
            complete: boolean;
            /** @description Ascending by timestamp */
            datapoints: components["schemas"]["Datapoint"][];
            /**
             * @description Only in a snapshot answer, on a series the snapshot lacks (it predates the metric) that CloudWatch answered
             * @enum {string}
             */
            source?: "cloudwatch";
            /** @description Only on such a series when CloudWatch no longer keeps the answer's period: the coarser period it was read at */
            period?: number;
        };
        Datapoint: {
            /**
             * Format: date-time
             * @example 2026-01-15T10:00:00.000Z
             */
            timestamp: string;
            /** @example 12.5 */
            value: number;
        };
        /**
         * @example {
         *       "captureId": 42,
         *       "start": "2026-01-15T10:00:00.000Z",
         *       "end": "2026-01-15T10:30:00.000Z",
         *       "period": 60,
         *       "groupBy": "sql",
         *       "source": "performance-insights",
         *       "complete": true,
         *       "total": {
         *         "load": 6,
         *         "datapoints": [
         *           {
         *             "timestamp": "2026-01-15T10:00:00.000Z",
         *             "value": 6
         *           }
         *         ]
         *       },
         *       "groups": [
         *         {
         *           "key": "DIGEST0AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
         *           "label": "SELECT * FROM orders WHERE customer_id = ?",
         *           "load": 3,
         *           "share": 0.5,
         *           "datapoints": [
         *             {
         *               "timestamp": "2026-01-15T10:00:00.000Z",
         *               "value": 3
         *             }
         *           ],
         *           "stats": {
         *             "callsPerSecond": 120,
         *             "latencyMsPerCall": 4.5,
         *             "rowsPerCall": 250
         *           },
         *           "statement": "SELECT * FROM orders WHERE customer_id = ?"
         *         }
         *       ]
         *     }
         */
        CaptureLoad: {
            /** @example 42 */
            captureId: number;
            /**
             * Format: date-time
             * @example 2026-01-15T10:00:00.000Z
             */
            start: string;
            /**
             * Format: date-time
             * @description The capture's end, or now while it runs
             * @example 2026-01-15T10:00:00.000Z
             */
            end: string;
            /**
             * @description Seconds: one of Performance Insights' 60, 300, 3600, 86400, ≤ 1,440 points
             * @example 60
             */
            period: number;
            /** @enum {string} */
            groupBy: "wait" | "sql" | "user" | "host";
            /**
             * @description snapshot: stored when the capture ended (no AWS call)
             * @enum {string}
             */
            source: "performance-insights" | "snapshot";
            /** @description False while running or settling */
            complete: boolean;
            total: {
                /** @description Average active sessions over the window */
                load: number;
                datapoints: components["schemas"]["LoadPoint"][];
            };
            /** @description Top groups by load, largest first */
            groups: components["schemas"]["LoadGroup"][];
        };
        LoadPoint: {
            /**
             * Format: date-time
             * @example 2026-01-15T10:00:00.000Z
             */
            timestamp: string;
            /**
             * @description Average active sessions
             * @example 1.25
             */
            value: number;
        };
        LoadGroup: {
            /** @example io/table/sql/handler */
            key: string;
            /** @example io: io/table/sql/handler */
            label: string;
            /** @description Average active sessions over the window */
            load: number;
            /** @description load ÷ the total load */
            share: number;
            datapoints: components["schemas"]["LoadPoint"][];
            stats?: components["schemas"]["SqlStats"];
            /** @description groupBy=sql only: the digest, cut to 200 characters; GET …/sql/{key} gives a full statement */
            statement?: string;
        };
        /** @description groupBy=sql only */
        SqlStats: {
            /** @example 42.5 */
            callsPerSecond: number | null;
            /** @example 3.2 */
            latencyMsPerCall: number | null;
            /**
             * @description Rows examined per call (MySQL, MariaDB) or rows per call (PostgreSQL)
             * @example 120
             */
            rowsPerCall: number | null;
        };
        SqlText: {
            /** @example 42 */
            captureId: number;
            /** @example DIGEST0AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA */
            digestId: string;
            /**
             * @description db.sql.id of one statement of the digest; null when only the kept tokenized text is known
             * @example sql-DIGEST0AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
             */
            sqlId: string | null;
            /** @example SELECT * FROM orders WHERE id = 42 */
            statement: string;
            /**
             * @description AVAILABLE; PROCESSING (Performance Insights has only the truncated text yet); UNAVAILABLE
             * @example AVAILABLE
             */
            status: string;
            /**
             * @description snapshot: kept with the capture when it ended (no AWS call); performance-insights: asked now
             * @example snapshot
             * @enum {string}
             */
            source: "snapshot" | "performance-insights";
            /**
             * @description True when `statement` is not the full text: the digest's tokenized text kept with the capture (PI no longer has the full text), or PI still PROCESSING
             * @example false
             */
            truncated: boolean;
        };
        /**
         * @example {
         *       "baseline": {
         *         "captureId": 41,
         *         "name": "before-index",
         *         "start": "2026-01-15T10:00:00.000Z",
         *         "end": "2026-01-15T10:02:00.000Z",
         *         "duration": 120,
         *         "source": "snapshot"
         *       },
         *       "candidate": {
         *         "captureId": 42,
         *         "name": "after-index",
         *         "start": "2026-01-16T10:00:00.000Z",
         *         "end": "2026-01-16T10:02:00.000Z",
         *         "duration": 120,
         *         "source": "snapshot"
         *       },
         *       "period": 60,
         *       "stat": "Average",
         *       "commonDuration": 120,
         *       "complete": true,
         *       "series": [
         *         {
         *           "type": "DBLoad",
         *           "label": "DB load",
         *           "unit": "None",
         *           "baseline": {
         *             "complete": true,
         *             "summary": {
         *               "count": 2,
         *               "mean": 2,
         *               "min": 1,
         *               "max": 3,
         *               "p50": 2,
         *               "p95": 2.9
         *             },
         *             "datapoints": [
         *               {
         *                 "offset": 0,
         *                 "value": 1
         *               },
         *               {
         *                 "offset": 60,
         *                 "value": 3
         *               }
         *             ]
         *           },
         *           "candidate": {
         *             "complete": true,
         *             "summary": {
         *               "count": 2,
         *               "mean": 1.5,
         *               "min": 1,
         *               "max": 2,
         *               "p50": 1.5,
         *               "p95": 1.95
         *             },
         *             "datapoints": [
         *               {
         *                 "offset": 0,
         *                 "value": 1
         *               },
         *               {
         *                 "offset": 60,
         *                 "value": 2
         *               }
         *             ]
         *           },
         *           "change": {
         *             "mean": {
         *               "absolute": -0.5,
         *               "relative": -0.25
         *             },
         *             "p95": {
         *               "absolute": -0.95,
         *               "relative": -0.327586
         *             },
         *             "max": {
         *               "absolute": -1,
         *               "relative": -0.333333
         *             }
         *           }
         *         }
         *       ]
         *     }
         */
        Comparison: {
            baseline: components["schemas"]["ComparedCapture"];
            candidate: components["schemas"]["ComparedCapture"];
            /** @example 60 */
            period: number;
            /** @example Average */
            stat: string;
            /** @description Seconds compared from each capture's start: the shorter one's length (at least one period) */
            commonDuration: number;
            complete: boolean;
            series: components["schemas"]["ComparedSeries"][];
            load?: components["schemas"]["LoadComparison"];
        };
        ComparedCapture: {
            /** @example 41 */
            captureId: number;
            /** @example before-index */
            name: string;
            /**
             * Format: date-time
             * @example 2026-01-15T10:00:00.000Z
             */
            start: string;
            /**
             * Format: date-time
             * @example 2026-01-15T10:00:00.000Z
             */
            end: string;
            /** @description The capture's own length, seconds */
            duration: number;
            /** @enum {string} */
            source: "cloudwatch" | "snapshot";
        };
        ComparedSeries: {
            /**
             * @example DBLoad
             * @enum {string}
             */
            type: "CPUUtilization" | "FreeableMemory" | "ReadIOPS" | "WriteIOPS" | "ReadThroughput" | "WriteThroughput" | "FreeStorageSpace" | "DatabaseConnections" | "ReadLatency" | "WriteLatency" | "DiskQueueDepth" | "NetworkReceiveThroughput" | "NetworkTransmitThroughput" | "SwapUsage" | "DBLoad" | "DBLoadCPU" | "DBLoadNonCPU" | "DBLoadRelativeToNumVCPUs";
            /** @example DB load */
            label: string;
            /** @example None */
            unit: string;
            baseline: components["schemas"]["ComparedSide"];
            candidate: components["schemas"]["ComparedSide"];
            change: {
                mean: components["schemas"]["Difference"];
                p95: components["schemas"]["Difference"];
                max: components["schemas"]["Difference"];
            };
        };
        ComparedSide: {
            complete: boolean;
            summary: components["schemas"]["Summary"];
            /** @description Ascending by offset */
            datapoints: components["schemas"]["OffsetPoint"][];
        };
        /** @description Over the compared window; values null without points */
        Summary: {
            /** @example 60 */
            count: number;
            mean: number | null;
            min: number | null;
            max: number | null;
            /** @description Median, interpolated between closest ranks */
            p50: number | null;
            /** @description 95th percentile, interpolated between closest ranks */
            p95: number | null;
        };
        OffsetPoint: {
            /** @description Seconds from the capture's first period */
            offset: number;
            value: number;
        };
        Difference: {
            /** @description candidate − baseline */
            absolute: number | null;
            /** @description (candidate − baseline) / |baseline|: 0.25 is 25 % more; null when baseline is 0 */
            relative: number | null;
        };
        /** @description Database load from Performance Insights (or the captures' stored load): SQL digests in either capture's top 25 with load and per-call latency on both sides, and waits. Present only with `include=load`, and absent when the server does not call Performance Insights; `available: false` says why one side has none. */
        LoadComparison: {
            /** @enum {boolean} */
            available: true;
            /** @description Average active sessions of the whole instance */
            total: {
                baseline: number;
                candidate: number;
                change: components["schemas"]["Difference"];
            };
            sql: components["schemas"]["ComparedDigest"][];
            waits: components["schemas"]["ComparedWait"][];
        } | {
            /** @enum {boolean} */
            available: false;
            /** @example Capture 41: Performance Insights is off for prod-mysql-1; turn it on … */
            reason: string;
            /** @description True when Performance Insights was throttling or timed out (ask again after `retryAfter`); false when asking again will not help (PI off, past its retention, instance unknown, access denied) */
            retryable: boolean;
            /**
             * @description Seconds to wait before asking again; only when `retryable`
             * @example 5
             */
            retryAfter?: number;
        };
        ComparedDigest: {
            /** @description db.sql_tokenized.id */
            key: string;
            label: string;
            /**
             * @description In both captures' top groups, only the candidate's (new) or only the baseline's (gone)
             * @enum {string}
             */
            status: "both" | "new" | "gone";
            baseline: {
                load: number;
                latencyMsPerCall: number | null;
            } | null;
            candidate: {
                load: number;
                latencyMsPerCall: number | null;
            } | null;
            change: {
                load: components["schemas"]["Difference"];
                latencyMsPerCall: components["schemas"]["Difference"];
            };
        };
        ComparedWait: {
            /** @description db.wait_event.name */
            key: string;
            label: string;
            /**
             * @description In both captures' top groups, only the candidate's (new) or only the baseline's (gone)
             * @enum {string}
             */
            status: "both" | "new" | "gone";
            baseline: {
                load: number;
                share: number;
            } | null;
            candidate: {
                load: number;
                share: number;
            } | null;
            change: {
                load: components["schemas"]["Difference"];
            };
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: {
        /** @description The request's id: the X-Request-Id you sent when it is 1–128 of A-Z a-z 0-9 . _ : -, else a new UUID. It is in every log line of the request; quote it when reporting a problem. */
        "X-Request-Id": string;
    };
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    getHealth: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Healthy */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Health"];
                };
            };
            /** @description The database does not answer, or the process is shutting down */
            503: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Health"];
                };
            };
        };
    };
    listEnvironments: {
        parameters: {
            query?: {
                /** @description Page size, 1 to 200 (default 50) */
                limit?: number;
                /** @description Opaque; copy it from the Link rel=next header */
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of the caller's environments */
            200: {
                headers: {
                    /** @description The next page: <…?cursor=…>; rel="next" */
                    Link?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Environment"][];
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Authentication required */
            401: {
                headers: {
                    /** @description The bearer challenge, e.g. `Bearer realm="capwatch", error="invalid_token"` */
                    "WWW-Authenticate"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    createEnvironment: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes a retry safe: a unique value per operation (a UUID). The first answer that decides (2xx, or a 409 such as name taken) is kept for 24 hours for you, this method and path, and a retry with the same key and body gets it again (status, Location, ETag, body; marked `Idempotent-Replayed: true`). A refused request (400, 401, 403, 404, 412, 413, 415, 429, 5xx) is not kept: its retry is judged afresh. The same key with another body answers 422; while the first request is still in progress, 409 with Retry-After. */
                "Idempotency-Key"?: string;
            };
            path?: never;
            cookie?: never;
        };
        /** @description The environment to register */
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateEnvironment"];
            };
        };
        responses: {
            /** @description The new environment */
            201: {
                headers: {
                    Location: string;
                    /** @description Strong validator of this representation; send it back in If-Match or If-None-Match */
                    ETag: string;
                    /** @description `true` when this is the kept first answer to an earlier request with the same Idempotency-Key, replayed; absent on a first answer */
                    "Idempotent-Replayed"?: "true";
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Environment"];
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Authentication required */
            401: {
                headers: {
                    /** @description The bearer challenge, e.g. `Bearer realm="capwatch", error="invalid_token"` */
                    "WWW-Authenticate"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    /** @description Seconds to wait, when another request with this Idempotency-Key is still in progress (type idempotency-in-progress); then send the same request again */
                    "Retry-After"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Request body too large */
            413: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unsupported media type */
            415: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unprocessable request */
            422: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Too many requests */
            429: {
                headers: {
                    /** @description Seconds until the rate limit's window resets (rate limits only; a count quota such as environments per user frees up when something is deleted) */
                    "Retry-After"?: string;
                    /** @description The rate limit that applies (draft-ietf-httpapi-ratelimit-headers), e.g. `"metrics";q=120;w=60`: 120 requests per 60-second window, per user */
                    "RateLimit-Policy"?: string;
                    /** @description What is left of it: remaining requests `r` and seconds until the window resets `t` */
                    RateLimit?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    getEnvironment: {
        parameters: {
            query?: never;
            header?: {
                /** @description The ETag you hold: when it is still current the answer is 304 with no body. */
                "If-None-Match"?: string;
            };
            path: {
                /** @description The environment's numeric id, in plain digits (its `id` in the list) */
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The environment */
            200: {
                headers: {
                    /** @description Strong validator of this representation; send it back in If-Match or If-None-Match */
                    ETag: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Environment"];
                };
            };
            /** @description Not modified: If-None-Match names the current ETag */
            304: {
                headers: {
                    /** @description Strong validator of this representation; send it back in If-Match or If-None-Match */
                    ETag: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Invalid request */
            400: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Authentication required */
            401: {
                headers: {
                    /** @description The bearer challenge, e.g. `Bearer realm="capwatch", error="invalid_token"` */
                    "WWW-Authenticate"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    deleteEnvironment: {
        parameters: {
            query?: never;
            header?: {
                /** @description Apply the change only if the resource still has this ETag (from a GET or an earlier change), copied as sent: for a capture like `"c.42.3.RUNNING"`, for an environment like `"e.1.2.<digest>"`; else 412. `*` means any version; an empty value matches none (412). */
                "If-Match"?: string;
            };
            path: {
                /** @description The environment's numeric id, in plain digits (its `id` in the list) */
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted */
            204: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Invalid request */
            400: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Authentication required */
            401: {
                headers: {
                    /** @description The bearer challenge, e.g. `Bearer realm="capwatch", error="invalid_token"` */
                    "WWW-Authenticate"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Precondition failed */
            412: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Request body too large */
            413: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    updateEnvironment: {
        parameters: {
            query?: never;
            header?: {
                /** @description Apply the change only if the resource still has this ETag (from a GET or an earlier change), copied as sent: for a capture like `"c.42.3.RUNNING"`, for an environment like `"e.1.2.<digest>"`; else 412. `*` means any version; an empty value matches none (412). */
                "If-Match"?: string;
            };
            path: {
                /** @description The environment's numeric id, in plain digits (its `id` in the list) */
                id: number;
            };
            cookie?: never;
        };
        /** @description The fields to change */
        requestBody: {
            content: {
                "application/json": components["schemas"]["UpdateEnvironment"];
            };
        };
        responses: {
            /** @description The changed environment */
            200: {
                headers: {
                    /** @description Strong validator of this representation; send it back in If-Match or If-None-Match */
                    ETag: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Environment"];
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Authentication required */
            401: {
                headers: {
                    /** @description The bearer challenge, e.g. `Bearer realm="capwatch", error="invalid_token"` */
                    "WWW-Authenticate"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Precondition failed */
            412: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Request body too large */
            413: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unsupported media type */
            415: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    listMembers: {
        parameters: {
            query?: {
                /** @description Page size, 1 to 200 (default 50) */
                limit?: number;
                /** @description Opaque; copy it from the Link rel=next header */
                cursor?: string;
            };
            header?: never;
            path: {
                /** @description The environment's numeric id, in plain digits (its `id` in the list) */
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of the members, admins first */
            200: {
                headers: {
                    /** @description The next page: <…?cursor=…>; rel="next" */
                    Link?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Member"][];
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Authentication required */
            401: {
                headers: {
                    /** @description The bearer challenge, e.g. `Bearer realm="capwatch", error="invalid_token"` */
                    "WWW-Authenticate"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    putMember: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The environment's numeric id, in plain digits */
                id: number;
                /** @description The member's user id (the `sub` of their token) */
                userId: string;
            };
            cookie?: never;
        };
        /** @description The member's role */
        requestBody: {
            content: {
                "application/json": components["schemas"]["PutMember"];
            };
        };
        responses: {
            /** @description The role was changed */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Member"];
                };
            };
            /** @description The member was added */
            201: {
                headers: {
                    /** @description The new member */
                    Location: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Member"];
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Authentication required */
            401: {
                headers: {
                    /** @description The bearer challenge, e.g. `Bearer realm="capwatch", error="invalid_token"` */
                    "WWW-Authenticate"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Request body too large */
            413: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unsupported media type */
            415: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    deleteMember: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The environment's numeric id, in plain digits */
                id: number;
                /** @description The member's user id (the `sub` of their token) */
                userId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Removed */
            204: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Invalid request */
            400: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Authentication required */
            401: {
                headers: {
                    /** @description The bearer challenge, e.g. `Bearer realm="capwatch", error="invalid_token"` */
                    "WWW-Authenticate"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Request body too large */
            413: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    listCaptures: {
        parameters: {
            query?: {
                /** @description Only the captures of this environment (its numeric id); leave it out for every environment you are a member of */
                envId?: number;
                /** @description Exact name, compared in Unicode NFC */
                name?: string;
                /** @description Repeatable: ?status=RUNNING&status=SCHEDULED */
                status?: components["schemas"]["CaptureStatus"][];
                /** @description Page size, 1 to 200 (default 50) */
                limit?: number;
                /** @description Opaque; copy it from the Link rel=next header */
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of captures */
            200: {
                headers: {
                    /** @description The next page: <…?cursor=…>; rel="next" */
                    Link?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Capture"][];
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Authentication required */
            401: {
                headers: {
                    /** @description The bearer challenge, e.g. `Bearer realm="capwatch", error="invalid_token"` */
                    "WWW-Authenticate"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    createCapture: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes a retry safe: a unique value per operation (a UUID). The first answer that decides (2xx, or a 409 such as name taken) is kept for 24 hours for you, this method and path, and a retry with the same key and body gets it again (status, Location, ETag, body; marked `Idempotent-Replayed: true`). A refused request (400, 401, 403, 404, 412, 413, 415, 429, 5xx) is not kept: its retry is judged afresh. The same key with another body answers 422; while the first request is still in progress, 409 with Retry-After. */
                "Idempotency-Key"?: string;
            };
            path?: never;
            cookie?: never;
        };
        /** @description The capture to create */
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateCapture"];
            };
        };
        responses: {
            /** @description The new capture */
            201: {
                headers: {
                    /** @description The new capture's URL */
                    Location: string;
                    /** @description Strong validator of this representation; send it back in If-Match or If-None-Match */
                    ETag: string;
                    /** @description `true` when this is the kept first answer to an earlier request with the same Idempotency-Key, replayed; absent on a first answer */
                    "Idempotent-Replayed"?: "true";
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Capture"];
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Authentication required */
            401: {
                headers: {
                    /** @description The bearer challenge, e.g. `Bearer realm="capwatch", error="invalid_token"` */
                    "WWW-Authenticate"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    /** @description Seconds to wait, when another request with this Idempotency-Key is still in progress (type idempotency-in-progress); then send the same request again */
                    "Retry-After"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Request body too large */
            413: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unsupported media type */
            415: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unprocessable request */
            422: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Too many requests */
            429: {
                headers: {
                    /** @description Seconds until the rate limit's window resets (rate limits only; a count quota such as environments per user frees up when something is deleted) */
                    "Retry-After"?: string;
                    /** @description The rate limit that applies (draft-ietf-httpapi-ratelimit-headers), e.g. `"metrics";q=120;w=60`: 120 requests per 60-second window, per user */
                    "RateLimit-Policy"?: string;
                    /** @description What is left of it: remaining requests `r` and seconds until the window resets `t` */
                    RateLimit?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    getCapture: {
        parameters: {
            query?: never;
            header?: {
                /** @description The ETag you hold: when it is still current the answer is 304 with no body. */
                "If-None-Match"?: string;
            };
            path: {
                /** @description The capture's numeric id, in plain digits (its `id`, or the end of the Location POST answered) */
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The capture */
            200: {
                headers: {
                    /** @description Strong validator of this representation; send it back in If-Match or If-None-Match */
                    ETag: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Capture"];
                };
            };
            /** @description Not modified: the ETag in If-None-Match is still current */
            304: {
                headers: {
                    /** @description Strong validator of this representation; send it back in If-Match or If-None-Match */
                    ETag: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Invalid request */
            400: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Authentication required */
            401: {
                headers: {
                    /** @description The bearer challenge, e.g. `Bearer realm="capwatch", error="invalid_token"` */
                    "WWW-Authenticate"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    updateCapture: {
        parameters: {
            query?: never;
            header?: {
                /** @description Apply the change only if the resource still has this ETag (from a GET or an earlier change), copied as sent: for a capture like `"c.42.3.RUNNING"`, for an environment like `"e.1.2.<digest>"`; else 412. `*` means any version; an empty value matches none (412). */
                "If-Match"?: string;
            };
            path: {
                /** @description The capture's numeric id, in plain digits (its `id`, or the end of the Location POST answered) */
                id: number;
            };
            cookie?: never;
        };
        /** @description The fields to change; at least one */
        requestBody: {
            content: {
                "application/json": components["schemas"]["UpdateCapture"];
            };
        };
        responses: {
            /** @description The edited capture */
            200: {
                headers: {
                    /** @description Strong validator of this representation; send it back in If-Match or If-None-Match */
                    ETag: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Capture"];
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Authentication required */
            401: {
                headers: {
                    /** @description The bearer challenge, e.g. `Bearer realm="capwatch", error="invalid_token"` */
                    "WWW-Authenticate"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Precondition failed */
            412: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Request body too large */
            413: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unsupported media type */
            415: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Too many requests */
            429: {
                headers: {
                    /** @description Seconds until the rate limit's window resets (rate limits only; a count quota such as environments per user frees up when something is deleted) */
                    "Retry-After"?: string;
                    /** @description The rate limit that applies (draft-ietf-httpapi-ratelimit-headers), e.g. `"metrics";q=120;w=60`: 120 requests per 60-second window, per user */
                    "RateLimit-Policy"?: string;
                    /** @description What is left of it: remaining requests `r` and seconds until the window resets `t` */
                    RateLimit?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    deleteCapture: {
        parameters: {
            query?: never;
            header?: {
                /** @description Apply the change only if the resource still has this ETag (from a GET or an earlier change), copied as sent: for a capture like `"c.42.3.RUNNING"`, for an environment like `"e.1.2.<digest>"`; else 412. `*` means any version; an empty value matches none (412). */
                "If-Match"?: string;
            };
            path: {
                /** @description The capture's numeric id, in plain digits (its `id`, or the end of the Location POST answered) */
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted */
            204: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Invalid request */
            400: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Authentication required */
            401: {
                headers: {
                    /** @description The bearer challenge, e.g. `Bearer realm="capwatch", error="invalid_token"` */
                    "WWW-Authenticate"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Precondition failed */
            412: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Request body too large */
            413: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    patchCapture: {
        parameters: {
            query?: never;
            header?: {
                /** @description Apply the change only if the resource still has this ETag (from a GET or an earlier change), copied as sent: for a capture like `"c.42.3.RUNNING"`, for an environment like `"e.1.2.<digest>"`; else 412. `*` means any version; an empty value matches none (412). */
                "If-Match"?: string;
            };
            path: {
                /** @description The capture's numeric id, in plain digits (its `id`, or the end of the Location POST answered) */
                id: number;
            };
            cookie?: never;
        };
        /** @description The fields to change; at least one */
        requestBody: {
            content: {
                "application/json": components["schemas"]["UpdateCapture"];
            };
        };
        responses: {
            /** @description The edited capture */
            200: {
                headers: {
                    /** @description Strong validator of this representation; send it back in If-Match or If-None-Match */
                    ETag: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Capture"];
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Authentication required */
            401: {
                headers: {
                    /** @description The bearer challenge, e.g. `Bearer realm="capwatch", error="invalid_token"` */
                    "WWW-Authenticate"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Precondition failed */
            412: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Request body too large */
            413: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unsupported media type */
            415: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Too many requests */
            429: {
                headers: {
                    /** @description Seconds until the rate limit's window resets (rate limits only; a count quota such as environments per user frees up when something is deleted) */
                    "Retry-After"?: string;
                    /** @description The rate limit that applies (draft-ietf-httpapi-ratelimit-headers), e.g. `"metrics";q=120;w=60`: 120 requests per 60-second window, per user */
                    "RateLimit-Policy"?: string;
                    /** @description What is left of it: remaining requests `r` and seconds until the window resets `t` */
                    RateLimit?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    stopCapture: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes a retry safe: a unique value per operation (a UUID). The first answer that decides (2xx, or a 409 such as name taken) is kept for 24 hours for you, this method and path, and a retry with the same key and body gets it again (status, Location, ETag, body; marked `Idempotent-Replayed: true`). A refused request (400, 401, 403, 404, 412, 413, 415, 429, 5xx) is not kept: its retry is judged afresh. The same key with another body answers 422; while the first request is still in progress, 409 with Retry-After. */
                "Idempotency-Key"?: string;
                /** @description Apply the change only if the resource still has this ETag (from a GET or an earlier change), copied as sent: for a capture like `"c.42.3.RUNNING"`, for an environment like `"e.1.2.<digest>"`; else 412. `*` means any version; an empty value matches none (412). */
                "If-Match"?: string;
            };
            path: {
                /** @description The capture's numeric id, in plain digits (its `id`, or the end of the Location POST answered) */
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The capture, now DONE */
            200: {
                headers: {
                    /** @description Strong validator of this representation; send it back in If-Match or If-None-Match */
                    ETag: string;
                    /** @description `true` when this is the kept first answer to an earlier request with the same Idempotency-Key, replayed; absent on a first answer */
                    "Idempotent-Replayed"?: "true";
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Capture"];
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Authentication required */
            401: {
                headers: {
                    /** @description The bearer challenge, e.g. `Bearer realm="capwatch", error="invalid_token"` */
                    "WWW-Authenticate"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    /** @description Seconds to wait, when another request with this Idempotency-Key is still in progress (type idempotency-in-progress); then send the same request again */
                    "Retry-After"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Precondition failed */
            412: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Request body too large */
            413: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unprocessable request */
            422: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    getCaptureMetrics: {
        parameters: {
            query?: {
                /** @description Repeatable; default the whole catalogue: CPUUtilization, FreeableMemory, ReadIOPS, WriteIOPS, ReadThroughput, WriteThroughput, FreeStorageSpace, DatabaseConnections, ReadLatency, WriteLatency, DiskQueueDepth, NetworkReceiveThroughput, NetworkTransmitThroughput, SwapUsage, DBLoad, DBLoadCPU, DBLoadNonCPU, DBLoadRelativeToNumVCPUs. The old names ("CPU UTILIZATION", …) are accepted too. */
                type?: string[];
                /** @description Average, Minimum, Maximum, Sum, SampleCount, or a percentile such as p99; named stats in any case. Default: Average */
                stat?: string;
                /** @description Seconds, a multiple of 60. Default: the smallest that keeps each series within 1,440 points and within CloudWatch's retention (60 s for 15 days, 300 s for 63 days, 3,600 s for 455 days) */
                period?: number;
            };
            header?: never;
            path: {
                /** @description The capture's numeric id, in plain digits (its `id`, or the end of the Location POST answered) */
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The capture's metrics; `Accept: text/csv` gives CSV */
            200: {
                headers: {
                    /** @description The rate limit that applies (draft-ietf-httpapi-ratelimit-headers), e.g. `"metrics";q=120;w=60`: 120 requests per 60-second window, per user */
                    "RateLimit-Policy"?: string;
                    /** @description What is left of it: remaining requests `r` and seconds until the window resets `t` */
                    RateLimit?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CaptureMetrics"];
                    "text/csv": string;
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Authentication required */
            401: {
                headers: {
                    /** @description The bearer challenge, e.g. `Bearer realm="capwatch", error="invalid_token"` */
                    "WWW-Authenticate"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Too many requests */
            429: {
                headers: {
                    /** @description Seconds until the rate limit's window resets (rate limits only; a count quota such as environments per user frees up when something is deleted) */
                    "Retry-After"?: string;
                    /** @description The rate limit that applies (draft-ietf-httpapi-ratelimit-headers), e.g. `"metrics";q=120;w=60`: 120 requests per 60-second window, per user */
                    "RateLimit-Policy"?: string;
                    /** @description What is left of it: remaining requests `r` and seconds until the window resets `t` */
                    RateLimit?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Bad answer from AWS */
            502: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description AWS timed out */
            504: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    getCaptureLoad: {
        parameters: {
            query?: {
                /** @description How load is broken down: wait (db.wait_event), sql (db.sql_tokenized), user (db.user), host (db.host). Default wait. */
                groupBy?: "wait" | "sql" | "user" | "host";
                /** @description The top groups by load, 1–25; default 10 */
                limit?: number;
            };
            header?: never;
            path: {
                /** @description The capture's numeric id, in plain digits (its `id`, or the end of the Location POST answered) */
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The capture's database load */
            200: {
                headers: {
                    /** @description The rate limit that applies (draft-ietf-httpapi-ratelimit-headers), e.g. `"metrics";q=120;w=60`: 120 requests per 60-second window, per user */
                    "RateLimit-Policy"?: string;
                    /** @description What is left of it: remaining requests `r` and seconds until the window resets `t` */
                    RateLimit?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CaptureLoad"];
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Authentication required */
            401: {
                headers: {
                    /** @description The bearer challenge, e.g. `Bearer realm="capwatch", error="invalid_token"` */
                    "WWW-Authenticate"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Too many requests */
            429: {
                headers: {
                    /** @description Seconds until the rate limit's window resets (rate limits only; a count quota such as environments per user frees up when something is deleted) */
                    "Retry-After"?: string;
                    /** @description The rate limit that applies (draft-ietf-httpapi-ratelimit-headers), e.g. `"metrics";q=120;w=60`: 120 requests per 60-second window, per user */
                    "RateLimit-Policy"?: string;
                    /** @description What is left of it: remaining requests `r` and seconds until the window resets `t` */
                    RateLimit?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Bad answer from AWS */
            502: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description AWS timed out */
            504: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    getCaptureSqlText: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The capture's id */
                id: number;
                /** @description A `key` of GET /api/captures/{id}/load?groupBy=sql (db.sql_tokenized.id) */
                digestId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The statement */
            200: {
                headers: {
                    /** @description The rate limit that applies (draft-ietf-httpapi-ratelimit-headers), e.g. `"metrics";q=120;w=60`: 120 requests per 60-second window, per user */
                    "RateLimit-Policy"?: string;
                    /** @description What is left of it: remaining requests `r` and seconds until the window resets `t` */
                    RateLimit?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SqlText"];
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Authentication required */
            401: {
                headers: {
                    /** @description The bearer challenge, e.g. `Bearer realm="capwatch", error="invalid_token"` */
                    "WWW-Authenticate"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Too many requests */
            429: {
                headers: {
                    /** @description Seconds until the rate limit's window resets (rate limits only; a count quota such as environments per user frees up when something is deleted) */
                    "Retry-After"?: string;
                    /** @description The rate limit that applies (draft-ietf-httpapi-ratelimit-headers), e.g. `"metrics";q=120;w=60`: 120 requests per 60-second window, per user */
                    "RateLimit-Policy"?: string;
                    /** @description What is left of it: remaining requests `r` and seconds until the window resets `t` */
                    RateLimit?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Bad answer from AWS */
            502: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description AWS timed out */
            504: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    getCaptureMetricsChart: {
        parameters: {
            query?: {
                /** @description Repeatable; default the whole catalogue: CPUUtilization, FreeableMemory, ReadIOPS, WriteIOPS, ReadThroughput, WriteThroughput, FreeStorageSpace, DatabaseConnections, ReadLatency, WriteLatency, DiskQueueDepth, NetworkReceiveThroughput, NetworkTransmitThroughput, SwapUsage, DBLoad, DBLoadCPU, DBLoadNonCPU, DBLoadRelativeToNumVCPUs. The old names ("CPU UTILIZATION", …) are accepted too. */
                type?: string[];
                /** @description Average, Minimum, Maximum, Sum, SampleCount, or a percentile such as p99; named stats in any case. Default: Average */
                stat?: string;
                /** @description Seconds, a multiple of 60. Default: the smallest that keeps each series within 1,440 points and within CloudWatch's retention (60 s for 15 days, 300 s for 63 days, 3,600 s for 455 days) */
                period?: number;
            };
            header?: never;
            path: {
                /** @description The capture's numeric id, in plain digits (its `id`, or the end of the Location POST answered) */
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The metrics chart */
            200: {
                headers: {
                    /** @description The rate limit that applies (draft-ietf-httpapi-ratelimit-headers), e.g. `"metrics";q=120;w=60`: 120 requests per 60-second window, per user */
                    "RateLimit-Policy"?: string;
                    /** @description What is left of it: remaining requests `r` and seconds until the window resets `t` */
                    RateLimit?: string;
                    /** @description Digest of the body; send it as If-None-Match to get 304 when unchanged */
                    ETag?: string;
                    /** @description `private, max-age=86400` once the data comes wholly from complete snapshots, else `private, no-cache` */
                    "Cache-Control"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "image/svg+xml": string;
                };
            };
            /** @description Not modified (If-None-Match matched the ETag) */
            304: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Invalid request */
            400: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Authentication required */
            401: {
                headers: {
                    /** @description The bearer challenge, e.g. `Bearer realm="capwatch", error="invalid_token"` */
                    "WWW-Authenticate"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Too many requests */
            429: {
                headers: {
                    /** @description Seconds until the rate limit's window resets (rate limits only; a count quota such as environments per user frees up when something is deleted) */
                    "Retry-After"?: string;
                    /** @description The rate limit that applies (draft-ietf-httpapi-ratelimit-headers), e.g. `"metrics";q=120;w=60`: 120 requests per 60-second window, per user */
                    "RateLimit-Policy"?: string;
                    /** @description What is left of it: remaining requests `r` and seconds until the window resets `t` */
                    RateLimit?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Bad answer from AWS */
            502: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description AWS timed out */
            504: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    compareCaptures: {
        parameters: {
            query: {
                /** @description Repeatable; default the whole catalogue: CPUUtilization, FreeableMemory, ReadIOPS, WriteIOPS, ReadThroughput, WriteThroughput, FreeStorageSpace, DatabaseConnections, ReadLatency, WriteLatency, DiskQueueDepth, NetworkReceiveThroughput, NetworkTransmitThroughput, SwapUsage, DBLoad, DBLoadCPU, DBLoadNonCPU, DBLoadRelativeToNumVCPUs. The old names ("CPU UTILIZATION", …) are accepted too. */
                type?: string[];
                /** @description Average, Minimum, Maximum, Sum, SampleCount, or a percentile such as p99; named stats in any case. Default: Average */
                stat?: string;
                /** @description Seconds, a multiple of 60. Default: the smallest that keeps each series within 1,440 points and within CloudWatch's retention (60 s for 15 days, 300 s for 63 days, 3,600 s for 455 days) */
                period?: number;
                /** @description The baseline capture's id; the path's capture is the candidate. It may be in another environment you are a member of */
                with: number;
                /** @description load: add `load`, the captures' database load by SQL digest and wait (from their stored load, else Performance Insights, read in parallel with the metrics). Without it the comparison makes no Performance Insights call */
                include?: "load";
            };
            header?: never;
            path: {
                /** @description The capture's numeric id, in plain digits (its `id`, or the end of the Location POST answered) */
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The comparison; `Accept: text/csv` gives one row per offset and two columns (baseline, candidate) per series */
            200: {
                headers: {
                    /** @description The rate limit that applies (draft-ietf-httpapi-ratelimit-headers), e.g. `"metrics";q=120;w=60`: 120 requests per 60-second window, per user */
                    "RateLimit-Policy"?: string;
                    /** @description What is left of it: remaining requests `r` and seconds until the window resets `t` */
                    RateLimit?: string;
                    /** @description Digest of the body; send it as If-None-Match to get 304 when unchanged */
                    ETag?: string;
                    /** @description `private, max-age=86400` once the data comes wholly from complete snapshots, else `private, no-cache` */
                    "Cache-Control"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Comparison"];
                    /**
                     * @example offset_seconds,DBLoad baseline (sessions),DBLoad candidate (sessions)
                     *     0,1.25,1.5
                     */
                    "text/csv": string;
                };
            };
            /** @description Not modified (If-None-Match matched the ETag) */
            304: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Invalid request */
            400: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Authentication required */
            401: {
                headers: {
                    /** @description The bearer challenge, e.g. `Bearer realm="capwatch", error="invalid_token"` */
                    "WWW-Authenticate"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Too many requests */
            429: {
                headers: {
                    /** @description Seconds until the rate limit's window resets (rate limits only; a count quota such as environments per user frees up when something is deleted) */
                    "Retry-After"?: string;
                    /** @description The rate limit that applies (draft-ietf-httpapi-ratelimit-headers), e.g. `"metrics";q=120;w=60`: 120 requests per 60-second window, per user */
                    "RateLimit-Policy"?: string;
                    /** @description What is left of it: remaining requests `r` and seconds until the window resets `t` */
                    RateLimit?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Bad answer from AWS */
            502: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description AWS timed out */
            504: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    getComparisonChart: {
        parameters: {
            query: {
                /** @description Repeatable; default the whole catalogue: CPUUtilization, FreeableMemory, ReadIOPS, WriteIOPS, ReadThroughput, WriteThroughput, FreeStorageSpace, DatabaseConnections, ReadLatency, WriteLatency, DiskQueueDepth, NetworkReceiveThroughput, NetworkTransmitThroughput, SwapUsage, DBLoad, DBLoadCPU, DBLoadNonCPU, DBLoadRelativeToNumVCPUs. The old names ("CPU UTILIZATION", …) are accepted too. */
                type?: string[];
                /** @description Average, Minimum, Maximum, Sum, SampleCount, or a percentile such as p99; named stats in any case. Default: Average */
                stat?: string;
                /** @description Seconds, a multiple of 60. Default: the smallest that keeps each series within 1,440 points and within CloudWatch's retention (60 s for 15 days, 300 s for 63 days, 3,600 s for 455 days) */
                period?: number;
                /** @description The baseline capture's id; the path's capture is the candidate. It may be in another environment you are a member of */
                with: number;
                /** @description metrics: one panel per series (default); load: each capture's average active sessions stacked by its top waits (Performance Insights) */
                view?: "metrics" | "load";
            };
            header?: never;
            path: {
                /** @description The capture's numeric id, in plain digits (its `id`, or the end of the Location POST answered) */
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The comparison chart */
            200: {
                headers: {
                    /** @description The rate limit that applies (draft-ietf-httpapi-ratelimit-headers), e.g. `"metrics";q=120;w=60`: 120 requests per 60-second window, per user */
                    "RateLimit-Policy"?: string;
                    /** @description What is left of it: remaining requests `r` and seconds until the window resets `t` */
                    RateLimit?: string;
                    /** @description Digest of the body; send it as If-None-Match to get 304 when unchanged */
                    ETag?: string;
                    /** @description `private, max-age=86400` once the data comes wholly from complete snapshots, else `private, no-cache` */
                    "Cache-Control"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "image/svg+xml": string;
                };
            };
            /** @description Not modified (If-None-Match matched the ETag) */
            304: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Invalid request */
            400: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Authentication required */
            401: {
                headers: {
                    /** @description The bearer challenge, e.g. `Bearer realm="capwatch", error="invalid_token"` */
                    "WWW-Authenticate"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Too many requests */
            429: {
                headers: {
                    /** @description Seconds until the rate limit's window resets (rate limits only; a count quota such as environments per user frees up when something is deleted) */
                    "Retry-After"?: string;
                    /** @description The rate limit that applies (draft-ietf-httpapi-ratelimit-headers), e.g. `"metrics";q=120;w=60`: 120 requests per 60-second window, per user */
                    "RateLimit-Policy"?: string;
                    /** @description What is left of it: remaining requests `r` and seconds until the window resets `t` */
                    RateLimit?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Bad answer from AWS */
            502: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again */
                    "Retry-After"?: string;
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description AWS timed out */
            504: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    getProblemType: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The last segment of a problem's `type`, e.g. name-taken */
                kind: "validation" | "unauthenticated" | "forbidden" | "not-found" | "method-not-allowed" | "request-timeout" | "conflict" | "name-taken" | "invalid-state" | "idempotency-in-progress" | "precondition-failed" | "payload-too-large" | "unsupported-media-type" | "idempotency-key-reused" | "rate-limited" | "quota-exceeded" | "internal" | "upstream-failed" | "upstream-throttled" | "database-busy" | "unavailable" | "upstream-timeout";
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The explanation */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["X-Request-Id"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
}
