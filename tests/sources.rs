//! Source scenarios (same names as tests/c/source_*.c), on the Rust API.

use rgcd::{Queue, Source, SourceKind, Time, PROC_EXIT, TIMER_STRICT};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MS: u64 = 1_000_000;

fn wait_until(limit: Duration, f: impl Fn() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    f()
}

#[test]
fn source_timer() {
    let q = Queue::serial("timer");
    let s = Source::new(SourceKind::Timer, 0, 0, &q).unwrap();
    let fires = Arc::new(AtomicU64::new(0));
    let calls = Arc::new(AtomicU64::new(0));
    let (f, c, s2) = (fires.clone(), calls.clone(), s.clone());
    s.set_event_handler(move || {
        f.fetch_add(s2.data(), Ordering::SeqCst);
        c.fetch_add(1, Ordering::SeqCst);
    });
    s.set_timer(Time::after_nanos(10 * MS as i64), 10 * MS, 0)
        .unwrap();
    s.activate().unwrap();
    let t0 = Instant::now();
    assert!(wait_until(Duration::from_secs(20), || fires
        .load(Ordering::SeqCst)
        >= 20));
    s.cancel();
    let elapsed = t0.elapsed().as_millis() as u64;
    let n = fires.load(Ordering::SeqCst);
    // Every interval is counted, merged or not: roughly elapsed / 10 ms.
    assert!(
        n >= 20 && n <= elapsed / 10 + 3,
        "{n} fires in {elapsed} ms"
    );
    assert!(calls.load(Ordering::SeqCst) <= n);

    // One-shot, strict.
    let once = Source::new(SourceKind::Timer, 0, TIMER_STRICT, &q).unwrap();
    let hits = Arc::new(AtomicU64::new(0));
    let h = hits.clone();
    once.set_event_handler(move || {
        h.fetch_add(1, Ordering::SeqCst);
    });
    once.set_timer(Time::after_nanos(5 * MS as i64), u64::MAX, 0)
        .unwrap();
    once.activate().unwrap();
    assert!(wait_until(Duration::from_secs(10), || hits
        .load(Ordering::SeqCst)
        == 1));
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    // Re-armed from its own handler.
    let re = Source::new(SourceKind::Timer, 0, 0, &q).unwrap();
    let n = Arc::new(AtomicU64::new(0));
    let (n2, re2) = (n.clone(), re.clone());
    re.set_event_handler(move || {
        if n2.fetch_add(1, Ordering::SeqCst) < 4 {
            re2.set_timer(Time::after_nanos(2 * MS as i64), u64::MAX, 0)
                .unwrap();
        }
    });
    re.set_timer(Time::after_nanos(MS as i64), u64::MAX, 0)
        .unwrap();
    re.activate().unwrap();
    assert!(wait_until(Duration::from_secs(10), || n
        .load(Ordering::SeqCst)
        == 5));
    re.cancel();
    once.cancel();
}

#[test]
fn source_timer_while_handler_blocks() {
    // Timer A's handler blocks in read(2), which rgcd cannot see, until timer B's handler
    // (another queue) writes the byte. The worker that polled the reactor is inside A's
    // handler, so B must be delivered by someone else (the pool's monitor, then another
    // worker), or this never finishes.
    let mut fds = [0i32; 2];
    // SAFETY: valid out-array.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let (rd, wr) = (fds[0], fds[1]);
    let done = Arc::new(AtomicBool::new(false));
    let a = Source::new(SourceKind::Timer, 0, 0, &Queue::serial("blocked-a")).unwrap();
    let d = done.clone();
    a.set_event_handler(move || {
        let mut byte = 0u8;
        // SAFETY: reading one byte into a valid buffer.
        unsafe { libc::read(rd, &mut byte as *mut u8 as *mut libc::c_void, 1) };
        d.store(true, Ordering::SeqCst);
    });
    let b = Source::new(SourceKind::Timer, 0, 0, &Queue::serial("blocked-b")).unwrap();
    b.set_event_handler(move || {
        // SAFETY: writing one byte from a valid buffer.
        unsafe { libc::write(wr, [1u8].as_ptr() as *const libc::c_void, 1) };
    });
    a.set_timer(Time::after_nanos(5 * MS as i64), u64::MAX, 0)
        .unwrap();
    b.set_timer(Time::after_nanos(50 * MS as i64), u64::MAX, 0)
        .unwrap();
    a.activate().unwrap();
    b.activate().unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || done.load(Ordering::SeqCst)),
        "timer B fired while timer A's handler was blocked"
    );
    a.cancel();
    b.cancel();
    // SAFETY: our pipe; both handlers have run.
    unsafe {
        libc::close(rd);
        libc::close(wr);
    }
}

