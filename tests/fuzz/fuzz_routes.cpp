// SPDX-License-Identifier: MIT
// Every route that takes a body, through the real pipeline (app::
// handle_request with the real router) in-process. MariaDB, memcached and the
// KMS point at nothing, so a well-formed body ends in 503 and a bad one in
// 400: validation runs before any service call.
//
// Input: line 1 selects the route ("POST /v1/patches"; anything else picks
// one by hash), line 2 is [object index byte][unknown key name], the rest is
// the body. The body is sent as it is (no 500, answer is valid JSON); then,
// if it is a JSON object, the key of line 2 is inserted into one of its
// objects (preorder index) and the PROPERTY is checked: a body with a field
// the route does not know is never accepted (400 VALIDATION_ERROR).
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <map>

#include "app/context.h"
#include "app/pipeline.h"
#include "app/routes.h"
#include "common/json.h"
#include "config/config.h"
#include "crypto/encoding.h"
#include "crypto/jwt.h"
#include "crypto/secp256k1.h"
#include "fake_http.h"
#include "fuzz_common.h"

namespace {

using namespace pp;

constexpr const char *kApiKey = "fuzz-api-key-0123456789abcdef0123456789abcdef";
constexpr const char *kJwtSecret = "fuzz-jwt-secret-0123456789abcdef0123456789";

// Every field name any route knows, at any depth. A generated name in this
// set is not "unknown" and is not checked (a new route field belongs here).
const char *const kKnownNames[] = {
    "userId", "pmcHex", "M", "signatureHex", "product", "metadata", "auth", "uid_tag_id", "name",
    "category", "sku", "serial_number", "material", "notes", "image", "patch_location", "owner",
    "newOwnerAddress", "currentOwnerPubKey", "currentOwnerSignature", "ownerPubKey", "ownerSignature",
    "content", "uid", "customer", "challenge", "signature", "address", "pubKey", "ts", "nonce", "intentId",
    "approvedBy", "limit", "identifier", "code", "action", "dryRun",
};

// A loopback port that refuses connections: bound, never listening (the
// socket stays open for the whole run, so no one else gets the port).
int refused_port()
{
    static int port = 0;
    static const int fd = fuzz::bind_loopback(&port);
    (void)fd;
    return port;
}

struct Harness {
    config::Config cfg;
    app::AppRouter router;
    app::AppContext ctx;
    std::vector<const app::AppRouter::Route *> body_routes;
    std::map<size_t, int> probe_status;  // route index -> answer to "{}"
    std::string bearer;

    static config::Config load_config()
    {
        const std::string port = std::to_string(refused_port());
        const std::map<std::string, std::string> env = {
            {"PATCHPROOF_ENV", "test"},
            {"API_KEY", kApiKey},
            {"JWT_SECRET", kJwtSecret},
            {"DB_HOST", "localhost"},
            {"DB_SOCKET", "/nonexistent/patchproof-fuzz/mysqld.sock"},
            {"DB_USER", "fuzz"},
            {"DB_PASSWORD", "fuzz"},
            {"MEMCACHED_SERVERS", "127.0.0.1:" + port},
            {"KMS_URL", "http://127.0.0.1:" + port},
            {"KMS_API_KEY", "fuzz-kms-key"},
            {"KMS_RETRIES", "0"},
            {"KMS_TIMEOUT_MS", "50"},
            {"CONTENT_MASTER_KEY", std::string(64, 'a')},
        };
        std::string why;
        auto cfg = config::load(
            [&](const char *name) -> const char * {
                auto it = env.find(name);
                return it == env.end() ? nullptr : it->second.c_str();
            },
            &why);
        if (!cfg) {
            std::fprintf(stderr, "fuzz_routes: config: %s\n", why.c_str());
            std::abort();
        }
        return std::move(*cfg);
    }

    Harness() : cfg(load_config()), ctx{cfg, router, nullptr, {}, {}, {}, {}, 0}
    {
        app::add_all_routes(router, cfg);
        for (const auto &r : router.routes())
            if (r.body_limit > 0)
                body_routes.push_back(&r);
        const int64_t now = app::now_sec();
        const std::string jti(64, 'b');
        JsonPtr header(json_pack("{s:s,s:s}", "alg", "HS256", "typ", "JWT"));
        JsonPtr payload(json_pack("{s:s,s:s,s:{s:s},s:I,s:I,s:I}", "sub", "fuzz-user", "jti", jti.c_str(), "cnf",
                                  "msha256", jti.c_str(), "iat", json_int_t(now), "nbf", json_int_t(now - 60),
                                  "exp", json_int_t(now + 10 * 365 * 86400)));
        auto token = crypto::jwt_sign_hs256(header.get(), payload.get(), crypto::as_bytes(kJwtSecret));
        if (!token)
            std::abort();
        bearer = "Bearer " + *token;
        for (const auto *r : body_routes) {
            probe_status[r->index] = run(*r, "{}").status;
            if (std::getenv("FUZZ_ROUTES_VERBOSE"))
                std::fprintf(stderr, "fuzz_routes: %s %s answers {} with %d\n", r->method.c_str(),
                             r->pattern.c_str(), probe_status[r->index]);
        }
    }

