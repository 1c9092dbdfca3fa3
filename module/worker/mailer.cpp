// SPDX-License-Identifier: MIT
// The email outbox (DESIGN.md §3 "Email code login"), sent over SMTP by
// patchproof-worker with libcurl. Each turn of the job loop may send a few
// due rows (leased one at a time, version-guarded like jobs); a row is
// deleted once the server accepted it, else retried with backoff. An SMTP
// server that is down costs the job loop at most one short attempt per
// poll: the first failure ends the turn's sending.
//
// TLS: smtps:// is TLS from the first byte; smtp:// must upgrade with
// STARTTLS (CURLUSESSL_ALL), except to a loopback host, where STARTTLS is
// used when offered (CURLUSESSL_TRY: the development sink speaks plain SMTP).
#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "common/json.h"
#include "email/mail.h"
#include "http/curl_handles.h"
#include "store/email.h"
#include "worker/runner.h"

namespace pp::worker::detail {
namespace {

constexpr int64_t kMailPollMs = 500;         // how often the outbox is looked at
constexpr int kMailsPerTurn = 3;
constexpr int64_t kFirstBackoffMs = 1000;    // doubled per attempt
constexpr int64_t kMaxBackoffMs = 60'000;
constexpr int64_t kStaleEveryMs = 60'000;    // how often expired mail is dropped

struct Upload {
    std::string_view data;
    size_t pos = 0;
};

size_t read_upload(char *buf, size_t size, size_t nitems, void *userp) noexcept
{
    auto *u = static_cast<Upload *>(userp);
    const size_t n = std::min(size * nitems, u->data.size() - u->pos);
    std::memcpy(buf, u->data.data() + u->pos, n);
    u->pos += n;
    return n;
}

bool loopback_url(const std::string &url)
{
    CURLU *u = curl_url();
    if (!u)
        return false;
    char *host = nullptr;
    bool loop = false;
    if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host) {
        const std::string h(host);
        loop = h == "localhost" || h == "[::1]" || h.rfind("127.", 0) == 0;
    }
    curl_free(host);
    curl_url_cleanup(u);
    return loop;
}

// One message over SMTP. Empty on success, else a short reason without
// secrets (curl's error text and the server's reply code).
std::string smtp_send(const config::Config &cfg, const std::string &rcpt, std::string_view message)
{
    if (!http::curl_global_once())
        return "curl init failed";
    http::CurlPtr c(curl_easy_init());
    if (!c)
        return "curl init failed";
    const std::string from = "<" + email::envelope_address(cfg.email_from) + ">";
    if (from.size() <= 2)
        return "EMAIL_FROM has no usable address";
    http::SlistPtr to(curl_slist_append(nullptr, ("<" + rcpt + ">").c_str()));
    if (!to)
        return "out of memory";
    Upload up{message, 0};
    const bool tls_url = cfg.smtp_url.rfind("smtps://", 0) == 0;
    CURL *h = c.get();
    curl_easy_setopt(h, CURLOPT_URL, cfg.smtp_url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h, CURLOPT_USE_SSL,
                     static_cast<long>(tls_url || !loopback_url(cfg.smtp_url) ? CURLUSESSL_ALL : CURLUSESSL_TRY));
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from.c_str());
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, to.get());
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_upload);
    curl_easy_setopt(h, CURLOPT_READDATA, &up);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(cfg.smtp_timeout_ms));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(cfg.smtp_timeout_ms));
    const std::string user(cfg.smtp_user);
    std::string password(cfg.smtp_password.reveal());
    if (!user.empty()) {
        curl_easy_setopt(h, CURLOPT_USERNAME, user.c_str());
        curl_easy_setopt(h, CURLOPT_PASSWORD, password.c_str());
    }
    const CURLcode rc = curl_easy_perform(h);
    email::wipe(password);
    if (rc == CURLE_OK)
        return {};
    long reply = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply);
    std::string why = curl_easy_strerror(rc);
    if (reply > 0)
        why += " (smtp " + std::to_string(reply) + ")";
    return why;
}

}  // namespace

// One due row: leased, opened, sent, deleted or put back with backoff.
// false when nothing was due or the send failed (the turn stops sending).
bool Worker::send_one_mail(const email::OutboxKey &key)
{
    const int64_t now = now_ms();
    auto leased = store::lease_outbox(db_, id_, now, cfg_.smtp_timeout_ms + 30'000, 1);
    if (!leased || leased->empty())
        return false;
    store::OutboxMail &mail = leased->front();
    JsonPtr f(json_pack("{s:I,s:i}", "outbox_id", static_cast<json_int_t>(mail.id), "attempts",
                        static_cast<int>(mail.attempts)));
    std::string error;
    auto plain = email::open(key, mail.nonce, mail.ciphertext);
    if (!plain)
        error = "cannot open the sealed mail (AUTH_OUTBOX_KEY differs from the API's)";
    else
        error = smtp_send(cfg_, mail.identifier, *plain);
    if (plain)
        email::wipe(*plain);
    if (error.empty()) {
        auto gone = store::outbox_sent(db_, mail);
        if (!gone || !*gone)
            log::warn("mail sent but its outbox row was taken over; it may be sent twice", f.get());
        else
            log::info("mail sent", f.get());
        return true;
    }
    const int64_t backoff = std::min(kMaxBackoffMs, kFirstBackoffMs << std::min<uint32_t>(mail.attempts, 6));
    json_object_set_new(f.get(), "error", json_string(error.c_str()));
    json_object_set_new(f.get(), "retry_ms", json_integer(backoff));
    log::warn("mail not sent; will retry", f.get());
    if (!store::outbox_retry(db_, mail, now + backoff, error))
        log::warn("cannot store the mail's retry; its lease will expire", f.get());
    return false;
}

void Worker::maybe_send_mail()
{
    const int64_t now = now_ms();
    if (now < next_mail_ms_)
        return;
    next_mail_ms_ = now + kMailPollMs;
    // Mail whose code has expired is useless: dropped even where SMTP_URL is unset.
    if (now >= next_stale_mail_ms_) {
        next_stale_mail_ms_ = now + kStaleEveryMs;
        auto dropped = store::drop_stale_outbox(db_, cfg_.auth_code_ttl_sec);
        if (dropped && *dropped > 0) {
            JsonPtr f(json_pack("{s:I}", "dropped", static_cast<json_int_t>(*dropped)));
            log::warn("dropped unsent mail whose code has expired", f.get());
        }
    }
    if (cfg_.smtp_url.empty())
        return;
    auto key = email::outbox_key(cfg_.auth_outbox_key.reveal());
    if (!key) {
        next_mail_ms_ = now + kStaleEveryMs;
        log::error("AUTH_OUTBOX_KEY is missing or not 64 hex characters; mail is not sent");
        return;
    }
    for (int i = 0; i < kMailsPerTurn; ++i)
        if (!send_one_mail(*key))
            break;
}

}  // namespace pp::worker::detail