#[test]
fn source_cancel() {
    let q = Queue::concurrent("cancel");
    let s = Source::new(SourceKind::DataAdd, 0, 0, &q).unwrap();
    let in_handler = Arc::new(AtomicBool::new(false));
    let events = Arc::new(AtomicUsize::new(0));
    let bad = Arc::new(AtomicBool::new(false));
    let (ih, ev) = (in_handler.clone(), events.clone());
    s.set_event_handler(move || {
        ih.store(true, Ordering::SeqCst);
        ev.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(50));
        ih.store(false, Ordering::SeqCst);
    });
    let (tx, rx) = mpsc::channel();
    let (ih, b) = (in_handler.clone(), bad.clone());
    let tx2 = Mutex::new(tx);
    s.set_cancel_handler(move || {
        if ih.load(Ordering::SeqCst) {
            b.store(true, Ordering::SeqCst);
        }
        tx2.lock().unwrap().send(()).unwrap();
    });
    s.activate().unwrap();
    s.merge_data(1).unwrap();
    assert!(wait_until(Duration::from_secs(10), || in_handler
        .load(Ordering::SeqCst)));
    s.cancel();
    let after_cancel = events.load(Ordering::SeqCst);
    s.merge_data(1).unwrap();
    rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(
        !bad.load(Ordering::SeqCst),
        "cancel handler overlapped the event handler"
    );
    assert!(
        rx.recv_timeout(Duration::from_millis(100)).is_err(),
        "cancel handler ran twice"
    );
    assert_eq!(events.load(Ordering::SeqCst), after_cancel);
    assert!(s.is_canceled());

    // Cancelled before activation: only the cancel handler runs.
    let s = Source::new(SourceKind::DataAdd, 0, 0, &q).unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    s.set_event_handler(move || {
        r.fetch_add(100, Ordering::SeqCst);
    });
    let r = ran.clone();
    s.set_cancel_handler(move || {
        r.fetch_add(1, Ordering::SeqCst);
    });
    s.merge_data(5).unwrap();
    s.cancel();
    s.activate().unwrap();
    assert!(wait_until(Duration::from_secs(10), || ran
        .load(Ordering::SeqCst)
        == 1));
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

