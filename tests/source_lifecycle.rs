//! What a source leaves behind: after a cancel, an end of file, a suspended timer or a closed
//! fd, each test checks the state afterwards — the cancel handler ran once, nothing was
//! delivered late, every object was freed (`rgcd::live_objects`) and the process is quiet (CPU
//! over the next second). Same scenario names as tests/c/source_lifecycle_*.c.
//!
//! The checks read process-wide figures, so the tests of this binary run one at a time.

use rgcd::{Queue, Source, SourceKind, Time};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

static SERIAL: Mutex<()> = Mutex::new(());

/// Runs one test alone, with the live-object count it started from.
fn alone() -> (MutexGuard<'static, ()>, usize) {
    let g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    settle();
    (g, rgcd::live_objects())
}

/// Waits for the pool to go idle after earlier work (a worker may still be spinning).
fn settle() {
    std::thread::sleep(Duration::from_millis(150));
}

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

fn cpu_ns() -> u64 {
    // SAFETY: getrusage writes a rusage.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// The state after: every object created since `base` was freed, and the process spends
/// under 50 ms of CPU over the next second.
fn assert_quiet_and_freed(base: usize, what: &str) {
    assert!(
        wait_until(Duration::from_secs(10), || rgcd::live_objects() <= base),
        "{what}: {} objects still alive (started from {base})",
        rgcd::live_objects()
    );
    settle();
    let c0 = cpu_ns();
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_ns() - c0;
    assert!(
        used < 50_000_000,
        "{what}: {} ms of CPU in the second after",
        used / 1_000_000
    );
}

#[derive(Default)]
struct Counts {
    events: AtomicUsize,
    cancels: AtomicUsize,
    regs: AtomicUsize,
    after_cancel: AtomicUsize,
}

fn counted(s: &Source) -> Arc<Counts> {
    let c = Arc::new(Counts::default());
    let c1 = c.clone();
    s.set_event_handler(move || {
        if c1.cancels.load(Ordering::SeqCst) != 0 {
            c1.after_cancel.fetch_add(1, Ordering::SeqCst);
        }
        c1.events.fetch_add(1, Ordering::SeqCst);
    });
    let c2 = c.clone();
    s.set_cancel_handler(move || {
        c2.cancels.fetch_add(1, Ordering::SeqCst);
    });
    let c3 = c.clone();
    s.set_registration_handler(move || {
        c3.regs.fetch_add(1, Ordering::SeqCst);
    });
    c
}

fn pipe() -> (File, File) {
    let mut fds = [0; 2];
    // SAFETY: room for two fds.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: fresh fds we own.
    unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) }
}

fn cancel_handler_once(c: &Counts, what: &str) {
    assert!(
        wait_until(Duration::from_secs(10), || c.cancels.load(Ordering::SeqCst)
            == 1),
        "{what}: cancel handler did not run"
    );
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(
        c.cancels.load(Ordering::SeqCst),
        1,
        "{what}: cancel handler ran twice"
    );
    assert_eq!(
        c.after_cancel.load(Ordering::SeqCst),
        0,
        "{what}: event after cancel"
    );
}

