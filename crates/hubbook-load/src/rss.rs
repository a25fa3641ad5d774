//! The server's memory, read from `/proc/PID/status` (Linux): `VmRSS` sampled during the run
//! and `VmHWM` (the peak) after it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::report::ServerMemory;

/// How often `VmRSS` is sampled during the run.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// The value in kB of a `Name:   1234 kB` line of a `/proc/PID/status` text.
pub fn field_kb(status: &str, name: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// The text of `/proc/{pid}/status`, if the process is there.
fn read_status(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/status")).ok()
}

/// Fails unless `pid` is a process whose memory can be read.
pub fn check(pid: u32) -> anyhow::Result<()> {
    let status = read_status(pid)
        .ok_or_else(|| anyhow::anyhow!("no /proc/{pid}/status: is the server running?"))?;
    anyhow::ensure!(
        field_kb(&status, "VmRSS").is_some(),
        "/proc/{pid}/status has no VmRSS line"
    );
    Ok(())
}

/// Samples the server's `VmRSS` until stopped, keeping the largest seen.
pub struct Sampler {
    pid: u32,
    max_kb: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Sampler {
    /// Starts sampling `pid` every [`SAMPLE_EVERY`].
    pub fn start(pid: u32) -> Self {
        let max_kb = Arc::new(AtomicU64::new(0));
        let seen = max_kb.clone();
        let task = tokio::spawn(async move {
            let mut every = tokio::time::interval(SAMPLE_EVERY);
            loop {
                every.tick().await;
                if let Some(kb) = read_status(pid).and_then(|s| field_kb(&s, "VmRSS")) {
                    seen.fetch_max(kb, Ordering::Relaxed);
                }
            }
        });
        Self { pid, max_kb, task }
    }

    /// Stops sampling and reads `VmHWM` and `VmRSS` once more.
    pub fn finish(self) -> ServerMemory {
        self.task.abort();
        let status = read_status(self.pid);
        let after = |name| status.as_deref().and_then(|s| field_kb(s, name));
        let rss_after_kb = after("VmRSS");
        let sampled = self.max_kb.load(Ordering::Relaxed);
        let max_sampled_rss_kb = match (sampled, rss_after_kb) {
            (0, last) => last,
            (seen, last) => Some(seen.max(last.unwrap_or(0))),
        };
        ServerMemory {
            pid: self.pid,
            peak_rss_kb: after("VmHWM"),
            max_sampled_rss_kb,
            rss_after_kb,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\thubbook\nVmPeak:\t  912340 kB\nVmHWM:\t   51234 kB\nVmRSS:\t   48000 kB\nRssAnon:\t   30000 kB\n";

    #[test]
    fn fields_are_read_by_exact_name() {
        assert_eq!(field_kb(STATUS, "VmHWM"), Some(51_234));
        assert_eq!(field_kb(STATUS, "VmRSS"), Some(48_000));
        assert_eq!(field_kb(STATUS, "Rss"), None);
        assert_eq!(field_kb(STATUS, "VmSwap"), None);
    }

    #[tokio::test]
    async fn our_own_process_can_be_sampled() {
        let pid = std::process::id();
        check(pid).unwrap();
        let sampler = Sampler::start(pid);
        tokio::time::sleep(SAMPLE_EVERY * 2).await;
        let m = sampler.finish();
        assert_eq!(m.pid, pid);
        let (peak, sampled, after) = (
            m.peak_rss_kb.unwrap(),
            m.max_sampled_rss_kb.unwrap(),
            m.rss_after_kb.unwrap(),
        );
        assert!(after > 0 && sampled >= after && peak >= sampled, "{m:?}");
    }
}
