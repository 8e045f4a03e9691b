//! rgcd — Grand Central Dispatch for every platform.
//!
//! The dispatch model of Apple's libdispatch — serial and concurrent queues, target queues,
//! groups, semaphores, once, apply and timers — implemented in Rust on one shared worker pool,
//! with no async runtime. The same core is exported over a stable C ABI (`include/rgcd.h`);
//! see `src/ffi/`.
//!
//! # Examples
//!
//! ```
//! use rgcd::{Group, Queue, Time};
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use std::sync::Arc;
//!
//! let q = Queue::serial("example");
//! let g = Group::new();
//! let n = Arc::new(AtomicUsize::new(0));
//! for _ in 0..10 {
//!     let n = n.clone();
//!     g.exec_async(&q, move || {
//!         n.fetch_add(1, Ordering::Relaxed);
//!     });
//! }
//! assert!(g.wait(Time::FOREVER).is_ok());
//! assert_eq!(n.load(Ordering::Relaxed), 10);
//! ```

#![deny(unsafe_op_in_unsafe_fn)]

mod after;
mod alloc;
mod apply;
mod atomics;
mod data;
mod error;
mod event;
pub mod ffi;
mod fork;
mod group;
mod io;
mod object;
mod objlock;
mod once;
mod pool;
mod queue;
mod semaphore;
mod source;
mod task;
mod time;
mod tsan;

pub use apply::apply;
pub use data::Data;
pub use error::{Error, ErrorKind};
pub use group::Group;
pub use io::{read, write, IoChannel, IoType};
pub use object::{live_objects, Finalizer};
pub use once::Once;
pub use pool::{lock_wait_begin, lock_wait_end, thread_count};
pub use queue::{main, Qos, Queue, QueueBuilder};
pub use semaphore::Semaphore;
pub use source::{Source, SourceKind, PROC_EXEC, PROC_EXIT, PROC_FORK, PROC_SIGNAL, TIMER_STRICT};
pub use time::Time;