#[test]
fn cancel_right_after_activate() {
    let (_g, base) = alone();
    let (a, b) = UnixStream::pair().unwrap();
    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    {
        let q = Queue::serial("cancel-after-activate");
        let kinds = [
            (SourceKind::DataAdd, 0usize),
            (SourceKind::DataOr, 0),
            (SourceKind::DataReplace, 0),
            (SourceKind::Timer, 0),
            (SourceKind::Read, a.as_raw_fd() as usize),
            (SourceKind::Write, b.as_raw_fd() as usize),
            (SourceKind::Signal, libc::SIGUSR2 as usize),
            (SourceKind::Proc, child.id() as usize),
        ];
        for (kind, handle) in kinds {
            for round in 0..20 {
                let mask = if kind == SourceKind::Proc {
                    rgcd::PROC_EXIT
                } else {
                    0
                };
                let s = Source::new(kind, handle, mask, &q).unwrap();
                let c = counted(&s);
                if kind == SourceKind::Timer {
                    s.set_timer(Time::after_nanos(0), 1_000, 0).unwrap();
                }
                s.activate().unwrap();
                if round % 2 == 1 {
                    std::thread::sleep(Duration::from_micros(200));
                }
                s.cancel();
                drop(s);
                cancel_handler_once(&c, &format!("{kind:?}"));
            }
        }
    }
    assert_quiet_and_freed(base, "cancel right after activate");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn cancel_with_event_pending_behind_suspended_queue() {
    let (_g, base) = alone();
    {
        let q = Queue::serial("suspended-target");
        let (r, w) = pipe();
        let data = Source::new(SourceKind::DataAdd, 0, 0, &q).unwrap();
        let rd = Source::new(SourceKind::Read, r.as_raw_fd() as usize, 0, &q).unwrap();
        let tm = Source::new(SourceKind::Timer, 0, 0, &q).unwrap();
        tm.set_timer(Time::after_nanos(0), 100_000, 0).unwrap();
        let counts: Vec<_> = [&data, &rd, &tm].iter().map(|s| counted(s)).collect();
        q.suspend().unwrap();
        for s in [&data, &rd, &tm] {
            s.activate().unwrap();
        }
        data.merge_data(5).unwrap();
        (&w).write_all(b"pending").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        for s in [&data, &rd, &tm] {
            s.cancel();
        }
        drop((data, rd, tm));
        std::thread::sleep(Duration::from_millis(20));
        q.resume().unwrap();
        for c in &counts {
            cancel_handler_once(c, "pending behind a suspended queue");
            // Registration and events were pending when the cancel came: dropped.
            assert_eq!(c.events.load(Ordering::SeqCst), 0);
            assert_eq!(c.regs.load(Ordering::SeqCst), 0);
        }
        drop((r, w));
    }
    assert_quiet_and_freed(base, "cancel with an event pending");
}

#[test]
fn cancel_while_source_suspended_then_resume() {
    let (_g, base) = alone();
    {
        let q = Queue::serial("suspended-source");
        let s = Source::new(SourceKind::DataAdd, 0, 0, &q).unwrap();
        let c = counted(&s);
        s.activate().unwrap();
        assert!(wait_until(Duration::from_secs(5), || c
            .regs
            .load(Ordering::SeqCst)
            == 1));
        s.suspend().unwrap();
        s.merge_data(3).unwrap();
        s.cancel();
        std::thread::sleep(Duration::from_millis(20));
        // The cancel handler waits for the resume, as in libdispatch.
        assert_eq!(c.cancels.load(Ordering::SeqCst), 0);
        s.resume().unwrap();
        drop(s);
        cancel_handler_once(&c, "suspended source");
        assert_eq!(c.events.load(Ordering::SeqCst), 0);
    }
    assert_quiet_and_freed(base, "cancel while suspended");
}

#[test]
fn merge_after_cancel() {
    let (_g, base) = alone();
    {
        let q = Queue::serial("merge-after-cancel");
        let s = Source::new(SourceKind::DataAdd, 0, 0, &q).unwrap();
        let c = counted(&s);
        s.activate().unwrap();
        s.merge_data(1).unwrap();
        assert!(wait_until(Duration::from_secs(5), || c
            .events
            .load(Ordering::SeqCst)
            == 1));
        s.cancel();
        cancel_handler_once(&c, "merge after cancel");
        for i in 0..10_000 {
            s.merge_data(i + 1).unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(c.events.load(Ordering::SeqCst), 1);
        assert_eq!(c.cancels.load(Ordering::SeqCst), 1);
    }
    assert_quiet_and_freed(base, "merge after cancel");
}

#[test]
fn merge_racing_cancel() {
    let (_g, base) = alone();
    {
        let q = Queue::serial("merge-racing-cancel");
        for round in 0..300u64 {
            let s = Source::new(SourceKind::DataAdd, 0, 0, &q).unwrap();
            let c = counted(&s);
            s.activate().unwrap();
            let stop = Arc::new(AtomicBool::new(false));
            let merger = {
                let (s, stop) = (s.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) || n < 10 {
                        s.merge_data(1).unwrap();
                        n += 1;
                    }
                })
            };
            std::thread::sleep(Duration::from_micros(round % 200));
            s.cancel();
            stop.store(true, Ordering::Relaxed);
            merger.join().unwrap();
            drop(s);
            cancel_handler_once(&c, "merge racing cancel");
        }
    }
    assert_quiet_and_freed(base, "merge racing cancel");
}

