// SPDX-License-Identifier: MIT
#include "server/prefork.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include <jansson.h>

#include "common/json.h"
#include "log/log.h"

namespace pp::server {
namespace {

// Worker-lifetime flags touched from the signal handler.
volatile sig_atomic_t g_in_request = 0;
volatile sig_atomic_t g_stop = 0;

void on_worker_term(int)
{
    if (!g_in_request)
        _exit(0);
    g_stop = 1;
}

Result<int> open_unix(const std::string &path, unsigned mode, std::string *detail)
{
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path) {
        *detail = "socket path too long";
        return Errc::invalid_argument;
    }
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *detail = std::string("socket: ") + std::strerror(errno);
        return Errc::internal;
    }
    struct stat st{};
    if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode))
        ::unlink(path.c_str());  // a stale socket from a previous run
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 ||
        ::chmod(path.c_str(), mode) != 0 || ::listen(fd, 1024) != 0) {
        *detail = std::string("bind/listen ") + path + ": " + std::strerror(errno);
        ::close(fd);
        return Errc::unavailable;
    }
    return fd;
}

Result<int> open_tcp(const std::string &spec, std::string *detail)
{
    const size_t colon = spec.rfind(':');
    std::string host = spec.substr(0, colon);
    const std::string port = spec.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    addrinfo *res = nullptr;
    if (::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res) != 0 || !res) {
        *detail = "listen address must be a numeric HOST:PORT";
        return Errc::invalid_argument;
    }
    int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const bool ok = fd >= 0 && ::bind(fd, res->ai_addr, res->ai_addrlen) == 0 && ::listen(fd, 1024) == 0;
    ::freeaddrinfo(res);
    if (!ok) {
        *detail = std::string("bind/listen ") + spec + ": " + std::strerror(errno);
        if (fd >= 0)
            ::close(fd);
        return Errc::unavailable;
    }
    return fd;
}

struct Slot {
    pid_t pid = 0;
    int quick_deaths = 0;
    std::chrono::steady_clock::time_point started;
    std::chrono::steady_clock::time_point restart_at;
};

pid_t spawn(int listen_fd, pid_t master, const std::function<int(int)> &worker_main)
{
    const pid_t pid = ::fork();
    if (pid != 0)
        return pid;
    // Child: die with the master, take default signal handling back.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != master)
        _exit(0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGINT, SIG_IGN);  // Ctrl-C reaches the whole group; the master decides
    const int rc = worker_main(listen_fd);
    std::fflush(nullptr);
    _exit(rc);
}

void log_worker_event(const char *msg, pid_t pid, int status)
{
    JsonPtr f(json_pack("{s:i,s:i}", "worker_pid", int(pid), "status", status));
    log::warn(msg, f.get());
}

}  // namespace

Result<int> open_listener(std::string_view spec, unsigned socket_mode, std::string *error_detail)
{
    std::string dummy;
    std::string &detail = error_detail ? *error_detail : dummy;
    if (spec.empty()) {
        int type = 0;
        socklen_t len = sizeof type;
        if (::getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) {
            detail = "no --listen given and fd 0 is not a listening socket";
            return Errc::invalid_argument;
        }
        return 0;
    }
    const std::string s(spec);
    if (s.front() == '/' || s.front() == '.')
        return open_unix(s, socket_mode, &detail);
    if (s.find(':') == std::string::npos) {
        detail = "--listen takes a socket PATH or HOST:PORT";
        return Errc::invalid_argument;
    }
    return open_tcp(s, &detail);
}

namespace {

// Drain: every worker finishes its request, then exits; any still alive
// after timeout_sec is killed.
void drain_workers(std::vector<Slot> &slots, int timeout_sec)
{
    for (Slot &s : slots)
        if (s.pid > 0)
            ::kill(s.pid, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_sec);
    size_t alive = 0;
    for (Slot &s : slots)
        alive += s.pid > 0;
    while (alive > 0 && std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        const pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            for (Slot &s : slots)
                if (s.pid == pid) {
                    s.pid = 0;
                    --alive;
                }
            continue;
        }
        if (pid < 0 && errno == ECHILD)
            break;
        ::usleep(20 * 1000);
    }
    for (Slot &s : slots)
        if (s.pid > 0) {
            ::kill(s.pid, SIGKILL);
            ::waitpid(s.pid, nullptr, 0);
        }
}

}  // namespace

int run_master(int listen_fd, const PreforkOptions &opt, const std::function<int(int)> &worker_main)
{
    using clock = std::chrono::steady_clock;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);

    const pid_t master = ::getpid();
    std::vector<Slot> slots(static_cast<size_t>(opt.workers));
    for (Slot &s : slots) {
        s.pid = spawn(listen_fd, master, worker_main);
        s.started = clock::now();
    }
    JsonPtr f(json_pack("{s:i}", "workers", opt.workers));
    log::info("master started", f.get());

    bool stopping = false;
    while (!stopping) {
        timespec wait{0, 200 * 1000 * 1000};
        siginfo_t info{};
        const int sig = ::sigtimedwait(&set, &info, &wait);
        if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
            stopping = true;
            break;
        }
        // Reap whatever died, then restart due slots.
        int status = 0;
        pid_t pid;
        while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
            for (Slot &s : slots) {
                if (s.pid != pid)
                    continue;
                s.pid = 0;
                const auto lived = clock::now() - s.started;
                s.quick_deaths = lived < std::chrono::seconds(2) ? s.quick_deaths + 1 : 0;
                const int shift = std::min(s.quick_deaths, 6);
                s.restart_at = clock::now() + std::chrono::milliseconds(s.quick_deaths ? 100 << shift : 0);
                log_worker_event("worker exited; restarting", pid, status);
            }
        }
        const auto now = clock::now();
        for (Slot &s : slots) {
            if (s.pid == 0 && now >= s.restart_at) {
                s.pid = spawn(listen_fd, master, worker_main);
                s.started = now;
            }
        }
    }

    drain_workers(slots, opt.drain_timeout_sec);
    log::info("master stopped");
    return 0;
}

void worker_install_signals()
{
    struct sigaction sa{};
    sa.sa_handler = on_worker_term;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGTERM, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

void worker_request_begins() noexcept { g_in_request = 1; }
void worker_request_ends() noexcept { g_in_request = 0; }
bool worker_should_exit() noexcept { return g_stop != 0; }

}  // namespace pp::server
