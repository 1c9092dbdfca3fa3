// SPDX-License-Identifier: MIT
// Shared by the libFuzzer targets: a property check that aborts (libFuzzer
// then saves the input), quiet logs, and an in-memory FCGX_Request so the
// real FastCGI glue (module/http/fcgi.cpp) and request pipeline run without
// a socket. libfcgi's streams are public structs with fill/empty hooks;
// FCGX_GetStr/FCGX_PutStr only call those hooks.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fcgiapp.h>

#include "log/log.h"

// A broken property: print why, then abort so libFuzzer keeps the input.
#define FUZZ_CHECK(cond, why)                                                        \
    do {                                                                             \
        if (!(cond)) {                                                               \
            std::fprintf(stderr, "fuzz property failed: %s (%s)\n", why, #cond);     \
            std::abort();                                                            \
        }                                                                            \
    } while (0)

namespace pp::fuzz {

// Warnings about unreachable services would flood the fuzzer's output.
inline void quiet_logs() { log::set_min_level(log::Level::error); }

// One request as libfcgi would hand it over: "NAME=value" parameters and a
// stdin stream holding `body`; whatever the program writes lands in output().
class MemRequest {
public:
    explicit MemRequest(std::vector<std::string> params, std::string body = {})
        : params_(std::move(params)), body_(std::move(body))
    {
        for (std::string &p : params_)
            envp_.push_back(p.data());
        envp_.push_back(nullptr);

        in_.rdNext = in_.stopUnget = reinterpret_cast<unsigned char *>(body_.data());
        in_.stop = in_.rdNext + body_.size();
        in_.wrNext = in_.stop;
        in_.isReader = 1;
        in_.fillBuffProc = [](FCGX_Stream *s) { s->isClosed = 1; };  // end of stdin
        in_.emptyBuffProc = [](FCGX_Stream *, int) {};

        out_.wrNext = outbuf_;
        out_.stop = outbuf_ + sizeof outbuf_;
        out_.rdNext = out_.stop;
        out_.isReader = 0;
        out_.data = this;
        out_.fillBuffProc = [](FCGX_Stream *) {};
        out_.emptyBuffProc = [](FCGX_Stream *s, int) {
            auto *self = static_cast<MemRequest *>(s->data);
            self->written_.append(reinterpret_cast<char *>(self->outbuf_), s->wrNext - self->outbuf_);
            s->wrNext = self->outbuf_;
        };
        err_ = out_;

        req_.in = &in_;
        req_.out = &out_;
        req_.err = &err_;
        req_.envp = envp_.data();
        req_.ipcFd = -1;
    }
    MemRequest(const MemRequest &) = delete;
    MemRequest &operator=(const MemRequest &) = delete;

    FCGX_Request &fcgx() noexcept { return req_; }

    std::string output()
    {
        out_.emptyBuffProc(&out_, 0);
        return written_;
    }

private:
    std::vector<std::string> params_;
    std::vector<char *> envp_;
    std::string body_;
    unsigned char outbuf_[4096];
    std::string written_;
    FCGX_Stream in_{}, out_{}, err_{};
    FCGX_Request req_{};
};

// "Status: 400 Bad Request\r\n..." → 400, and the body after the blank line.
struct CgiAnswer {
    int status = -1;
    std::string body;
};

inline CgiAnswer parse_cgi_answer(const std::string &out)
{
    CgiAnswer a;
    const size_t end = out.find("\r\n\r\n");
    if (out.rfind("Status: ", 0) != 0 || end == std::string::npos)
        return a;
    a.status = std::atoi(out.c_str() + 8);
    a.body = out.substr(end + 4);
    return a;
}

}  // namespace pp::fuzz
