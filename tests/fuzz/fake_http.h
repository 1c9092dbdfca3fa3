// SPDX-License-Identifier: MIT
// A loopback HTTP/1.1 server for the client targets (KMS, chain API): it
// answers each request with the next scripted response (the fuzz input),
// repeating the last one. The real libcurl clients talk to it, so their
// status handling and response parsing run exactly as in production.
// One connection at a time, keep-alive; only for fuzzing.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace pp::fuzz {

struct Scripted {
    int status = 200;
    std::string body;
};

// "STATUS\nBODY" parts separated by "\n=====\n"; a bad status means 200.
inline std::vector<Scripted> parse_script(std::string_view text)
{
    std::vector<Scripted> out;
    constexpr std::string_view kSep = "\n=====\n";
    while (true) {
        const size_t sep = text.find(kSep);
        const std::string_view part = text.substr(0, sep);
        const size_t nl = part.find('\n');
        Scripted s;
        s.status = std::atoi(std::string(part.substr(0, nl)).c_str());
        if (s.status < 200 || s.status > 599)
            s.status = 200;
        if (nl != std::string_view::npos)
            s.body = std::string(part.substr(nl + 1));
        out.push_back(std::move(s));
        if (sep == std::string_view::npos || out.size() >= 8)
            break;
        text.remove_prefix(sep + kSep.size());
    }
    return out;
}

// A TCP socket bound to an ephemeral port on 127.0.0.1 (not yet
// listening); *port receives the port. Aborts when the system refuses.
inline int bind_loopback(int *port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) != 0)
        std::abort();
    *port = ntohs(a.sin_port);
    return fd;
}

class FakeHttp {
public:
    FakeHttp()
    {
        listen_ = bind_loopback(&port_);
        if (::listen(listen_, 4) != 0)
            std::abort();
        std::thread([this] { serve(); }).detach();  // lives as long as the process
    }

    std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

    void script(std::vector<Scripted> responses)
    {
        std::lock_guard<std::mutex> lock(mu_);
        responses_ = std::move(responses);
        next_ = 0;
        requests_ = 0;
    }

    int requests() const
    {
        std::lock_guard<std::mutex> lock(mu_);
        return requests_;
    }

private:
    void serve()
    {
        for (;;) {
            const int fd = ::accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0)
                continue;
            while (serve_one(fd)) {
            }
            ::close(fd);
        }
    }

    // Reads one request (head + Content-Length body) and answers it.
    bool serve_one(int fd)
    {
        std::string in;
        size_t head_end;
        while ((head_end = in.find("\r\n\r\n")) == std::string::npos) {
            if (!read_some(fd, in) || in.size() > (1u << 20))
                return false;
        }
        size_t want = 0;
        for (std::string_view h : {"Content-Length: ", "content-length: "}) {
            const size_t at = in.find(h);
            if (at != std::string::npos && at < head_end)
                want = std::strtoul(in.c_str() + at + h.size(), nullptr, 10);
        }
        while (in.size() < head_end + 4 + want)
            if (!read_some(fd, in))
                return false;

        Scripted r;
        {
            std::lock_guard<std::mutex> lock(mu_);
            ++requests_;
            if (!responses_.empty()) {
                r = responses_[std::min(next_, responses_.size() - 1)];
                ++next_;
            }
        }
        if (r.status == 204 || r.status == 304)
            r.body.clear();  // no body allowed: bytes would be read as the next answer
        std::string out = "HTTP/1.1 " + std::to_string(r.status) + " X\r\nContent-Type: application/json\r\n";
        out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n\r\n" + r.body;
        size_t sent = 0;
        while (sent < out.size()) {
            const ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
            if (n <= 0)
                return false;
            sent += static_cast<size_t>(n);
        }
        return true;
    }

    static bool read_some(int fd, std::string &in)
    {
        char buf[16384];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            return false;
        in.append(buf, static_cast<size_t>(n));
        return true;
    }

    int listen_ = -1;
    int port_ = 0;
    mutable std::mutex mu_;
    std::vector<Scripted> responses_;
    size_t next_ = 0;
    int requests_ = 0;
};

// The real Client (kms::Client, chain::Client) of `server`, made to fail
// fast: a 2 s timeout and no retries (a 5xx would otherwise sleep). Options
// the Client refuses abort the target: it could fuzz nothing.
template <typename Client, typename Options>
Client client_of(const FakeHttp &server, Options o)
{
    o.base_url = server.base_url();
    o.timeout_ms = 2000;
    o.retries = 0;
    auto c = Client::create(std::move(o));
    if (!c)
        std::abort();
    return std::move(*c);
}

// Every `from` in `s` replaced by `to` (placeholders in a script).
inline void replace_all(std::string &s, std::string_view from, std::string_view to)
{
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
        s.replace(at, from.size(), to);
}

}  // namespace pp::fuzz
