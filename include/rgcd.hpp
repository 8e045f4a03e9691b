/* rgcd.hpp - rgcd for C++17: RAII handles, lambdas, std::chrono and exceptions over the C ABI.
 *
 * Header-only; include it and link librgcd (as for rgcd.h). Works with g++ and clang++ (no
 * Blocks needed). Everything here is a thin layer over <rgcd.h>: handles are the C handles,
 * so C and C++ code can share objects (native(), adopt, retain).
 *
 *   rgcd::queue q = rgcd::queue::serial("com.example.work");
 *   q.async([] { std::puts("on a pool thread"); });
 *   int n = q.sync([] { return 42; });              // runs on this thread, returns 42
 *   auto fut = q.submit([] { return std::string("hi"); });
 *   q.after(std::chrono::milliseconds(250), [] { ... });
 *   rgcd::apply(1000, [&](size_t i) { out[i] = f(i); });
 *
 * Conventions
 * - Handles (queue, group, semaphore, source): copy = retain, destruction = release, a moved-
 *   from handle is empty (operator bool is false). `native()` gives the C handle (borrowed);
 *   `T(raw, rgcd::adopt)` takes over a +1 reference, `T::retain(raw)` adds one.
 * - Callables: moved into at most one heap allocation, none when the callable is trivially
 *   copyable and fits in a pointer (a lambda with no captures, or capturing one reference or
 *   pointer): it then travels inside the C context itself. A callable is destroyed exactly
 *   once: after it ran, when its submission failed, or when a source handler is replaced or the
 *   source is cancelled.
 * - Errors: misuse (a call the C API rejects) throws rgcd::error, a std::system_error carrying
 *   the rgcd status and rgcd_last_error()'s message; error::code() compares equal to the
 *   matching std::errc (resource_deadlock_would_occur for a sync onto the queue running the
 *   caller, invalid_argument, ...). Timeouts are not errors: waits return bool.
 * - Exceptions thrown by user code: sync(), submit() (through the future), apply() and
 *   call_once() give them back to the caller. Work that runs on its own (async, after, group
 *   async/notify, source handlers) has nobody to give them to: they go to the handler set with
 *   rgcd::set_exception_handler. The default prints the exception and calls std::terminate,
 *   as std::thread does: an exception escaping a detached task is a bug, and dropping it
 *   silently would hide it. Nothing ever unwinds into C.
 */
#ifndef RGCD_HPP
#define RGCD_HPP

#include "rgcd.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

namespace rgcd {

// ---------------------------------------------------------------------------------------------
// Errors

/// rgcd's status codes as a std::error_category: message() is rgcd_strerror(), and the codes
/// map to the std::errc conditions of the same meaning.
class error_category_impl final : public std::error_category {
public:
    const char *name() const noexcept override { return "rgcd"; }
    std::string message(int status) const override {
        const char *m = rgcd_strerror(status);
        return m ? m : "unknown rgcd status";
    }
    std::error_condition default_error_condition(int status) const noexcept override {
        switch (status) {
        case RGCD_EINVAL:
        case RGCD_ETYPE:
            return std::errc::invalid_argument;
        case RGCD_ESTATE:
            return std::errc::operation_not_permitted;
        case RGCD_EDEADLK:
            return std::errc::resource_deadlock_would_occur;
        case RGCD_ENOMEM:
            return std::errc::not_enough_memory;
        case RGCD_ENOTSUP:
            return std::errc::operation_not_supported;
        default:
            return std::error_condition(status, *this);
        }
    }
};

inline const std::error_category &error_category() noexcept {
    static const error_category_impl category;
    return category;
}

/// A call that rgcd rejected: status() is the RGCD_E* code, what() includes
/// rgcd_last_error()'s message.
class error : public std::system_error {
public:
    error(int status, const std::string &what) : std::system_error(status, error_category(), what) {}
    int status() const noexcept { return code().value(); }
};

namespace detail {

[[noreturn]] inline void fail(int status, const char *call) {
    const char *m = rgcd_last_error();
    std::string what = std::string(call) + ": " + (m ? m : "");
    throw error(status, what);
}

inline void check(int status, const char *call) {
    if (status < 0)
        fail(status, call);
}

template <class H>
H check_handle(H h, const char *call) {
    if (h == nullptr)
        fail(RGCD_EINVAL, call);
    return h;
}

} // namespace detail

// ---------------------------------------------------------------------------------------------
// Exceptions escaping work that runs on its own

using exception_handler = std::function<void(std::exception_ptr)>;

namespace detail {

inline void default_exception_handler(std::exception_ptr e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception &x) {
        std::fprintf(stderr, "rgcd: uncaught exception in a work item: %s\n", x.what());
    } catch (...) {
        std::fprintf(stderr, "rgcd: uncaught exception in a work item\n");
    }
    std::terminate();
}

struct handler_slot {
    std::mutex lock;
    exception_handler handler = default_exception_handler;
};

inline handler_slot &handler() {
    static handler_slot slot;
    return slot;
}

/// Hands an exception from a worker to the exception handler; never throws.
inline void report(std::exception_ptr e) noexcept {
    exception_handler h;
    {
        std::lock_guard<std::mutex> g(handler().lock);
        h = handler().handler;
    }
    try {
        h(e);
    } catch (...) {
        std::fprintf(stderr, "rgcd: the exception handler threw\n");
        std::terminate();
    }
}

} // namespace detail