/// Reads everything available; counts the bytes and the deliveries of end of file.
struct Reader {
    bytes: AtomicU64,
    eofs: AtomicUsize,
    calls: AtomicUsize,
}

fn eof_reader(src: &Source, fd: i32) -> Arc<Reader> {
    let r = Arc::new(Reader {
        bytes: AtomicU64::new(0),
        eofs: AtomicUsize::new(0),
        calls: AtomicUsize::new(0),
    });
    let (r2, s2) = (r.clone(), src.clone());
    src.set_event_handler(move || {
        r2.calls.fetch_add(1, Ordering::SeqCst);
        let avail = s2.data();
        let mut buf = [0u8; 7]; // small reads: the data comes over several deliveries
                                // SAFETY: reading into a valid buffer.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
        assert!(n >= 0, "read failed");
        if n == 0 {
            assert_eq!(avail, 0, "end of file with data announced");
            r2.eofs.fetch_add(1, Ordering::SeqCst);
        } else {
            r2.bytes.fetch_add(n as u64, Ordering::SeqCst);
        }
    });
    r
}

fn check_eof_once(r: &Reader, want: u64, what: &str) {
    assert!(
        wait_until(Duration::from_secs(10), || r.eofs.load(Ordering::SeqCst)
            >= 1),
        "{what}: end of file never delivered"
    );
    assert_eq!(r.bytes.load(Ordering::SeqCst), want, "{what}: bytes lost");
    let c0 = cpu_ns();
    let calls = r.calls.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_ns() - c0;
    assert_eq!(
        r.eofs.load(Ordering::SeqCst),
        1,
        "{what}: end of file delivered again"
    );
    assert_eq!(
        r.calls.load(Ordering::SeqCst),
        calls,
        "{what}: handler called after EOF"
    );
    assert!(
        used < 50_000_000,
        "{what}: {} ms of CPU after EOF",
        used / 1_000_000
    );
}

#[test]
fn eof_pipe_once() {
    let (_g, base) = alone();
    {
        let q = Queue::serial("eof-pipe");
        let (r, w) = pipe();
        let payload = vec![7u8; 100];
        (&w).write_all(&payload).unwrap();
        drop(w); // the writer closes with bytes unread
        let s = Source::new(SourceKind::Read, r.as_raw_fd() as usize, 0, &q).unwrap();
        let rd = eof_reader(&s, r.as_raw_fd());
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        s.set_cancel_handler(move || {
            d.fetch_add(1, Ordering::SeqCst);
        });
        s.activate().unwrap();
        check_eof_once(&rd, 100, "pipe");
        s.cancel();
        assert!(wait_until(Duration::from_secs(5), || done
            .load(Ordering::SeqCst)
            == 1));
        drop(s);
        drop(r);
    }
    assert_quiet_and_freed(base, "pipe EOF");
}

