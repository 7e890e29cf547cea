//! A PostgreSQL server of this binary's own (a test or benchmark binary), started
//! once on first use from Debian's `postgresql` package (`initdb` in a temporary
//! directory, a free loopback port, password authentication) and stopped when the
//! binary exits: the server process gets SIGQUIT (PostgreSQL's immediate shutdown)
//! when the thread that started it ends, and that thread lives as long as the binary.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The user, and the environment variable the tests' manifests name for the
/// password (`password_env`).
pub const USER: &str = "foundation";
pub const PASSWORD_ENV: &str = "FOUNDATION_TEST_PG_PASSWORD";

#[derive(Debug)]
pub struct Server {
    pub port: u16,
}

impl Server {
    /// The URL without the password (it comes from `PASSWORD_ENV`).
    pub fn url(&self) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/postgres", self.port)
    }
}

/// The PostgreSQL binaries: the newest version Debian installed, if any.
pub fn bindir() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| Some(e.ok()?.path().join("bin")))
        .filter(|p| p.join("postgres").exists())
        .collect();
    versions.sort();
    versions.pop()
}

/// Whether PostgreSQL is installed here.
pub fn available() -> bool {
    bindir().is_some()
}

/// The `postgres` user's ids: the server refuses to run as root.
fn postgres_ids() -> (u32, u32) {
    let out = Command::new("id")
        .args(["-u", "postgres"])
        .output()
        .unwrap();
    let uid = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let out = Command::new("id")
        .args(["-g", "postgres"])
        .output()
        .unwrap();
    let gid = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    (uid, gid)
}

fn as_postgres(cmd: &mut Command, uid: u32, gid: u32) {
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setgid(gid) != 0 || libc::setuid(uid) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Set after the uid changes (a change of credentials clears it).
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT);
            Ok(())
        });
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn chown_tree(path: &Path, uid: u32, gid: u32) {
    let status = Command::new("chown")
        .arg("-R")
        .arg(format!("{uid}:{gid}"))
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// The server, started on first use. Panics if PostgreSQL is not installed
/// (`tests/run.sh` installs Debian's `postgresql`) or does not start.
pub fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(start)
}

fn start() -> Server {
    let password = format!("pw-{}", std::process::id());
    // SAFETY: set once, before any store reads it; tests only read it.
    unsafe { std::env::set_var(PASSWORD_ENV, &password) };
    let bin =
        bindir().expect("PostgreSQL is installed (tests/run.sh installs Debian's `postgresql`)");
    let (uid, gid) = postgres_ids();
    // Under /tmp: the postgres user must reach it.
    let root = std::env::temp_dir().join(format!("foundation-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let data = root.join("data");
    let pwfile = root.join("pwfile");
    std::fs::write(&pwfile, &password).unwrap();
    chown_tree(&root, uid, gid);
    let mut initdb = Command::new(bin.join("initdb"));
    initdb
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            USER,
            "--auth=scram-sha-256",
            "--no-sync",
            "-E",
            "UTF8",
        ])
        .arg(format!("--pwfile={}", pwfile.display()))
        .stdout(Stdio::null());
    as_postgres(&mut initdb, uid, gid);
    let out = initdb.output().expect("initdb runs");
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    let pg_isready = bin.join("pg_isready");
    let (tx, rx) = std::sync::mpsc::channel();
    let socket_dir = root.clone();
    // The server's parent thread: it must outlive every test (see the module doc).
    std::thread::Builder::new()
        .name("postgres-parent".into())
        .spawn(move || {
            let mut cmd = Command::new(bin.join("postgres"));
            cmd.arg("-D")
                .arg(&data)
                .args(["-c", "listen_addresses=127.0.0.1"])
                .args(["-p", &port.to_string()])
                .arg("-k")
                .arg(&socket_dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            as_postgres(&mut cmd, uid, gid);
            let child = cmd.spawn();
            tx.send(child.map(|_| ())).unwrap();
            loop {
                std::thread::park();
            }
        })
        .unwrap();
    rx.recv().unwrap().expect("postgres starts");
    // Ready when it accepts sessions, not only connections.
    let deadline = Instant::now() + Duration::from_secs(60);
    let ready = || {
        Command::new(&pg_isready)
            .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
            .status()
            .is_ok_and(|s| s.success())
    };
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "postgres did not listen on {port} within 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Server { port }
}
