//! Child processes for tests: started in their own process group on a free loopback port,
//! waited for with a deadline, and killed with their whole group when the guard drops (also
//! when the test fails).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free port on 127.0.0.1 (the OS picks it; the listener is closed before use).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct ChildGuard {
    child: Child,
    pub name: String,
}

impl ChildGuard {
    /// Spawns `command` in a new process group; output goes to `target/test-logs/<name>.log`.
    pub fn spawn(name: &str, command: &mut Command) -> ChildGuard {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-logs");
        std::fs::create_dir_all(&dir).unwrap();
        let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|err| panic!("could not start {name}: {err} (run the README's test command, which installs it)"));
        ChildGuard {
            child,
            name: name.to_owned(),
        }
    }

    /// Waits until `addr` accepts connections, failing the test after `limit`.
    pub fn wait_for_port(&mut self, addr: SocketAddr, limit: Duration) {
        let deadline = Instant::now() + limit;
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited early with {status}; see target/test-logs/{}.log",
                    self.name, self.name
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not listen on {addr} within {limit:?}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}
