//! Fakeroot mode: privileged operations recorded instead of performed.
//!
//! Records are keyed by the file itself (device and inode), so a rename or a
//! hard link keeps them and the last unlink forgets them. The stat family
//! reports them: a recorded owner, the full recorded mode (setuid bits
//! included), a recorded device type and number; files owned by the user
//! who runs catbox appear owned by root. The state can be saved to a file
//! and loaded by the next run, so that configure, make and make install can
//! be separate sandboxed commands, and written as an mtree(5) manifest from
//! which `bsdtar` builds the package archive with the faked metadata.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What is recorded for one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The device of the file (as `st_dev`).
    pub dev: u64,
    /// The inode of the file.
    pub ino: u64,
    /// The names it is known by (hard links, renames followed), for the
    /// report.
    pub paths: Vec<PathBuf>,
    /// The owner a chown asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// The group a chown asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// The mode a chmod asked for. Its setuid, setgid and sticky bits are
    /// what the file appears to have (the kernel may drop them for a
    /// non-root user); the permission bits are the file's own, so that a
    /// later chmod or ACL change shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// For a faked device node: its type (`S_IFCHR` or `S_IFBLK`) and number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<(u32, u64)>,
}

#[derive(Serialize, Deserialize)]
struct StateFile {
    format: String,
    records: Vec<Record>,
}

const STATE_FORMAT: &str = "catbox-fakeroot-1";

/// The fakeroot records of a run.
#[derive(Debug, Clone, Default)]
pub struct FakeDb {
    records: HashMap<(u64, u64), Record>,
    uid: u32,
    gid: u32,
}

