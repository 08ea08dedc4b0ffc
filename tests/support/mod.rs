//! Running conformance cases the way `fixtures/regen_goldens.py` runs kubectl on them:
//! cases with real parts (git repositories made by a setup script, a file server on
//! 127.0.0.1, a stand-in `helm`) are built in a scratch copy WORK with the same
//! placeholders (`@WORK@`, `@HTTP@`, `@HTTP_HOST@`, `@CASE@`) and the same isolated git
//! environment, and the output has the placeholders put back before it is compared.

#![allow(dead_code)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// What a case's `case.yaml` says.
#[derive(Debug, Clone)]
pub struct Case {
    pub id: String,
    pub dir: PathBuf,
    pub root: String,
    pub args: Vec<String>,
    pub setup: Option<String>,
    pub http: bool,
    pub nondeterministic_error: bool,
}

impl Case {
    pub fn load(id: String, dir: PathBuf) -> Case {
        let bytes = std::fs::read(dir.join("case.yaml")).unwrap();
        let v = rustomize::yaml::read_document(
            &bytes,
            rustomize::yaml::Dialect::V3,
            Default::default(),
        )
        .unwrap()
        .unwrap();
        let text = |k: &str| v.get(k).and_then(|r| r.as_str()).map(String::from);
        Case {
            id,
            root: text("root").unwrap_or_else(|| ".".into()),
            args: v
                .get("args")
                .and_then(|a| a.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            setup: text("setup"),
            http: v.get("http").and_then(|h| h.as_bool()) == Some(true),
            nondeterministic_error: v.get("nondeterministic_error").and_then(|h| h.as_bool())
                == Some(true),
            dir,
        }
    }

    /// Does the case need a scratch copy (setup, server, placeholders)?
    pub fn has_real_parts(&self) -> bool {
        self.setup.is_some()
            || self.http
            || std::iter::once(&self.root)
                .chain(&self.args)
                .any(|a| a.contains('@'))
    }
}

/// The environment kubectl's git ran with when the goldens were made.
pub fn git_env(work: &Path) -> Vec<(String, String)> {
    [
        ("HOME", work.to_string_lossy().as_ref()),
        ("GIT_CONFIG_NOSYSTEM", "1"),
        ("GIT_CONFIG_GLOBAL", "/dev/null"),
        ("GIT_TERMINAL_PROMPT", "0"),
        ("GIT_CONFIG_COUNT", "1"),
        ("GIT_CONFIG_KEY_0", "protocol.file.allow"),
        ("GIT_CONFIG_VALUE_0", "always"),
        ("GIT_AUTHOR_NAME", "fixture"),
        ("GIT_AUTHOR_EMAIL", "fixture@example.invalid"),
        ("GIT_COMMITTER_NAME", "fixture"),
        ("GIT_COMMITTER_EMAIL", "fixture@example.invalid"),
        ("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z"),
        ("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A case's scratch copy; removed (and its server stopped) when dropped.
pub struct Work {
    pub dir: PathBuf,
    /// `http://127.0.0.1:PORT`, or empty without a server.
    pub http: String,
    pub subs: Vec<(String, String)>,
    server: Option<Server>,
}

static WORK_COUNTER: AtomicUsize = AtomicUsize::new(0);

impl Work {
    pub fn new(case: &Case) -> Work {
        // The same length as the regen script's `mkdtemp(prefix="rz-case-")` (8 random
        // characters), because long lines fold at a fixed column in the output.
        let n = WORK_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{:04x}{:04x}", std::process::id() & 0xffff, n & 0xffff);
        let dir = std::env::temp_dir().join(format!("rz-case-{tag}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let dir = std::fs::canonicalize(&dir).unwrap();
        copy_tree(&case.dir.join("in"), &dir.join("in"));
        if case.dir.join("http").is_dir() {
            copy_tree(&case.dir.join("http"), &dir.join("http"));
        }
        let server = case.http.then(|| {
            std::fs::create_dir_all(dir.join("http")).unwrap();
            Server::start(dir.join("http"))
        });
        let http = server
            .as_ref()
            .map(|s| format!("http://127.0.0.1:{}", s.port))
            .unwrap_or_default();
        let case_dir = std::fs::canonicalize(&case.dir).unwrap();
        let subs = vec![
            ("@WORK@".to_string(), dir.to_string_lossy().into_owned()),
            ("@HTTP@".to_string(), http.clone()),
            (
                "@HTTP_HOST@".to_string(),
                http.trim_start_matches("http://").to_string(),
            ),
            (
                "@CASE@".to_string(),
                case_dir.to_string_lossy().into_owned(),
            ),
        ];
        let w = Work {
            dir,
            http,
            subs,
            server,
        };
        substitute_tree(&w.dir.join("in"), &w.subs);
        if w.dir.join("http").is_dir() {
            substitute_tree(&w.dir.join("http"), &w.subs);
        }
        if let Some(setup) = &case.setup {
            let out = Command::new("bash")
                .arg(case_dir.join(setup))
                .current_dir(&w.dir)
                .envs(git_env(&w.dir))
                .env("WORK", &w.dir)
                .env("CASE", &case_dir)
                .env("HTTP", &w.http)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: setup failed:\n{}",
                case.id,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        w
    }

    pub fn substitute(&self, s: &str) -> String {
        let mut s = s.to_string();
        for (k, v) in &self.subs {
            s = s.replace(k, v);
        }
        s
    }

    /// The placeholders put back (longest value first).
    pub fn unsubstitute(&self, s: &str) -> String {
        let mut subs: Vec<&(String, String)> =
            self.subs.iter().filter(|(_, v)| !v.is_empty()).collect();
        subs.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
        let mut s = s.to_string();
        for (k, v) in subs {
            s = s.replace(v.as_str(), k);
        }
        s
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        let ft = e.file_type().unwrap();
        if ft.is_symlink() {
            let link = std::fs::read_link(e.path()).unwrap();
            std::os::unix::fs::symlink(link, &target).unwrap();
        } else if ft.is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

fn substitute_tree(dir: &Path, subs: &[(String, String)]) {
    for e in walkdir::WalkDir::new(dir).into_iter().flatten() {
        if !e.file_type().is_file() {
            continue;
        }
        let Ok(text) = std::fs::read(e.path()) else {
            continue;
        };
        let mut new = text.clone();
        for (k, v) in subs {
            new = replace_bytes(&new, k.as_bytes(), v.as_bytes());
        }
        if new != text {
            std::fs::write(e.path(), new).unwrap();
        }
    }
}

fn replace_bytes(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

/// The static file server of `regen_goldens.py`: files under a directory; `NAME.redirect`
/// answers NAME with a 302 to the URL it holds, `NAME.status` with that status; a missing
/// file is 404. Only 127.0.0.1.
pub struct Server {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn start(root: PathBuf) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let root = root.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &root);
                });
            }
        });
        Server {
            port,
            stop,
            thread: Some(thread),
        }
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(stream: TcpStream, root: &Path) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
    }
    let target = line.split_whitespace().nth(1).unwrap_or("/");
    let path = target
        .split('?')
        .next()
        .unwrap_or("/")
        .trim_start_matches('/');
    let full = root.join(path);
    let mut out = stream;
    let named = |suffix: &str| {
        let mut p = full.clone().into_os_string();
        p.push(suffix);
        PathBuf::from(p)
    };
    if named(".redirect").is_file() {
        let to = std::fs::read_to_string(named(".redirect"))?;
        return write!(
            out,
            "HTTP/1.1 302 Found\r\nLocation: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            to.trim()
        );
    }
    let mut status: u16 = 200;
    if named(".status").is_file() {
        status = std::fs::read_to_string(named(".status"))?
            .trim()
            .parse()
            .unwrap_or(500);
    }
    let body = if full.is_file() {
        std::fs::read(&full)?
    } else {
        if status == 200 {
            status = 404;
        }
        b"not found\n".to_vec()
    };
    write!(
        out,
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    out.write_all(&body)
}