#[test]
fn eof_socket_half_close() {
    let (_g, base) = alone();
    {
        let q = Queue::serial("eof-socket");
        let (a, mut b) = UnixStream::pair().unwrap();
        b.write_all(&[1u8; 50]).unwrap();
        let s = Source::new(SourceKind::Read, a.as_raw_fd() as usize, 0, &q).unwrap();
        let rd = eof_reader(&s, a.as_raw_fd());
        s.activate().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        b.write_all(&[2u8; 30]).unwrap();
        b.shutdown(std::net::Shutdown::Write).unwrap();
        check_eof_once(&rd, 80, "socket half-close");

        // The other direction still works: a writer on the same socket fires, and what it
        // writes arrives.
        let w = Source::new(SourceKind::Write, a.as_raw_fd() as usize, 0, &q).unwrap();
        let wrote = Arc::new(AtomicUsize::new(0));
        let (wr, w2, fd) = (wrote.clone(), w.clone(), a.as_raw_fd());
        w.set_event_handler(move || {
            assert!(w2.data() > 0);
            // SAFETY: writing from a valid buffer.
            let n = unsafe { libc::write(fd, b"pong".as_ptr() as *const libc::c_void, 4) };
            assert_eq!(n, 4);
            if wr.fetch_add(1, Ordering::SeqCst) == 2 {
                w2.cancel();
            }
        });
        w.activate().unwrap();
        assert!(wait_until(Duration::from_secs(5), || wrote
            .load(Ordering::SeqCst)
            == 3));
        let mut got = [0u8; 12];
        b.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"pongpongpong");
        assert_eq!(rd.eofs.load(Ordering::SeqCst), 1);
        s.cancel();
        drop((s, w));
    }
    assert_quiet_and_freed(base, "socket half-close");
}

#[test]
fn eof_regular_file_once() {
    let (_g, base) = alone();
    {
        let path = std::env::temp_dir().join(format!("rgcd-eof-{}", std::process::id()));
        std::fs::write(&path, [9u8; 20]).unwrap();
        let f = std::fs::File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let q = Queue::serial("eof-file");
        let s = Source::new(SourceKind::Read, f.as_raw_fd() as usize, 0, &q).unwrap();
        let rd = eof_reader(&s, f.as_raw_fd());
        s.activate().unwrap();
        check_eof_once(&rd, 20, "regular file");
        s.cancel();
        drop(s);
        std::thread::sleep(Duration::from_millis(50));
        drop(f);
    }
    assert_quiet_and_freed(base, "regular file EOF");
}

#[test]
fn timer_on_suspended_queue_waits() {
    let (_g, base) = alone();
    {
        let q = Queue::serial("suspended-timers");
        q.suspend().unwrap();
        let fires = Arc::new(AtomicU64::new(0));
        let mut sources = Vec::new();
        for _ in 0..2_000 {
            let s = Source::new(SourceKind::Timer, 0, 0, &q).unwrap();
            let (f, s2) = (fires.clone(), s.clone());
            s.set_event_handler(move || {
                f.fetch_add(s2.data(), Ordering::SeqCst);
            });
            s.set_timer(Time::after_nanos(0), 100_000, 0).unwrap();
            s.activate().unwrap();
            sources.push(s);
        }
        // 2,000 timers of 100 us whose fires cannot be delivered: they leave the heap after
        // their first fire and cost nothing until the queue resumes.
        settle();
        let c0 = cpu_ns();
        let t0 = Instant::now();
        std::thread::sleep(Duration::from_millis(500));
        let used = cpu_ns() - c0;
        assert!(
            used < 50_000_000,
            "{} ms of CPU while suspended",
            used / 1_000_000
        );
        assert_eq!(fires.load(Ordering::SeqCst), 0);
        q.resume().unwrap();
        // On resume each handler runs; the fires missed meanwhile are counted in its data.
        let want = 2_000 * (t0.elapsed().as_micros() as u64 / 100) * 9 / 10;
        assert!(
            wait_until(Duration::from_secs(20), || fires.load(Ordering::SeqCst)
                >= want),
            "{} fires counted, want at least {want}",
            fires.load(Ordering::SeqCst)
        );
        for s in &sources {
            s.cancel();
        }
        drop(sources);
    }
    assert_quiet_and_freed(base, "timers on a suspended queue");
}

