//! `image update` over a real tree: the input is split at 0xFF bytes into three files
//! (one of them in a subdirectory and one reached through a symlink), written to a
//! scratch directory on tmpfs, and updated with fixed policies. Beyond "never panics":
//! the update either fails with the tree untouched or succeeds leaving no temporary file,
//! and a second update changes nothing.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rustomize::setters::{update_dir, ImageRef, Policies, UpdateOptions};

fn policies() -> &'static Policies {
    static POLICIES: OnceLock<Policies> = OnceLock::new();
    POLICIES.get_or_init(|| {
        let mut p = Policies::new();
        for (key, image) in [
            ("ns:app", "reg.io/team/app:1.10"),
            ("ns:odd", "localhost:5000/xy:true"),
        ] {
            if let Ok(r) = ImageRef::parse(image) {
                let _ = p.insert(key, r);
            }
        }
        p
    })
}

fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        base.join(format!("rustomize-fuzz-image-update-{}", std::process::id()))
    })
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().to_path_buf(), std::fs::read(e.path()).unwrap_or_default()))
        .collect();
    out.sort();
    out
}

fuzz_target!(|data: &[u8]| {
    let dir = scratch();
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let names = ["a.yaml", "sub/b.yml", "target.yaml"];
    for (name, part) in names.iter().zip(data.split(|&b| b == 0xFF)) {
        std::fs::write(dir.join(name), part).unwrap();
    }
    let _ = std::os::unix::fs::symlink("target.yaml", dir.join("link.yaml"));
    let before = snapshot(dir);
    match update_dir(dir, policies(), &UpdateOptions::default()) {
        Err(_) => assert_eq!(snapshot(dir), before, "a failed update changed the tree"),
        Ok(_) => {
            let after = snapshot(dir);
            let temps = after.iter().filter(|(p, _)| {
                p.file_name()
                    .is_some_and(|n| rustomize::setters::files::is_temp_name(&n.to_string_lossy()))
            });
            assert_eq!(temps.count(), 0, "a temporary file was left");
            let again = update_dir(dir, policies(), &UpdateOptions::default())
                .expect("a second update of an updated tree");
            assert_eq!(again.changes(), 0, "a second update changed values");
            assert_eq!(snapshot(dir), after);
        }
    }
});