/// Sets what happens to an exception thrown by work that runs on its own (async, after,
/// group async/notify, source handlers); returns the previous handler. An empty handler
/// restores the default (print, then std::terminate). The handler runs on the worker that
/// caught the exception; if it returns, the worker goes on with other work.
inline exception_handler set_exception_handler(exception_handler h) {
    std::lock_guard<std::mutex> g(detail::handler().lock);
    exception_handler old = std::move(detail::handler().handler);
    detail::handler().handler = h ? std::move(h) : exception_handler(detail::default_exception_handler);
    return old;
}

// ---------------------------------------------------------------------------------------------
// Callables through a `void *` context

namespace detail {

/// Small enough to travel inside the context pointer itself (no allocation).
template <class F>
inline constexpr bool fits_inline = std::is_trivially_copyable_v<F> && sizeof(F) <= sizeof(void *) &&
                                    alignof(F) <= alignof(void *);

/// Packs `f` into a context: its bytes (fits_inline) or a heap copy.
template <class D, class F>
void *pack(F &&f) {
    if constexpr (fits_inline<D>) {
        void *ctx = nullptr;
        D tmp(std::forward<F>(f));
        std::memcpy(static_cast<void *>(&ctx), static_cast<const void *>(&tmp), sizeof(D));
        return ctx;
    } else {
        return new D(std::forward<F>(f));
    }
}

/// Destroys a packed callable that will never run.
template <class D>
void discard(void *ctx) noexcept {
    if constexpr (!fits_inline<D>)
        delete static_cast<D *>(ctx);
    else
        (void)ctx;
}

/// Runs a packed callable with `fn(callable)`.
template <class D, class Fn>
void with_unpacked(void *ctx, Fn &&fn) {
    if constexpr (fits_inline<D>) {
        alignas(D) unsigned char buf[sizeof(D)];
        std::memcpy(buf, static_cast<const void *>(&ctx), sizeof(D));
        fn(*std::launder(reinterpret_cast<D *>(buf)));
    } else {
        std::unique_ptr<D> owned(static_cast<D *>(ctx));
        fn(*owned);
    }
}

/// The C function for one-shot work: runs the callable once, then destroys it.
template <class D>
void run_once(void *ctx) noexcept {
    with_unpacked<D>(ctx, [](D &f) {
        try {
            f();
        } catch (...) {
            report(std::current_exception());
        }
    });
}

/// Submits one-shot work through a C `_f` call; frees the callable if the call fails.
template <class F, class Submit>
void submit_once(F &&f, Submit &&submit, const char *call) {
    using D = std::decay_t<F>;
    static_assert(std::is_invocable_v<D &>, "the work must be callable with no arguments");
    void *ctx = pack<D>(std::forward<F>(f));
    int status = submit(ctx, &run_once<D>);
    if (status < 0) {
        discard<D>(ctx);
        fail(status, call);
    }
}

/// Where a sync call leaves its result.
template <class R>
struct result_slot {
    std::optional<R> value;
    template <class F>
    void run(F &f) { value.emplace(f()); }
    R take() { return std::move(*value); }
};

template <class R>
struct result_slot<R &> {
    R *value = nullptr;
    template <class F>
    void run(F &f) { value = &f(); }
    R &take() { return *value; }
};

template <>
struct result_slot<void> {
    template <class F>
    void run(F &f) { f(); }
    void take() {}
};

template <class F, class R>
struct sync_state {
    F *f;
    result_slot<R> result;
    std::exception_ptr exception;
};

template <class F, class R>
void run_sync(void *ctx) noexcept {
    auto *s = static_cast<sync_state<F, R> *>(ctx);
    try {
        s->result.run(*s->f);
    } catch (...) {
        s->exception = std::current_exception();
    }
}

/// Runs `f` through a synchronous C call (`sync_f`, `barrier_sync_f`) and gives back its result
/// or exception.
template <class F, class Call>
decltype(auto) call_sync(F &f, Call &&call, const char *name) {
    using R = std::invoke_result_t<F &>;
    sync_state<F, R> s{&f, {}, nullptr};
    int status = call(static_cast<void *>(&s), &run_sync<F, R>);
    if (status < 0)
        fail(status, name);
    if (s.exception)
        std::rethrow_exception(s.exception);
    if constexpr (std::is_void_v<R>)
        return;
    else
        return s.result.take();
}

template <class Rep, class Period>
int64_t to_ns(std::chrono::duration<Rep, Period> d) {
    using namespace std::chrono;
    if (d > duration_cast<duration<Rep, Period>>(nanoseconds::max()))
        return INT64_MAX;
    return duration_cast<nanoseconds>(d).count();
}

} // namespace detail

