-- SPDX-License-Identifier: MIT
-- 0001: core tables for SVD login, privacy deletes, runtime settings and leases.
-- Applied once by `patchproof migrate` (recorded in schema_migrations by sha256;
-- never edit this file after release, add 0002_... instead). DDL commits
-- implicitly, so every statement is re-runnable (IF NOT EXISTS).
-- utf8mb4_bin: identifiers compare byte for byte, so "Alice" and "alice" are
-- different users and a lookup can never return another user's key.

-- One registered public master key (PMC) per user; version guards replacement.
CREATE TABLE IF NOT EXISTS svd_registrations (
    user_id    VARCHAR(64)  NOT NULL,
    pmc_hex    CHAR(66)     NOT NULL,
    key_id     VARCHAR(64)  NULL,
    version    INT UNSIGNED NOT NULL DEFAULT 0,
    created_at DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Privacy delete: tokens of this subject with iat <= not_before (unix seconds) are rejected.
CREATE TABLE IF NOT EXISTS subject_not_before (
    user_id    VARCHAR(64) NOT NULL,
    not_before BIGINT      NOT NULL,
    PRIMARY KEY (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Runtime settings that override the environment (e.g. FEE_PER_KB).
CREATE TABLE IF NOT EXISTS settings (
    name  VARCHAR(64)  NOT NULL,
    value VARCHAR(255) NOT NULL,
    PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Named leases (singleton jobs such as UTXO maintenance); expires_at in unix
-- seconds, taken and renewed with version-guarded UPDATEs.
CREATE TABLE IF NOT EXISTS leases (
    name       VARCHAR(64)  NOT NULL,
    holder     VARCHAR(128) NOT NULL,
    expires_at BIGINT       NOT NULL,
    version    INT UNSIGNED NOT NULL DEFAULT 0,
    PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
