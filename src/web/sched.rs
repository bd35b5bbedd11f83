//! The web threads run at a lower scheduling priority than the reader, so on a loaded core
//! (the board has one) the pipeline always wins: streaming costs it almost nothing, and a burst
//! of clients slows the stream, not the reading.

/// Niceness of the web threads (0 is the reader's; 19 is the lowest).
const WEB_NICE: i32 = 10;

/// Lowers the calling thread's priority to [`WEB_NICE`]; best effort (logged if refused).
pub fn lower_current_thread() {
    // SAFETY: setpriority takes plain integers and touches no memory of ours. On Linux the nice
    // value is per thread, and PRIO_PROCESS with `who` = 0 means the calling thread.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, WEB_NICE) };
    if rc != 0 {
        log::debug!("web: cannot lower the thread priority: {}", std::io::Error::last_os_error());
    }
}

#[cfg(test)]
mod tests {
    /// The calling thread's kernel id.
    fn own_tid() -> String {
        let me = std::fs::read_link("/proc/thread-self").unwrap();
        me.file_name().unwrap().to_str().unwrap().to_string()
    }

    /// Nice value of one of this process's threads: field 19 of its stat, counted after the
    /// ")" that ends the command name.
    fn nice(tid: &str) -> i64 {
        let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
        stat.rsplit(')').next().unwrap().split_whitespace().nth(16).unwrap().parse().unwrap()
    }

    #[test]
    fn lowers_only_the_calling_thread() {
        let caller = own_tid();
        let before = nice(&caller);
        let lowered = std::thread::spawn(|| {
            super::lower_current_thread();
            nice(&own_tid())
        })
        .join()
        .unwrap();
        assert_eq!(lowered, super::WEB_NICE as i64);
        assert_eq!(nice(&caller), before, "the caller's own priority is unchanged");
    }
}
