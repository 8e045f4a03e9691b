// cpp_api: every call of rgcd.hpp. Handles (copy = retain, move empties, adopt/retain of C
// handles), lambdas on queues (async, sync with values/references/void, barriers, after with
// durations and time points, submit with results and exceptions), apply, groups, semaphores,
// call_once, sources (data, timer, read with a cancel handler), errors as rgcd::error with
// std::errc conditions, move-only callables, and callables freed exactly once — after running,
// when a submit fails, and when a source handler is replaced or the source cancelled. At the
// end every object is freed (rgcd_debug_live_objects back where it started).
#include "cpp_check.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;

namespace {

// Counts live instances: a callable's captures are destroyed exactly once.
struct tracked {
    static std::atomic<int> live;
    tracked() { ++live; }
    tracked(const tracked &) { ++live; }
    tracked(tracked &&) noexcept { ++live; }
    ~tracked() { --live; }
};
std::atomic<int> tracked::live{0};

void handles() {
    rgcd::queue q = rgcd::queue::serial("cpp.handles");
    CHECK(q);
    CHECK(std::string(q.label()) == "cpp.handles");
    rgcd::queue copy = q; // retain
    CHECK(copy.native() == q.native());
    rgcd::queue moved = std::move(copy);
    CHECK(!copy && moved);
    moved = rgcd::queue(); // release
    CHECK(!moved);

    // Sharing with C: retain a C handle, adopt a +1 reference.
    rgcd_queue_t raw = rgcd_queue_create("cpp.raw", RGCD_QUEUE_SERIAL);
    CHECK(raw != nullptr);
    {
        rgcd::queue shared = rgcd::queue::retain(raw);
        CHECK(std::string(shared.label()) == "cpp.raw");
    }
    rgcd::queue adopted(raw, rgcd::adopt); // takes over the create's reference
    CHECK(adopted.sync([] { return std::string(rgcd::queue::current_label()); }) == "cpp.raw");

    rgcd::queue g = rgcd::queue::global(RGCD_QOS_UTILITY);
    CHECK(g);
    rgcd::queue m = rgcd::queue::main();
    CHECK(m);
}

int forty_two = 42;

void queues() {
    rgcd::queue q = rgcd::queue::serial("cpp.queues");
    rgcd::queue c = rgcd::queue::concurrent("cpp.concurrent");

    // sync: a value, a reference, void; runs before returning.
    CHECK(q.sync([] { return 7; }) == 7);
    int &ref = q.sync([]() -> int & { return forty_two; });
    CHECK(&ref == &forty_two);
    int side = 0;
    q.sync([&] { side = 1; });
    CHECK(side == 1);
    CHECK(c.barrier_sync([] { return std::string("b"); }) == "b");

    // async keeps FIFO order on a serial queue; barrier_async waits for earlier work.
    std::vector<int> order;
    for (int i = 0; i < 100; i++)
        q.async([&order, i] { order.push_back(i); });
    q.sync([] {});
    CHECK(order.size() == 100);
    for (int i = 0; i < 100; i++)
        CHECK(order[i] == i);

    std::atomic<int> before{0};
    std::atomic<bool> barrier_ok{false};
    for (int i = 0; i < 20; i++)
        c.async([&] { ++before; });
    c.barrier_async([&] { barrier_ok = before.load() == 20; });
    c.barrier_sync([] {});
    CHECK(barrier_ok);

    // after: a duration, a steady_clock time point, rgcd::time; forever never runs (freed).
    std::atomic<int> afters{0};
    auto t0 = std::chrono::steady_clock::now();
    q.after(20ms, [&] { ++afters; });
    q.after(std::chrono::steady_clock::now() + 10ms, [&] { ++afters; });
    q.after(rgcd::time::after(5ms), [&] { ++afters; });
    q.after(std::chrono::system_clock::now() + 15ms, [&] { ++afters; });
    {
        tracked t;
        q.after(rgcd::time::forever(), [t] { (void)t; });
    }
    CHECK(tracked::live == 0);
    CHECK(wait_until([&] { return afters == 4; }));
    CHECK(std::chrono::steady_clock::now() - t0 >= 19ms);

    // submit: results and exceptions through the future.
    auto f1 = q.submit([] { return std::string("result"); });
    auto f2 = c.submit([]() -> int { throw std::runtime_error("boom"); });
    CHECK(f1.get() == "result");
    bool threw = false;
    try {
        f2.get();
    } catch (const std::runtime_error &e) {
        threw = std::string(e.what()) == "boom";
    }
    CHECK(threw);

    // suspend / resume, inactive + activate, set_target.
    std::atomic<int> ran{0};
    q.suspend();
    q.async([&] { ++ran; });
    std::this_thread::sleep_for(10ms);
    CHECK(ran == 0);
    q.resume();
    CHECK(wait_until([&] { return ran == 1; }));
    rgcd::queue inactive("cpp.inactive", RGCD_QUEUE_SERIAL | RGCD_QUEUE_INACTIVE);
    inactive.async([&] { ++ran; });
    std::this_thread::sleep_for(10ms);
    CHECK(ran == 1);
    inactive.set_target(c);
    inactive.activate();
    CHECK(wait_until([&] { return ran == 2; }));
    rgcd::queue child("cpp.child", RGCD_QUEUE_SERIAL, q);
    CHECK(child.sync([] { return 3; }) == 3);

    // Queue-specific data.
    static int key;
    int value = 5;
    q.set_specific(&key, &value);
    CHECK(q.specific(&key) == &value);
    CHECK(child.sync([] { return rgcd::queue::current_specific(&key); }) == &value);
}

void errors() {
    rgcd::queue q = rgcd::queue::serial("cpp.errors");
    // sync onto the queue running the caller: a deadlock error, as std::errc.
    bool deadlock = false;
    q.sync([&] {
        try {
            q.sync([] {});
        } catch (const rgcd::error &e) {
            deadlock = e.status() == RGCD_EDEADLK &&
                       e.code() == std::errc::resource_deadlock_would_occur &&
                       std::string(e.what()).find("rgcd_sync_f") != std::string::npos;
        }
    });
    CHECK(deadlock);

    // An exception from sync's lambda comes back to the caller.
    bool caught = false;
    try {
        q.sync([]() -> int { throw std::logic_error("from sync"); });
    } catch (const std::logic_error &) {
        caught = true;
    }
    CHECK(caught);

    // A failed submit (empty handle) throws and frees the callable once.
    rgcd::queue empty;
    bool rejected = false;
    try {
        tracked t;
        auto p = std::make_unique<int>(1);
        empty.async([t, p = std::move(p)] { (void)t; });
    } catch (const rgcd::error &e) {
        rejected = e.code() == std::errc::invalid_argument;
    }
    CHECK(rejected);
    CHECK(tracked::live == 0);

    // Over-resume, a leave without enter: rgcd::error, not a crash.
    bool over_resume = false;
    try {
        q.resume();
    } catch (const rgcd::error &e) {
        over_resume = e.status() == RGCD_ESTATE;
    }
    CHECK(over_resume);
    rgcd::group g;
    bool bad_leave = false;
    try {
        g.leave();
    } catch (const rgcd::error &) {
        bad_leave = true;
    }
    CHECK(bad_leave);
    bool negative = false;
    try {
        rgcd::semaphore s(-1);
    } catch (const rgcd::error &e) {
        negative = e.code() == std::errc::invalid_argument;
    }
    CHECK(negative);
}

void move_only() {
    rgcd::queue q = rgcd::queue::serial("cpp.move_only");
    std::atomic<int> sum{0};
    for (int i = 0; i < 100; i++) {
        auto p = std::make_unique<int>(i);
        q.async([p = std::move(p), &sum, t = tracked()] { sum += *p; });
    }
    auto fut = q.submit([p = std::make_unique<int>(9)] { return *p; });
    CHECK(fut.get() == 9);
    q.sync([] {});
    CHECK(sum == 4950);
    CHECK(wait_until([] { return tracked::live == 0; }));
    // Inline callables (no allocation): a captureless lambda, one reference.
    static std::atomic<int> hits{0};
    q.async([] { ++hits; });
    q.async([&sum] { ++sum; });
    q.sync([] {});
    CHECK(hits == 1 && sum == 4951);
    auto captureless = [] {};
    static_assert(rgcd::detail::fits_inline<decltype(captureless)>);
}

void apply_and_groups() {
    std::vector<long> out(1000);
    rgcd::apply(out.size(), [&](size_t i) { out[i] = static_cast<long>(i * i); });
    for (size_t i = 0; i < out.size(); i++)
        CHECK(out[i] == static_cast<long>(i * i));
    rgcd::queue serial = rgcd::queue::serial("cpp.apply");
    std::vector<size_t> seq;
    rgcd::apply(10, serial, [&](size_t i) { seq.push_back(i); });
    CHECK(seq.size() == 10 && seq[9] == 9);
    bool rethrown = false;
    try {
        rgcd::apply(100, [](size_t i) {
            if (i == 37)
                throw std::out_of_range("37");
        });
    } catch (const std::out_of_range &) {
        rethrown = true;
    }
    CHECK(rethrown);

    rgcd::group g;
    rgcd::queue c = rgcd::queue::concurrent("cpp.group");
    std::atomic<int> n{0};
    for (int i = 0; i < 50; i++)
        g.async(c, [&] {
            std::this_thread::sleep_for(1ms);
            ++n;
        });
    std::atomic<bool> notified{false};
    g.notify(c, [&] { notified = n.load() == 50; });
    CHECK(g.wait_for(10s));
    CHECK(n == 50);
    CHECK(wait_until([&] { return notified.load(); }));
    g.enter();
    CHECK(!g.wait_for(10ms)); // timed out
    CHECK(!g.wait_until(std::chrono::steady_clock::now() + 5ms));
    g.leave();
    g.wait();

    rgcd::semaphore s(0);
    CHECK(!s.wait_for(5ms));
    c.async([&] { s.signal(); });
    CHECK(s.wait_for(10s));
    rgcd::semaphore slots(2);
    {
        std::lock_guard<rgcd::semaphore> hold(slots); // BasicLockable
        CHECK(slots.wait_for(1ms));                   // one left
        slots.signal();
    }
    CHECK(slots.wait_for(1ms) && slots.wait_for(1ms) && !slots.wait_for(1ms));

    static rgcd::once_flag once;
    std::atomic<int> once_runs{0};
    rgcd::apply(64, [&](size_t) { rgcd::call_once(once, [&] { ++once_runs; }); });
    CHECK(once_runs == 1);
    rgcd::once_flag once_throw;
    bool once_threw = false;
    try {
        rgcd::call_once(once_throw, [] { throw std::runtime_error("once"); });
    } catch (const std::runtime_error &) {
        once_threw = true;
    }
    CHECK(once_threw);
    rgcd::call_once(once_throw, [] { CHECK(false); }); // done: never runs again
}

void sources() {
    rgcd::queue q = rgcd::queue::serial("cpp.sources");

    // A data source: merged data, handlers, replacing a handler frees the old callable.
    {
        rgcd::source s(RGCD_SOURCE_TYPE_DATA_ADD, 0, 0, q);
        std::atomic<uintptr_t> total{0};
        std::atomic<int> registered{0}, cancelled{0};
        s.on_event([t = tracked()] { (void)t; });
        CHECK(tracked::live == 1);
        s.on_event([&total, s2 = s.native()] { total += rgcd_source_get_data(s2); });
        CHECK(tracked::live == 0); // the replaced handler is gone
        s.on_registration([&] { ++registered; });
        s.on_cancel([&cancelled, t = tracked()] {
            (void)t;
            ++cancelled;
        });
        s.activate();
        for (int i = 1; i <= 10; i++)
            s.merge_data(static_cast<uintptr_t>(i));
        CHECK(wait_until([&] { return total == 55; }));
        CHECK(registered == 1);
        s.cancel();
        CHECK(wait_until([&] { return cancelled == 1; }));
        CHECK(s.cancelled());
        CHECK(wait_until([] { return tracked::live == 0; })); // handlers dropped after cancel
    }

    // A timer with chrono intervals; a one-shot.
    {
        rgcd::source t = rgcd::source::timer(q);
        std::atomic<uintptr_t> fires{0};
        t.on_event([&fires, h = t.native()] { fires += rgcd_source_get_data(h); });
        t.set_timer(rgcd::time::now(), 2ms, 1ms);
        t.activate();
        CHECK(wait_until([&] { return fires >= 5; }));
        t.cancel();
        rgcd::source once = rgcd::source::timer(q, RGCD_TIMER_STRICT);
        std::atomic<int> once_fired{0};
        once.on_event([&] { ++once_fired; });
        once.set_timer_once(std::chrono::steady_clock::now() + 3ms);
        once.activate();
        CHECK(wait_until([&] { return once_fired == 1; }));
        std::this_thread::sleep_for(10ms);
        CHECK(once_fired == 1);
        once.cancel();
    }

    // A read source on a pipe; the cancel handler closes the fd.
    {
        int p[2];
        CHECK(pipe(p) == 0);
        rgcd::source r(RGCD_SOURCE_TYPE_READ, static_cast<uintptr_t>(p[0]), 0, q);
        std::string got;
        std::atomic<bool> eof{false}, closed{false};
        r.on_event([&, fd = p[0]] {
            char buf[16];
            ssize_t n = read(fd, buf, sizeof buf);
            if (n > 0)
                got.append(buf, static_cast<size_t>(n));
            else
                eof = true;
        });
        r.on_cancel([&, fd = p[0]] { closed = close(fd) == 0; });
        r.activate();
        CHECK(write(p[1], "hello", 5) == 5);
        close(p[1]);
        CHECK(wait_until([&] { return eof.load(); }));
        CHECK(q.sync([&] { return got; }) == "hello");
        r.cancel();
        CHECK(wait_until([&] { return closed.load(); }));
    }

    // A handler that throws goes to the exception handler; the source keeps working.
    {
        std::atomic<int> reported{0};
        auto old = rgcd::set_exception_handler([&](std::exception_ptr) { ++reported; });
        rgcd::source s(RGCD_SOURCE_TYPE_DATA_ADD, 0, 0, q);
        std::atomic<int> calls{0};
        s.on_event([&] {
            if (++calls == 1)
                throw std::runtime_error("handler");
        });
        s.activate();
        s.merge_data(1);
        CHECK(wait_until([&] { return calls == 1; }));
        q.sync([] {});
        s.merge_data(1);
        CHECK(wait_until([&] { return calls == 2; }));
        CHECK(reported == 1);
        s.cancel();
        q.sync([] {});
        rgcd::set_exception_handler(old);
    }
}

void exceptions_in_async() {
    std::mutex m;
    std::vector<std::string> seen;
    auto old = rgcd::set_exception_handler([&](std::exception_ptr e) {
        try {
            std::rethrow_exception(e);
        } catch (const std::exception &x) {
            std::lock_guard<std::mutex> g(m);
            seen.emplace_back(x.what());
        }
    });
    rgcd::queue q = rgcd::queue::serial("cpp.throws");
    std::atomic<int> after_throw{0};
    q.async([] { throw std::runtime_error("async"); });
    q.async([&] { ++after_throw; }); // the queue goes on
    q.after(1ms, [] { throw std::runtime_error("after"); });
    rgcd::group g;
    g.async(q, [] { throw std::runtime_error("group"); });
    g.wait();
    CHECK(wait_until([&] {
        std::lock_guard<std::mutex> lock(m);
        return seen.size() == 3;
    }));
    CHECK(after_throw == 1);
    rgcd::set_exception_handler(old);
}

} // namespace

int main() {
    start_watchdog(100);
    size_t base = rgcd_debug_live_objects();
    handles();
    queues();
    errors();
    move_only();
    apply_and_groups();
    sources();
    exceptions_in_async();
    CHECK(wait_until([&] { return rgcd_debug_live_objects() <= base; }));
    CHECK(tracked::live == 0);
    std::printf("cpp_api: ok\n");
    return 0;
}
