// cpp_uncaught: the default for an exception escaping async work is what std::thread does —
// print it and std::terminate. A child process submits a throwing lambda; the parent checks it
// died of SIGABRT after printing the exception's message. A handler set with
// rgcd::set_exception_handler replaces the default (in the parent: the work goes on).
#include "cpp_check.hpp"

#include <atomic>
#include <stdexcept>
#include <string>
#include <sys/wait.h>

int main() {
    start_watchdog(60);
    int err[2];
    CHECK(pipe(err) == 0);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        dup2(err[1], 2);
        rgcd::queue q = rgcd::queue::serial("cpp.uncaught");
        q.async([] { throw std::runtime_error("escaped from a lambda"); });
        std::this_thread::sleep_for(std::chrono::seconds(10));
        _exit(0); // not reached: the exception terminates the process
    }
    close(err[1]);
    std::string out;
    char buf[256];
    for (ssize_t n; (n = read(err[0], buf, sizeof buf)) > 0;)
        out.append(buf, static_cast<size_t>(n));
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(out.find("escaped from a lambda") != std::string::npos);

    std::atomic<int> handled{0}, later{0};
    rgcd::set_exception_handler([&](std::exception_ptr) { ++handled; });
    rgcd::queue q = rgcd::queue::serial("cpp.handled");
    q.async([] { throw 42; });
    q.async([&] { ++later; });
    CHECK(wait_until([&] { return handled == 1 && later == 1; }));
    rgcd::set_exception_handler(nullptr); // the default again
    std::printf("cpp_uncaught: ok\n");
    return 0;
}
