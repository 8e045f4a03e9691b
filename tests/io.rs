//! Dispatch I/O through the Rust API: the same scenarios as tests/c/io_*.c.

use rgcd::{Data, IoChannel, IoType, Queue};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

fn pipe() -> (i32, i32) {
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    (fds[0], fds[1])
}

fn close(fd: i32) {
    unsafe { libc::close(fd) };
}

#[test]
fn file_stream_high_water() {
    let path = std::env::temp_dir().join(format!("rgcd-io-{}.bin", std::process::id()));
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::File::create(&path)
        .unwrap()
        .write_all(&bytes)
        .unwrap();
    let q = Queue::serial("io.file");
    let (ctx, crx) = mpsc::channel();
    let ch = IoChannel::with_path(
        IoType::Stream,
        path.to_str().unwrap(),
        libc::O_RDONLY,
        0,
        &q,
        move |e| ctx.send(e).unwrap(),
    )
    .unwrap();
    ch.set_high_water(65536);
    let (tx, rx) = mpsc::channel();
    ch.read(0, usize::MAX, &q, move |done, d, err| {
        tx.send((done, d.map(|d| d.to_vec()), err)).unwrap()
    });
    let mut got = Vec::new();
    loop {
        let (done, d, err) = rx.recv_timeout(T).unwrap();
        assert_eq!(err, 0);
        let d = d.unwrap();
        assert!(d.len() <= 65536);
        got.extend(d);
        if done {
            break;
        }
    }
    assert_eq!(got, bytes);
    ch.close(false);
    assert_eq!(crx.recv_timeout(T).unwrap(), 0);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn pipe_read_and_write_channels() {
    let (r, w) = pipe();
    let q = Queue::serial("io.pipe");
    let cleanups = Arc::new(AtomicUsize::new(0));
    let (c1, c2) = (cleanups.clone(), cleanups.clone());
    let reader = IoChannel::new(IoType::Stream, r, &q, move |_| {
        close(r);
        c1.fetch_add(1, Ordering::SeqCst);
    });
    let writer = IoChannel::new(IoType::Stream, w, &q, move |_| {
        close(w);
        c2.fetch_add(1, Ordering::SeqCst);
    });
    let total = 4 << 20;
    let bytes: Vec<u8> = (0..total).map(|i| (i * 7 % 256) as u8).collect();
    let (tx, rx) = mpsc::channel();
    reader.read(0, total, &q, move |done, d, err| {
        tx.send((done, d.map(|d| d.to_vec()), err)).unwrap()
    });
    let (wtx, wrx) = mpsc::channel();
    writer.write(0, &Data::from(bytes.clone()), &q, move |done, rest, err| {
        if done {
            wtx.send((rest.is_none(), err)).unwrap();
        }
    });
    let mut got = Vec::new();
    loop {
        let (done, d, err) = rx.recv_timeout(T).unwrap();
        assert_eq!(err, 0);
        got.extend(d.unwrap());
        if done {
            break;
        }
    }
    assert_eq!(got.len(), bytes.len());
    assert!(got == bytes);
    assert_eq!(wrx.recv_timeout(T).unwrap(), (true, 0));
    reader.close(false);
    writer.close(false);
    drop(reader);
    drop(writer);
    let end = std::time::Instant::now() + T;
    while cleanups.load(Ordering::SeqCst) < 2 {
        assert!(std::time::Instant::now() < end);
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(cleanups.load(Ordering::SeqCst), 2);
}

#[test]
fn close_stop_cancels_pending() {
    let (r, w) = pipe();
    let q = Queue::serial("io.stop");
    let (ctx, crx) = mpsc::channel();
    let ch = IoChannel::new(IoType::Stream, r, &q, move |e| ctx.send(e).unwrap());
    let (tx, rx) = mpsc::channel();
    ch.read(0, usize::MAX, &q, move |done, _, err| {
        tx.send((done, err)).unwrap()
    });
    std::thread::sleep(Duration::from_millis(50));
    ch.close(true);
    assert_eq!(rx.recv_timeout(T).unwrap(), (true, libc::ECANCELED));
    assert_eq!(crx.recv_timeout(T).unwrap(), 0);
    // Closed: a new read fails at once.
    let (tx, rx) = mpsc::channel();
    ch.read(0, 10, &q, move |done, _, err| tx.send((done, err)).unwrap());
    assert_eq!(rx.recv_timeout(T).unwrap(), (true, libc::ECANCELED));
    assert!(crx.recv_timeout(Duration::from_millis(100)).is_err());
    close(r);
    close(w);
}

#[test]
fn convenience_writes_in_order_and_read() {
    let (r, w) = pipe();
    let q = Queue::concurrent("io.conv");
    let n = 64;
    let (wtx, wrx) = mpsc::channel();
    let mut want = Vec::new();
    for i in 0..n {
        let chunk = vec![i as u8; 10_000];
        want.extend_from_slice(&chunk);
        let wtx = wtx.clone();
        rgcd::write(w, &Data::from(chunk), &q, move |rest, err| {
            wtx.send((rest.is_none(), err)).unwrap()
        });
    }
    let mut got = Vec::new();
    while got.len() < want.len() {
        let (tx, rx) = mpsc::channel();
        rgcd::read(r, usize::MAX, &q, move |d, err| {
            tx.send((d.to_vec(), err)).unwrap()
        });
        let (d, err) = rx.recv_timeout(T).unwrap();
        assert_eq!(err, 0);
        assert!(!d.is_empty());
        got.extend(d);
    }
    assert!(got == want);
    for _ in 0..n {
        assert_eq!(wrx.recv_timeout(T).unwrap(), (true, 0));
    }
    close(w);
    let (tx, rx) = mpsc::channel();
    rgcd::read(r, usize::MAX, &q, move |d, err| {
        tx.send((d.len(), err)).unwrap()
    });
    assert_eq!(rx.recv_timeout(T).unwrap(), (0, 0));
    close(r);
}

/// A file read whose pages are not in the page cache: the non-blocking attempt
/// (`RWF_NOWAIT`) finds nothing and the read takes the blocking path; the bytes must come
/// back whole and in order, from the start (STREAM) and from an offset (RANDOM).
#[test]
fn file_read_after_eviction_from_page_cache() {
    let path = std::env::temp_dir().join(format!("rgcd-io-evict-{}.bin", std::process::id()));
    let len = 3 * (1 << 20) + 12_345;
    let bytes: Vec<u8> = (0..len as u32).map(|i| (i % 253) as u8).collect();
    {
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(&bytes).unwrap();
        f.sync_all().unwrap();
    }
    let evict = || {
        let f = std::fs::File::open(&path).unwrap();
        use std::os::fd::AsRawFd;
        // SAFETY: an open fd; advice only.
        unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    };
    let q = Queue::serial("io.evict");
    for (kind, offset) in [(IoType::Stream, 0usize), (IoType::Random, 1_000_003)] {
        evict();
        let (ctx, crx) = mpsc::channel();
        let ch = IoChannel::with_path(
            kind,
            path.to_str().unwrap(),
            libc::O_RDONLY,
            0,
            &q,
            move |e| ctx.send(e).unwrap(),
        )
        .unwrap();
        let (tx, rx) = mpsc::channel();
        ch.read(offset as i64, usize::MAX, &q, move |done, d, err| {
            tx.send((done, d.map(|d| d.to_vec()), err)).unwrap()
        });
        let mut got = Vec::new();
        loop {
            let (done, d, err) = rx.recv_timeout(T).unwrap();
            assert_eq!(err, 0);
            got.extend(d.unwrap());
            if done {
                break;
            }
        }
        assert_eq!(got.len(), len - offset);
        assert!(
            got == bytes[offset..],
            "bytes differ ({kind:?} from {offset})"
        );
        ch.close(false);
        assert_eq!(crx.recv_timeout(T).unwrap(), 0);
    }
    std::fs::remove_file(&path).unwrap();
}
