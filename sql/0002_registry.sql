-- SPDX-License-Identifier: MIT
-- 0002: the patch registry, its pending records, the broadcast jobs, the UTXO
-- pool, point-of-sale claim intents and encrypted content (DESIGN.md §3, §4).
-- Times are unix milliseconds (BIGINT) unless named *_at DATETIME.

-- Current state of every confirmed patch. `version` is the optimistic lock:
-- every change is UPDATE … WHERE uid_tag_id = ? AND version = ?.
CREATE TABLE IF NOT EXISTS patch_state (
    uid_tag_id          VARCHAR(128) NOT NULL,
    current_txid        CHAR(64)     NOT NULL,
    current_record      MEDIUMTEXT   NOT NULL,  -- compact JSON exactly as on chain
    record_hash         CHAR(64)     NOT NULL,  -- hex SHA-256 of its sorted-key form
    owner_address       VARCHAR(64)  NOT NULL,
    pending_transfer_id CHAR(32)     NULL,      -- set while a transfer is in flight
    version             INT UNSIGNED NOT NULL DEFAULT 0,
    created_at          DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at          DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (uid_tag_id),
    KEY idx_patch_txid (current_txid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Every record that went on chain, oldest first: the history of each patch.
CREATE TABLE IF NOT EXISTS records (
    txid        CHAR(64)     NOT NULL,
    uid_tag_id  VARCHAR(128) NOT NULL,
    kind        ENUM('registration','transfer') NOT NULL,
    record      MEDIUMTEXT   NOT NULL,
    record_hash CHAR(64)     NOT NULL,
    confirmed_ms BIGINT      NOT NULL,
    PRIMARY KEY (txid),
    KEY idx_records_uid (uid_tag_id),
    KEY idx_records_hash (record_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A registration or transfer between the 202 and its confirmation.
-- reg_lock makes a second pending registration of one uid a duplicate key.
CREATE TABLE IF NOT EXISTS pending_records (
    id              CHAR(32)     NOT NULL,      -- random 128-bit hex
    kind            ENUM('registration','transfer') NOT NULL,
    uid_tag_id      VARCHAR(128) NOT NULL,
    status          ENUM('pending','anchoring','confirmed','failed') NOT NULL DEFAULT 'pending',
    record          MEDIUMTEXT   NOT NULL,      -- compact JSON in the order received: the bytes on chain
    prev_txid       CHAR(64)     NULL,          -- transfers: the state they replace
    claim_intent_id CHAR(32)     NULL,          -- POS transfers
    txid            CHAR(64)     NULL,
    error           VARCHAR(255) NULL,
    reg_lock        VARCHAR(128) AS (IF(kind = 'registration' AND status IN ('pending','anchoring'),
                                        uid_tag_id, NULL)) PERSISTENT,
    created_at      DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at      DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    UNIQUE KEY uniq_pending_registration (reg_lock),
    KEY idx_pending_uid (uid_tag_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Broadcast jobs, written in the same transaction as their pending record.
-- step: queued → inputs_locked → signed (raw_tx and txid stored) → broadcast
-- → done | failed. A worker holds a job while lease_until (ms) is in the
-- future; an expired lease lets another worker resume from the stored step.
CREATE TABLE IF NOT EXISTS jobs (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    pending_id      CHAR(32)     NOT NULL,
    step            ENUM('queued','inputs_locked','signed','broadcast','done','failed') NOT NULL DEFAULT 'queued',
    attempts        INT UNSIGNED NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT       NOT NULL DEFAULT 0,
    lease_owner     VARCHAR(128) NULL,
    lease_until_ms  BIGINT       NOT NULL DEFAULT 0,
    raw_tx          MEDIUMTEXT   NULL,
    txid            CHAR(64)     NULL,
    last_error      VARCHAR(255) NULL,
    version         INT UNSIGNED NOT NULL DEFAULT 0,
    created_at      DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at      DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    UNIQUE KEY uniq_job_pending (pending_id),
    KEY idx_jobs_ready (step, next_attempt_ms)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The funding pool: unconfirmed → available → locked → spent. Every change is
-- one UPDATE … WHERE id = ? AND version = ? (never read-modify-write).
CREATE TABLE IF NOT EXISTS utxos (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    txid         CHAR(64)        NOT NULL,
    vout         INT UNSIGNED    NOT NULL,
    satoshis     BIGINT UNSIGNED NOT NULL,
    key_id       CHAR(66)        NOT NULL,      -- KMS keyIdentifier (compressed pubkey hex)
    script_hex   VARCHAR(1024)   NOT NULL,      -- locking script (P2PKH)
    status       ENUM('unconfirmed','available','locked','spent') NOT NULL,
    locked_by    BIGINT UNSIGNED NULL,          -- jobs.id
    locked_ms    BIGINT          NULL,
    spent_txid   CHAR(64)        NULL,
    version      INT UNSIGNED    NOT NULL DEFAULT 0,
    created_at   DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at   DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    UNIQUE KEY uniq_outpoint (txid, vout),
    KEY idx_utxo_pick (status, satoshis),
    KEY idx_utxo_job (locked_by)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Point-of-sale claims. Nonces are unique per deployment.
CREATE TABLE IF NOT EXISTS claim_intents (
    id               CHAR(32)     NOT NULL,
    uid_tag_id       VARCHAR(128) NOT NULL,
    customer_address VARCHAR(64)  NULL,         -- NULL after a privacy delete
    customer_user_id VARCHAR(64)  NULL,
    customer_pubkey  CHAR(66)     NULL,
    nonce            VARCHAR(128) NOT NULL,
    challenge_ts     BIGINT       NOT NULL,
    status           ENUM('pending','approved','confirmed','failed','expired') NOT NULL DEFAULT 'pending',
    approved_by      VARCHAR(128) NULL,
    pending_id       CHAR(32)     NULL,
    txid             CHAR(64)     NULL,
    error            VARCHAR(255) NULL,
    expires_ms       BIGINT       NOT NULL,
    version          INT UNSIGNED NOT NULL DEFAULT 0,
    created_at       DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at       DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    UNIQUE KEY uniq_claim_nonce (nonce),
    KEY idx_claim_user (customer_user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Owner-only content, encrypted (XChaCha20-Poly1305, per-patch key from
-- CONTENT_MASTER_KEY); the uid is the associated data.
CREATE TABLE IF NOT EXISTS patch_content (
    uid_tag_id VARCHAR(128)   NOT NULL,
    nonce      BINARY(24)     NOT NULL,
    ciphertext MEDIUMBLOB     NOT NULL,
    bytes      INT UNSIGNED   NOT NULL,
    updated_at DATETIME(3)    NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (uid_tag_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
