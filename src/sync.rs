/*! Lock helpers shared by every layer. */

use std::sync::{Mutex, MutexGuard};

/// A mutex's guard, also after a panic elsewhere poisoned it: the data behind our locks stays
/// consistent between statements, so a panic in one holder must not take every other one down.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
