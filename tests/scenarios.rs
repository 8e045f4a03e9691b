//! The shared scenarios (same names as tests/c/ and the bindings' suites), on the Rust API.

use rgcd::{apply, ErrorKind, Group, Once, Qos, Queue, QueueBuilder, Semaphore, Time};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn secs(s: u64) -> Time {
    Time::after(Duration::from_secs(s))
}

#[test]
fn fifo_many_queues() {
    const QUEUES: usize = 1000;
    const PER_QUEUE: usize = 900;
    const GLOBAL: usize = 100_000;
    let queues: Vec<Queue> = (0..QUEUES)
        .map(|i| Queue::serial(&format!("q{i}")))
        .collect();
    let next: Arc<Vec<AtomicUsize>> = Arc::new((0..QUEUES).map(|_| AtomicUsize::new(0)).collect());
    let bad = Arc::new(AtomicUsize::new(0));
    let ran = Arc::new(AtomicUsize::new(0));
    let g = Group::new();
    let global = Queue::global(Qos::Default);
    for seq in 0..PER_QUEUE {
        for (qi, q) in queues.iter().enumerate() {
            let (next, bad, ran) = (next.clone(), bad.clone(), ran.clone());
            g.exec_async(q, move || {
                if next[qi].fetch_add(1, Ordering::Relaxed) != seq {
                    bad.fetch_add(1, Ordering::Relaxed);
                }
                ran.fetch_add(1, Ordering::Relaxed);
            });
        }
        for _ in 0..GLOBAL / PER_QUEUE {
            let ran = ran.clone();
            g.exec_async(&global, move || {
                ran.fetch_add(1, Ordering::Relaxed);
            });
        }
    }
    g.wait(secs(60)).expect("all tasks finish");
    let total = QUEUES * PER_QUEUE + (GLOBAL / PER_QUEUE) * PER_QUEUE;
    assert_eq!(ran.load(Ordering::Relaxed), total);
    assert_eq!(bad.load(Ordering::Relaxed), 0, "FIFO order broken");
    assert!(next.iter().all(|n| n.load(Ordering::Relaxed) == PER_QUEUE));
}

#[test]
fn barrier_rw() {
    let q = Queue::concurrent("rw");
    let readers = Arc::new(AtomicI64::new(0));
    let writers = Arc::new(AtomicI64::new(0));
    let violations = Arc::new(AtomicUsize::new(0));
    let value = Arc::new(AtomicUsize::new(0));
    let g = Group::new();
    let mut writes = 0;
    for i in 0..20_000 {
        let (r, w, v, val) = (
            readers.clone(),
            writers.clone(),
            violations.clone(),
            value.clone(),
        );
        if i % 10 == 0 {
            writes += 1;
            g.enter();
            let g2 = g.clone();
            q.barrier_async(move || {
                if w.fetch_add(1, Ordering::SeqCst) != 0 || r.load(Ordering::SeqCst) != 0 {
                    v.fetch_add(1, Ordering::SeqCst);
                }
                val.fetch_add(1, Ordering::Relaxed);
                w.fetch_sub(1, Ordering::SeqCst);
                g2.leave().unwrap();
            });
        } else {
            g.exec_async(&q, move || {
                r.fetch_add(1, Ordering::SeqCst);
                if w.load(Ordering::SeqCst) != 0 {
                    v.fetch_add(1, Ordering::SeqCst);
                }
                r.fetch_sub(1, Ordering::SeqCst);
            });
        }
    }
    g.wait(secs(60)).unwrap();
    assert_eq!(violations.load(Ordering::SeqCst), 0);
    assert_eq!(value.load(Ordering::Relaxed), writes);
}