// ---------------------------------------------------------------------------------------------
// Time

/// A deadline on rgcd's clock: nanoseconds on the monotonic clock, or a wall-clock time, or
/// forever. Built from std::chrono time points (steady_clock: monotonic; system_clock:
/// wall clock) or durations from now.
class time {
public:
    constexpr explicit time(rgcd_time_t raw) noexcept : raw_(raw) {}
    /// Now on the monotonic clock.
    static time now() noexcept { return time(rgcd_time(RGCD_TIME_NOW, 0)); }
    /// Never.
    static constexpr time forever() noexcept { return time(RGCD_TIME_FOREVER); }
    /// `d` from now.
    template <class Rep, class Period>
    static time after(std::chrono::duration<Rep, Period> d) noexcept {
        return time(rgcd_time(RGCD_TIME_NOW, detail::to_ns(d)));
    }
    /// A steady_clock time point (the monotonic clock on Linux).
    template <class Duration>
    time(std::chrono::time_point<std::chrono::steady_clock, Duration> tp) noexcept
        : raw_(rgcd_time(RGCD_TIME_NOW, detail::to_ns(tp - std::chrono::steady_clock::now()))) {}
    /// A system_clock time point (the wall clock, as rgcd_walltime).
    template <class Duration>
    time(std::chrono::time_point<std::chrono::system_clock, Duration> tp) noexcept : raw_(0) {
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(tp.time_since_epoch()).count();
        struct timespec ts;
        ts.tv_sec = static_cast<time_t>(ns / 1000000000);
        ts.tv_nsec = static_cast<long>(ns % 1000000000);
        if (ts.tv_nsec < 0) {
            ts.tv_nsec += 1000000000;
            ts.tv_sec -= 1;
        }
        raw_ = rgcd_walltime(&ts, 0);
    }
    /// This deadline moved by `d` (saturating; forever stays forever).
    template <class Rep, class Period>
    time operator+(std::chrono::duration<Rep, Period> d) const noexcept {
        return time(rgcd_time(raw_, detail::to_ns(d)));
    }
    constexpr rgcd_time_t native() const noexcept { return raw_; }
    constexpr bool is_forever() const noexcept { return raw_ == RGCD_TIME_FOREVER; }
    friend constexpr bool operator==(time a, time b) noexcept { return a.raw_ == b.raw_; }
    friend constexpr bool operator!=(time a, time b) noexcept { return a.raw_ != b.raw_; }

private:
    rgcd_time_t raw_;
};

// ---------------------------------------------------------------------------------------------
// Handles

/// Tag: the constructor takes over a reference the caller owns (`T(raw, rgcd::adopt)`).
struct adopt_t {
    explicit adopt_t() = default;
};
inline constexpr adopt_t adopt{};

