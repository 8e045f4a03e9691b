//! QoS ordering, alone in its own test binary so the pool holds only the workers this test
//! keeps busy (other tests in one process would leave idle workers around).

use rgcd::{Group, Qos, Queue, Time};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn secs(s: u64) -> Time {
    Time::after(Duration::from_secs(s))
}

#[test]
fn qos_order() {
    // With every worker busy, background work queued first and user-interactive work queued
    // after it: once the workers free up, the interactive work runs first.
    let ncpu = std::thread::available_parallelism().map_or(2, |n| n.get());
    let release = Arc::new(AtomicBool::new(false));
    let spinning = Arc::new(AtomicUsize::new(0));
    let g = Group::new();
    // Occupy the workers with CPU-bound spinning (not blocking: the pool must not grow).
    for _ in 0..ncpu {
        let (r, s) = (release.clone(), spinning.clone());
        g.exec_async(&Queue::global(Qos::Default), move || {
            s.fetch_add(1, Ordering::SeqCst);
            while !r.load(Ordering::SeqCst) {
                std::hint::spin_loop();
            }
        });
    }
    let end = Instant::now() + Duration::from_secs(20);
    while spinning.load(Ordering::SeqCst) < ncpu && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(1));
    }
    let order = Arc::new(Mutex::new(Vec::new()));
    for i in 0..20 {
        let o = order.clone();
        g.exec_async(&Queue::global(Qos::Background), move || {
            o.lock().unwrap().push(('b', i))
        });
    }
    for i in 0..20 {
        let o = order.clone();
        g.exec_async(&Queue::global(Qos::UserInteractive), move || {
            o.lock().unwrap().push(('u', i))
        });
    }
    release.store(true, Ordering::SeqCst);
    g.wait(secs(30)).unwrap();
    let order = order.lock().unwrap();
    assert_eq!(order.len(), 40);
    let first: Vec<char> = order.iter().take(10).map(|(c, _)| *c).collect();
    assert!(
        first.iter().filter(|&&c| c == 'u').count() >= 8,
        "first to run: {first:?}"
    );
}