#[test]
fn no_thread_starvation() {
    const WAITERS: usize = 200;
    let sem = Semaphore::new(0).unwrap();
    let started = Arc::new(AtomicUsize::new(0));
    let g = Group::new();
    let global = Queue::global(Qos::Default);
    let t0 = Instant::now();
    for _ in 0..WAITERS {
        let (sem, started) = (sem.clone(), started.clone());
        g.exec_async(&global, move || {
            started.fetch_add(1, Ordering::SeqCst);
            sem.wait(secs(60)).expect("signalled");
        });
    }
    let (s2, st2) = (sem.clone(), started.clone());
    g.exec_async(&global, move || {
        // Signal only once every waiter is blocked, so all 201 tasks need threads at once.
        let deadline = Instant::now() + Duration::from_secs(50);
        while st2.load(Ordering::SeqCst) < WAITERS && Instant::now() < deadline {
            std::thread::sleep(Duration::from_micros(200));
        }
        for _ in 0..WAITERS {
            s2.signal();
        }
    });
    g.wait(secs(60)).expect("no deadlock for lack of threads");
    println!(
        "no_thread_starvation: {WAITERS} waiters released in {:.1} ms, {} threads",
        t0.elapsed().as_secs_f64() * 1e3,
        rgcd::thread_count()
    );
    assert!(rgcd::thread_count() <= 255);
}

#[test]
fn sync_deadlock() {
    let q = Queue::serial("self");
    let q2 = q.clone();
    let r = q
        .exec_sync(move || q2.exec_sync(|| ()).map_err(|e| e.kind()))
        .unwrap();
    assert_eq!(r, Err(ErrorKind::Deadlock));

    let a = Queue::serial("a");
    let b = QueueBuilder::new().label("b").target(&a).build().unwrap();
    let a2 = a.clone();
    let r = b
        .exec_sync(move || a2.exec_sync(|| ()).map_err(|e| e.kind()))
        .unwrap();
    assert_eq!(r, Err(ErrorKind::Deadlock));

    // Downward too: from a onto b, whose target a is running the caller (serial and
    // concurrent b alike: b's items need a).
    let b2 = b.clone();
    let r = a
        .exec_sync(move || b2.exec_sync(|| ()).map_err(|e| e.kind()))
        .unwrap();
    assert_eq!(r, Err(ErrorKind::Deadlock));
    let wide = QueueBuilder::new()
        .label("wide-on-a")
        .concurrent()
        .target(&a)
        .build()
        .unwrap();
    let r = a
        .exec_sync(move || wide.exec_sync(|| ()).map_err(|e| e.kind()))
        .unwrap();
    assert_eq!(r, Err(ErrorKind::Deadlock));
    // Work on a global queue may sync onto any idle serial queue.
    let (tx, rx) = std::sync::mpsc::channel();
    let idle = Queue::serial("idle");
    Queue::global(rgcd::Qos::Default).exec_async(move || tx.send(idle.exec_sync(|| 5)).unwrap());
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(30)).unwrap().unwrap(),
        5
    );

    // From async work too.
    let (tx, rx) = std::sync::mpsc::channel();
    let q3 = q.clone();
    q.exec_async(move || tx.send(q3.exec_sync(|| ()).map_err(|e| e.kind())).unwrap());
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(30)).unwrap(),
        Err(ErrorKind::Deadlock)
    );

    // Another idle serial queue is fine.
    let other = Queue::serial("other");
    assert_eq!(
        q.exec_sync(move || other.exec_sync(|| 7).unwrap()).unwrap(),
        7
    );
}

#[test]
fn target_exclusion() {
    let t = Queue::serial("target");
    let a = QueueBuilder::new().target(&t).build().unwrap();
    let b = QueueBuilder::new().target(&t).build().unwrap();
    let inflight = Arc::new(AtomicUsize::new(0));
    let overlap = Arc::new(AtomicBool::new(false));
    let g = Group::new();
    for i in 0..4000 {
        let q = if i % 2 == 0 { &a } else { &b };
        let (n, o) = (inflight.clone(), overlap.clone());
        g.exec_async(q, move || {
            if n.fetch_add(1, Ordering::SeqCst) != 0 {
                o.store(true, Ordering::SeqCst);
            }
            for _ in 0..200 {
                std::hint::spin_loop();
            }
            n.fetch_sub(1, Ordering::SeqCst);
        });
    }
    g.wait(secs(60)).unwrap();
    assert!(!overlap.load(Ordering::SeqCst));
}

#[test]
fn suspend_resume() {
    let q = Queue::serial("s");
    q.suspend().unwrap();
    q.suspend().unwrap();
    let ran = Arc::new(Mutex::new(Vec::new()));
    for i in 0..10 {
        let r = ran.clone();
        q.exec_async(move || r.lock().unwrap().push(i));
    }
    q.resume().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert!(ran.lock().unwrap().is_empty());
    q.resume().unwrap();
    q.exec_sync(|| ()).unwrap();
    assert_eq!(*ran.lock().unwrap(), (0..10).collect::<Vec<_>>());
    assert_eq!(q.resume().unwrap_err().kind(), ErrorKind::State);
}

