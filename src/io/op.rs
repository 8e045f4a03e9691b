//! One read or write operation: its progress (run on its fd entry's queue) and its deliveries
//! (run on the caller's queue, one at a time, in order).

use super::channel::ChannelInner;
use super::entry::{EntryUse, FdEntry};
use crate::data::{self, DataInner};
use crate::queue::report_panic;
use crate::source::Source;
use crate::Queue;
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The handler of an operation: `(done, data, error)`. Reads pass the bytes read (the empty
/// object at end of file); writes pass the bytes not yet written, `None` once all are.
pub(crate) type IoHandler = Box<dyn FnMut(bool, Option<&Arc<DataInner>>, i32) + Send>;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Dir {
    Read,
    Write,
}

/// A channel's delivery policy, copied into each operation when it is submitted.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Policy {
    pub(crate) high: usize,
    pub(crate) low: usize,
    /// Nanoseconds between interval deliveries (0: none).
    pub(crate) interval: u64,
    pub(crate) strict: bool,
}

impl Policy {
    /// No partial deliveries: the convenience `read`/`write` deliver once.
    pub(crate) const WHOLE: Policy = Policy {
        high: usize::MAX,
        low: usize::MAX,
        interval: 0,
        strict: false,
    };
}

/// Progress, touched only on the entry's queue.
pub(crate) struct Progress {
    /// Read: bytes read and not delivered. Write: bytes not yet written.
    pub(crate) buf: Arc<DataInner>,
    /// Read: bytes still wanted (`usize::MAX`: until end of file).
    pub(crate) remaining: usize,
    /// Write: bytes written since the last delivery.
    pub(crate) since: usize,
    /// RANDOM: the absolute file offset of the next byte.
    pub(crate) offset: i64,
    pub(crate) done: bool,
    pub(crate) timer: Option<Source>,
    pub(crate) started: bool,
    /// A convenience call's share of the entry (a channel's operations use the channel's).
    pub(crate) user: Option<EntryUse>,
}

struct Outbox {
    items: VecDeque<(bool, Option<Arc<DataInner>>, i32)>,
    running: bool,
}

pub(crate) struct Op {
    pub(crate) dir: Dir,
    /// Deliver once, at the end (the convenience API; a read also ends when the fd would
    /// block after some bytes arrived).
    pub(crate) whole: bool,
    /// pread/pwrite at `Progress::offset` (RANDOM channels).
    pub(crate) positional: bool,
    pub(crate) policy: Policy,
    pub(crate) channel: Option<Arc<ChannelInner>>,
    pub(crate) progress: Mutex<Progress>,
    queue: Queue,
    handler: Mutex<Option<IoHandler>>,
    out: Mutex<Outbox>,
    finished: AtomicBool,
    /// The pump stopped reading for this op until its handler catches up (see `backlog`).
    pub(crate) throttled: AtomicBool,
    /// The entry running the operation, held from submission until it leaves the entry's
    /// list (it keeps a convenience call's entry alive while it waits for the fd).
    pub(crate) entry: Mutex<Option<Arc<FdEntry>>>,
}

const DRAIN_BATCH: usize = 16;
/// A read stops reading while this many of its results wait for the handler: a slow handler
/// holds back the fd instead of letting buffers pile up (and a fast one gets warm buffers).
pub(crate) const MAX_BACKLOG: usize = 2;

