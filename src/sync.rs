//! Locks over data that every holder changes in one step (an insert, a
//! remove): a panic while one is held leaves the data whole, so the next
//! holder takes it as it is instead of failing on the poison.

use std::sync::{Mutex, MutexGuard};

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
