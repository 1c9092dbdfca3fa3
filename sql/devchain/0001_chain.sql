-- SPDX-License-Identifier: MIT
-- patchproof-devchain: the whole state of the development chain. It lives in
-- its own database (DEVCHAIN_DB_NAME, default patchproof_devchain), never in
-- the service's. Hex columns are lowercase; txids in display (reversed) order.

-- One row: the chain tip. Miners take it FOR UPDATE, which serialises mining
-- (and the one-time genesis) across every worker and process. height -1
-- means "no block yet".
CREATE TABLE IF NOT EXISTS dc_tip (
    id TINYINT UNSIGNED NOT NULL PRIMARY KEY,
    height BIGINT NOT NULL,
    hash CHAR(64) CHARACTER SET ascii NOT NULL,
    mined_at BIGINT NOT NULL            -- unix seconds of the tip block
) ENGINE=InnoDB;

INSERT IGNORE INTO dc_tip (id, height, hash, mined_at) VALUES (1, -1, '', 0);

CREATE TABLE IF NOT EXISTS dc_blocks (
    height BIGINT NOT NULL PRIMARY KEY,
    hash CHAR(64) CHARACTER SET ascii NOT NULL,
    prev_hash CHAR(64) CHARACTER SET ascii NOT NULL,
    mined_at BIGINT NOT NULL,
    tx_count INT UNSIGNED NOT NULL,
    UNIQUE KEY dc_blocks_hash (hash)
) ENGINE=InnoDB;

-- Every accepted transaction; block_height NULL while it is in the mempool.
-- seq is the acceptance order, so a block lists parents before children.
CREATE TABLE IF NOT EXISTS dc_txs (
    txid CHAR(64) CHARACTER SET ascii NOT NULL PRIMARY KEY,
    seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    raw_hex MEDIUMTEXT CHARACTER SET ascii NOT NULL,
    fee BIGINT UNSIGNED NOT NULL,
    block_height BIGINT NULL,
    accepted_at BIGINT NOT NULL,
    UNIQUE KEY dc_txs_seq (seq),
    KEY dc_txs_block (block_height)
) ENGINE=InnoDB;

-- Spendable outputs (provably unspendable OP_RETURN outputs are not kept,
-- like a node's UTXO set). pkh is the hash160 of a P2PKH output, NULL for
-- any other script. spent_by is the spending txid, NULL while unspent.
CREATE TABLE IF NOT EXISTS dc_outputs (
    txid CHAR(64) CHARACTER SET ascii NOT NULL,
    vout INT UNSIGNED NOT NULL,
    satoshis BIGINT UNSIGNED NOT NULL,
    pkh CHAR(40) CHARACTER SET ascii NULL,
    spent_by CHAR(64) CHARACTER SET ascii NULL,
    PRIMARY KEY (txid, vout),
    KEY dc_outputs_pkh (pkh, spent_by)
) ENGINE=InnoDB;