    static std::string path_of(const app::AppRouter::Route &r)
    {
        std::string out;
        for (const std::string &seg : r.segments) {
            out += '/';
            if (seg == "{txid}")
                out += std::string(64, 'c');
            else if (seg == "{id}")
                out += std::string(32, 'd');
            else if (seg.size() > 2 && seg.front() == '{')
                out += "fuzz-uid-0001";
            else
                out += seg;
        }
        return out;
    }

    fuzz::CgiAnswer run(const app::AppRouter::Route &r, const std::string &body)
    {
        fuzz::MemRequest mr({"REQUEST_METHOD=" + r.method, "REQUEST_URI=" + path_of(r),
                             "CONTENT_TYPE=application/json", "CONTENT_LENGTH=" + std::to_string(body.size()),
                             "REMOTE_ADDR=127.0.0.1", "REQUEST_ID=fuzz", std::string("HTTP_X_API_KEY=") + kApiKey,
                             "HTTP_AUTHORIZATION=" + bearer},
                            body);
        app::handle_request(ctx, mr.fcgx());
        return fuzz::parse_cgi_answer(mr.output());
    }
};

Harness &harness()
{
    static Harness *h = [] {
        fuzz::quiet_logs();
        if (!crypto::secp_init())
            std::abort();
        return new Harness();  // lives for the whole run
    }();
    return *h;
}

bool known_name(std::string_view name)
{
    for (const char *k : kKnownNames)
        if (name == k)
            return true;
    return false;
}

// The n-th object of the tree in preorder (the root is 0), or null.
json_t *nth_object(json_t *v, size_t &n)
{
    if (json_is_object(v)) {
        if (n == 0)
            return v;
        --n;
        const char *key;
        json_t *child;
        json_object_foreach(v, key, child) {
            if (json_t *hit = nth_object(child, n))
                return hit;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child) {
            if (json_t *hit = nth_object(child, n))
                return hit;
        }
    }
    return nullptr;
}

size_t count_objects(json_t *v)
{
    size_t n = SIZE_MAX;
    (void)nth_object(v, n);  // walks the whole tree, counting down
    return SIZE_MAX - n;
}

void check_answer(const fuzz::CgiAnswer &a)
{
    FUZZ_CHECK(a.status >= 200 && a.status < 600, "no status line");
    FUZZ_CHECK(a.status != 500, "a request body caused an internal error");
    json_error_t err;
    JsonPtr j(json_loadb(a.body.data(), a.body.size(), 0, &err));
    FUZZ_CHECK(j && json_is_object(j.get()), "the answer is not a JSON object");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Harness &h = harness();
    std::string_view in(reinterpret_cast<const char *>(data), size);
    const size_t nl1 = in.find('\n');
    const std::string_view selector = in.substr(0, nl1);
    std::string_view rest = nl1 == std::string_view::npos ? std::string_view() : in.substr(nl1 + 1);
    const size_t nl2 = rest.find('\n');
    const std::string_view mutation = rest.substr(0, nl2);
    const std::string body(nl2 == std::string_view::npos ? std::string_view() : rest.substr(nl2 + 1));

    const app::AppRouter::Route *route = nullptr;
    for (const auto *r : h.body_routes)
        if (selector == r->method + " " + r->pattern)
            route = r;
    if (!route)
        route = h.body_routes[std::hash<std::string_view>()(selector) % h.body_routes.size()];

    check_answer(h.run(*route, body));

    json_error_t err;
    JsonPtr doc(json_loadb(body.data(), body.size(), JSON_REJECT_DUPLICATES, &err));
    if (!doc || !json_is_object(doc.get()) || mutation.empty())
        return 0;
    // The unknown name: any bytes, made valid UTF-8 (JSON text cannot carry
    // anything else; invalid bytes would only make the body malformed).
    std::string name(mutation.substr(1));
    JsonPtr probe(json_stringn(name.data(), name.size()));
    if (!probe) {
        for (char &c : name)
            if (static_cast<unsigned char>(c) >= 0x80)
                c = '?';
    }
    if (known_name(name))
        return 0;
    size_t index = static_cast<unsigned char>(mutation[0]) % count_objects(doc.get());
    json_t *target = nth_object(doc.get(), index);
    if (!target || json_object_setn_new(target, name.data(), name.size(), json_true()) != 0)
        return 0;
    char *text = json_dumps(doc.get(), JSON_COMPACT);
    if (!text)
        return 0;
    const std::string mutated(text);
    std::free(text);
    if (mutated.size() > route->body_limit)
        return 0;

    const fuzz::CgiAnswer a = h.run(*route, mutated);
    check_answer(a);
    const int expected = h.probe_status[route->index];
    const bool refused = a.status == 400 && a.body.find("\"VALIDATION_ERROR\"") != std::string::npos;
    // Routes that answer "{}" with 400 validate with the services down and
    // must refuse. The others either stop before the body (a JWT route needs
    // MariaDB for its not-before check) and must give that same answer, or
    // take "{}" as a valid body (every field optional, e.g. batch-anchor)
    // and must refuse the unknown field before going further.
    if (expected == 400)
        FUZZ_CHECK(refused, "a body with an unknown field was not refused with 400");
    else
        FUZZ_CHECK(refused || a.status == expected, "a body with an unknown field got past the route's first check");
    return 0;
}
