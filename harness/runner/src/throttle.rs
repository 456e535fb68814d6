//! How many cases run at once: `--jobs` to begin with, halved each time the
//! server refuses a session at the start of a case (connection refused, 503,
//! 429), down to one. A small server that cannot take `-j 8` then gets fewer
//! cases at once instead of failing the ones it turned away.

use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// The cases-at-once limit of one run.
#[derive(Clone, Default)]
pub struct Throttle {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    state: Mutex<State>,
    /// Woken when a place is given back.
    freed: Notify,
}

#[derive(Default)]
struct State {
    limit: usize,
    running: usize,
}

/// A case's place; given back when dropped.
pub struct Place {
    inner: Arc<Inner>,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.inner.lock().running -= 1;
        self.inner.freed.notify_waiters();
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Throttle {
    /// At most `jobs` cases at once (at least one).
    pub fn new(jobs: usize) -> Self {
        let throttle = Self::default();
        throttle.inner.lock().limit = jobs.max(1);
        throttle
    }

    /// Wait for a place for one case (fewer are free than the limit while
    /// the cases that started before a back-off still run).
    pub async fn place(&self) -> Place {
        loop {
            let freed = self.inner.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut state = self.inner.lock();
                if state.running < state.limit {
                    state.running += 1;
                    return Place {
                        inner: self.inner.clone(),
                    };
                }
            }
            freed.await;
        }
    }

    /// The limit now.
    pub fn limit(&self) -> usize {
        self.inner.lock().limit
    }

    /// The server refused a session: halve the limit. Returns it before and
    /// after when it went down, `None` when it was already one.
    pub fn back_off(&self) -> Option<(usize, usize)> {
        let mut state = self.inner.lock();
        if state.limit <= 1 {
            return None;
        }
        let from = state.limit;
        state.limit = from / 2;
        Some((from, state.limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn backing_off_halves_the_places_down_to_one() {
        let throttle = Throttle::new(8);
        assert_eq!(throttle.back_off(), Some((8, 4)));
        assert_eq!(throttle.back_off(), Some((4, 2)));
        assert_eq!(throttle.back_off(), Some((2, 1)));
        assert_eq!(throttle.back_off(), None);
        assert_eq!(throttle.limit(), 1);
        // Once the withdrawn places are taken, one case runs at a time.
        let first = throttle.place().await;
        let second = tokio::time::timeout(Duration::from_millis(100), throttle.place()).await;
        assert!(second.is_err(), "a second place while the first is held");
        drop(first);
        let again = tokio::time::timeout(Duration::from_secs(5), throttle.place()).await;
        assert!(again.is_ok(), "the place comes back");
    }

    #[tokio::test]
    async fn places_held_by_running_cases_are_withdrawn_as_they_end() {
        let throttle = Throttle::new(2);
        let a = throttle.place().await;
        let b = throttle.place().await;
        assert_eq!(throttle.back_off(), Some((2, 1)));
        drop(a);
        drop(b);
        let one = throttle.place().await;
        let two = tokio::time::timeout(Duration::from_millis(100), throttle.place()).await;
        assert!(two.is_err(), "only one place is left");
        drop(one);
    }
}
