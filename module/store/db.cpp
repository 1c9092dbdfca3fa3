// SPDX-License-Identifier: MIT
#include "store/db.h"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include <utility>

namespace pp::store {

namespace {

// A worker runs a fixed set of SQL texts; the cap only guards against a
// caller that builds SQL dynamically (IN lists) and would otherwise exhaust
// the server's max_prepared_stmt_count.
constexpr size_t kMaxCachedStatements = 256;
// Result columns start with this buffer; longer values are fetched again
// with mysql_stmt_fetch_column at their exact length.
constexpr unsigned long kColumnBuffer = 256;

enum class Kind { lost, conflict, aborted, timeout, too_large, other };

Kind classify(unsigned err)
{
    switch (err) {
    // The connection is gone or its protocol state is unknown: drop it.
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_UNKNOWN_HOST:
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_HANDSHAKE_ERR:
    case CR_SERVER_LOST:
    case CR_COMMANDS_OUT_OF_SYNC:
    case CR_SERVER_LOST_EXTENDED:
    case CR_ERR_NET_READ:
    case CR_ERR_NET_WRITE:
    case ER_CONNECTION_KILLED:
    case ER_SERVER_SHUTDOWN:
    case ER_NET_PACKETS_OUT_OF_ORDER:
    case ER_NET_READ_ERROR:
    case ER_NET_READ_INTERRUPTED:
    case ER_NET_ERROR_ON_WRITE:
    case ER_NET_WRITE_INTERRUPTED:
    case ER_CON_COUNT_ERROR:
        return Kind::lost;
    // The server closes the connection after an oversized packet.
    case ER_NET_PACKET_TOO_LARGE:
    case CR_NET_PACKET_TOO_LARGE:
        return Kind::too_large;
    case ER_DUP_ENTRY:
    case ER_DUP_KEY:
    case ER_DUP_UNIQUE:
    case ER_DUP_ENTRY_WITH_KEY_NAME:
        return Kind::conflict;
    // InnoDB rolled the whole transaction back (Galera reports a failed
    // certification the same way, often at COMMIT). A lock-wait timeout only
    // rolls back the statement, but what ran before it may rest on a read
    // that is now stale: the transaction is re-run from its start as well.
    case ER_LOCK_DEADLOCK:
    case ER_LOCK_WAIT_TIMEOUT:
        return Kind::aborted;
    case ER_STATEMENT_TIMEOUT:
    case ER_QUERY_INTERRUPTED:
        return Kind::timeout;
    default:
        return Kind::other;
    }
}

bool is_credentials_error(unsigned err)
{
    return err == ER_ACCESS_DENIED_ERROR || err == ER_DBACCESS_DENIED_ERROR ||
           err == ER_BAD_DB_ERROR || err == ER_ACCESS_DENIED_NO_PASSWORD_ERROR;
}

}  // namespace

Result<void> db_library_init()
{
    static bool done = false;
    if (done) return {};
    if (mysql_library_init(0, nullptr, nullptr) != 0) return Errc::internal;
    done = true;
    return {};
}

void db_library_end()
{
    mysql_library_end();
}

void Db::MysqlClose::operator()(st_mysql *m) const noexcept
{
    mysql_close(m);
}

void Db::StmtClose::operator()(st_mysql_stmt *s) const noexcept
{
    mysql_stmt_close(s);
}

Db::Db(DbConfig cfg, MysqlPtr conn) : cfg_(std::move(cfg)), conn_(std::move(conn)) {}

Db::Db(Db &&other) noexcept = default;

Db &Db::operator=(Db &&other) noexcept
{
    if (this != &other) {
        drop_connection();  // our statements must close before our connection
        cfg_ = std::move(other.cfg_);
        conn_ = std::move(other.conn_);
        stmts_ = std::move(other.stmts_);
        last_insert_id_ = other.last_insert_id_;
        last_errno_ = other.last_errno_;
        in_txn_ = other.in_txn_;
        txn_lost_ = other.txn_lost_;
        txn_aborted_ = other.txn_aborted_;
    }
    return *this;
}

Db::~Db() = default;  // stmts_ is declared after conn_, so it is destroyed first

Result<Db::MysqlPtr> Db::open(const DbConfig &cfg, unsigned *error_number)
{
    if (error_number) *error_number = 0;
    MysqlPtr m(mysql_init(nullptr));
    if (!m) return Errc::internal;

    unsigned int connect_timeout = cfg.connect_timeout_sec;
    unsigned int read_timeout = cfg.read_timeout_sec;
    unsigned int write_timeout = cfg.write_timeout_sec;
    // We reconnect ourselves: the library's silent auto-reconnect would drop
    // prepared statements and transaction state behind our back.
    my_bool reconnect = 0;
    unsigned int local_infile = 0;  // never let the server ask for client files
    int rc = 0;
    rc |= mysql_optionsv(m.get(), MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
    rc |= mysql_optionsv(m.get(), MYSQL_OPT_READ_TIMEOUT, &read_timeout);
    rc |= mysql_optionsv(m.get(), MYSQL_OPT_WRITE_TIMEOUT, &write_timeout);
    rc |= mysql_optionsv(m.get(), MYSQL_OPT_RECONNECT, &reconnect);
    rc |= mysql_optionsv(m.get(), MYSQL_OPT_LOCAL_INFILE, &local_infile);
    rc |= mysql_optionsv(m.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
    // DATETIME defaults (CURRENT_TIMESTAMP) must not depend on the host's zone.
    rc |= mysql_optionsv(m.get(), MYSQL_INIT_COMMAND, "SET time_zone = '+00:00'");

    const char *host = cfg.host.c_str();
    const char *socket = nullptr;
    if (!cfg.unix_socket.empty()) {
        // With a TCP host name the library would ignore the socket path.
        unsigned int protocol = MYSQL_PROTOCOL_SOCKET;
        rc |= mysql_optionsv(m.get(), MYSQL_OPT_PROTOCOL, &protocol);
        host = "localhost";
        socket = cfg.unix_socket.c_str();
    }
    if (rc != 0) return Errc::internal;

    // CLIENT_FOUND_ROWS: affected rows = rows matched by WHERE, so a guarded
    // UPDATE that rewrites identical values still reports that it matched.
    const unsigned long flags = CLIENT_FOUND_ROWS;
    if (!mysql_real_connect(m.get(), host, cfg.user.c_str(), cfg.password.c_str(),
                            cfg.database.empty() ? nullptr : cfg.database.c_str(), cfg.port,
                            socket, flags)) {
        unsigned err = mysql_errno(m.get());
        if (error_number) *error_number = err;
        return is_credentials_error(err) ? Errc::invalid_argument : Errc::unavailable;
    }
    return m;
}

Result<Db> Db::connect(const DbConfig &cfg, unsigned *error_number)
{
    auto m = open(cfg, error_number);
    if (!m) return m.error();
    return Db(cfg, std::move(*m));
}

void Db::drop_connection() noexcept
{
    stmts_.clear();
    conn_.reset();
    last_insert_id_ = 0;
}

Result<void> Db::ensure_connected()
{
    if (conn_) return {};
    // One attempt per call; a failure leaves us disconnected for the next call.
    auto m = open(cfg_, &last_errno_);
    if (!m) return Errc::unavailable;
    conn_ = std::move(*m);
    return {};
}

Errc Db::on_error(unsigned err)
{
    last_errno_ = err;
    switch (classify(err)) {
    case Kind::lost:
        if (in_txn_) txn_lost_ = true;  // the server rolled it back with the session
        drop_connection();
        return Errc::unavailable;
    case Kind::too_large:
        if (in_txn_) txn_lost_ = true;
        drop_connection();
        return Errc::out_of_range;
    case Kind::conflict: return Errc::conflict;
    case Kind::aborted:
        // Every later statement must fail too: after a deadlock the server is
        // outside any transaction and would autocommit them one by one.
        if (in_txn_) txn_aborted_ = true;
        return Errc::deadlock;
    case Kind::timeout: return Errc::timeout;
    case Kind::other: break;
    }
    return err == 0 ? Errc::unavailable : Errc::internal;
}

Result<st_mysql_stmt *> Db::prepare(std::string_view sql)
{
    std::string key(sql);
    if (auto it = stmts_.find(key); it != stmts_.end()) return it->second.get();
    if (stmts_.size() >= kMaxCachedStatements) stmts_.clear();

    StmtPtr s(mysql_stmt_init(conn_.get()));
    if (!s) return on_error(mysql_errno(conn_.get()));
    if (mysql_stmt_prepare(s.get(), sql.data(), sql.size()) != 0) {
        unsigned err = mysql_stmt_errno(s.get());
        s.reset();  // close before on_error() may close the connection
        return on_error(err);
    }
    st_mysql_stmt *raw = s.get();
    stmts_.emplace(std::move(key), std::move(s));
    return raw;
}

Result<st_mysql_stmt *> Db::run(std::string_view sql, std::initializer_list<Param> params)
{
    if (txn_lost_) return Errc::unavailable;
    if (txn_aborted_) return Errc::deadlock;
    if (auto c = ensure_connected(); !c) return c.error();
    auto prepared = prepare(sql);
    if (!prepared) return prepared.error();
    MYSQL_STMT *s = *prepared;

    if (mysql_stmt_param_count(s) != params.size()) return Errc::invalid_argument;

    const size_t n = params.size();
    std::vector<MYSQL_BIND> binds(n);  // value-initialised: all fields zero
    std::vector<long long> ints(n);
    std::vector<unsigned long> lengths(n);
    static char empty[1] = {0};
    size_t i = 0;
    for (const Param &p : params) {
        MYSQL_BIND &b = binds[i];
        if (std::holds_alternative<std::nullptr_t>(p)) {
            b.buffer_type = MYSQL_TYPE_NULL;
        } else if (const int64_t *v = std::get_if<int64_t>(&p)) {
            ints[i] = *v;
            b.buffer_type = MYSQL_TYPE_LONGLONG;
            b.buffer = &ints[i];
        } else {
            std::string_view sv = std::get<std::string_view>(p);
            lengths[i] = sv.size();
            b.buffer_type = MYSQL_TYPE_STRING;
            // The library only reads input buffers; it takes void*.
            b.buffer = sv.empty() ? empty : const_cast<char *>(sv.data());
            b.buffer_length = sv.size();
            b.length = &lengths[i];
        }
        ++i;
    }
    if (n > 0 && mysql_stmt_bind_param(s, binds.data()) != 0)
        return on_error(mysql_stmt_errno(s));

    if (mysql_stmt_execute(s) != 0) {
        unsigned err = mysql_stmt_errno(s);
        Kind kind = classify(err);
        // Keep the statement for expected outcomes; re-prepare after anything
        // else (e.g. the table changed under it).
        if (kind == Kind::other) stmts_.erase(std::string(sql));
        return on_error(err);
    }
    return s;
}

Result<uint64_t> Db::execute(std::string_view sql, std::initializer_list<Param> params)
{
    auto r = run(sql, params);
    if (!r) return r.error();
    MYSQL_STMT *s = *r;
    // A statement that returns rows must be drained, or the connection is out of sync.
    if (mysql_stmt_field_count(s) > 0 && mysql_stmt_store_result(s) != 0) return on_error(mysql_stmt_errno(s));
    uint64_t affected = mysql_stmt_affected_rows(s);
    last_insert_id_ = mysql_stmt_insert_id(s);
    mysql_stmt_free_result(s);
    return affected;
}

Result<std::vector<Row>> Db::query(std::string_view sql, std::initializer_list<Param> params)
{
    const bool had_connection = conn_ != nullptr;
    auto rows = fetch(sql, params);
    // A stale connection (the server restarted, an idle timeout) is found
    // only by the first statement sent on it. A read outside a transaction
    // changes nothing, so it is sent once more on a new connection; a
    // server that is really down fails that at once.
    if (!rows && rows.error() == Errc::unavailable && had_connection && !conn_ && !in_txn_)
        rows = fetch(sql, params);
    return rows;
}

Result<std::vector<Row>> Db::fetch(std::string_view sql, std::initializer_list<Param> params)
{
    auto r = run(sql, params);
    if (!r) return r.error();
    MYSQL_STMT *s = *r;
    std::vector<Row> rows;
    const unsigned ncol = mysql_stmt_field_count(s);
    if (ncol == 0) return rows;

    // Buffer the whole result client-side so fetch_column below is a copy,
    // and the server is free before we convert anything.
    if (mysql_stmt_store_result(s) != 0) return on_error(mysql_stmt_errno(s));

    std::vector<MYSQL_BIND> binds(ncol);
    std::vector<std::string> bufs(ncol, std::string(kColumnBuffer, '\0'));
    std::vector<unsigned long> lengths(ncol);
    std::vector<my_bool> nulls(ncol), truncated(ncol);
    for (unsigned c = 0; c < ncol; ++c) {
        MYSQL_BIND &b = binds[c];
        b.buffer_type = MYSQL_TYPE_STRING;  // the library converts every type to text
        b.buffer = bufs[c].data();
        b.buffer_length = kColumnBuffer;
        b.length = &lengths[c];
        b.is_null = &nulls[c];
        b.error = &truncated[c];
    }
    if (mysql_stmt_bind_result(s, binds.data()) != 0) {
        unsigned err = mysql_stmt_errno(s);
        mysql_stmt_free_result(s);
        return on_error(err);
    }

    rows.reserve(mysql_stmt_num_rows(s));
    for (;;) {
        int rc = mysql_stmt_fetch(s);
        if (rc == MYSQL_NO_DATA) break;
        if (rc != 0 && rc != MYSQL_DATA_TRUNCATED) {
            unsigned err = mysql_stmt_errno(s);
            mysql_stmt_free_result(s);
            return on_error(err);
        }
        Row row(ncol);
        for (unsigned c = 0; c < ncol; ++c) {
            if (nulls[c]) continue;
            const unsigned long len = lengths[c];
            if (len <= kColumnBuffer) {
                row[c].emplace(bufs[c].data(), len);
                continue;
            }
            std::string big(len, '\0');
            MYSQL_BIND whole{};
            unsigned long got = 0;
            whole.buffer_type = MYSQL_TYPE_STRING;
            whole.buffer = big.data();
            whole.buffer_length = len;
            whole.length = &got;
            if (mysql_stmt_fetch_column(s, &whole, c, 0) != 0 || got != len) {
                unsigned err = mysql_stmt_errno(s);
                mysql_stmt_free_result(s);
                last_errno_ = err;
                return Errc::internal;
            }
            row[c] = std::move(big);
        }
        rows.push_back(std::move(row));
    }
    mysql_stmt_free_result(s);
    return rows;
}

Result<uint64_t> Db::last_insert_id() const
{
    if (last_insert_id_ == 0) return Errc::not_found;
    return last_insert_id_;
}

Result<void> Db::simple(std::string_view sql)
{
    if (auto c = ensure_connected(); !c) return c.error();
    if (mysql_real_query(conn_.get(), sql.data(), sql.size()) != 0) return on_error(mysql_errno(conn_.get()));
    // START TRANSACTION / COMMIT / ROLLBACK return no rows; nothing to drain.
    return {};
}

Result<void> Db::exec_script(std::string_view sql_text)
{
    if (txn_lost_) return Errc::unavailable;
    if (auto c = ensure_connected(); !c) return c.error();
    MYSQL *m = conn_.get();
    // Multi-statements only for the duration of the script, so no other
    // query on this connection can ever be stacked.
    if (mysql_set_server_option(m, MYSQL_OPTION_MULTI_STATEMENTS_ON) != 0) return on_error(mysql_errno(m));

    unsigned err = 0;
    if (mysql_real_query(m, sql_text.data(), sql_text.size()) != 0) {
        err = mysql_errno(m);
    } else {
        for (;;) {
            if (MYSQL_RES *res = mysql_store_result(m)) {
                mysql_free_result(res);
            } else if (mysql_field_count(m) != 0) {
                err = mysql_errno(m);
                break;
            }
            int next = mysql_next_result(m);
            if (next == -1) break;  // no more results
            if (next > 0) {
                err = mysql_errno(m);
                break;
            }
        }
    }
    if (err == ER_EMPTY_QUERY) err = 0;  // a script of comments only
    if (err != 0 && classify(err) == Kind::lost) return on_error(err);
    if (mysql_set_server_option(m, MYSQL_OPTION_MULTI_STATEMENTS_OFF) != 0) {
        unsigned off_err = mysql_errno(m);
        return on_error(err != 0 ? err : off_err);
    }
    if (err != 0) return on_error(err);
    return {};
}

Result<void> Db::begin()
{
    // A new transaction forgets one lost with an old connection.
    txn_lost_ = false;
    txn_aborted_ = false;
    in_txn_ = false;
    if (auto r = simple("START TRANSACTION"); !r) return r;
    in_txn_ = true;
    return {};
}

Result<void> Db::commit()
{
    // The server already rolled back with the lost session: never report a
    // COMMIT on a fresh connection as success.
    if (txn_lost_) return Errc::unavailable;
    if (txn_aborted_) {
        // Refused, and the transaction ends here: after a lock-wait timeout
        // the server still has it open (with the locks of what ran before),
        // and this connection must not stay refusing every later statement.
        (void)rollback();
        return Errc::deadlock;
    }
    if (auto r = simple("COMMIT"); !r) {
        // deadlock here (Galera certification): the server rolled back.
        // Lost here: the outcome is unknown, reported as unavailable.
        if (r.error() == Errc::deadlock) {
            txn_aborted_ = false;
            in_txn_ = false;
        }
        return r;
    }
    in_txn_ = false;
    return {};
}

Result<void> Db::rollback()
{
    if (txn_lost_) {
        txn_lost_ = false;
        in_txn_ = false;
        return {};
    }
    // After a deadlock the server has rolled back already; ROLLBACK is
    // harmless, and after a lock-wait timeout it is needed.
    txn_aborted_ = false;
    auto r = simple("ROLLBACK");
    in_txn_ = false;
    txn_lost_ = false;
    return r;
}

bool Db::ping()
{
    if (conn_) {
        if (mysql_ping(conn_.get()) == 0) return true;
        on_error(mysql_errno(conn_.get()));
        if (conn_) return false;  // answered with an error but not lost
    }
    return ensure_connected().ok();
}

}  // namespace pp::store
