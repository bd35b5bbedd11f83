//! `board/S99digitd` on the host: start/status/stop, respawn after a crash, the vendor app
//! stopped and the 3A server started, the log capped. A shell script stands in for digitd and
//! every board path is redirected into a temporary folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/board/S99digitd");

struct Board {
    dir: tempfile::TempDir,
}

impl Board {
    fn new() -> Board {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::create_dir_all(p.join("bin")).unwrap();
        // digitd stand-in: records its pid and arguments, prints 3 KiB, exits 0 on TERM.
        write_exec(
            &p.join("bin/digitd"),
            &format!(
                "#!/bin/sh\necho $$ >> {dir}/starts\necho \"$@\" > {dir}/args\necho \"LD=$LD_LIBRARY_PATH\" >> {dir}/args\n\
                 trap 'echo term >> {dir}/terms; exit 0' TERM\n\
                 i=0; while [ $i -lt 48 ]; do echo 'log line padded to sixty-four bytes for the cap test ......'; i=$((i+1)); done\n\
                 while :; do sleep 0.1; done\n",
                dir = p.display()
            ),
        );
        write_exec(&p.join("bin/RkLunch-stop.sh"), &format!("#!/bin/sh\necho stopped > {}/rkipc-stopped\n", p.display()));
        write_exec(&p.join("bin/rkaiq_3A_server_fake"), &format!("#!/bin/sh\necho $$ > {}/rkaiq.pid\nexec sleep 30\n", p.display()));
        Board { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn init(&self, action: &str) -> Output {
        let p = self.dir.path();
        Command::new("sh")
            .arg(SCRIPT)
            .arg(action)
            .env("DIGITD_BIN", p.join("bin/digitd"))
            .env("DIGITD_CONFIG", p.join("digitd.toml"))
            .env("DIGITD_RUN_DIR", p.join("run"))
            .env("DIGITD_LOG_DIR", p.join("log"))
            .env("DIGITD_LOG_MAX_KB", "2")
            .env("DIGITD_LD_PATH", "/oem/usr/lib")
            .env("RKLUNCH_STOP", p.join("bin/RkLunch-stop.sh"))
            .env("RKAIQ_SERVER", p.join("bin/rkaiq_3A_server_fake"))
            .output()
            .unwrap()
    }

    fn starts(&self) -> Vec<u32> {
        std::fs::read_to_string(self.path("starts")).unwrap_or_default().lines().filter_map(|l| l.trim().parse().ok()).collect()
    }
}

impl Drop for Board {
    fn drop(&mut self) {
        self.init("stop");
        if let Ok(pid) = std::fs::read_to_string(self.path("rkaiq.pid")) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
    }
}

fn write_exec(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    Command::new("chmod").arg("+x").arg(path).status().unwrap();
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

#[test]
fn start_status_respawn_stop() {
    let board = Board::new();
    let o = board.init("start");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("stopping the vendor camera app"), "{}", text(&o));
    wait_for("digitd to start", Duration::from_secs(5), || board.starts().len() == 1);
    assert!(board.path("rkipc-stopped").exists(), "RkLunch-stop.sh was run");
    wait_for("the 3A server", Duration::from_secs(5), || board.path("rkaiq.pid").exists());
    let args = std::fs::read_to_string(board.path("args")).unwrap();
    assert!(args.starts_with("run --config "), "{args}");
    assert!(args.contains("LD=/oem/usr/lib"), "{args}");

    let o = board.init("status");
    assert_eq!(o.status.code(), Some(0));
    let first = board.starts()[0];
    assert!(text(&o).contains(&format!("running (pid {first}")), "{}", text(&o));

    // A crash: the supervisor restarts it after the 1 s backoff.
    Command::new("kill").args(["-KILL", &first.to_string()]).status().unwrap();
    wait_for("the respawn", Duration::from_secs(6), || board.starts().len() == 2);
    let log = std::fs::read_to_string(board.path("log/digitd.log")).unwrap();
    assert!(log.contains("digitd exited with status 137"), "{log}");
    assert!(log.contains("restarting in 1s"), "{log}");

    let o = board.init("stop");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(board.path("terms")).unwrap().lines().count(), 1, "digitd got SIGTERM once");
    let o = board.init("status");
    assert_eq!(o.status.code(), Some(3));
    assert!(text(&o).contains("not running"));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(board.starts().len(), 2, "nothing restarts digitd after stop");
}

#[test]
fn the_log_stays_under_its_cap() {
    let board = Board::new();
    assert_eq!(board.init("start").status.code(), Some(0));
    // Each start writes 3 KiB; the cap is 2 KiB. Crash it twice to get several starts.
    for n in 1..=3 {
        wait_for("a start", Duration::from_secs(8), || board.starts().len() >= n);
        std::thread::sleep(Duration::from_millis(300));
        if n < 3 {
            let pid = *board.starts().last().unwrap();
            Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap();
        }
    }
    // The cap is applied before each start and every 5 s while digitd runs.
    wait_for("the log to be trimmed", Duration::from_secs(8), || {
        std::fs::metadata(board.path("log/digitd.log")).map(|m| m.len() <= 2 * 1024 + 512).unwrap_or(false)
    });
}

#[test]
fn a_missing_binary_is_a_clear_failure() {
    let board = Board::new();
    std::fs::remove_file(board.path("bin/digitd")).unwrap();
    let o = board.init("start");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("is missing or not executable"), "{}", text(&o));
    assert_eq!(board.init("bogus").status.code(), Some(2));
}
