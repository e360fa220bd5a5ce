//! A small tmpfs for disk-full and read-only-directory faults (needs root: `mount -t tmpfs`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use zedis_testkit::TempDir;

/// A mounted tmpfs, unmounted (lazily if still busy) on drop.
pub struct Tmpfs {
    mount_point: PathBuf,
    /// Holds the mount point's parent; dropped after the unmount.
    _parent: TempDir,
}

fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    }
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (mount's syntax: `2m`) in a fresh temporary directory; `None` (with a printed
    /// note) when mounting is not possible here, so the caller can skip.
    pub fn mount(name: &str, size: &str) -> Option<Tmpfs> {
        let parent = TempDir::new(name);
        let mount_point = parent.join("mnt");
        std::fs::create_dir_all(&mount_point).ok()?;
        let options = format!("size={size}");
        let target = mount_point.to_string_lossy().into_owned();
        if let Err(e) = run("mount", &["-t", "tmpfs", "-o", &options, "tmpfs", &target]) {
            eprintln!("note: cannot mount a tmpfs ({e}): disk-full test skipped");
            return None;
        }
        Some(Tmpfs {
            mount_point,
            _parent: parent,
        })
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        &self.mount_point
    }

    fn ballast(&self) -> PathBuf {
        self.mount_point.join("ballast")
    }

    /// Fills the filesystem with a ballast file until a write fails with ENOSPC; returns its size.
    pub fn fill(&self) -> u64 {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.ballast())
            .expect("create ballast");
        let chunk = vec![0x5au8; 4096];
        let mut written = 0u64;
        loop {
            match file.write(&chunk) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
                Err(e) => panic!("ballast: {e}"),
            }
        }
        let _ = file.sync_all();
        written
    }

    /// Removes the ballast, giving its space back.
    pub fn free(&self) {
        let _ = std::fs::remove_file(self.ballast());
    }

    /// Remounts read-only (`true`) or read-write.
    pub fn set_read_only(&self, read_only: bool) -> Result<(), String> {
        let options = if read_only {
            "remount,ro"
        } else {
            "remount,rw"
        };
        let target = self.mount_point.to_string_lossy().into_owned();
        run("mount", &["-o", options, &target])
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let target = self.mount_point.to_string_lossy().into_owned();
        if run("umount", &[&target]).is_err() {
            let _ = run("umount", &["-l", &target]);
        }
    }
}
