-- SPDX-License-Identifier: MIT
-- 0003: a fifth pool state (DESIGN.md §3 Admin, §4). An output the chain did
-- not confirm as unspent after a refused broadcast is 'quarantined' with the
-- reason, and never selected for a job. Every statement is re-runnable: a
-- run cut short (DDL commits one statement at a time) is simply run again.

ALTER TABLE utxos
    MODIFY COLUMN status ENUM('unconfirmed','available','locked','spent','quarantined') NOT NULL;

ALTER TABLE utxos
    ADD COLUMN IF NOT EXISTS quarantine_reason VARCHAR(255) NULL AFTER spent_txid;
