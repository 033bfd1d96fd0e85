/*!
The one-time codes of the review page's sign-in links, and the random secrets they and the token
are made of.
*/

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::sync::lock;

/// How long a sign-in code may wait to be used.
const CODE_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// The one-time sign-in codes not used yet, with when they were made.
#[derive(Default)]
pub struct LoginCodes {
    codes: Mutex<HashMap<String, Instant>>,
}

impl LoginCodes {
    /// A new code, good for one sign-in within [`CODE_LIFETIME`].
    pub fn issue(&self) -> String {
        let code = secret(2);
        let mut codes = lock(&self.codes);
        codes.retain(|_, made| made.elapsed() < CODE_LIFETIME);
        codes.insert(code.clone(), Instant::now());
        code
    }

    /// Whether `code` was issued and not used or expired; it cannot be used again.
    pub fn redeem(&self, code: &str) -> bool {
        lock(&self.codes)
            .remove(code)
            .is_some_and(|made| made.elapsed() < CODE_LIFETIME)
    }
}

/// `count` × 64 random bits, in hex.
pub fn secret(count: usize) -> String {
    (0..count)
        .map(|_| format!("{:016x}", fastrand::u64(..)))
        .collect()
}