/// What every handle shares: reference counting, emptiness, the C handle, suspend/resume.
template <class H>
class object {
public:
    object() noexcept = default;
    object(H raw, adopt_t) noexcept : h_(raw) {}
    object(const object &o) noexcept : h_(o.h_) {
        if (h_)
            rgcd_retain(h_);
    }
    object(object &&o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    object &operator=(const object &o) noexcept {
        object tmp(o);
        std::swap(h_, tmp.h_);
        return *this;
    }
    object &operator=(object &&o) noexcept {
        object tmp(std::move(o));
        std::swap(h_, tmp.h_);
        return *this;
    }
    ~object() {
        if (h_)
            rgcd_release(h_);
    }

    explicit operator bool() const noexcept { return h_ != nullptr; }
    /// The C handle, borrowed (valid while this handle holds its reference).
    H native() const noexcept { return h_; }
    /// Gives up the reference without releasing it: the caller now owns it.
    H detach() noexcept { return std::exchange(h_, nullptr); }

    /// The object's context pointer (rgcd_set_context).
    void set_context(void *ctx) { detail::check(rgcd_set_context(h_, ctx), "rgcd_set_context"); }
    void *context() const { return rgcd_get_context(h_); }

protected:
    H h_ = nullptr;
};

class queue;
template <class F>
void apply(size_t iterations, const queue &q, F &&f);

/// A dispatch queue.
class queue : public object<rgcd_queue_t> {
public:
    using object::object;

    /// A queue with `attr` (RGCD_QUEUE_SERIAL, RGCD_QUEUE_CONCURRENT, | RGCD_QUEUE_INACTIVE,
    /// QoS bits), targeting `target` (empty: its QoS's global queue).
    explicit queue(const char *label, rgcd_queue_attr_t attr = RGCD_QUEUE_SERIAL)
        : object(detail::check_handle(rgcd_queue_create(label, attr), "rgcd_queue_create"), adopt) {}
    queue(const char *label, rgcd_queue_attr_t attr, const queue &target)
        : object(detail::check_handle(rgcd_queue_create_with_target(label, attr, target.native()),
                                      "rgcd_queue_create_with_target"),
                 adopt) {}

    static queue serial(const char *label) { return queue(label, RGCD_QUEUE_SERIAL); }
    static queue concurrent(const char *label) { return queue(label, RGCD_QUEUE_CONCURRENT); }
    /// The global concurrent queue of a QoS class (RGCD_QOS_*).
    static queue global(intptr_t qos = RGCD_QOS_DEFAULT) {
        return queue(detail::check_handle(rgcd_get_global_queue(qos, 0), "rgcd_get_global_queue"), adopt);
    }
    /// The main queue (drained by rgcd_main() on the main thread).
    static queue main() { return queue(rgcd_get_main_queue(), adopt); }
    /// Adds a reference to a C handle and wraps it.
    static queue retain(rgcd_queue_t raw) {
        detail::check(rgcd_retain(raw), "rgcd_retain");
        return queue(raw, adopt);
    }

    /// Runs `f()` on the queue, later.
    template <class F>
    void async(F &&f) const {
        detail::submit_once(std::forward<F>(f),
                            [this](void *c, rgcd_function_t fn) { return rgcd_async_f(h_, c, fn); },
                            "rgcd_async_f");
    }
    /// Like async; on a concurrent queue it runs alone, after the work before it.
    template <class F>
    void barrier_async(F &&f) const {
        detail::submit_once(std::forward<F>(f),
                            [this](void *c, rgcd_function_t fn) { return rgcd_barrier_async_f(h_, c, fn); },
                            "rgcd_barrier_async_f");
    }
    /// Runs `f()` on the queue (on this thread when it can) and returns its result; an
    /// exception `f` throws comes back here. Throws rgcd::error (resource_deadlock_would_occur)
    /// for a sync onto the serial queue running the caller.
    template <class F>
    decltype(auto) sync(F &&f) const {
        return detail::call_sync(f, [this](void *c, rgcd_function_t fn) { return rgcd_sync_f(h_, c, fn); },
                                 "rgcd_sync_f");
    }
    template <class F>
    decltype(auto) barrier_sync(F &&f) const {
        return detail::call_sync(f,
                                 [this](void *c, rgcd_function_t fn) { return rgcd_barrier_sync_f(h_, c, fn); },
                                 "rgcd_barrier_sync_f");
    }
    /// Runs `f()` on the queue at `when` (a duration from now, a time point or rgcd::time).
    template <class F>
    void after(time when, F &&f) const {
        using D = std::decay_t<F>;
        if (when.is_forever()) {
            D dropped(std::forward<F>(f)); // never runs: destroyed now
            (void)dropped;
            return;
        }
        detail::submit_once(std::forward<F>(f),
                            [this, when](void *c, rgcd_function_t fn) { return rgcd_after_f(when.native(), h_, c, fn); },
                            "rgcd_after_f");
    }
    template <class Rep, class Period, class F>
    void after(std::chrono::duration<Rep, Period> delay, F &&f) const {
        after(time::after(delay), std::forward<F>(f));
    }
    /// Runs `f()` on the queue; the future gives its result or its exception.
    template <class F>
    auto submit(F &&f) const -> std::future<std::invoke_result_t<std::decay_t<F> &>> {
        using R = std::invoke_result_t<std::decay_t<F> &>;
        std::packaged_task<R()> task(std::forward<F>(f));
        auto fut = task.get_future();
        async(std::move(task));
        return fut;
    }