impl Op {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        dir: Dir,
        whole: bool,
        positional: bool,
        policy: Policy,
        channel: Option<Arc<ChannelInner>>,
        buf: Arc<DataInner>,
        remaining: usize,
        offset: i64,
        queue: Queue,
        handler: IoHandler,
    ) -> Arc<Op> {
        Arc::new(Op {
            dir,
            whole,
            positional,
            policy,
            channel,
            progress: Mutex::new(Progress {
                buf,
                remaining,
                since: 0,
                offset,
                done: false,
                timer: None,
                started: false,
                user: None,
            }),
            queue,
            handler: Mutex::new(Some(handler)),
            out: Mutex::new(Outbox {
                items: VecDeque::new(),
                running: false,
            }),
            finished: AtomicBool::new(false),
            throttled: AtomicBool::new(false),
            entry: Mutex::new(None),
        })
    }

    /// Closed with STOP: the operation ends with `ECANCELED` at its next step.
    pub(crate) fn is_stopped(&self) -> bool {
        self.channel.as_ref().is_some_and(|c| c.is_stopped())
    }

    /// Calls queued and not started yet.
    pub(crate) fn backlog(&self) -> usize {
        self.out.lock().unwrap().items.len()
    }

    /// Queues a call of the handler; calls run one at a time, in order, on the op's queue.
    pub(crate) fn deliver(self: &Arc<Self>, done: bool, data: Option<Arc<DataInner>>, err: i32) {
        let start = {
            let mut o = self.out.lock().unwrap();
            o.items.push_back((done, data, err));
            !std::mem::replace(&mut o.running, true)
        };
        if start {
            let op = self.clone();
            self.queue.exec_async(move || op.drain());
        }
    }

    fn drain(self: Arc<Self>) {
        for _ in 0..DRAIN_BATCH {
            let item = {
                let mut o = self.out.lock().unwrap();
                match o.items.pop_front() {
                    Some(i) => i,
                    None => {
                        o.running = false;
                        return;
                    }
                }
            };
            let (done, data, err) = item;
            {
                let mut h = self.handler.lock().unwrap();
                if let Some(f) = h.as_mut() {
                    let r = catch_unwind(AssertUnwindSafe(|| f(done, data.as_ref(), err)));
                    if let Err(p) = r {
                        report_panic(&*p);
                    }
                }
                if done {
                    // The last call: let the handler (and what it holds) go.
                    drop(h.take());
                }
            }
            drop(data);
            if self.throttled.load(Ordering::SeqCst) && self.backlog() < MAX_BACKLOG {
                self.throttled.store(false, Ordering::SeqCst);
                let e = self.entry.lock().unwrap().clone();
                if let Some(e) = e {
                    e.schedule_pump();
                }
            }
            if done && !self.finished.swap(true, Ordering::AcqRel) {
                if let Some(c) = &self.channel {
                    c.op_finished();
                }
            }
        }
        // More to deliver: give the queue to other work first.
        let op = self.clone();
        self.queue.exec_async(move || op.drain());
    }

    /// Ends the operation with `err` (0: success), delivering what is left.
    pub(crate) fn finish(self: &Arc<Self>, p: &mut Progress, err: i32) {
        if p.done {
            return;
        }
        p.done = true;
        if let Some(t) = p.timer.take() {
            t.cancel();
        }
        // No more system calls for this op: a convenience call lets the fd go before its
        // handler hears the result (the caller may close the fd there).
        drop(p.user.take());
        let data = std::mem::replace(&mut p.buf, data::empty().clone());
        match self.dir {
            Dir::Read => self.deliver(true, Some(data), err),
            Dir::Write => {
                let rest = if data.size() == 0 && err == 0 {
                    None
                } else {
                    Some(data)
                };
                self.deliver(true, rest, err)
            }
        }
    }

    /// Read: delivers the bytes buffered (a partial result).
    pub(crate) fn deliver_buffered(self: &Arc<Self>, p: &mut Progress) {
        let data = std::mem::replace(&mut p.buf, data::empty().clone());
        self.deliver(false, Some(data), 0);
    }

    /// Read: delivers high-water-sized pieces while that many bytes are buffered.
    pub(crate) fn deliver_high_pieces(self: &Arc<Self>, p: &mut Progress) {
        let high = self.policy.high.max(1);
        if self.whole || high == usize::MAX {
            return;
        }
        while p.buf.size() >= high {
            let piece = p.buf.subrange(0, high);
            p.buf = p.buf.subrange(high, usize::MAX);
            self.deliver(false, Some(piece), 0);
        }
    }

    /// Write: a partial result (the bytes still to write).
    pub(crate) fn deliver_progress(self: &Arc<Self>, p: &mut Progress) {
        p.since = 0;
        self.deliver(false, Some(p.buf.clone()), 0);
    }
}
