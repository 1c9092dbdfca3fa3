// SPDX-License-Identifier: MIT
// SVD load client for make bench: each connection loops begin → sign M with
// (pmc + h) mod n → complete over one keep-alive HTTP/1.1 connection to
// nginx, for a fixed time. Prints pairs/s and p50/p99 of a whole pair.
// Usage: svd_load HOST PORT SECONDS CONNECTIONS USERS_PREFIX PRIVKEY_HEX...
// (one registered user per key: USERS_PREFIX<i>).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "common/json.h"
#include "crypto/encoding.h"
#include "crypto/svd.h"

using namespace pp;
using namespace pp::crypto;

namespace {

struct Conn {
    int fd = -1;
    std::string buf;
    ~Conn()
    {
        if (fd >= 0)
            ::close(fd);
    }
};

bool connect_to(Conn &c, const char *host, int port)
{
    c.fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (::inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return false;
    int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return ::connect(c.fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0;
}

// Sends a POST and returns the status and body, or status 0 on I/O error.
int post(Conn &c, const char *path, const std::string &body, std::string &out)
{
    std::string req = std::string("POST ") + path +
                      " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n" + body;
    if (::send(c.fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
        return 0;
    char tmp[8192];
    while (true) {
        const size_t head_end = c.buf.find("\r\n\r\n");
        if (head_end != std::string::npos) {
            const std::string head = c.buf.substr(0, head_end);
            size_t cl = head.find("Content-Length: ");
            if (cl == std::string::npos)
                cl = head.find("content-length: ");
            const size_t len = cl == std::string::npos ? 0 : std::strtoul(head.c_str() + cl + 16, nullptr, 10);
            if (c.buf.size() >= head_end + 4 + len) {
                out = c.buf.substr(head_end + 4, len);
                const int status = std::atoi(head.c_str() + 9);
                c.buf.erase(0, head_end + 4 + len);
                return status;
            }
        }
        const ssize_t n = ::recv(c.fd, tmp, sizeof tmp, 0);
        if (n <= 0)
            return 0;
        c.buf.append(tmp, static_cast<size_t>(n));
    }
}

}  // namespace

int main(int argc, char **argv)
{
    if (argc < 7) {
        std::fputs("usage: svd_load HOST PORT SECONDS CONNECTIONS USER_PREFIX PRIVKEY_HEX...\n", stderr);
        return 2;
    }
    if (!secp_init())
        return 1;
    const char *host = argv[1];
    const int port = std::atoi(argv[2]);
    const double seconds = std::atof(argv[3]);
    const int conns = std::atoi(argv[4]);
    const std::string prefix = argv[5];
    std::vector<std::string> keys;
    for (int i = 6; i < argc; ++i)
        keys.emplace_back(argv[i]);

    std::atomic<uint64_t> errors{0};
    std::vector<std::vector<double>> lat(static_cast<size_t>(conns));
    const auto start = std::chrono::steady_clock::now();
    const auto stop_at = start + std::chrono::duration<double>(seconds);
    std::vector<std::thread> threads;
    for (int t = 0; t < conns; ++t) {
        threads.emplace_back([&, t] {
            const size_t k = static_cast<size_t>(t) % keys.size();
            const std::string user = prefix + std::to_string(k);
            Secret<32> priv;
            if (!hex_decode_into(priv.span(), keys[k])) {
                errors++;
                return;
            }
            Conn c;
            if (!connect_to(c, host, port)) {
                errors++;
                return;
            }
            std::string body;
            while (std::chrono::steady_clock::now() < stop_at) {
                const auto t0 = std::chrono::steady_clock::now();
                if (post(c, "/api/svd/begin", "{\"userId\":\"" + user + "\"}", body) != 200) {
                    errors++;
                    break;
                }
                JsonPtr j(json_loads(body.c_str(), 0, nullptr));
                const char *m_hex = j ? json_string_value(json_object_get(j.get(), "M")) : nullptr;
                auto m = m_hex ? hex_decode(m_hex) : Result<Bytes>(Errc::bad_hex);
                if (!m) {
                    errors++;
                    break;
                }
                const Hash256 h = sha256(*m);
                auto key = svd_tweak_secret(priv, h);
                auto sig = key ? ecdsa_sign_der(*key, h) : Result<Bytes>(Errc::bad_key);
                if (!sig) {
                    errors++;
                    break;
                }
                const std::string req = "{\"userId\":\"" + user + "\",\"M\":\"" + m_hex + "\",\"signatureHex\":\"" +
                                        hex_encode(*sig) + "\"}";
                if (post(c, "/api/svd/complete", req, body) != 200) {
                    errors++;
                    break;
                }
                lat[static_cast<size_t>(t)].push_back(
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            }
        });
    }
    for (auto &th : threads)
        th.join();
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::vector<double> all;
    for (auto &v : lat)
        all.insert(all.end(), v.begin(), v.end());
    std::sort(all.begin(), all.end());
    if (all.empty()) {
        std::printf("svd begin+complete: no successful pairs (%llu errors)\n",
                    static_cast<unsigned long long>(errors.load()));
        return 1;
    }
    auto pct = [&](double p) { return all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))] * 1000; };
    std::printf("svd begin+complete: %.0f pairs/s over %.1f s, %d connections, p50 %.2f ms, p99 %.2f ms, "
                "%zu pairs, %llu errors\n",
                static_cast<double>(all.size()) / elapsed, elapsed, conns, pct(0.50), pct(0.99), all.size(),
                static_cast<unsigned long long>(errors.load()));
    return 0;
}