#[test]
fn source_data_add() {
    let s = Source::new(SourceKind::DataAdd, 0, 0, &Queue::concurrent("adders")).unwrap();
    let total = Arc::new(AtomicU64::new(0));
    let overlap = Arc::new(AtomicUsize::new(0));
    let active = Arc::new(AtomicUsize::new(0));
    let (t, s2, o, a) = (total.clone(), s.clone(), overlap.clone(), active.clone());
    s.set_event_handler(move || {
        if a.fetch_add(1, Ordering::SeqCst) != 0 {
            o.fetch_add(1, Ordering::SeqCst);
        }
        t.fetch_add(s2.data(), Ordering::SeqCst);
        a.fetch_sub(1, Ordering::SeqCst);
    });
    s.activate().unwrap();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || {
                for i in 1..=10_000u64 {
                    s.merge_data(i).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let want = 8 * 10_000 * 10_001 / 2;
    assert!(wait_until(Duration::from_secs(20), || total
        .load(Ordering::SeqCst)
        == want));
    assert_eq!(overlap.load(Ordering::SeqCst), 0);
    s.cancel();
}

fn bounce_pairs(pairs: usize, bounces_each: usize) {
    let q = Queue::concurrent("pingpong");
    let got = Arc::new(AtomicUsize::new(0));
    let mut keep = Vec::new();
    for _ in 0..pairs {
        let (a, b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        b.set_nonblocking(true).unwrap();
        let sent = Arc::new(AtomicUsize::new(1));
        for end in [a, b] {
            let fd = end.as_raw_fd();
            let src = Source::new(SourceKind::Read, fd as usize, 0, &q).unwrap();
            let (g, sent) = (got.clone(), sent.clone());
            let end = Arc::new(end);
            let e = end.clone();
            src.set_event_handler(move || {
                use std::io::{Read, Write};
                let mut buf = [0u8; 16];
                while let Ok(n) = (&*e).read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    g.fetch_add(n, Ordering::SeqCst);
                    for _ in 0..n {
                        if sent.fetch_add(1, Ordering::SeqCst) < bounces_each {
                            (&*e).write_all(b"x").unwrap();
                        }
                    }
                }
            });
            src.activate().unwrap();
            keep.push((src, end));
        }
        use std::io::Write;
        (&*keep[keep.len() - 2].1).write_all(b"x").unwrap();
    }
    let want = pairs * bounces_each;
    assert!(
        wait_until(Duration::from_secs(60), || got.load(Ordering::SeqCst)
            == want),
        "received {} of {want}",
        got.load(Ordering::SeqCst)
    );
    for (s, _) in &keep {
        s.cancel();
    }
}

#[test]
fn source_read_pingpong() {
    bounce_pairs(1, 10_000);
    bounce_pairs(256, 40);
}

#[test]
fn source_read_write_same_fd() {
    let (a, b) = UnixStream::pair().unwrap();
    let q = Queue::serial("rw");
    let fd = a.as_raw_fd() as usize;
    let reads = Arc::new(AtomicUsize::new(0));
    let writes = Arc::new(AtomicUsize::new(0));
    let r = Source::new(SourceKind::Read, fd, 0, &q).unwrap();
    let w = Source::new(SourceKind::Write, fd, 0, &q).unwrap();
    let (rc, ar) = (reads.clone(), Arc::new(a));
    let a2 = ar.clone();
    r.set_event_handler(move || {
        use std::io::Read;
        let mut buf = [0u8; 64];
        let _ = (&*a2).read(&mut buf);
        rc.fetch_add(1, Ordering::SeqCst);
    });
    let (wc, w2) = (writes.clone(), w.clone());
    w.set_event_handler(move || {
        assert!(w2.data() >= 1);
        wc.fetch_add(1, Ordering::SeqCst);
    });
    r.activate().unwrap();
    w.activate().unwrap();
    assert!(wait_until(Duration::from_secs(10), || writes
        .load(Ordering::SeqCst)
        > 0));
    w.cancel();
    use std::io::Write;
    (&b).write_all(b"1").unwrap();
    assert!(wait_until(Duration::from_secs(10), || reads
        .load(Ordering::SeqCst)
        == 1));
    (&b).write_all(b"2").unwrap();
    assert!(wait_until(Duration::from_secs(10), || reads
        .load(Ordering::SeqCst)
        == 2));
    r.cancel();
}

fn cpu_time() -> Duration {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid out-pointer.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let t =
        |tv: libc::timeval| Duration::from_micros(tv.tv_sec as u64 * 1_000_000 + tv.tv_usec as u64);
    t(ru.ru_utime) + t(ru.ru_stime)
}

#[test]
fn source_hup() {
    let (a, b) = UnixStream::pair().unwrap();
    drop(b);
    let s = Source::new(
        SourceKind::Read,
        a.as_raw_fd() as usize,
        0,
        &Queue::serial("hup"),
    )
    .unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let (c, s2) = (seen.clone(), s.clone());
    s.set_event_handler(move || {
        assert_eq!(s2.data(), 0, "EOF reports 0 bytes");
        c.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(20));
    });
    let cpu0 = cpu_time();
    s.activate().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let used = cpu_time() - cpu0;
    s.cancel();
    let n = seen.load(Ordering::SeqCst);
    // End of file is delivered once, then the source is quiet until cancelled.
    assert_eq!(n, 1, "{n} EOF deliveries in 300 ms");
    println!("source_hup: {n} deliveries, {} ms CPU", used.as_millis());
    drop(a);
}

#[test]
fn source_signal() {
    // SAFETY: setting a disposition for SIGUSR2, which nothing else in these tests uses.
    unsafe { libc::signal(libc::SIGUSR2, libc::SIG_IGN) };
    let s = Source::new(
        SourceKind::Signal,
        libc::SIGUSR2 as usize,
        0,
        &Queue::serial("sig"),
    )
    .unwrap();
    let data = Arc::new(Mutex::new(Vec::new()));
    let (d, s2) = (data.clone(), s.clone());
    s.set_event_handler(move || d.lock().unwrap().push(s2.data()));
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    s.set_cancel_handler(move || tx.lock().unwrap().send(()).unwrap());
    s.activate().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    for i in 1..=5 {
        // SAFETY: signalling ourselves.
        unsafe { libc::kill(libc::getpid(), libc::SIGUSR2) };
        assert!(wait_until(Duration::from_secs(10), || data
            .lock()
            .unwrap()
            .len()
            == i));
    }
    assert_eq!(*data.lock().unwrap(), vec![1, 1, 1, 1, 1]);
    s.cancel();
    rx.recv_timeout(Duration::from_secs(10)).unwrap();
    // SAFETY: reading the disposition.
    let old = unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGUSR2, std::ptr::null(), &mut old);
        old.sa_sigaction
    };
    assert_eq!(old, libc::SIG_IGN, "SIG_IGN restored after cancel");
}

