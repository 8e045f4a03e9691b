//! The main queue: a serial queue whose target is drained by the main thread in [`main`].

use super::drain::run_task;
use super::main_root;
use super::sync::with_frame;
use crate::error::{Error, ErrorKind};
use crate::task::{SendPtr, TaskHeader};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};

struct MainRoot {
    items: Mutex<VecDeque<SendPtr>>,
    cv: Condvar,
}

static MAIN: MainRoot = MainRoot {
    items: Mutex::new(VecDeque::new()),
    cv: Condvar::new(),
};
static RUNNING: AtomicBool = AtomicBool::new(false);

/// Before a fork (see `src/fork.rs`).
pub(crate) fn fork_lock(held: &mut crate::fork::Held) -> bool {
    held.lock(&MAIN.items)
}

/// Is the caller the process's main thread?
pub(crate) fn is_main_thread() -> bool {
    // SAFETY: getpid and gettid have no preconditions.
    unsafe { libc::getpid() as libc::c_long == libc::syscall(libc::SYS_gettid) }
}

pub(super) fn push_main_root(t: NonNull<TaskHeader>) {
    MAIN.items
        .lock()
        .unwrap()
        .push_back(SendPtr(t.as_ptr() as *mut std::ffi::c_void));
    MAIN.cv.notify_one();
}

/// Parks the main thread and runs the main queue's work on it, forever (like
/// `dispatch_main`). The program ends by calling `exit` from some work item.
///
/// Fails at once when called from another thread or a second time.
///
/// # Examples
///
/// ```no_run
/// rgcd::Queue::main().exec_async(|| std::process::exit(0));
/// rgcd::main().unwrap();
/// ```
pub fn main() -> Result<Infallible, Error> {
    if !is_main_thread() {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "main() must be called on the main thread",
        ));
    }
    if RUNNING.swap(true, Ordering::AcqRel) {
        return Err(Error::new(ErrorKind::State, "main() is already running"));
    }
    let root = main_root();
    loop {
        let t = {
            let mut items = MAIN.items.lock().unwrap();
            loop {
                if let Some(t) = items.pop_front() {
                    break t;
                }
                items = MAIN.cv.wait(items).unwrap();
            }
        };
        let t = NonNull::new(t.0 as *mut TaskHeader).expect("non-null item");
        with_frame(root, || run_task(t));
    }
}
