//! The synchronisation primitives of the lock-free state machines, behind one name so that
//! a model checker can replace them.
//!
//! A normal build re-exports `std`'s types: the code compiles to exactly what it would with
//! `std::sync::atomic` named directly. In the unit tests built with `RUSTFLAGS="--cfg loom"`
//! (loom is a dev-dependency, so only test builds switch), the same names are
//! [loom](https://docs.rs/loom)'s, and the `loom_model` test modules beside the code
//! (`queue/state.rs`, `semaphore.rs`, `group.rs`, `source/state.rs`) run the real state-word
//! functions of the serial queue, the semaphore, the group and the source under loom, which
//! explores their interleavings up to `LOOM_MAX_PREEMPTIONS` preemptions. Run them with
//!
//! ```sh
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release -p rgcd --lib \
//!     --target-dir build/cargo-loom loom_model
//! ```
//!
//! or `ctest --test-dir build -L loom`. Only the state that those models exercise goes through
//! here: the queue's state word and item list (with the items' `next` links), the semaphore's
//! count and slow side, the group's counter and slow side (their slow side's lock is
//! `objlock.rs`, which switches to loom's `Mutex` and `Condvar` the same way), the source's
//! state word. Everything
//! else (statics, the pool, the reactor) keeps `std`'s types, which loom could not construct
//! outside a model; nothing but the models runs in a `--cfg loom` build.
//!
//! Limits: loom treats SeqCst loads and stores as AcqRel (see `queue/state.rs` for how the
//! queue model copes), bounds preemptions, and does not explore every relaxed-memory outcome
//! (load buffering), so a passing model is strong evidence, not a proof.

#[cfg(not(all(loom, test)))]
pub(crate) use std::sync::atomic::{AtomicIsize, AtomicPtr, AtomicU64};

#[cfg(all(loom, test))]
pub(crate) use loom::sync::atomic::{AtomicIsize, AtomicPtr, AtomicU64};

/// A busy-wait hint: `std::hint::spin_loop`, or under loom a yield to another thread (a loop
/// that spins on loom's atomics must let the thread it waits for run).
#[inline(always)]
pub(crate) fn spin_loop() {
    #[cfg(not(all(loom, test)))]
    std::hint::spin_loop();
    #[cfg(all(loom, test))]
    loom::hint::spin_loop();
}