    void suspend() const { detail::check(rgcd_suspend(h_), "rgcd_suspend"); }
    void resume() const { detail::check(rgcd_resume(h_), "rgcd_resume"); }
    void activate() const { detail::check(rgcd_activate(h_), "rgcd_activate"); }
    void set_target(const queue &target) const {
        detail::check(rgcd_set_target_queue(h_, target.native()), "rgcd_set_target_queue");
    }
    /// The label ("" if none).
    const char *label() const { return detail::check_handle(rgcd_queue_get_label(h_), "rgcd_queue_get_label"); }
    /// The label of the queue running the caller ("" if none).
    static const char *current_label() noexcept {
        const char *l = rgcd_queue_get_label(nullptr);
        return l ? l : "";
    }
    /// Queue-specific data: `value` under `key`, with an optional destructor.
    void set_specific(const void *key, void *value, rgcd_function_t destructor = nullptr) const {
        detail::check(rgcd_queue_set_specific(h_, key, value, destructor), "rgcd_queue_set_specific");
    }
    void *specific(const void *key) const { return rgcd_queue_get_specific(h_, key); }
    /// The value for `key` of the queue running the caller (or its targets).
    static void *current_specific(const void *key) noexcept { return rgcd_get_specific(key); }
};

namespace detail {
template <class F>
struct apply_state {
    explicit apply_state(F *fn) noexcept : f(fn) {}
    F *f;
    std::atomic<bool> failed{false};
    std::exception_ptr exception;
};

template <class F>
void run_apply(void *ctx, size_t i) noexcept {
    auto *s = static_cast<apply_state<F> *>(ctx);
    try {
        (*s->f)(i);
    } catch (...) {
        if (!s->failed.exchange(true, std::memory_order_acq_rel))
            s->exception = std::current_exception();
    }
}

template <class F>
void apply_on(size_t iterations, rgcd_queue_t q, F &f) {
    static_assert(std::is_invocable_v<F &, size_t>, "apply's body must be callable with a size_t");
    apply_state<F> s(&f);
    check(rgcd_apply_f(iterations, q, &s, &run_apply<F>), "rgcd_apply_f");
    if (s.failed.load(std::memory_order_acquire))
        std::rethrow_exception(s.exception);
}
} // namespace detail

/// Calls `f(i)` for i in [0, iterations) in parallel (the caller takes part) and returns when
/// all calls returned. The first exception a call throws is rethrown here, after all calls.
template <class F>
void apply(size_t iterations, F &&f) {
    detail::apply_on(iterations, nullptr, f);
}

/// apply on `q`: a concurrent queue runs the calls in parallel, a serial one in order.
template <class F>
void apply(size_t iterations, const queue &q, F &&f) {
    detail::apply_on(iterations, q.native(), f);
}

/// A group of work items to wait for.
class group : public object<rgcd_group_t> {
public:
    using object::object;
    group() : object(detail::check_handle(rgcd_group_create(), "rgcd_group_create"), adopt) {}
    static group retain(rgcd_group_t raw) {
        detail::check(rgcd_retain(raw), "rgcd_retain");
        return group(raw, adopt);
    }

