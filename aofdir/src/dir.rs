//! The AOF directory on disk: loading its manifest, persisting it atomically, upgrading a single-file AOF,
//! listing the files to replay and deleting history files.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::manifest::{AofFile, Manifest, ManifestError};

/// Why the AOF directory cannot be used. Each names the file and what went wrong, as Redis logs it.
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    /// The manifest is malformed.
    #[error("the AOF manifest {path} is invalid: {source}")]
    Manifest {
        /// The manifest's path.
        path: PathBuf,
        /// What is wrong, and at which line.
        source: ManifestError,
    },
    /// A file the manifest lists is missing.
    #[error("the AOF file {0} listed in the manifest does not exist")]
    Missing(PathBuf),
    /// A filesystem call failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done, e.g. `can't rename`.
        what: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The system's error.
        source: io::Error,
    },
}

fn io_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> DirError + 'a {
    move |source| DirError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// One AOF directory: `<dir>/<appenddirname>`, with files named after `appendfilename`.
#[derive(Clone, Debug)]
pub struct AofDir {
    /// The server's working directory (`dir`), where a pre-7.0 single-file AOF lives.
    root: PathBuf,
    /// `<root>/<appenddirname>`.
    path: PathBuf,
    /// `appendfilename`, the prefix of every file name.
    filename: String,
}

/// A file to replay at startup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadFile {
    /// Its path.
    pub path: PathBuf,
    /// Whether it is the base (which may be an RDB file or start with an RDB preamble).
    pub is_base: bool,
    /// Its size in bytes.
    pub size: u64,
}

impl AofDir {
    /// The directory `<root>/<appenddirname>` for files named `<appendfilename>.*`.
    pub fn new(root: impl Into<PathBuf>, appenddirname: &str, appendfilename: &str) -> AofDir {
        let root = root.into();
        AofDir {
            path: root.join(appenddirname),
            root,
            filename: appendfilename.to_string(),
        }
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `appendfilename`.
    pub fn filename(&self) -> &str {
        &self.filename
    }

    /// The path of a file of the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The manifest's path, `<appendfilename>.manifest`.
    pub fn manifest_path(&self) -> PathBuf {
        self.file(&format!("{}.manifest", self.filename))
    }

    /// Where writes go while a rewrite runs with the AOF not yet on (`temp-<appendfilename>.incr`).
    pub fn temp_incr_path(&self) -> PathBuf {
        self.file(&format!("temp-{}.incr", self.filename))
    }

    /// Loads the manifest (`aofLoadManifestFromDisk`): an empty one when the directory or the manifest does
    /// not exist.
    pub fn load_manifest(&self) -> Result<Manifest, DirError> {
        let path = self.manifest_path();
        match fs::read(&path) {
            Ok(bytes) => {
                Manifest::parse(&bytes).map_err(|source| DirError::Manifest { path, source })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Manifest::new()),
            Err(e) => Err(io_err("can't open the AOF manifest", &path)(e)),
        }
    }

    /// Writes the manifest if it changed (`persistAofManifest`): to a temporary file, fsynced, renamed over
    /// the manifest, then the directory fsynced, so a crash leaves the old or the new manifest.
    pub fn persist(&self, manifest: &mut Manifest) -> Result<(), DirError> {
        if !manifest.is_dirty() {
            return Ok(());
        }
        fs::create_dir_all(&self.path)
            .map_err(io_err("can't create the AOF directory", &self.path))?;
        let target = self.manifest_path();
        let temp = self.file(&format!("temp-{}.manifest", self.filename));
        let mut file =
            File::create(&temp).map_err(io_err("can't open the AOF manifest file", &temp))?;
        file.write_all(&manifest.to_bytes())
            .map_err(io_err("can't write the temporary AOF manifest file", &temp))?;
        file.sync_all()
            .map_err(io_err("can't fsync the temporary AOF manifest file", &temp))?;
        drop(file);
        fs::rename(&temp, &target).map_err(io_err(
            "can't rename the temporary AOF manifest file",
            &temp,
        ))?;
        sync_dir(&self.path)?;
        manifest.mark_persisted();
        Ok(())
    }

    /// Moves a pre-7.0 single-file AOF (`<root>/<appendfilename>`) into the directory as its base, when Redis
    /// would (`loadAppendOnlyFiles`' three upgrade cases), and persists the manifest first so a crash in
    /// between is retried at the next start. Returns whether it upgraded.
    pub fn upgrade_if_needed(&self, manifest: &mut Manifest) -> Result<bool, DirError> {
        let old = self.root.join(&self.filename);
        if !old.is_file() {
            return Ok(false);
        }
        let only_base_named_old = manifest.incrs().is_empty()
            && manifest.base().is_some_and(|b| {
                b.name == self.filename.as_bytes() && !self.file(&self.filename).exists()
            });
        if self.path.is_dir() && !manifest.is_empty() && !only_base_named_old {
            return Ok(false);
        }
        fs::create_dir_all(&self.path)
            .map_err(io_err("can't open or create append-only dir", &self.path))?;
        manifest.set_upgraded_base(&self.filename);
        self.persist(manifest)?;
        let new = self.file(&self.filename);
        fs::rename(&old, &new).map_err(io_err(
            "can't move the old AOF file into the AOF directory",
            &old,
        ))?;
        Ok(true)
    }

    /// The files to replay, in order, with their sizes (`getBaseAndIncrAppendOnlyFilesSize`): a listed file
    /// that is missing is an error, as in Redis.
    pub fn load_files(&self, manifest: &Manifest) -> Result<Vec<LoadFile>, DirError> {
        manifest
            .load_order()
            .enumerate()
            .map(|(i, f)| {
                let path = self.path.join(f.name_lossy());
                match fs::metadata(&path) {
                    Ok(meta) => Ok(LoadFile {
                        is_base: i == 0 && manifest.base().is_some(),
                        size: meta.len(),
                        path,
                    }),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Err(DirError::Missing(path)),
                    Err(e) => Err(io_err("can't stat the AOF file", &path)(e)),
                }
            })
            .collect()
    }

    /// Opens an incr file for appending, creating it if needed.
    pub fn open_for_append(&self, name: &str) -> Result<File, DirError> {
        let path = self.file(name);
        OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io_err("can't open the append-only file", &path))
    }

    /// Deletes the history files and persists the manifest without them (`aofDelHistoryFiles`). Returns the
    /// names deleted, for the log. A file already gone is not an error.
    pub fn delete_history(&self, manifest: &mut Manifest) -> Result<Vec<AofFile>, DirError> {
        let gone = manifest.take_history();
        for file in &gone {
            let path = self.path.join(file.name_lossy());
            match fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(io_err("can't remove the history file", &path)(e))
                }
                _ => {}
            }
        }
        self.persist(manifest)?;
        Ok(gone)
    }
}

/// fsyncs a directory so a rename in it is durable (`fsyncFileDir`).
fn sync_dir(path: &Path) -> Result<(), DirError> {
    let dir = File::open(path).map_err(io_err("can't open the AOF directory", path))?;
    match dir.sync_all() {
        // Some filesystems cannot fsync a directory (EBADF, EINVAL): Redis ignores that too.
        Err(e) if !matches!(e.raw_os_error(), Some(9 | 22)) => {
            Err(io_err("can't fsync the AOF directory", path)(e))
        }
        _ => Ok(()),
    }
}
