//! Capabilities (the sandbox issue): nothing is granted by default; a granted
//! directory, variable or destination is reachable and nothing beyond it is. Each
//! attack gets a precise error inside the guest, and a neighbour keeps answering.

use std::net::TcpListener;
use std::path::Path;
use std::path::PathBuf;

use foundation::{ActorOptions, Capabilities, DirAccess, Sandbox};

use crate::limits::Neighbour;
use crate::*;

async fn probe(actor: &ActorRef, p: SandboxCall) -> Reply {
    call(actor, Call::Sandbox(p)).await
}

fn err_kind(r: &Reply) -> &str {
    match r {
        Reply::Err(e) => e.split(':').next().unwrap_or(e),
        other => panic!("expected an error, got {other:?}"),
    }
}

/// `root/data` (with `file.txt`, a symlink out of it by `..` and one by absolute
/// path) and `root/outside/secret.txt`.
fn tree(root: &Path) -> PathBuf {
    let data = root.join("data");
    std::fs::create_dir_all(data.join("sub")).unwrap();
    std::fs::create_dir_all(root.join("outside")).unwrap();
    std::fs::write(data.join("file.txt"), "inside").unwrap();
    std::fs::write(root.join("outside/secret.txt"), "secret").unwrap();
    std::os::unix::fs::symlink("../outside/secret.txt", data.join("up-link")).unwrap();
    std::os::unix::fs::symlink(root.join("outside/secret.txt"), data.join("abs-link")).unwrap();
    std::os::unix::fs::symlink("../../outside", data.join("sub/dir-link")).unwrap();
    data
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_granted_by_default() {
    let rt = runtime();
    let watch = Neighbour::watch(&rt).await;
    let a = spawn(&rt).await;
    // No file system at all.
    for path in ["/etc/passwd", "/", ".", "../etc/passwd", "etc/passwd"] {
        let r = probe(&a, SandboxCall::ReadFile(path.into())).await;
        assert!(matches!(r, Reply::Err(_)), "read {path}: {r:?}");
    }
    let r = probe(
        &a,
        SandboxCall::WriteFile {
            path: "/tmp/foundation-escape".into(),
            text: "x".into(),
        },
    )
    .await;
    assert!(matches!(r, Reply::Err(_)), "{r:?}");
    assert!(!Path::new("/tmp/foundation-escape").exists());
    // None of the host's environment (the test process has PATH, HOME...), and no
    // arguments.
    assert!(std::env::var_os("PATH").is_some());
    assert_eq!(
        probe(&a, SandboxCall::EnvNames).await,
        Reply::Text(String::new())
    );
    assert_eq!(
        probe(&a, SandboxCall::Env("PATH".into())).await,
        Reply::Err("not set".into())
    );
    assert_eq!(
        probe(&a, SandboxCall::Args).await,
        Reply::Text(String::new())
    );
    // No network: a connect to a live loopback listener is refused before any
    // packet leaves, and the listener never sees it.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let r = probe(&a, SandboxCall::Connect(addr.to_string())).await;
    assert_eq!(err_kind(&r), "PermissionDenied", "{r:?}");
    listener.set_nonblocking(true).unwrap();
    assert_eq!(
        listener.accept().map_err(|e| e.kind()).unwrap_err(),
        std::io::ErrorKind::WouldBlock,
        "the listener saw a connection"
    );
    let r = probe(&a, SandboxCall::Listen("127.0.0.1:0".into())).await;
    assert_eq!(err_kind(&r), "PermissionDenied", "{r:?}");
    watch.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_directory_is_readable_and_nothing_leads_out_of_it() {
    let root = scratch("read-only");
    let data = tree(&root);
    let rt = runtime();
    let watch = Neighbour::watch(&rt).await;
    let a = spawn_in(
        &rt,
        Capabilities::default().dir(&data, "/data", DirAccess::ReadOnly),
    )
    .await;
    assert_eq!(
        probe(&a, SandboxCall::ReadFile("/data/file.txt".into())).await,
        Reply::Text("inside".into())
    );
    assert_eq!(
        probe(&a, SandboxCall::ListDir("/data".into())).await,
        Reply::Text("abs-link,file.txt,sub,up-link".into())
    );
    // Escapes: `..`, an absolute path outside the preopen, symlinks out of it (by
    // `..` and by absolute path), a symlinked directory out of it.
    for path in [
        "/data/../outside/secret.txt",
        "/data/sub/../../outside/secret.txt",
        "/outside/secret.txt",
        "../outside/secret.txt",
        "/data/up-link",
        "/data/abs-link",
        "/data/sub/dir-link/secret.txt",
    ] {
        let r = probe(&a, SandboxCall::ReadFile(path.into())).await;
        assert!(matches!(r, Reply::Err(_)), "read {path}: {r:?}");
    }
    // Writes to a read-only preopen fail and leave nothing on the host.
    for path in ["/data/new.txt", "/data/file.txt", "/data/sub/new.txt"] {
        let r = probe(
            &a,
            SandboxCall::WriteFile {
                path: path.into(),
                text: "written".into(),
            },
        )
        .await;
        assert!(matches!(r, Reply::Err(_)), "write {path}: {r:?}");
    }
    assert!(!data.join("new.txt").exists());
    assert!(!data.join("sub/new.txt").exists());
    assert_eq!(
        std::fs::read_to_string(data.join("file.txt")).unwrap(),
        "inside"
    );
    watch.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_write_directory_takes_writes_inside_it_only() {
    let root = scratch("read-write");
    let data = tree(&root);
    let rt = runtime();
    let watch = Neighbour::watch(&rt).await;
    let a = spawn_in(
        &rt,
        Capabilities::default().dir(&data, "/data", DirAccess::ReadWrite),
    )
    .await;
    let write = |path: &str| SandboxCall::WriteFile {
        path: path.into(),
        text: "written".into(),
    };
    assert_eq!(probe(&a, write("/data/new.txt")).await, Reply::Ok);
    assert_eq!(
        std::fs::read_to_string(data.join("new.txt")).unwrap(),
        "written"
    );
    for path in [
        "/data/../outside/new.txt",
        "/outside/new.txt",
        "/data/sub/dir-link/new.txt",
        "/data/up-link",
    ] {
        let r = probe(&a, write(path)).await;
        assert!(matches!(r, Reply::Err(_)), "write {path}: {r:?}");
    }
    assert!(!root.join("outside/new.txt").exists());
    assert_eq!(
        std::fs::read_to_string(root.join("outside/secret.txt")).unwrap(),
        "secret"
    );
    watch.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_environment_is_what_was_granted() {
    let rt = runtime();
    let watch = Neighbour::watch(&rt).await;
    let a = spawn_in(
        &rt,
        Capabilities::default()
            .env("GREETING", "hello")
            .env("LEVEL", "debug"),
    )
    .await;
    assert_eq!(
        probe(&a, SandboxCall::EnvNames).await,
        Reply::Text("GREETING,LEVEL".into())
    );
    assert_eq!(
        probe(&a, SandboxCall::Env("GREETING".into())).await,
        Reply::Text("hello".into())
    );
    assert_eq!(
        probe(&a, SandboxCall::Env("HOME".into())).await,
        Reply::Err("not set".into())
    );
    watch.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_reaches_listed_destinations_only() {
    let allowed = TcpListener::bind("127.0.0.1:0").unwrap();
    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    let rt = runtime();
    let watch = Neighbour::watch(&rt).await;
    let a = spawn_in(
        &rt,
        Capabilities::default()
            .connect(&allowed.local_addr().unwrap().to_string())
            .unwrap(),
    )
    .await;
    assert_eq!(
        probe(
            &a,
            SandboxCall::Connect(allowed.local_addr().unwrap().to_string())
        )
        .await,
        Reply::Ok
    );
    // The connection arrived (the guest's connect completed before it replied).
    allowed.set_nonblocking(true).unwrap();
    allowed
        .accept()
        .expect("the allowed listener got the connection");
    let before = rt.limit_hits().network;
    let r = probe(
        &a,
        SandboxCall::Connect(other.local_addr().unwrap().to_string()),
    )
    .await;
    assert_eq!(err_kind(&r), "PermissionDenied", "{r:?}");
    other.set_nonblocking(true).unwrap();
    assert_eq!(
        other.accept().map_err(|e| e.kind()).unwrap_err(),
        std::io::ErrorKind::WouldBlock
    );
    // Listening stays denied with a connect capability.
    let r = probe(&a, SandboxCall::Listen("127.0.0.1:0".into())).await;
    assert_eq!(err_kind(&r), "PermissionDenied", "{r:?}");
    assert!(rt.limit_hits().network >= before + 2);
    watch.finish().await;
}

#[test]
fn destinations_are_checked_when_granted() {
    for ok in [
        "127.0.0.1:80",
        "127.0.0.1:*",
        "[::1]:4222",
        "10.0.0.0/8:*",
        "localhost:5432",
    ] {
        Capabilities::default()
            .connect(ok)
            .unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    for (bad, why) in [
        ("127.0.0.1", "no port"),
        ("127.0.0.1:0", "the port is not 1-65535 or *"),
        ("127.0.0.1:http", "the port is not 1-65535 or *"),
        (":80", "no host"),
        ("10.0.0.0/33:80", "the prefix length is out of range"),
        ("nonsense/8:80", "not an IP address block"),
    ] {
        let e = Capabilities::default()
            .connect(bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains(why), "{bad}: {e}");
        assert!(e.contains(&format!("{bad:?}")), "{bad}: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actors_a_guest_starts_share_its_sandbox() {
    let root = scratch("inherit");
    let data = tree(&root);
    let rt = runtime();
    let watch = Neighbour::watch(&rt).await;
    let parent = spawn_in(
        &rt,
        Capabilities::default()
            .dir(&data, "/data", DirAccess::ReadOnly)
            .env("GREETING", "hello"),
    )
    .await;
    let Reply::Id(child) = call(
        &parent,
        Call::Spawn {
            component: "testactor".into(),
            name: None,
        },
    )
    .await
    else {
        panic!("spawn failed")
    };
    let child = rt
        .actor(foundation::ActorId::from_raw(child).unwrap())
        .unwrap();
    assert_eq!(
        probe(&child, SandboxCall::ReadFile("/data/file.txt".into())).await,
        Reply::Text("inside".into())
    );
    assert_eq!(
        probe(&child, SandboxCall::EnvNames).await,
        Reply::Text("GREETING".into())
    );
    // An actor the host starts without a sandbox gets nothing.
    let plain = spawn(&rt).await;
    assert_eq!(
        probe(&plain, SandboxCall::EnvNames).await,
        Reply::Text(String::new())
    );
    watch.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_directory_fails_the_spawn_naming_it() {
    let rt = runtime();
    let missing = scratch("missing").join("nope");
    let r = rt
        .spawn_with(
            ActorOptions::new("testactor").sandbox(Sandbox {
                capabilities: Capabilities::default().dir(&missing, "/nope", DirAccess::ReadOnly),
                ..Sandbox::default()
            }),
            &Args::default(),
        )
        .await;
    let Err(foundation::SpawnError::InitFailed { reason, .. }) = &r else {
        panic!("{r:?}")
    };
    let text = reason.to_string();
    assert!(text.contains("cannot open directory"), "{text}");
    assert!(text.contains(&missing.display().to_string()), "{text}");
    assert_eq!(rt.actor_count(), 0);
}
