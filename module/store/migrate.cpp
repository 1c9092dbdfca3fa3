// SPDX-License-Identifier: MIT
#include "store/migrate.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <system_error>
#include <thread>

#include "crypto/encoding.h"
#include "crypto/hash.h"

namespace pp::store {

namespace {

// A migration larger than this is a mistake (a data dump), not a schema change.
constexpr long kMaxFileBytes = 16L * 1024 * 1024;
constexpr int kLockWaitSec = 60;

void set_detail(std::string *detail, std::string text)
{
    if (detail) *detail = std::move(text);
}

std::string errno_text(const Db &db)
{
    return "mysql error " + std::to_string(db.last_error_number());
}

Result<std::string> read_file(const std::filesystem::path &path)
{
    std::unique_ptr<std::FILE, decltype(&std::fclose)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!f) return Errc::not_found;
    std::string bytes;
    char buf[65536];
    for (;;) {
        size_t n = std::fread(buf, 1, sizeof buf, f.get());
        bytes.append(buf, n);
        if (bytes.size() > size_t(kMaxFileBytes)) return Errc::out_of_range;
        if (n < sizeof buf) break;
    }
    if (std::ferror(f.get())) return Errc::internal;
    return bytes;
}

// Releases the migration lock on every exit path.
class MigrationLock {
public:
    explicit MigrationLock(Db &db) : db_(db) {}
    MigrationLock(const MigrationLock &) = delete;
    MigrationLock &operator=(const MigrationLock &) = delete;
    ~MigrationLock()
    {
        if (held_) (void)db_.query("SELECT RELEASE_LOCK('patchproof.migrate')");
    }

    // Polls with GET_LOCK(name, 0): a server-side wait longer than the
    // connection's read timeout would look like a lost connection.
    Result<void> acquire()
    {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kLockWaitSec);
        for (;;) {
            auto r = db_.query("SELECT GET_LOCK('patchproof.migrate', 0)");
            if (!r) return r.error();
            if (r->size() != 1 || r->front().size() != 1 || !r->front()[0]) return Errc::internal;
            if (*r->front()[0] == "1") break;
            if (std::chrono::steady_clock::now() >= deadline) return Errc::timeout;
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
        held_ = true;
        return {};
    }

private:
    Db &db_;
    bool held_ = false;
};

struct MigrationFile {
    std::string name;
    std::string text;
    std::string sha256_hex;
};

}  // namespace

bool is_migration_name(std::string_view name) noexcept
{
    // ^[0-9]{4}_[A-Za-z0-9_]+\.sql$ without std::regex (which can throw).
    constexpr std::string_view ext = ".sql";
    if (name.size() < 4 + 1 + 1 + ext.size()) return false;
    for (size_t i = 0; i < 4; ++i)
        if (name[i] < '0' || name[i] > '9') return false;
    if (name[4] != '_') return false;
    if (name.substr(name.size() - ext.size()) != ext) return false;
    for (char c : name.substr(5, name.size() - 5 - ext.size())) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (!ok) return false;
    }
    return true;
}

namespace {

// Every migration file in sql_dir, read and hashed, in name order.
Result<std::vector<MigrationFile>> read_migrations(const std::string &sql_dir, std::string *error_detail)
{
    std::vector<MigrationFile> files;
    std::error_code ec;
    std::filesystem::directory_iterator it(sql_dir, ec), end;
    if (ec) {
        set_detail(error_detail, "cannot read migration directory " + sql_dir);
        return Errc::not_found;
    }
    for (; it != end; it.increment(ec)) {
        if (ec) break;
        std::string name = it->path().filename().string();
        if (!is_migration_name(name)) continue;
        if (!it->is_regular_file(ec)) continue;
        auto text = read_file(it->path());
        if (!text) {
            set_detail(error_detail, "cannot read migration " + name);
            return text.error();
        }
        std::string hex = crypto::hex_encode(crypto::sha256(crypto::as_bytes(*text)));
        files.push_back({std::move(name), std::move(*text), std::move(hex)});
    }
    if (ec) {
        set_detail(error_detail, "cannot list migration directory " + sql_dir);
        return Errc::internal;
    }
    std::sort(files.begin(), files.end(),
              [](const MigrationFile &a, const MigrationFile &b) { return a.name < b.name; });
    return files;
}

}  // namespace

Result<MigrationReport> migrate(Db &db, const std::string &sql_dir, std::string *error_detail)
{
    if (error_detail) error_detail->clear();

    // Read and hash every file first, so an unreadable directory or file
    // changes nothing in the database.
    auto files = read_migrations(sql_dir, error_detail);
    if (!files) return files.error();

    auto created = db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " name VARCHAR(255) NOT NULL PRIMARY KEY,"
        " sha256 CHAR(64) NOT NULL,"
        " applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin");
    if (!created) {
        set_detail(error_detail, "cannot create schema_migrations (" + errno_text(db) + ")");
        return created.error();
    }

    MigrationLock lock(db);
    if (auto r = lock.acquire(); !r) {
        set_detail(error_detail, "cannot take the migration lock (" + errno_text(db) + ")");
        return r.error();
    }

    auto rows = db.query("SELECT name, sha256 FROM schema_migrations");
    if (!rows) {
        set_detail(error_detail, "cannot read schema_migrations (" + errno_text(db) + ")");
        return rows.error();
    }
    std::map<std::string, std::string> recorded;
    for (const Row &row : *rows)
        if (row.size() == 2 && row[0] && row[1]) recorded.emplace(*row[0], *row[1]);

    // Verify everything before applying anything: an edited old file means
    // the schema history is no longer what the database went through.
    MigrationReport report;
    for (const MigrationFile &f : *files) {
        auto found = recorded.find(f.name);
        if (found == recorded.end()) continue;
        if (found->second != f.sha256_hex) {
            set_detail(error_detail, "migration " + f.name + " changed after it was applied (sha256 mismatch)");
            return Errc::conflict;
        }
        report.already.push_back(f.name);
    }

    for (const MigrationFile &f : *files) {
        if (recorded.count(f.name)) continue;
        if (auto r = db.exec_script(f.text); !r) {
            set_detail(error_detail, "migration " + f.name + " failed (" + errno_text(db) + ")");
            return r.error();
        }
        auto ins = db.execute("INSERT INTO schema_migrations (name, sha256) VALUES (?, ?)",
                              {std::string_view(f.name), std::string_view(f.sha256_hex)});
        if (!ins) {
            set_detail(error_detail, "migration " + f.name + " applied but not recorded (" + errno_text(db) + ")");
            return ins.error();
        }
        report.applied.push_back(f.name);
    }
    return report;
}

}  // namespace pp::store
