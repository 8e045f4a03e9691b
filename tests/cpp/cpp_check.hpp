// What the C++ tests share: CHECK, a watchdog, waiting with a bound.
#ifndef RGCD_CPP_CHECK_HPP
#define RGCD_CPP_CHECK_HPP

#include <rgcd.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <unistd.h>

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);    \
            std::exit(1);                                                                     \
        }                                                                                     \
    } while (0)

// Fails the test if it runs longer than `seconds` (a hang becomes a failure).
inline void start_watchdog(unsigned seconds) {
    std::signal(SIGALRM, [](int) {
        static const char msg[] = "test watchdog: did not finish in time (hang?)\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        _exit(1);
    });
    alarm(seconds);
}

template <class F>
bool wait_until(F &&cond, std::chrono::milliseconds limit = std::chrono::milliseconds(10000)) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (!cond()) {
        if (std::chrono::steady_clock::now() > end)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

#endif
