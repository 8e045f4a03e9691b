//! The timer heap: a slab of timers indexed by two binary heaps.
//!
//! A timer may fire anywhere in `[deadline, deadline + leeway]`. The reactor wakes at the
//! earliest *latest* time (`min(deadline + leeway)`, the `by_latest` heap) and then fires every
//! timer whose *deadline* has passed (the `by_deadline` heap): timers whose windows overlap fire
//! in one wake-up. Removal is lazy: a slab slot carries a generation, and heap entries whose
//! generation no longer matches are skipped when they reach the top.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A timer's identity: slab index and generation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct TimerId {
    index: u32,
    generation: u32,
}

impl TimerId {
    /// Packs into a u64 (for storing in an atomic).
    pub(crate) fn pack(self) -> u64 {
        (self.generation as u64) << 32 | self.index as u64
    }

    pub(crate) fn unpack(v: u64) -> TimerId {
        TimerId {
            index: v as u32,
            generation: (v >> 32) as u32,
        }
    }
}

struct Slot<T> {
    generation: u32,
    entry: Option<(u64, T)>,
}

pub(crate) struct TimerHeap<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    by_deadline: BinaryHeap<Reverse<(u64, u32, u32)>>,
    by_latest: BinaryHeap<Reverse<(u64, u32, u32)>>,
    len: usize,
}

impl<T> TimerHeap<T> {
    pub(crate) const fn new() -> Self {
        TimerHeap {
            slots: Vec::new(),
            free: Vec::new(),
            by_deadline: BinaryHeap::new(),
            by_latest: BinaryHeap::new(),
            len: 0,
        }
    }

    /// Timers in the heap.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Adds a timer firing in `[deadline, deadline + leeway]` (monotonic ns).
    pub(crate) fn insert(&mut self, deadline: u64, leeway: u64, value: T) -> TimerId {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    entry: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.entry = Some((deadline, value));
        let generation = slot.generation;
        self.by_deadline
            .push(Reverse((deadline, index, generation)));
        self.by_latest.push(Reverse((
            deadline.saturating_add(leeway),
            index,
            generation,
        )));
        self.len += 1;
        TimerId { index, generation }
    }

    /// Removes a timer; returns its value if it was still pending.
    pub(crate) fn remove(&mut self, id: TimerId) -> Option<T> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation || slot.entry.is_none() {
            return None;
        }
        Some(self.take(id.index))
    }

    /// Removes every pending timer whose value `pred` picks; returns their values.
    pub(crate) fn remove_where(&mut self, mut pred: impl FnMut(&T) -> bool) -> Vec<T> {
        let picked: Vec<u32> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.entry.as_ref().is_some_and(|(_, v)| pred(v)))
            .map(|(i, _)| i as u32)
            .collect();
        picked.into_iter().map(|i| self.take(i)).collect()
    }

    fn take(&mut self, index: u32) -> T {
        let slot = &mut self.slots[index as usize];
        let (_, v) = slot.entry.take().expect("live slot");
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(index);
        self.len -= 1;
        v
    }

    fn live(&self, index: u32, generation: u32) -> bool {
        let s = &self.slots[index as usize];
        s.generation == generation && s.entry.is_some()
    }

    /// When the earliest timer must fire at the latest (u64::MAX: none).
    pub(crate) fn next_wake(&mut self) -> u64 {
        while let Some(&Reverse((t, i, g))) = self.by_latest.peek() {
            if self.live(i, g) {
                return t;
            }
            self.by_latest.pop();
        }
        u64::MAX
    }

    /// Removes and returns every timer whose deadline is at or before `now`, with its deadline.
    pub(crate) fn expire(&mut self, now: u64, out: &mut Vec<(u64, T)>) {
        while let Some(&Reverse((d, i, g))) = self.by_deadline.peek() {
            if !self.live(i, g) {
                self.by_deadline.pop();
                continue;
            }
            if d > now {
                break;
            }
            self.by_deadline.pop();
            let v = self.take(i);
            out.push((d, v));
        }
        if self.len == 0 {
            self.by_deadline.clear();
            self.by_latest.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_windows_fire_together() {
        let mut h = TimerHeap::new();
        h.insert(100, 50, "a");
        h.insert(120, 0, "strict");
        h.insert(400, 10, "late");
        assert_eq!(h.next_wake(), 120);
        let mut out = Vec::new();
        h.expire(120, &mut out);
        let fired: Vec<_> = out.iter().map(|(_, v)| *v).collect();
        assert_eq!(fired, vec!["a", "strict"]);
        assert_eq!(h.next_wake(), 410);
    }

    #[test]
    fn remove_where_takes_only_the_picked() {
        let mut h = TimerHeap::new();
        h.insert(10, 0, 1);
        h.insert(20, 0, 2);
        h.insert(30, 0, 3);
        let mut taken = h.remove_where(|v| v % 2 == 1);
        taken.sort();
        assert_eq!(taken, vec![1, 3]);
        assert_eq!(h.len(), 1);
        assert_eq!(h.next_wake(), 20);
        let mut out = Vec::new();
        h.expire(100, &mut out);
        assert_eq!(out.iter().map(|(_, v)| *v).collect::<Vec<_>>(), vec![2]);
    }

    #[test]
    fn removed_timers_never_fire() {
        let mut h = TimerHeap::new();
        let a = h.insert(10, 0, 1);
        let b = h.insert(20, 0, 2);
        assert_eq!(h.remove(a), Some(1));
        assert_eq!(h.remove(a), None);
        let c = h.insert(5, 0, 3); // reuses a's slot with a new generation
        assert_eq!(h.remove(a), None);
        let mut out = Vec::new();
        h.expire(100, &mut out);
        assert_eq!(out.iter().map(|(_, v)| *v).collect::<Vec<_>>(), vec![3, 2]);
        assert_eq!(h.len(), 0);
        let _ = (b, c);
    }
}