#[test]
fn inactive_activate() {
    let q = QueueBuilder::new().inactive().build().unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    q.exec_async(move || {
        r.fetch_add(1, Ordering::SeqCst);
    });
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    q.set_target(&Queue::global(Qos::Utility)).unwrap();
    q.activate().unwrap();
    q.activate().unwrap();
    let g = Group::new();
    g.exec_async(&q, || {});
    g.wait(secs(30)).unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

#[test]
fn group_wait_notify() {
    let g = Group::new();
    let q = Queue::serial("g");
    let gate = Semaphore::new(0).unwrap();
    let gate2 = gate.clone();
    g.exec_async(&q, move || {
        gate2.wait(secs(30)).unwrap();
    });
    assert_eq!(
        g.wait(Time::after_nanos(20_000_000)).unwrap_err().kind(),
        ErrorKind::TimedOut
    );
    let notified = Arc::new(AtomicUsize::new(0));
    let n = notified.clone();
    let done = Semaphore::new(0).unwrap();
    let d = done.clone();
    g.notify(&q, move || {
        n.fetch_add(1, Ordering::SeqCst);
        d.signal();
    });
    gate.signal();
    g.wait(secs(30)).unwrap();
    done.wait(secs(30)).unwrap();
    assert_eq!(notified.load(Ordering::SeqCst), 1);
    assert_eq!(g.leave().unwrap_err().kind(), ErrorKind::State);
    g.enter();
    g.leave().unwrap();
    g.wait(Time::NOW).unwrap();
}

/// A waiter blocked in `wait` wakes only after the notifications are enqueued (as in
/// libdispatch): a sync onto a notification's serial queue right after `wait` returns finds
/// the notification ahead of it (cygcd's test_group_notify relies on this).
#[test]
fn group_notify_enqueued_before_blocked_waiter_wakes() {
    for _ in 0..200 {
        let g = Group::new();
        let q = Queue::serial("g.notify.order");
        let gate = Semaphore::new(0).unwrap();
        let gate2 = gate.clone();
        g.exec_async(&Queue::global(Qos::Default), move || {
            gate2.wait(secs(30)).unwrap();
        });
        let notified = Arc::new(AtomicBool::new(false));
        let n = notified.clone();
        g.notify(&q, move || n.store(true, Ordering::SeqCst));
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_micros(200));
            gate.signal();
        });
        g.wait(secs(30)).unwrap();
        q.exec_sync(|| ()).unwrap();
        assert!(
            notified.load(Ordering::SeqCst),
            "notification behind the waiter's sync"
        );
        releaser.join().unwrap();
    }
}

#[test]
fn semaphore_timeout() {
    let s = Semaphore::new(0).unwrap();
    let t0 = Instant::now();
    assert_eq!(
        s.wait(Time::after_nanos(50_000_000)).unwrap_err().kind(),
        ErrorKind::TimedOut
    );
    assert!(t0.elapsed() >= Duration::from_millis(45));
    assert!(!s.signal());
    s.wait(Time::NOW).unwrap();
    assert!(Semaphore::new(-1).is_err());
    let s3 = Semaphore::new(3).unwrap();
    for _ in 0..3 {
        s3.wait(Time::NOW).unwrap();
    }
    assert!(s3.wait(Time::NOW).is_err());
}

