-- SPDX-License-Identifier: MIT
-- 0004: operations (DESIGN.md §3 Admin, Privacy, Email code login; §4 money).
-- Maintenance and anchor transactions become jobs of their own kind, batches
-- of record hashes get a table, email-code login gets its identities, codes
-- and outbox, and subjects may be email subjects. Every statement is
-- re-runnable (DDL commits one statement at a time; a run cut short is simply
-- run again).

-- ---------------------------------------------------------------- jobs
-- kind: 'record' (a registration or transfer, with its pending record),
-- 'sweep' and 'split' (pool maintenance), 'anchor' (a batch root). Only
-- record jobs have a pending record; the others carry their plan in payload
-- (compact JSON) and, for sweep and split, inputs locked when they were written.
ALTER TABLE jobs
    ADD COLUMN IF NOT EXISTS kind ENUM('record','sweep','split','anchor') NOT NULL DEFAULT 'record' AFTER id;
ALTER TABLE jobs
    MODIFY COLUMN pending_id CHAR(32) NULL;
ALTER TABLE jobs
    ADD COLUMN IF NOT EXISTS payload TEXT NULL AFTER pending_id;
ALTER TABLE jobs
    ADD KEY IF NOT EXISTS idx_jobs_kind (kind, step);

-- ---------------------------------------------------------------- batches
-- One Merkle root over record hashes, anchored by one 'anchor' job.
-- status: pending (job written) → anchored (the chain accepted the
-- transaction; proofs appear) | failed (its records are free again).
CREATE TABLE IF NOT EXISTS anchor_batches (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    merkle_root CHAR(64)        NOT NULL,
    leaf_count  INT UNSIGNED    NOT NULL,
    job_id      BIGINT UNSIGNED NULL,
    status      ENUM('pending','anchored','failed') NOT NULL DEFAULT 'pending',
    txid        CHAR(64)        NULL,
    version     INT UNSIGNED    NOT NULL DEFAULT 0,
    created_at  DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at  DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    KEY idx_batch_job (job_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A record is in at most one batch: batch_id is set by one guarded UPDATE
-- (… WHERE batch_id IS NULL) and cleared only when its batch failed.
-- merkle_path: compact JSON [{"hash","side"}…] from leaf to root.
ALTER TABLE records
    ADD COLUMN IF NOT EXISTS batch_id BIGINT UNSIGNED NULL;
ALTER TABLE records
    ADD COLUMN IF NOT EXISTS batch_index INT UNSIGNED NULL;
ALTER TABLE records
    ADD COLUMN IF NOT EXISTS merkle_path TEXT NULL;
ALTER TABLE records
    ADD KEY IF NOT EXISTS idx_records_unbatched (batch_id, confirmed_ms, txid);

-- ---------------------------------------------------------------- email login
-- identifier: the lower-cased address. An identity exists from its first
-- successful login.
CREATE TABLE IF NOT EXISTS email_identities (
    identifier    VARCHAR(254) NOT NULL,
    created_at    DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    last_login_at DATETIME(3)  NULL,
    PRIMARY KEY (identifier)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Outstanding codes, each only as a crypto_pwhash_str hash. used_ms or
-- void_ms set: the code no longer works.
CREATE TABLE IF NOT EXISTS email_codes (
    id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    identifier VARCHAR(254)    NOT NULL,
    code_hash  VARCHAR(128)    NOT NULL,
    expires_ms BIGINT          NOT NULL,
    used_ms    BIGINT          NULL,
    void_ms    BIGINT          NULL,
    version    INT UNSIGNED    NOT NULL DEFAULT 0,
    created_at DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    KEY idx_codes_identifier (identifier, expires_ms)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Mail waiting for patchproof-worker: the whole message encrypted
-- (secretbox, AUTH_OUTBOX_KEY), deleted once the SMTP server accepted it.
CREATE TABLE IF NOT EXISTS email_outbox (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    identifier      VARCHAR(254)    NOT NULL,
    nonce           BINARY(24)      NOT NULL,
    ciphertext      BLOB            NOT NULL,
    attempts        INT UNSIGNED    NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT          NOT NULL DEFAULT 0,
    lease_owner     VARCHAR(128)    NULL,
    lease_until_ms  BIGINT          NOT NULL DEFAULT 0,
    last_error      VARCHAR(255)    NULL,
    version         INT UNSIGNED    NOT NULL DEFAULT 0,
    created_at      DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    KEY idx_outbox_ready (next_attempt_ms),
    KEY idx_outbox_identifier (identifier)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- ---------------------------------------------------------------- subjects
-- A JWT subject is an SVD userId (≤ 64) or "email:" + an address (≤ 260).
ALTER TABLE subject_not_before
    MODIFY COLUMN user_id VARCHAR(261) NOT NULL;
ALTER TABLE claim_intents
    MODIFY COLUMN customer_user_id VARCHAR(261) NULL;
