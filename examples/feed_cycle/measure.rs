//! What the measured client reads about itself: CPU seconds (getrusage), peak RSS and thread
//! counts from /proc.

use super::*;

#[repr(C)]
pub(crate) struct RUsage {
    utime: [i64; 2],
    stime: [i64; 2],
    rest: [i64; 14],
}

unsafe extern "C" {
    fn getrusage(who: i32, usage: *mut RUsage) -> i32;
}

/// User + system CPU seconds of this process (getrusage(RUSAGE_SELF)).
pub(crate) fn cpu_seconds() -> f64 {
    let mut u = RUsage {
        utime: [0; 2],
        stime: [0; 2],
        rest: [0; 14],
    };
    // SAFETY: RUsage has the layout of struct rusage on 64-bit Linux (two timevals, 14 longs).
    let rc = unsafe { getrusage(0, &mut u) };
    if rc != 0 {
        return f64::NAN;
    }
    let tv = |t: [i64; 2]| t[0] as f64 + t[1] as f64 / 1e6;
    tv(u.utime) + tv(u.stime)
}

pub(crate) fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Reset VmHWM to the current RSS (Linux ≥ 4.0), so the second cycle's peak is its own.
pub(crate) fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Sample the thread count every 20 ms until `stop`; returns the highest seen (sled writes and
/// parsing run on tokio's blocking pool, which grows with the number of waiting polls).
pub(crate) fn sample_threads(stop: CancellationToken) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut peak = 0;
        while !stop.is_cancelled() {
            peak = peak.max(status_kib("Threads:"));
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        peak
    })
}
