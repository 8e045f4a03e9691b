//! `after`: an interim timer thread with a deadline heap. (The sources work replaces it with
//! the pool's own timer heap.)

use crate::queue::QueueInner;
use crate::task::{self, SendPtr, TaskHeader};
use crate::time::{now_ns, Time};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::ptr::NonNull;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

struct Entry {
    deadline: u64,
    seq: u64,
    queue: Arc<QueueInner>,
    task: SendPtr,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        (self.deadline, self.seq) == (o.deadline, o.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.deadline, self.seq).cmp(&(o.deadline, o.seq))
    }
}

struct Timers {
    heap: Mutex<(BinaryHeap<Reverse<Entry>>, u64)>,
    cv: Condvar,
}

static TIMERS: OnceLock<Timers> = OnceLock::new();

fn timers() -> &'static Timers {
    TIMERS.get_or_init(|| {
        std::thread::Builder::new()
            .name("rgcd-timers".into())
            .spawn(run)
            .expect("spawn the timer thread");
        Timers {
            heap: Mutex::new((BinaryHeap::new(), 0)),
            cv: Condvar::new(),
        }
    })
}

fn run() {
    let t = timers();
    let mut g = t.heap.lock().unwrap();
    loop {
        let now = now_ns();
        while g.0.peek().is_some_and(|e| e.0.deadline <= now) {
            let Reverse(e) = g.0.pop().expect("peeked");
            let task = NonNull::new(e.task.0 as *mut TaskHeader).expect("non-null");
            // SAFETY: a fresh item owned by the entry.
            unsafe { e.queue.enqueue(task) };
        }
        g = match g.0.peek() {
            None => t.cv.wait(g).unwrap(),
            Some(e) => {
                let wait = e.0.deadline.saturating_sub(now_ns());
                t.cv.wait_timeout(g, Duration::from_nanos(wait)).unwrap().0
            }
        };
    }
}

/// Enqueues `task` on `queue` at `when`. FOREVER never fires: the item is discarded.
pub(crate) fn schedule(when: Time, queue: Arc<QueueInner>, task: NonNull<TaskHeader>) {
    let deadline = when.to_monotonic();
    if deadline == u64::MAX {
        // SAFETY: never enqueued; discarded here.
        unsafe { task::invoke(task, task::Action::Discard) };
        return;
    }
    if deadline <= now_ns() {
        // SAFETY: a fresh item.
        unsafe { queue.enqueue(task) };
        return;
    }
    let t = timers();
    let mut g = t.heap.lock().unwrap();
    g.1 += 1;
    let seq = g.1;
    let earliest = g.0.peek().is_none_or(|e| deadline < e.0.deadline);
    g.0.push(Reverse(Entry {
        deadline,
        seq,
        queue,
        task: SendPtr(task.as_ptr() as *mut std::ffi::c_void),
    }));
    drop(g);
    if earliest {
        t.cv.notify_one();
    }
}