#[test]
fn fd_closed_without_cancel_then_reused() {
    let (_g, base) = alone();
    {
        let q = Queue::serial("fd-reuse");
        let (r1, w1) = pipe();
        let fd = r1.as_raw_fd();
        let stale = Source::new(SourceKind::Read, fd as usize, 0, &q).unwrap();
        let sc = counted(&stale);
        stale.activate().unwrap();
        // Misuse: the fd is closed while the source still watches it.
        drop(w1);
        drop(r1);
        std::thread::sleep(Duration::from_millis(20));
        let stale_events = sc.events.load(Ordering::SeqCst);
        let (r2, w2) = pipe();
        assert_eq!(r2.as_raw_fd(), fd, "the fd number was not reused");
        let fresh = Source::new(SourceKind::Read, fd as usize, 0, &q).unwrap();
        let got = Arc::new(AtomicU64::new(0));
        let (g, f2) = (got.clone(), fresh.clone());
        fresh.set_event_handler(move || {
            let mut buf = [0u8; 64];
            // SAFETY: reading into a valid buffer.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
            if n > 0 {
                g.fetch_add(n as u64, Ordering::SeqCst);
            }
            let _ = f2.data();
        });
        fresh.activate().unwrap();
        (&w2).write_all(b"hello").unwrap();
        assert!(
            wait_until(Duration::from_secs(5), || got.load(Ordering::SeqCst) == 5),
            "the new source on a reused fd number is deaf"
        );
        assert_eq!(
            sc.events.load(Ordering::SeqCst),
            stale_events,
            "the stale source fired"
        );
        stale.cancel();
        fresh.cancel();
        cancel_handler_once(&sc, "stale source");
        (&w2).write_all(b"more").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        drop((stale, fresh));
        drop((r2, w2));
    }
    assert_quiet_and_freed(base, "fd reuse");
}

#[test]
fn registration_failure_cancels() {
    let (_g, base) = alone();
    {
        let q = Queue::serial("registration-failure");
        let (r, w) = pipe();
        let s = Source::new(SourceKind::Read, r.as_raw_fd() as usize, 0, &q).unwrap();
        let c = counted(&s);
        drop(r);
        drop(w);
        let e = s.activate().unwrap_err();
        assert!(e.to_string().contains("fd"), "{e}");
        cancel_handler_once(&c, "registration failure");
        assert!(s.is_canceled());
        assert_eq!(c.regs.load(Ordering::SeqCst), 0);
        assert_eq!(c.events.load(Ordering::SeqCst), 0);
        drop(s);

        // Signals the C library keeps for itself are refused at create.
        for sig in [32usize, 33] {
            assert!(
                Source::new(SourceKind::Signal, sig, 0, &q).is_err(),
                "signal {sig}"
            );
        }
        assert!(Source::new(SourceKind::Signal, libc::SIGRTMIN() as usize, 0, &q).is_ok());
    }
    assert_quiet_and_freed(base, "registration failure");
}

#[test]
fn suspended_timer_reports_missed_fires_in_one_delivery() {
    let (_g, base) = alone();
    {
        let q = Queue::serial("suspended-timer");
        let s = Source::new(SourceKind::Timer, 0, 0, &q).unwrap();
        let data = Arc::new(Mutex::new(Vec::new()));
        let (d, s2) = (data.clone(), s.clone());
        s.set_event_handler(move || d.lock().unwrap().push(s2.data()));
        s.set_timer(Time::after_nanos(20_000_000), 20_000_000, 0)
            .unwrap();
        s.activate().unwrap();
        assert!(wait_until(Duration::from_secs(10), || !data
            .lock()
            .unwrap()
            .is_empty()));
        s.suspend().unwrap();
        let n = data.lock().unwrap().len();
        std::thread::sleep(Duration::from_millis(200)); // about 10 fires missed
        assert_eq!(
            data.lock().unwrap().len(),
            n,
            "a suspended timer's handler ran"
        );
        s.resume().unwrap();
        assert!(wait_until(Duration::from_secs(10), || data
            .lock()
            .unwrap()
            .len()
            > n));
        // As libdispatch (its dispatch_suspend_timer test): the fires missed while suspended
        // come in one delivery, not one by one.
        let first_after = data.lock().unwrap()[n];
        assert!(
            first_after >= 5,
            "first delivery after resume: {first_after}"
        );
        s.cancel();
        drop(s);
    }
    assert_quiet_and_freed(base, "suspended timer");
}