    /// Runs `f()` on `q` as a member of the group.
    template <class F>
    void async(const queue &q, F &&f) const {
        rgcd_queue_t qh = q.native();
        detail::submit_once(std::forward<F>(f),
                            [this, qh](void *c, rgcd_function_t fn) { return rgcd_group_async_f(h_, qh, c, fn); },
                            "rgcd_group_async_f");
    }
    /// Runs `f()` on `q` once the group is empty.
    template <class F>
    void notify(const queue &q, F &&f) const {
        rgcd_queue_t qh = q.native();
        detail::submit_once(std::forward<F>(f),
                            [this, qh](void *c, rgcd_function_t fn) { return rgcd_group_notify_f(h_, qh, c, fn); },
                            "rgcd_group_notify_f");
    }
    void enter() const { detail::check(rgcd_group_enter(h_), "rgcd_group_enter"); }
    void leave() const { detail::check(rgcd_group_leave(h_), "rgcd_group_leave"); }
    /// Waits until the group is empty.
    void wait() const { wait_until(time::forever()); }
    /// true if the group became empty, false on timeout.
    bool wait_until(time deadline) const {
        int st = rgcd_group_wait(h_, deadline.native());
        detail::check(st, "rgcd_group_wait");
        return st == 0;
    }
    template <class Rep, class Period>
    bool wait_for(std::chrono::duration<Rep, Period> d) const {
        return wait_until(time::after(d));
    }
};

/// A counting semaphore. Also a BasicLockable (acquire/release) for std::lock_guard.
class semaphore : public object<rgcd_semaphore_t> {
public:
    using object::object;
    explicit semaphore(intptr_t value = 0)
        : object(detail::check_handle(rgcd_semaphore_create(value), "rgcd_semaphore_create"), adopt) {}
    static semaphore retain(rgcd_semaphore_t raw) {
        detail::check(rgcd_retain(raw), "rgcd_retain");
        return semaphore(raw, adopt);
    }

    void wait() const { wait_until(time::forever()); }
    /// true if a unit was taken, false on timeout.
    bool wait_until(time deadline) const {
        int st = rgcd_semaphore_wait(h_, deadline.native());
        detail::check(st, "rgcd_semaphore_wait");
        return st == 0;
    }
    template <class Rep, class Period>
    bool wait_for(std::chrono::duration<Rep, Period> d) const {
        return wait_until(time::after(d));
    }
    /// true if it woke a waiter.
    bool signal() const {
        int st = rgcd_semaphore_signal(h_);
        detail::check(st, "rgcd_semaphore_signal");
        return st > 0;
    }
    void lock() const { wait(); }
    void unlock() const { signal(); }
};

/// A `once` predicate for call_once (zero-initialised, as rgcd_once_t).
class once_flag {
public:
    constexpr once_flag() noexcept = default;
    once_flag(const once_flag &) = delete;
    once_flag &operator=(const once_flag &) = delete;
    rgcd_once_t *native() noexcept { return &pred_; }

private:
    rgcd_once_t pred_ = 0;
};

/// Runs `f()` exactly once per flag; concurrent callers wait for it. As with libdispatch the
/// flag is done once `f` returned or threw; an exception goes to the caller that ran `f`.
template <class F>
void call_once(once_flag &flag, F &&f) {
    if (__atomic_load_n(flag.native(), __ATOMIC_ACQUIRE) != 0)
        return; // done: no call into the library
    detail::call_sync(f,
                      [&flag](void *c, rgcd_function_t fn) { return rgcd_once_f(flag.native(), c, fn); },
                      "rgcd_once_f");
}

/// A dispatch source: an fd, a signal, a process, a timer or custom data, delivering to a
/// handler on a queue. Created inactive: set the handlers, then activate().
class source : public object<rgcd_source_t> {
public:
    using object::object;
    source(rgcd_source_type_t type, uintptr_t handle, uintptr_t mask, const queue &q)
        : object(detail::check_handle(rgcd_source_create(type, handle, mask, q.native()), "rgcd_source_create"),
                 adopt) {}
    /// A timer source on `q` (set it with set_timer).
    static source timer(const queue &q, uintptr_t flags = 0) { return source(RGCD_SOURCE_TYPE_TIMER, 0, flags, q); }
    static source retain(rgcd_source_t raw) {
        detail::check(rgcd_retain(raw), "rgcd_retain");
        return source(raw, adopt);
    }