fn state_error(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::FakerootState {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

impl FakeDb {
    /// An empty database for a run by the current user.
    pub fn new() -> FakeDb {
        FakeDb {
            records: HashMap::new(),
            // SAFETY: getuid/getgid cannot fail.
            uid: unsafe { libc::getuid() },
            // SAFETY: as above.
            gid: unsafe { libc::getgid() },
        }
    }

    /// Load a state file. A file that does not exist gives an empty
    /// database (the first run); one that cannot be read or parsed is an
    /// error, never silently empty.
    pub fn load(path: &Path) -> Result<FakeDb> {
        let mut db = FakeDb::new();
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(db),
            Err(e) => return Err(state_error(path, format!("cannot read it: {e}"))),
        };
        let state: StateFile = serde_json::from_slice(&text)
            .map_err(|e| state_error(path, format!("not a catbox fakeroot state file: {e}")))?;
        if state.format != STATE_FORMAT {
            return Err(state_error(
                path,
                format!(
                    "unknown format {:?} (expected {STATE_FORMAT:?})",
                    state.format
                ),
            ));
        }
        for r in state.records {
            db.records.insert((r.dev, r.ino), r);
        }
        Ok(db)
    }

    /// Save the state file (written to a temporary name, then renamed, so a
    /// crash never leaves half a file).
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut records: Vec<Record> = self.records.values().cloned().collect();
        records.sort_by(|a, b| a.paths.cmp(&b.paths));
        let state = StateFile {
            format: STATE_FORMAT.to_string(),
            records,
        };
        let text = serde_json::to_vec_pretty(&state).map_err(|e| state_error(path, e))?;
        let mut tmp = path.as_os_str().to_os_string();
        tmp.push(".tmp-catbox");
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, &text)
            .and_then(|_| std::fs::rename(&tmp, path))
            .map_err(|e| state_error(path, format!("cannot write it: {e}")))
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there is no record.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The record of a file, if any.
    pub fn get(&self, dev: u64, ino: u64) -> Option<&Record> {
        self.records.get(&(dev, ino))
    }

    fn entry(&mut self, dev: u64, ino: u64, path: &Path) -> &mut Record {
        let r = self.records.entry((dev, ino)).or_insert_with(|| Record {
            dev,
            ino,
            ..Record::default()
        });
        if !r.paths.iter().any(|p| p == path) {
            r.paths.push(path.to_path_buf());
        }
        r
    }

    /// Record a chown (`u32::MAX` means "unchanged", as in chown(2)).
    pub fn chown(&mut self, dev: u64, ino: u64, path: &Path, uid: u32, gid: u32) {
        let r = self.entry(dev, ino, path);
        if uid != u32::MAX {
            r.uid = Some(uid);
        }
        if gid != u32::MAX {
            r.gid = Some(gid);
        }
    }

    /// Record a chmod's full mode.
    pub fn chmod(&mut self, dev: u64, ino: u64, path: &Path, mode: u32) {
        self.entry(dev, ino, path).mode = Some(mode & 0o7777);
    }

    /// Record a device node made as an empty file (its permission bits
    /// stay the file's own).
    pub fn mknod(&mut self, dev: u64, ino: u64, path: &Path, kind: u32, rdev: u64) {
        self.entry(dev, ino, path).device = Some((kind, rdev));
    }

    /// A name of the file (dev, ino) was removed; the record goes with the
    /// last link (`nlink` as it was before the call; 0 for a directory).
    pub fn unlinked(&mut self, dev: u64, ino: u64, nlink: u64, path: &Path) {
        if nlink <= 1 {
            self.records.remove(&(dev, ino));
        } else if let Some(r) = self.records.get_mut(&(dev, ino)) {
            r.paths.retain(|p| p != path);
        }
    }

    /// A hard link `path` to (dev, ino) was made.
    pub fn linked(&mut self, dev: u64, ino: u64, path: &Path) {
        if self.records.contains_key(&(dev, ino)) {
            self.entry(dev, ino, path);
        }
    }

    /// `from` was renamed to `to`: names of recorded files follow, those
    /// below a renamed directory too.
    pub fn renamed(&mut self, from: &Path, to: &Path) {
        for r in self.records.values_mut() {
            for p in &mut r.paths {
                if let Ok(rest) = p.strip_prefix(from) {
                    *p = if rest.as_os_str().is_empty() {
                        to.to_path_buf()
                    } else {
                        to.join(rest)
                    };
                }
            }
        }
    }

    /// The owner, permission bits and type a file appears to have.
    pub fn apparent(
        &self,
        dev: u64,
        ino: u64,
        uid: u32,
        gid: u32,
        mode: u32,
        rdev: u64,
    ) -> (u32, u32, u32, u64) {
        let mut out = (
            if uid == self.uid { 0 } else { uid },
            if gid == self.gid { 0 } else { gid },
            mode,
            rdev,
        );
        if let Some(r) = self.records.get(&(dev, ino)) {
            if let Some(u) = r.uid {
                out.0 = u;
            }
            if let Some(g) = r.gid {
                out.1 = g;
            }
            if let Some(m) = r.mode {
                out.2 = (out.2 & !0o7000) | (m & 0o7000);
            }
            if let Some((kind, d)) = r.device {
                out.2 = (out.2 & !libc::S_IFMT) | kind;
                out.3 = d;
            }
        }
        out
    }

    /// Patch a `struct stat` (x86_64 layout) as the tracee will see it.
    pub fn patch_stat(&self, st: &mut [u8; STAT_SIZE]) {
        let dev = u64::from_ne_bytes(st[0..8].try_into().unwrap_or_default());
        let ino = u64::from_ne_bytes(st[8..16].try_into().unwrap_or_default());
        let mode = u32::from_ne_bytes(st[24..28].try_into().unwrap_or_default());
        let uid = u32::from_ne_bytes(st[28..32].try_into().unwrap_or_default());
        let gid = u32::from_ne_bytes(st[32..36].try_into().unwrap_or_default());
        let rdev = u64::from_ne_bytes(st[40..48].try_into().unwrap_or_default());
        let (u, g, m, r) = self.apparent(dev, ino, uid, gid, mode, rdev);
        st[24..28].copy_from_slice(&m.to_ne_bytes());
        st[28..32].copy_from_slice(&u.to_ne_bytes());
        st[32..36].copy_from_slice(&g.to_ne_bytes());
        st[40..48].copy_from_slice(&r.to_ne_bytes());
    }

    /// Patch a `struct statx` as the tracee will see it.
    pub fn patch_statx(&self, st: &mut [u8; STATX_SIZE]) {
        let rd32 = |st: &[u8; STATX_SIZE], o: usize| {
            u32::from_ne_bytes(st[o..o + 4].try_into().unwrap_or_default())
        };
        let uid = rd32(st, 20);
        let gid = rd32(st, 24);
        let mode = u16::from_ne_bytes([st[28], st[29]]) as u32;
        let ino = u64::from_ne_bytes(st[32..40].try_into().unwrap_or_default());
        let rdev = libc::makedev(rd32(st, 128), rd32(st, 132));
        let dev = libc::makedev(rd32(st, 136), rd32(st, 140));
        let (u, g, m, r) = self.apparent(dev, ino, uid, gid, mode, rdev);
        st[20..24].copy_from_slice(&u.to_ne_bytes());
        st[24..28].copy_from_slice(&g.to_ne_bytes());
        st[28..30].copy_from_slice(&(m as u16).to_ne_bytes());
        st[128..132].copy_from_slice(&libc::major(r).to_ne_bytes());
        st[132..136].copy_from_slice(&libc::minor(r).to_ne_bytes());
    }

    /// The apparent owners and modes of the recorded files, by path, for
    /// the report: (ownerships, modes).
    pub fn summary(&self) -> (BTreeMap<String, (u32, u32)>, BTreeMap<String, u32>) {
        self.summary_as(&|p| std::fs::symlink_metadata(p).ok())
    }

    /// [`FakeDb::summary`], with `lstat` giving a path's metadata as the
    /// build saw it (in a root view, through the view).
    pub fn summary_as(
        &self,
        lstat: &dyn Fn(&Path) -> Option<std::fs::Metadata>,
    ) -> (BTreeMap<String, (u32, u32)>, BTreeMap<String, u32>) {
        let mut own = BTreeMap::new();
        let mut modes = BTreeMap::new();
        for r in self.records.values() {
            for path in &r.paths {
                let Some(md) = lstat(path) else {
                    continue;
                };
                if md.dev() != r.dev || md.ino() != r.ino {
                    continue;
                }
                let (u, g, m, _) =
                    self.apparent(r.dev, r.ino, md.uid(), md.gid(), md.mode(), md.rdev());
                let key = path.to_string_lossy().into_owned();
                if r.uid.is_some() || r.gid.is_some() {
                    own.insert(key.clone(), (u, g));
                }
                if r.mode.is_some() || r.device.is_some() {
                    modes.insert(key, m);
                }
            }
        }
        (own, modes)
    }

    /// Write an mtree(5) manifest of the tree at `root` with the apparent
    /// metadata, for `bsdtar -cf pkg.tar @manifest`. Regular files name their
    /// contents by absolute path, so bsdtar can run from anywhere.
    pub fn write_manifest(&self, root: &Path, out: &mut dyn Write) -> io::Result<()> {
        self.write_manifest_as(root, out, &|_| None, &|_| false)
    }

    /// [`FakeDb::write_manifest`], where `identity` gives the (dev, ino) the
    /// build knew a file by, from its path below `root` (in a root view the
    /// image's copies are new files; the records name the build's view),
    /// and `skip` leaves out an entry (and what is below it) by its path
    /// (the image's own removal list is no file of the package).
    pub fn write_manifest_as(
        &self,
        root: &Path,
        out: &mut dyn Write,
        identity: &dyn Fn(&Path) -> Option<(u64, u64)>,
        skip: &dyn Fn(&Path) -> bool,
    ) -> io::Result<()> {
        writeln!(out, "#mtree")?;
        let root = std::fs::canonicalize(root)?;
        let mut stack = vec![root.clone()];
        let mut entries = Vec::new();
        while let Some(dir) = stack.pop() {
            let mut children: Vec<PathBuf> = std::fs::read_dir(&dir)?
                .map(|e| e.map(|e| e.path()))
                .collect::<io::Result<_>>()?;
            children.sort();
            for c in children.into_iter().rev() {
                if skip(&c) {
                    continue;
                }
                let md = std::fs::symlink_metadata(&c)?;
                if md.is_dir() {
                    stack.push(c.clone());
                }
                entries.push((c, md));
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let root_md = std::fs::symlink_metadata(&root)?;
        self.manifest_line(out, &root, &root, &root_md, identity)?;
        for (p, md) in &entries {
            self.manifest_line(out, &root, p, md, identity)?;
        }
        Ok(())
    }

    fn manifest_line(
        &self,
        out: &mut dyn Write,
        root: &Path,
        p: &Path,
        md: &std::fs::Metadata,
        identity: &dyn Fn(&Path) -> Option<(u64, u64)>,
    ) -> io::Result<()> {
        let rel = p.strip_prefix(root).unwrap_or(p);
        let (dev, ino) = identity(rel).unwrap_or((md.dev(), md.ino()));
        let mut name = b".".to_vec();
        if !rel.as_os_str().is_empty() {
            name.push(b'/');
            name.extend_from_slice(rel.as_os_str().as_bytes());
        }
        let (u, g, m, rdev) = self.apparent(dev, ino, md.uid(), md.gid(), md.mode(), md.rdev());
        let kind = match m & libc::S_IFMT {
            libc::S_IFDIR => "dir",
            libc::S_IFLNK => "link",
            libc::S_IFCHR => "char",
            libc::S_IFBLK => "block",
            libc::S_IFIFO => "fifo",
            libc::S_IFSOCK => "socket",
            _ => "file",
        };
        out.write_all(&mtree_escape(&name))?;
        write!(
            out,
            " type={kind} uid={u} gid={g} mode={:04o} time={}.{:09}",
            m & 0o7777,
            md.mtime(),
            md.mtime_nsec()
        )?;
        if u == 0 {
            write!(out, " uname=root")?;
        }
        if g == 0 {
            write!(out, " gname=root")?;
        }
        match kind {
            "file" => {
                write!(out, " size={} contents=", md.size())?;
                out.write_all(&mtree_escape(p.as_os_str().as_bytes()))?;
            }
            "link" => {
                let t = std::fs::read_link(p)?;
                write!(out, " link=")?;
                out.write_all(&mtree_escape(t.as_os_str().as_bytes()))?;
            }
            "char" | "block" => {
                write!(
                    out,
                    " device=native,{},{}",
                    libc::major(rdev),
                    libc::minor(rdev)
                )?;
            }
            _ => {}
        }
        writeln!(out)
    }
}

/// mtree(5) escapes: anything not printable ASCII, space, `\`, `#` and `=`
/// as a backslash and three octal digits.
fn mtree_escape(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    for &c in b {
        if c.is_ascii_graphic() && c != b'\\' && c != b'#' && c != b'=' {
            out.push(c);
        } else {
            out.extend_from_slice(format!("\\{c:03o}").as_bytes());
        }
    }
    out
}

/// Size of `struct stat` on x86_64.
pub const STAT_SIZE: usize = 144;
/// Size of `struct statx`.
pub const STATX_SIZE: usize = 256;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_follow_inode_and_state_round_trips() {
        let mut db = FakeDb::new();
        db.chown(1, 2, Path::new("/x/a"), 0, u32::MAX);
        db.chown(1, 2, Path::new("/x/a"), u32::MAX, 5);
        db.chmod(1, 2, Path::new("/x/a"), 0o104755);
        db.mknod(
            1,
            3,
            Path::new("/x/null"),
            libc::S_IFCHR,
            libc::makedev(1, 3),
        );
        let r = db.get(1, 2).unwrap();
        assert_eq!((r.uid, r.gid, r.mode), (Some(0), Some(5), Some(0o4755)));
        let (u, g, m, _) = db.apparent(1, 2, 1000, 1000, libc::S_IFREG | 0o755, 0);
        assert_eq!((u, g, m), (0, 5, libc::S_IFREG | 0o4755));
        let (_, _, m, rdev) = db.apparent(1, 3, 1000, 1000, libc::S_IFREG | 0o644, 0);
        assert_eq!(
            m,
            libc::S_IFCHR | 0o644,
            "a device keeps the file's own permission bits"
        );
        assert_eq!(rdev, libc::makedev(1, 3));
        db.linked(1, 2, Path::new("/x/b"));
        db.renamed(Path::new("/x"), Path::new("/y"));
        assert_eq!(
            db.get(1, 2).unwrap().paths,
            vec![PathBuf::from("/y/a"), PathBuf::from("/y/b")]
        );
        db.unlinked(1, 2, 2, Path::new("/y/a"));
        assert_eq!(db.get(1, 2).unwrap().paths, vec![PathBuf::from("/y/b")]);
        let dir = std::env::temp_dir().join(format!("catbox-fr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("state.json");
        db.save(&f).unwrap();
        let back = FakeDb::load(&f).unwrap();
        assert_eq!(back.get(1, 2), db.get(1, 2));
        assert_eq!(back.get(1, 3), db.get(1, 3));
        db.unlinked(1, 2, 1, Path::new("/y/b"));
        assert!(db.get(1, 2).is_none());
        std::fs::write(&f, b"{ not json").unwrap();
        let e = FakeDb::load(&f).unwrap_err();
        assert!(
            e.to_string().contains("not a catbox fakeroot state file"),
            "{e}"
        );
        std::fs::write(&f, br#"{"format":"other","records":[]}"#).unwrap();
        assert!(FakeDb::load(&f).is_err());
        assert!(FakeDb::load(&dir.join("missing.json")).unwrap().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn escapes_mtree_names() {
        assert_eq!(
            mtree_escape(b"a b#c=d\\"),
            b"a\\040b\\043c\\075d\\134".to_vec()
        );
    }
}