#[test]
fn once_contended() {
    static ONCE: Once = Once::new();
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    static FLAG: AtomicBool = AtomicBool::new(false);
    let threads: Vec<_> = (0..16)
        .map(|_| {
            std::thread::spawn(|| {
                ONCE.call(|| {
                    std::thread::sleep(Duration::from_millis(20));
                    RUNS.fetch_add(1, Ordering::SeqCst);
                    FLAG.store(true, Ordering::SeqCst);
                });
                assert!(FLAG.load(Ordering::SeqCst));
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(RUNS.load(Ordering::SeqCst), 1);
    assert!(ONCE.is_done());
}

#[test]
fn apply_sum() {
    let sum = AtomicUsize::new(0);
    apply(1_000_000, None, |i| {
        sum.fetch_add(i, Ordering::Relaxed);
    });
    assert_eq!(sum.load(Ordering::Relaxed), 999_999 * 1_000_000 / 2);
    let serial = Queue::serial("apply");
    let count = AtomicUsize::new(0);
    apply(1000, Some(&serial), |_| {
        count.fetch_add(1, Ordering::Relaxed);
    });
    assert_eq!(count.load(Ordering::Relaxed), 1000);
    let nested = AtomicUsize::new(0);
    apply(8, Some(&Queue::concurrent("c")), |_| {
        apply(100, None, |_| {
            nested.fetch_add(1, Ordering::Relaxed);
        })
    });
    assert_eq!(nested.load(Ordering::Relaxed), 800);
    apply(0, None, |_| panic!("no iterations"));
}

#[test]
fn after_timing() {
    let q = Queue::serial("after");
    let (tx, rx) = std::sync::mpsc::channel();
    let t0 = Instant::now();
    q.after(Time::after_nanos(30_000_000), move || {
        tx.send(Instant::now()).unwrap()
    });
    let fired = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(fired - t0 >= Duration::from_millis(30));
}

#[test]
fn panic_in_task_is_contained() {
    let q = Queue::serial("panics");
    q.exec_async(|| panic!("boom (expected by the test)"));
    assert_eq!(q.exec_sync(|| 5).unwrap(), 5);
}

#[test]
fn watchdog_grows_on_user_blocking() {
    // Every worker blocks in read(2) on a pipe that only a later task writes to: the
    // monitor must notice the stall and add a thread, or this never finishes.
    let blockers = std::thread::available_parallelism().map_or(2, |n| n.get()) + 1;
    let mut fds = [0i32; 2];
    // SAFETY: valid out-array.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let (rd, wr) = (fds[0], fds[1]);
    let g = Group::new();
    let global = Queue::global(Qos::Default);
    for _ in 0..blockers {
        g.exec_async(&global, move || {
            let mut b = 0u8;
            // SAFETY: reading one byte into a valid buffer.
            unsafe { libc::read(rd, &mut b as *mut u8 as *mut libc::c_void, 1) };
        });
    }
    g.exec_async(&global, move || {
        let buf = vec![1u8; blockers];
        // SAFETY: writing from a valid buffer.
        unsafe { libc::write(wr, buf.as_ptr() as *const libc::c_void, buf.len()) };
    });
    g.wait(secs(30))
        .expect("the monitor added a thread for the writer");
    // SAFETY: our pipe.
    unsafe {
        libc::close(rd);
        libc::close(wr);
    }
}

#[test]
fn watchdog_rounds_with_warm_pool() {
    // Several rounds in one process: every worker alive blocks in read(2) (the batch a worker
    // steals may hold another blocker behind a blocked one), then a probe must still run.
    let mut fds = [0i32; 2];
    // SAFETY: valid out-array.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let (rd, wr) = (fds[0], fds[1]);
    let global = Queue::global(Qos::Utility);
    let g = Group::new();
    for _ in 0..4 {
        g.exec_async(&global, || {});
    }
    g.wait(secs(30)).unwrap();
    for round in 0..3 {
        let n = rgcd::thread_count().max(1);
        let blocked = Arc::new(AtomicUsize::new(0));
        for _ in 0..n {
            let b = blocked.clone();
            global.exec_async(move || {
                b.fetch_add(1, Ordering::SeqCst);
                let mut byte = 0u8;
                // SAFETY: reading one byte into a valid buffer.
                unsafe { libc::read(rd, &mut byte as *mut u8 as *mut libc::c_void, 1) };
            });
        }
        let end = Instant::now() + Duration::from_secs(30);
        while blocked.load(Ordering::SeqCst) < n && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(
            blocked.load(Ordering::SeqCst),
            n,
            "round {round}: every blocker started"
        );
        let probe = Group::new();
        probe.exec_async(&global, || {});
        probe
            .wait(secs(30))
            .unwrap_or_else(|_| panic!("round {round}: the probe never got a thread"));
        let buf = vec![0u8; n];
        // SAFETY: writing from a valid buffer.
        unsafe { libc::write(wr, buf.as_ptr() as *const libc::c_void, n) };
    }
    // SAFETY: our pipe.
    unsafe {
        libc::close(rd);
        libc::close(wr);
    }
}

#[test]
fn stress_mixed_operations() {
    // Four threads throw async, barrier_async, sync, barrier_sync, suspend/resume and
    // retargets at a small hierarchy; every item must run exactly once and barriers alone.
    let root = Queue::concurrent("stress.root");
    let serials: Vec<Queue> = (0..3)
        .map(|i| {
            QueueBuilder::new()
                .label(&format!("stress.s{i}"))
                .target(&root)
                .build()
                .unwrap()
        })
        .collect();
    let conc = Queue::concurrent("stress.c");
    let ran = Arc::new(AtomicUsize::new(0));
    let in_barrier = Arc::new(AtomicUsize::new(0));
    let in_plain = Arc::new(AtomicUsize::new(0));
    let violations = Arc::new(AtomicUsize::new(0));
    let g = Group::new();
    let submitted = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let (serials, conc, root) = (serials.clone(), conc.clone(), root.clone());
            let (ran, inb, inp, vio, g, sub) = (
                ran.clone(),
                in_barrier.clone(),
                in_plain.clone(),
                violations.clone(),
                g.clone(),
                submitted.clone(),
            );
            std::thread::spawn(move || {
                let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ t;
                for _ in 0..3000 {
                    xorshift(&mut x);
                    let r = ran.clone();
                    match x % 8 {
                        0 | 1 => {
                            sub.fetch_add(1, Ordering::SeqCst);
                            let (inb, inp, vio) = (inb.clone(), inp.clone(), vio.clone());
                            g.exec_async(&conc, move || {
                                inp.fetch_add(1, Ordering::SeqCst);
                                if inb.load(Ordering::SeqCst) != 0 {
                                    vio.fetch_add(1, Ordering::SeqCst);
                                }
                                inp.fetch_sub(1, Ordering::SeqCst);
                                r.fetch_add(1, Ordering::SeqCst);
                            });
                        }
                        2 => {
                            sub.fetch_add(1, Ordering::SeqCst);
                            let (inb, inp, vio, g2) =
                                (inb.clone(), inp.clone(), vio.clone(), g.clone());
                            g.enter();
                            conc.barrier_async(move || {
                                if inb.fetch_add(1, Ordering::SeqCst) != 0
                                    || inp.load(Ordering::SeqCst) != 0
                                {
                                    vio.fetch_add(1, Ordering::SeqCst);
                                }
                                inb.fetch_sub(1, Ordering::SeqCst);
                                r.fetch_add(1, Ordering::SeqCst);
                                g2.leave().unwrap();
                            });
                        }
                        3 => {
                            sub.fetch_add(1, Ordering::SeqCst);
                            let q = &serials[(x >> 8) as usize % 3];
                            g.exec_async(q, move || {
                                r.fetch_add(1, Ordering::SeqCst);
                            });
                        }
                        4 => {
                            sub.fetch_add(1, Ordering::SeqCst);
                            let q = &serials[(x >> 8) as usize % 3];
                            q.exec_sync(move || {
                                r.fetch_add(1, Ordering::SeqCst);
                            })
                            .unwrap();
                        }
                        5 => {
                            sub.fetch_add(1, Ordering::SeqCst);
                            root.barrier_sync(move || {
                                r.fetch_add(1, Ordering::SeqCst);
                            })
                            .unwrap();
                        }
                        6 => {
                            let q = &serials[(x >> 8) as usize % 3];
                            q.suspend().unwrap();
                            std::thread::yield_now();
                            q.resume().unwrap();
                        }
                        _ => {
                            sub.fetch_add(1, Ordering::SeqCst);
                            conc.exec_sync(move || {
                                r.fetch_add(1, Ordering::SeqCst);
                            })
                            .unwrap();
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    g.wait(secs(60)).expect("every item ran");
    assert_eq!(ran.load(Ordering::SeqCst), submitted.load(Ordering::SeqCst));
    assert_eq!(
        violations.load(Ordering::SeqCst),
        0,
        "a barrier overlapped other work"
    );
}

#[test]
fn stress_semaphore_timeouts() {
    // Waiters with tiny deadlines race signallers: every permit is either taken exactly once
    // or still there at the end; nothing is lost or duplicated.
    let s = Semaphore::new(0).unwrap();
    let taken = Arc::new(AtomicUsize::new(0));
    const SIGNALS: usize = 20_000;
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let (s, taken) = (s.clone(), taken.clone());
            std::thread::spawn(move || {
                let end = Instant::now() + Duration::from_secs(20);
                while taken.load(Ordering::SeqCst) < SIGNALS && Instant::now() < end {
                    if s.wait(Time::after_nanos(2_000)).is_ok() {
                        taken.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    let signaller = {
        let s = s.clone();
        std::thread::spawn(move || {
            for i in 0..SIGNALS {
                s.signal();
                if i % 64 == 0 {
                    std::thread::yield_now();
                }
            }
        })
    };
    signaller.join().unwrap();
    for w in waiters {
        w.join().unwrap();
    }
    let mut left = 0;
    while s.wait(Time::NOW).is_ok() {
        left += 1;
    }
    assert_eq!(taken.load(Ordering::SeqCst) + left, SIGNALS);
}

#[test]
fn stress_group_waits() {
    // Waiters and notifications on one group while work keeps entering and leaving it.
    let g = Group::new();
    let q = Queue::concurrent("gstress");
    let notified = Arc::new(AtomicUsize::new(0));
    let rounds = 300;
    for _ in 0..rounds {
        for _ in 0..8 {
            g.exec_async(&q, || std::hint::black_box(()));
        }
        let n = notified.clone();
        g.notify(&q, move || {
            n.fetch_add(1, Ordering::SeqCst);
        });
        let g2 = g.clone();
        let w = std::thread::spawn(move || g2.wait(secs(30)).is_ok());
        assert!(w.join().unwrap(), "a waiter missed the group emptying");
    }
    g.wait(secs(30)).unwrap();
    let end = Instant::now() + Duration::from_secs(30);
    while notified.load(Ordering::SeqCst) < rounds && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(notified.load(Ordering::SeqCst), rounds);
}

#[test]
fn stress_nested_sync() {
    // Nested syncs in one lock order (outer -> inner, inner targets a serial root), from four
    // threads and from work running on the queues, with asyncs in between; apply inside
    // sync too. Everything finishes, and the serial queues never run two items at once.
    let top = Queue::serial("nest.top");
    let outer = QueueBuilder::new()
        .label("nest.outer")
        .target(&top)
        .build()
        .unwrap();
    let inner = Queue::serial("nest.inner");
    let busy = Arc::new(AtomicUsize::new(0));
    let overlap = Arc::new(AtomicUsize::new(0));
    let count = Arc::new(AtomicUsize::new(0));
    let g = Group::new();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (outer, inner, busy, overlap, count, g) = (
                outer.clone(),
                inner.clone(),
                busy.clone(),
                overlap.clone(),
                count.clone(),
                g.clone(),
            );
            std::thread::spawn(move || {
                for i in 0..300 {
                    let (inner2, busy2, overlap2, count2) =
                        (inner.clone(), busy.clone(), overlap.clone(), count.clone());
                    let work = move || {
                        if busy2.fetch_add(1, Ordering::SeqCst) != 0 {
                            overlap2.fetch_add(1, Ordering::SeqCst);
                        }
                        inner2
                            .exec_sync(|| {
                                let sum = AtomicUsize::new(0);
                                rgcd::apply(64, None, |k| {
                                    sum.fetch_add(k, Ordering::Relaxed);
                                });
                                assert_eq!(sum.load(Ordering::Relaxed), 63 * 64 / 2);
                            })
                            .unwrap();
                        busy2.fetch_sub(1, Ordering::SeqCst);
                        count2.fetch_add(1, Ordering::SeqCst);
                    };
                    if i % 2 == 0 {
                        outer.exec_sync(work).unwrap();
                    } else {
                        g.exec_async(&outer, work);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    g.wait(secs(60)).expect("all nested work finished");
    assert_eq!(count.load(Ordering::SeqCst), 1200);
    assert_eq!(overlap.load(Ordering::SeqCst), 0);
}

#[test]
fn stress_suspend_retarget() {
    // Wide and serial queues suspended, resumed and retargeted while work, barriers and syncs
    // flow through them: every item runs exactly once, barriers run alone, serial items in
    // FIFO order.
    let roots = [Queue::concurrent("sr.r0"), Queue::concurrent("sr.r1")];
    let conc = Queue::concurrent("sr.c");
    let serial = Queue::serial("sr.s");
    let submitted = Arc::new(AtomicUsize::new(0));
    let ran = Arc::new(AtomicUsize::new(0));
    let in_barrier = Arc::new(AtomicUsize::new(0));
    let in_plain = Arc::new(AtomicUsize::new(0));
    let violations = Arc::new(AtomicUsize::new(0));
    let serial_next = Arc::new(AtomicUsize::new(0));
    let serial_seq = Arc::new(AtomicUsize::new(0));
    // Numbering and submitting under one lock makes the numbers the submission order.
    let serial_lock = Arc::new(Mutex::new(()));
    let g = Group::new();
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let (roots, conc, serial) = (roots.clone(), conc.clone(), serial.clone());
            let (sub, ran, inb, inp, vio, g) = (
                submitted.clone(),
                ran.clone(),
                in_barrier.clone(),
                in_plain.clone(),
                violations.clone(),
                g.clone(),
            );
            let (snext, sseq) = (serial_next.clone(), serial_seq.clone());
            let serial_lock = serial_lock.clone();
            std::thread::spawn(move || {
                let mut x = 0xD1B5_4A32_D192_ED03u64 ^ (t + 1);
                for _ in 0..2500 {
                    xorshift(&mut x);
                    let r = ran.clone();
                    match x % 10 {
                        0..=2 => {
                            sub.fetch_add(1, Ordering::SeqCst);
                            let (inb, inp, vio) = (inb.clone(), inp.clone(), vio.clone());
                            g.exec_async(&conc, move || {
                                inp.fetch_add(1, Ordering::SeqCst);
                                if inb.load(Ordering::SeqCst) != 0 {
                                    vio.fetch_add(1, Ordering::SeqCst);
                                }
                                inp.fetch_sub(1, Ordering::SeqCst);
                                r.fetch_add(1, Ordering::SeqCst);
                            });
                        }
                        3 => {
                            sub.fetch_add(1, Ordering::SeqCst);
                            let (inb, inp, vio) = (inb.clone(), inp.clone(), vio.clone());
                            conc.barrier_sync(move || {
                                if inb.fetch_add(1, Ordering::SeqCst) != 0
                                    || inp.load(Ordering::SeqCst) != 0
                                {
                                    vio.fetch_add(1, Ordering::SeqCst);
                                }
                                inb.fetch_sub(1, Ordering::SeqCst);
                                r.fetch_add(1, Ordering::SeqCst);
                            })
                            .unwrap();
                        }
                        4 => {
                            sub.fetch_add(1, Ordering::SeqCst);
                            conc.exec_sync(move || {
                                r.fetch_add(1, Ordering::SeqCst);
                            })
                            .unwrap();
                        }
                        5 => {
                            conc.suspend().unwrap();
                            std::thread::yield_now();
                            conc.resume().unwrap();
                        }
                        6 => conc.set_target(&roots[(x >> 9) as usize % 2]).unwrap(),
                        7 => serial.set_target(&roots[(x >> 9) as usize % 2]).unwrap(),
                        _ => {
                            // Serial FIFO: items must run in the order they were numbered.
                            sub.fetch_add(1, Ordering::SeqCst);
                            let _l = serial_lock.lock().unwrap();
                            let (snext, vio) = (snext.clone(), vio.clone());
                            let my = sseq.fetch_add(1, Ordering::SeqCst);
                            g.exec_async(&serial, move || {
                                if snext.fetch_add(1, Ordering::SeqCst) != my {
                                    vio.fetch_add(1, Ordering::SeqCst);
                                }
                                r.fetch_add(1, Ordering::SeqCst);
                            });
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    g.wait(secs(60)).expect("every item ran");
    conc.barrier_sync(|| ()).unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), submitted.load(Ordering::SeqCst));
    assert_eq!(violations.load(Ordering::SeqCst), 0);
}

/// One step of xorshift64: the stress tests' cheap, reproducible choices.
fn xorshift(x: &mut u64) {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
}