#[test]
fn source_proc() {
    let child = std::process::Command::new("sh")
        .args(["-c", "sleep 0.2; exit 3"])
        .spawn()
        .unwrap();
    let pid = child.id() as usize;
    let s = Source::new(SourceKind::Proc, pid, PROC_EXIT, &Queue::serial("proc")).unwrap();
    let got = Arc::new(AtomicU64::new(0));
    let (g, s2) = (got.clone(), s.clone());
    s.set_event_handler(move || {
        g.fetch_or(s2.data(), Ordering::SeqCst);
    });
    s.activate().unwrap();
    assert!(wait_until(Duration::from_secs(20), || got
        .load(Ordering::SeqCst)
        & PROC_EXIT as u64
        != 0));
    s.cancel();
    let mut child = child;
    assert_eq!(
        child.wait().unwrap().code(),
        Some(3),
        "rgcd must not reap the child"
    );

    // A pid that is gone reports exit at once.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let pid = gone.id() as usize;
    gone.wait().unwrap();
    let s = Source::new(SourceKind::Proc, pid, PROC_EXIT, &Queue::serial("gone")).unwrap();
    let got = Arc::new(AtomicU64::new(0));
    let (g, s2) = (got.clone(), s.clone());
    s.set_event_handler(move || {
        g.fetch_or(s2.data(), Ordering::SeqCst);
    });
    s.activate().unwrap();
    assert!(wait_until(Duration::from_secs(10), || got
        .load(Ordering::SeqCst)
        & PROC_EXIT as u64
        != 0));
    s.cancel();
}

#[test]
fn source_bad_input() {
    let q = Queue::serial("bad");
    assert!(Source::new(SourceKind::Read, 987_654, 0, &q).is_err());
    assert!(Source::new(SourceKind::Read, 0, 1, &q).is_err());
    assert!(Source::new(SourceKind::Signal, 0, 0, &q).is_err());
    assert!(Source::new(SourceKind::Signal, libc::SIGKILL as usize, 0, &q).is_err());
    assert!(Source::new(SourceKind::Proc, 1, 0x1, &q).is_err());
    let (a, _b) = UnixStream::pair().unwrap();
    let r = Source::new(SourceKind::Read, a.as_raw_fd() as usize, 0, &q).unwrap();
    assert_eq!(
        r.set_timer(Time::NOW, 1, 0).unwrap_err().kind(),
        rgcd::ErrorKind::NotSupported
    );
    assert_eq!(
        r.merge_data(1).unwrap_err().kind(),
        rgcd::ErrorKind::NotSupported
    );
    let t = Source::new(SourceKind::Timer, 0, 0, &q).unwrap();
    assert_eq!(
        t.set_timer(Time::NOW, (-5i64) as u64, 0)
            .unwrap_err()
            .kind(),
        rgcd::ErrorKind::InvalidArgument
    );
    r.cancel();
    t.cancel();
}