    /// The handler for each (merged) event.
    template <class F>
    void on_event(F &&f) const { set(RGCD_SOURCE_HANDLER_EVENT, std::forward<F>(f)); }
    /// Runs once after cancel(), after the last event handler: close the fd here.
    template <class F>
    void on_cancel(F &&f) const { set(RGCD_SOURCE_HANDLER_CANCEL, std::forward<F>(f)); }
    /// Runs once when the source starts, before any event handler.
    template <class F>
    void on_registration(F &&f) const { set(RGCD_SOURCE_HANDLER_REGISTRATION, std::forward<F>(f)); }

    /// Arms a timer: first fire at `start`, then every `interval`, each fire allowed
    /// `leeway` late (for coalescing).
    template <class Rep1, class Period1, class Rep2 = int64_t, class Period2 = std::nano>
    void set_timer(time start, std::chrono::duration<Rep1, Period1> interval,
                   std::chrono::duration<Rep2, Period2> leeway = std::chrono::nanoseconds(0)) const {
        detail::check(rgcd_source_set_timer(h_, start.native(), static_cast<uint64_t>(detail::to_ns(interval)),
                                            static_cast<uint64_t>(detail::to_ns(leeway))),
                      "rgcd_source_set_timer");
    }
    /// A one-shot timer at `start`.
    template <class Rep2 = int64_t, class Period2 = std::nano>
    void set_timer_once(time start, std::chrono::duration<Rep2, Period2> leeway = std::chrono::nanoseconds(0)) const {
        detail::check(rgcd_source_set_timer(h_, start.native(), UINT64_MAX, static_cast<uint64_t>(detail::to_ns(leeway))),
                      "rgcd_source_set_timer");
    }

    void activate() const { detail::check(rgcd_activate(h_), "rgcd_activate"); }
    void suspend() const { detail::check(rgcd_suspend(h_), "rgcd_suspend"); }
    void resume() const { detail::check(rgcd_resume(h_), "rgcd_resume"); }
    void set_target(const queue &target) const {
        detail::check(rgcd_set_target_queue(h_, target.native()), "rgcd_set_target_queue");
    }
    /// Asynchronous: no event handler starts after this; the cancel handler runs once.
    void cancel() const { detail::check(rgcd_source_cancel(h_), "rgcd_source_cancel"); }
    bool cancelled() const {
        int st = rgcd_source_testcancel(h_);
        detail::check(st, "rgcd_source_testcancel");
        return st != 0;
    }
    /// Inside the event handler: the data of this delivery.
    uintptr_t data() const noexcept { return rgcd_source_get_data(h_); }
    uintptr_t handle() const noexcept { return rgcd_source_get_handle(h_); }
    uintptr_t mask() const noexcept { return rgcd_source_get_mask(h_); }
    /// Merges `value` into a custom data source.
    void merge_data(uintptr_t value) const {
        detail::check(rgcd_source_merge_data(h_, value), "rgcd_source_merge_data");
    }

private:
    template <class D>
    static void call_handler(void *ctx) noexcept {
        try {
            if constexpr (detail::fits_inline<D>) {
                alignas(D) unsigned char buf[sizeof(D)];
                std::memcpy(buf, static_cast<const void *>(&ctx), sizeof(D));
                (*std::launder(reinterpret_cast<D *>(buf)))();
            } else {
                (*static_cast<D *>(ctx))();
            }
        } catch (...) {
            detail::report(std::current_exception());
        }
    }
    template <class D>
    static void release_handler(void *ctx) noexcept {
        delete static_cast<D *>(ctx);
    }
    template <class F>
    void set(rgcd_source_handler_t which, F &&f) const {
        using D = std::decay_t<F>;
        static_assert(std::is_invocable_v<D &>, "a source handler must be callable with no arguments");
        void *ctx = detail::pack<D>(std::forward<F>(f));
        rgcd_function_t release = nullptr;
        if constexpr (!detail::fits_inline<D>)
            release = &release_handler<D>;
        int st = rgcd_source_set_handler_ctx_f(h_, which, &call_handler<D>, ctx, release);
        if (st < 0) {
            detail::discard<D>(ctx);
            detail::fail(st, "rgcd_source_set_handler_ctx_f");
        }
    }
};

} // namespace rgcd

#endif