#[test]
fn stress_sources() {
    // Sources created, fed, suspended, re-armed and cancelled from several threads at once:
    // every cancel handler runs exactly once, after the source's last event handler.
    let q = Queue::concurrent("src.stress");
    let cancels = Arc::new(AtomicUsize::new(0));
    let bad = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let (q, cancels, bad) = (q.clone(), cancels.clone(), bad.clone());
            std::thread::spawn(move || {
                let mut x = 0x2545_F491_4F6C_DD1Du64 ^ t;
                for _ in 0..150 {
                    xorshift(&mut x);
                    let kind = if x % 2 == 0 {
                        SourceKind::DataAdd
                    } else {
                        SourceKind::Timer
                    };
                    let s = Source::new(kind, 0, 0, &q).unwrap();
                    let active = Arc::new(AtomicUsize::new(0));
                    let done = Arc::new(AtomicBool::new(false));
                    let (a, d, b) = (active.clone(), done.clone(), bad.clone());
                    s.set_event_handler(move || {
                        if d.load(Ordering::SeqCst) || a.fetch_add(1, Ordering::SeqCst) != 0 {
                            b.fetch_add(1, Ordering::SeqCst);
                        }
                        a.fetch_sub(1, Ordering::SeqCst);
                    });
                    let (a, d, c, b) = (active.clone(), done.clone(), cancels.clone(), bad.clone());
                    s.set_cancel_handler(move || {
                        if a.load(Ordering::SeqCst) != 0 || d.swap(true, Ordering::SeqCst) {
                            b.fetch_add(1, Ordering::SeqCst);
                        }
                        c.fetch_add(1, Ordering::SeqCst);
                    });
                    if kind == SourceKind::Timer {
                        s.set_timer(Time::after_nanos(100_000), 200_000, 0).unwrap();
                    }
                    s.activate().unwrap();
                    for i in 0..(x % 50) {
                        if kind == SourceKind::DataAdd {
                            s.merge_data(i + 1).unwrap();
                        }
                        if i % 17 == 3 {
                            s.suspend().unwrap();
                            s.resume().unwrap();
                        }
                        if kind == SourceKind::Timer && i % 23 == 5 {
                            s.set_timer(Time::after_nanos(50_000), 100_000, 0).unwrap();
                        }
                    }
                    s.cancel();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(
        wait_until(Duration::from_secs(30), || cancels.load(Ordering::SeqCst)
            == 600),
        "cancel handlers: {} of 600",
        cancels.load(Ordering::SeqCst)
    );
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(cancels.load(Ordering::SeqCst), 600);
    assert_eq!(
        bad.load(Ordering::SeqCst),
        0,
        "a handler overlapped or ran after cancel"
    );
}

#[test]
fn stress_fd_reuse() {
    // Pairs are opened, watched, fed, cancelled and closed in the cancel handler from three
    // threads at once, so fd numbers are reused while older registrations go away. Every
    // byte written is read exactly once by the source of its own pair, and nothing runs
    // after a cancel handler.
    let q = Queue::concurrent("fd.stress");
    let errors = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let (q, errors) = (q.clone(), errors.clone());
            std::thread::spawn(move || {
                for round in 0..200usize {
                    let (a, b) = UnixStream::pair().unwrap();
                    a.set_nonblocking(true).unwrap();
                    let fd = a.as_raw_fd();
                    let a = Arc::new(Mutex::new(Some(a)));
                    let got = Arc::new(AtomicUsize::new(0));
                    let closed = Arc::new(AtomicBool::new(false));
                    let s = Source::new(SourceKind::Read, fd as usize, 0, &q).unwrap();
                    let (a2, g, c, e) = (a.clone(), got.clone(), closed.clone(), errors.clone());
                    s.set_event_handler(move || {
                        if c.load(Ordering::SeqCst) {
                            e.fetch_add(1, Ordering::SeqCst);
                            return;
                        }
                        use std::io::Read;
                        let mut buf = [0u8; 64];
                        if let Some(sock) = a2.lock().unwrap().as_ref() {
                            while let Ok(n) = (&*sock).read(&mut buf) {
                                if n == 0 {
                                    break;
                                }
                                if buf[..n].iter().any(|&x| x != (round % 251) as u8) {
                                    e.fetch_add(1, Ordering::SeqCst);
                                }
                                g.fetch_add(n, Ordering::SeqCst);
                            }
                        }
                    });
                    let (a3, c2) = (a.clone(), closed.clone());
                    let (tx, rx) = mpsc::channel();
                    let tx = Mutex::new(tx);
                    s.set_cancel_handler(move || {
                        c2.store(true, Ordering::SeqCst);
                        drop(a3.lock().unwrap().take()); // closes the fd
                        tx.lock().unwrap().send(()).unwrap();
                    });
                    s.activate().unwrap();
                    let want = 1 + round % 7;
                    use std::io::Write;
                    (&b).write_all(&vec![(round % 251) as u8; want]).unwrap();
                    if !wait_until(Duration::from_secs(20), || {
                        got.load(Ordering::SeqCst) == want
                    }) {
                        errors.fetch_add(1, Ordering::SeqCst);
                    }
                    s.cancel();
                    rx.recv_timeout(Duration::from_secs(20)).unwrap();
                    drop(b);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(errors.load(Ordering::SeqCst), 0);
}

#[test]
fn stress_timers() {
    // 400 one-shot timers with assorted delays and leeways, armed from four threads while
    // half of them are re-armed or disarmed again: each live one fires exactly once, never
    // before its deadline, and disarmed ones never fire.
    let q = Queue::concurrent("timer.stress");
    let early = Arc::new(AtomicUsize::new(0));
    let fires = Arc::new(AtomicUsize::new(0));
    let dup = Arc::new(AtomicUsize::new(0));
    let expected = Arc::new(AtomicUsize::new(0));
    let keep = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let (q, early, fires, dup, expected, keep) = (
                q.clone(),
                early.clone(),
                fires.clone(),
                dup.clone(),
                expected.clone(),
                keep.clone(),
            );
            std::thread::spawn(move || {
                let mut x = 0xA076_1D64_78BD_642Fu64 ^ (t + 7);
                for _ in 0..100 {
                    xorshift(&mut x);
                    let strict = x % 5 == 0;
                    let s = Source::new(
                        SourceKind::Timer,
                        0,
                        if strict { TIMER_STRICT } else { 0 },
                        &q,
                    )
                    .unwrap();
                    let deadline = Arc::new(AtomicU64::new(0));
                    let hit = Arc::new(AtomicUsize::new(0));
                    let (d, h, e, f, du) = (
                        deadline.clone(),
                        hit.clone(),
                        early.clone(),
                        fires.clone(),
                        dup.clone(),
                    );
                    s.set_event_handler(move || {
                        // SAFETY: clock_gettime into a valid timespec.
                        let now = unsafe {
                            let mut ts: libc::timespec = std::mem::zeroed();
                            libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
                            ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
                        };
                        if now < d.load(Ordering::SeqCst) {
                            e.fetch_add(1, Ordering::SeqCst);
                        }
                        if h.fetch_add(1, Ordering::SeqCst) != 0 {
                            du.fetch_add(1, Ordering::SeqCst);
                        }
                        f.fetch_add(1, Ordering::SeqCst);
                    });
                    s.activate().unwrap();
                    let delay = 1_000_000 + (x >> 8) % 30_000_000;
                    let leeway = (x >> 40) % 5_000_000;
                    let arm = |delay: u64| {
                        let when = Time::after_nanos(delay as i64);
                        deadline.store(when.raw(), Ordering::SeqCst);
                        s.set_timer(when, u64::MAX, leeway).unwrap();
                    };
                    arm(delay);
                    match (x >> 20) % 4 {
                        0 => arm(delay / 2 + 500_000), // re-armed earlier
                        1 => {
                            // disarmed
                            s.set_timer(Time::FOREVER, u64::MAX, 0).unwrap();
                            keep.lock().unwrap().push(s);
                            continue;
                        }
                        _ => {}
                    }
                    expected.fetch_add(1, Ordering::SeqCst);
                    keep.lock().unwrap().push(s);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let want = expected.load(Ordering::SeqCst);
    assert!(wait_until(Duration::from_secs(30), || fires
        .load(Ordering::SeqCst)
        >= want));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        fires.load(Ordering::SeqCst),
        want,
        "disarmed timers fired or live ones were lost"
    );
    assert_eq!(dup.load(Ordering::SeqCst), 0, "a one-shot fired twice");
    assert_eq!(
        early.load(Ordering::SeqCst),
        0,
        "a timer fired before its deadline"
    );
    for s in keep.lock().unwrap().iter() {
        s.cancel();
    }
}

/// One step of xorshift64: the stress tests' cheap, reproducible choices.
fn xorshift(x: &mut u64) {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
}
