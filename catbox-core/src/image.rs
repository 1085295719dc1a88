//! The root view ([`crate::Sandbox::image`]): the build sees the host's
//! whole file tree, and its writes outside the writable paths land in an
//! image directory instead of the host.
//!
//! # Mechanism
//!
//! The kernel's own machinery does the work, at native speed; the tracer
//! goes on judging, logging and faking as in the other modes.
//!
//! * The sandboxed child enters a new user and mount namespace. The
//!   supervisor writes its id maps: the whole id range when it runs as root
//!   with `CAP_SETUID`, otherwise just the caller's own uid and gid.
//! * A tmpfs is mounted on the image directory (in the child's namespace
//!   only). It holds `up/N` and `wk/N`, the upper and work directories of one
//!   overlay filesystem per captured host directory, and `root`, the new root.
//! * The new root is built from the host's `/`: a top-level directory with
//!   no mounts below it becomes an overlay (lower: the host directory, upper:
//!   `up/N`) and is *captured*; `/proc`, `/sys`, `/dev` and other pseudo file
//!   systems are bound as they are; a directory that has mounts below it
//!   (here `/mnt`) is rebuilt on the tmpfs and its entries handled the same
//!   way, one level down; symlinks are copied and files bound. The writable
//!   paths are then bound over the view, so writes there hit the real files.
//!   The child `pivot_root`s into it and the old root is detached.
//! * An overlay of a whole directory cannot be made when another mount lies
//!   below it: the kernel refuses to clone a mount whose children are locked
//!   (all inherited mounts are locked in a user namespace). Hence the
//!   per-directory layout.
//! * Without the full id range, the host's root-owned directories are not
//!   writable to the build, and a file owned by an unmapped id cannot be
//!   copied up. The supervisor therefore mirrors each captured directory's
//!   directories into its upper layer before mounting (the *skeleton*): the
//!   build then owns every directory of the view and can create, replace and
//!   remove entries anywhere. A host file it could not write before (owned
//!   by another user) can be replaced but not modified in place.
//! * Paths the supervisor reads back from the kernel (`/proc/<pid>/fd/N`)
//!   are relative to the namespace's root, which is the new root: they are
//!   the build's view (`/usr/bin/hello`) with no translation. The resolver
//!   resolves absolute paths from the child's root.
//! * After the run, the upper layers are copied into the image directory
//!   (the supervisor holds descriptors on the tmpfs and on each overlay, so
//!   they outlive the namespace); whiteouts and opaque directories become the
//!   removal list `DIR/.catbox-removed`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ffi::{CString, OsStr};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::Serializer;

use crate::error::{Error, Result};
use crate::policy::Rule;

/// The name of the removal list inside the image directory.
pub const REMOVED_FILE: &str = ".catbox-removed";

/// File systems bound into the view as they are (their writes are judged by
/// the policy as in the other modes).
const PSEUDO_FS: &[&str] = &[
    "proc",
    "sysfs",
    "devtmpfs",
    "devpts",
    "cgroup",
    "cgroup2",
    "securityfs",
    "debugfs",
    "tracefs",
    "mqueue",
    "bpf",
    "pstore",
    "configfs",
    "fusectl",
    "hugetlbfs",
    "binfmt_misc",
    "autofs",
    "efivarfs",
    "selinuxfs",
    "rpc_pipefs",
    "nsfs",
];

/// Directories always bound as they are.
const BOUND_DIRS: &[&str] = &["/proc", "/sys", "/dev"];

/// What the image directory holds after a run, by path in the build's view.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImageReport {
    /// The image directory.
    #[serde(serialize_with = "lossy")]
    pub dir: PathBuf,
    /// Files, links and directories the build created that the host does
    /// not have.
    #[serde(serialize_with = "lossy_list")]
    pub added: Vec<PathBuf>,
    /// Host files the build changed (its version is in the image).
    #[serde(serialize_with = "lossy_list")]
    pub modified: Vec<PathBuf>,
    /// Host paths the build removed (or replaced a directory at: the image
    /// then holds the new one). Also listed in `DIR/.catbox-removed`.
    #[serde(serialize_with = "lossy_list")]
    pub removed: Vec<PathBuf>,
}

fn lossy<S: Serializer>(p: &Path, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

fn lossy_list<S: Serializer>(v: &[PathBuf], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(|p| p.to_string_lossy()))
}

/// One step of the child's setup, prepared before `fork` so that the child
/// only makes system calls. Relative paths are relative to the tmpfs root
/// (the child's working directory during the setup).
#[derive(Debug)]
enum Op {
    Mkdir(CString, u32),
    Symlink(CString, CString),
    /// An empty file to bind a non-directory onto.
    File(CString),
    Bind {
        src: CString,
        dst: CString,
        recursive: bool,
    },
    Overlay {
        dst: CString,
        opts: CString,
    },
    Umount(CString),
}

/// Which setup step failed, as sent by the child: the tag's offset.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step {
    Unshare = 0,
    Private,
    Tmpfs,
    Mkdir,
    Symlink,
    File,
    Bind,
    Overlay,
    Umount,
    Pivot,
}

impl Step {
    const ALL: [Step; 10] = [
        Step::Unshare,
        Step::Private,
        Step::Tmpfs,
        Step::Mkdir,
        Step::Symlink,
        Step::File,
        Step::Bind,
        Step::Overlay,
        Step::Umount,
        Step::Pivot,
    ];

    pub(crate) fn from_index(i: i32) -> Option<Step> {
        Step::ALL.get(usize::try_from(i).ok()?).copied()
    }

    /// The error for this step failing with `source`.
    pub(crate) fn error(self, source: std::io::Error) -> Error {
        let (what, hint) = match self {
            Step::Unshare => (
                "enter a new user and mount namespace",
                " (user namespaces are disabled or limited here: check \
                 /proc/sys/user/max_user_namespaces, \
                 /proc/sys/kernel/unprivileged_userns_clone and AppArmor's \
                 kernel.apparmor_restrict_unprivileged_userns; as root it works regardless)",
            ),
            Step::Private => ("make the namespace's mounts private", ""),
            Step::Tmpfs => ("mount a tmpfs on the image directory", ""),
            Step::Mkdir => ("make a directory of the view", ""),
            Step::Symlink => ("copy a top-level symlink into the view", ""),
            Step::File => ("make a mount point for a file", ""),
            Step::Bind => ("bind a host path into the view", ""),
            Step::Overlay => (
                "mount an overlay filesystem",
                " (an unprivileged overlay needs Linux 5.11 or later with the \
                 `userxattr` option; run as root, or use DESTDIR instead)",
            ),
            Step::Umount => ("hide the image's tmpfs from the view", ""),
            Step::Pivot => ("change into the view (pivot_root)", ""),
        };
        Error::ImageSetup { what, hint, source }
    }
}

/// One captured host directory: an overlay at `view` with upper `up/N`.
#[derive(Debug, Clone)]
pub(crate) struct Layer {
    view: PathBuf,
    n: usize,
}

/// Everything the root view needs, prepared before `fork`.
#[derive(Debug)]
pub(crate) struct Plan {
    dir: PathBuf,
    dir_c: CString,
    ops: Vec<Op>,
    cwd: CString,
    full_map: bool,
    uid: u32,
    gid: u32,
    layers: Vec<Layer>,
    /// The writable paths bound over the view (direct to the host).
    writable: Vec<PathBuf>,
    /// Directories of the upper layers made before mounting, by view path.
    skeleton: HashSet<PathBuf>,
    /// The same, with their layers, parents first.
    skeleton_list: Vec<(usize, PathBuf)>,
}

/// The supervisor's handles on a running view.
#[derive(Debug)]
pub(crate) struct Handles {
    /// The tmpfs root (holds `up/N`).
    tmpfs: OwnedFd,
    /// The view's root, for the resolver.
    pub(crate) root: OwnedFd,
    /// Each layer's overlay root, in `Plan::layers` order (keeps the
    /// overlays alive after the namespace ends, for the manifest).
    overlays: Vec<OwnedFd>,
    /// When the view was complete (the coarse clock tmpfs stamps with): an
    /// upper directory changed in the run has an mtime at or after it.
    since: (i64, i64),
}

fn cs(p: impl AsRef<OsStr>) -> Result<CString> {
    let b = p.as_ref().as_bytes();
    CString::new(b).map_err(|_| Error::NulByte(p.as_ref().to_string_lossy().into_owned()))
}

fn image_err(reason: impl Into<String>) -> Error {
    Error::Image {
        reason: reason.into(),
    }
}

/// `root/<path without its leading />`.
fn in_root(p: &Path) -> PathBuf {
    Path::new("root").join(p.strip_prefix("/").unwrap_or(p))
}

/// The mount points of this process's namespace and their file system
/// types, from `/proc/self/mountinfo`.
fn mounts() -> Result<Vec<(PathBuf, String)>> {
    let text = std::fs::read("/proc/self/mountinfo").map_err(|source| Error::Os {
        what: "read /proc/self/mountinfo",
        source,
    })?;
    let mut out = Vec::new();
    for line in text.split(|&c| c == b'\n') {
        let fields: Vec<&[u8]> = line.split(|&c| c == b' ').collect();
        let Some(sep) = fields.iter().position(|f| *f == b"-") else {
            continue;
        };
        let (Some(point), Some(fstype)) = (fields.get(4), fields.get(sep + 1)) else {
            continue;
        };
        out.push((
            PathBuf::from(OsStr::from_bytes(&unescape(point))),
            String::from_utf8_lossy(fstype).into_owned(),
        ));
    }
    Ok(out)
}

/// mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\' && i + 3 < s.len() && s[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            let v = (s[i + 1] - b'0') * 64 + (s[i + 2] - b'0') * 8 + (s[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

/// Whether this process may write a full id map for its child namespace.
fn can_map_all() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return false;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        // CAP_SETUID is bit 7, CAP_SETGID bit 6.
        .is_some_and(|caps| caps & (1 << 7) != 0 && caps & (1 << 6) != 0)
}

/// A lower directory the overlay option string can carry.
fn overlay_safe(p: &Path) -> bool {
    !p.as_os_str()
        .as_bytes()
        .iter()
        .any(|c| matches!(c, b',' | b':' | b'\\' | b'='))
}

struct Builder<'a> {
    mounts: &'a [(PathBuf, String)],
    ops: Vec<Op>,
    layers: Vec<Layer>,
}

impl Builder<'_> {
    fn is_pseudo(&self, p: &Path) -> bool {
        BOUND_DIRS.iter().any(|d| Path::new(d) == p)
            || self
                .mounts
                .iter()
                .any(|(m, t)| m == p && PSEUDO_FS.contains(&t.as_str()))
    }

    fn has_mounts_below(&self, p: &Path) -> bool {
        self.mounts.iter().any(|(m, _)| m != p && m.starts_with(p))
    }

    /// Lay out the entries of `dir`, a host directory that has mounts below
    /// it (so it cannot be one overlay).
    fn mixed(&mut self, dir: &Path) -> Result<()> {
        let rd = std::fs::read_dir(dir).map_err(|source| Error::Os {
            what: "list a host directory for the root view",
            source,
        })?;
        let mut names: Vec<_> = rd.filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
        names.sort();
        for name in names {
            let p = dir.join(&name);
            let Ok(md) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            let dst = cs(in_root(&p))?;
            let ft = md.file_type();
            if ft.is_symlink() {
                let target = std::fs::read_link(&p).map_err(|source| Error::Os {
                    what: "read a top-level symlink for the root view",
                    source,
                })?;
                self.ops.push(Op::Symlink(cs(&target)?, dst));
            } else if ft.is_dir() {
                self.ops.push(Op::Mkdir(dst.clone(), md.mode() & 0o7777));
                if self.is_pseudo(&p) || !overlay_safe(&p) {
                    self.ops.push(Op::Bind {
                        src: cs(&p)?,
                        dst,
                        recursive: true,
                    });
                } else if self.has_mounts_below(&p) {
                    self.mixed(&p)?;
                } else {
                    let n = self.layers.len();
                    self.layers.push(Layer { view: p.clone(), n });
                    let mut opts = b"lowerdir=".to_vec();
                    opts.extend_from_slice(p.as_os_str().as_bytes());
                    opts.extend_from_slice(format!(",upperdir=up/{n},workdir=wk/{n}").as_bytes());
                    opts.extend_from_slice(b",userxattr");
                    self.ops.push(Op::Mkdir(cs(format!("up/{n}"))?, 0o755));
                    self.ops.push(Op::Mkdir(cs(format!("wk/{n}"))?, 0o755));
                    self.ops.push(Op::Overlay {
                        dst,
                        opts: CString::new(opts).map_err(|_| Error::NulByte(String::new()))?,
                    });
                }
            } else {
                self.ops.push(Op::File(dst.clone()));
                self.ops.push(Op::Bind {
                    src: cs(&p)?,
                    dst,
                    recursive: false,
                });
            }
        }
        Ok(())
    }
}

impl Plan {
    /// Plan the view: `dir` is the image directory (made if missing, must be
    /// empty), `rules` the writable rules (their subtrees are bound over the
    /// view), `cwd` where the command starts.
    pub(crate) fn prepare(dir: &Path, rules: &[Rule], cwd: Option<&Path>) -> Result<Plan> {
        if !dir.is_absolute() && dir.as_os_str().is_empty() {
            return Err(image_err("the image directory is empty"));
        }
        // A symlink to a directory names that directory (as for `-w`).
        match std::fs::metadata(dir) {
            Ok(md) if md.is_dir() => {
                let mut rd = std::fs::read_dir(dir).map_err(|source| Error::Os {
                    what: "list the image directory",
                    source,
                })?;
                if rd.next().is_some() {
                    return Err(image_err(format!(
                        "the image directory {} is not empty: give a new or empty \
                         directory (catbox does not merge into an existing image)",
                        dir.display()
                    )));
                }
            }
            Ok(_) => {
                return Err(image_err(format!(
                    "{} exists and is not a directory",
                    dir.display()
                )))
            }
            Err(_) => std::fs::create_dir_all(dir).map_err(|e| {
                image_err(format!(
                    "cannot create the image directory {}: {e}",
                    dir.display()
                ))
            })?,
        }
        let dir = std::fs::canonicalize(dir).map_err(|source| Error::Os {
            what: "resolve the image directory",
            source,
        })?;
        if dir == Path::new("/") {
            return Err(image_err("the image directory cannot be /"));
        }
        // The build's files are copied in after the run: find out now, not
        // after an hour of building, that they could not be.
        let dir_c = cs(&dir)?;
        // SAFETY: access with a valid C string.
        if unsafe { libc::access(dir_c.as_ptr(), libc::W_OK | libc::X_OK) } != 0 {
            return Err(image_err(format!(
                "the image directory {} is not writable by this user: {}",
                dir.display(),
                std::io::Error::last_os_error()
            )));
        }
        let mounts = mounts()?;
        if BOUND_DIRS.iter().any(|b| dir.starts_with(b))
            || mounts
                .iter()
                .any(|(m, t)| dir.starts_with(m) && PSEUDO_FS.contains(&t.as_str()))
        {
            return Err(image_err(format!(
                "the image directory {} is on a pseudo file system",
                dir.display()
            )));
        }
        let mut writable: Vec<PathBuf> = rules
            .iter()
            .filter_map(|r| match r {
                Rule::Subtree(p) => Some(p.clone()),
                _ => None,
            })
            .collect();
        if let Some(w) = writable.iter().find(|w| w.starts_with(&dir)) {
            return Err(image_err(format!(
                "the writable path {} is the image directory or inside it: the \
                 image directory receives the captured writes and must not be \
                 written by the build directly",
                w.display()
            )));
        }
        if writable.iter().any(|w| w == Path::new("/")) {
            return Err(image_err(
                "/ is writable, so nothing would be captured: give narrower writable paths",
            ));
        }
        writable.sort_by_key(|p| p.as_os_str().len());
        let mut b = Builder {
            mounts: &mounts,
            ops: Vec::new(),
            layers: Vec::new(),
        };
        b.ops.push(Op::Mkdir(cs("up")?, 0o755));
        b.ops.push(Op::Mkdir(cs("wk")?, 0o755));
        b.mixed(Path::new("/"))?;
        let full_map = can_map_all();
        // The skeleton goes before the mounts that use it.
        let mut skeleton_list = Vec::new();
        if !full_map {
            let mut sk = Vec::new();
            for l in &b.layers {
                skeleton_of(&l.view, l.n, &writable, &dir, &mut sk, &mut skeleton_list);
            }
            let at = b.ops.len().min(2);
            b.ops.splice(at..at, sk);
        }
        // The writable paths, outermost first, over the view.
        let mut bound: Vec<&PathBuf> = Vec::new();
        let mut ops = std::mem::take(&mut b.ops);
        for w in &writable {
            if bound.iter().any(|o| w.starts_with(o)) || !w.exists() {
                continue;
            }
            if BOUND_DIRS.iter().any(|d| w.starts_with(d))
                || mounts
                    .iter()
                    .any(|(m, t)| w.starts_with(m) && PSEUDO_FS.contains(&t.as_str()))
            {
                continue;
            }
            ops.push(Op::Bind {
                src: cs(w)?,
                dst: cs(in_root(w))?,
                recursive: true,
            });
            if dir.starts_with(w) {
                // The recursive bind copied the image's own tmpfs into the
                // view: take it out again.
                ops.push(Op::Umount(cs(in_root(&dir))?));
            }
            bound.push(w);
        }
        let cwd = match cwd {
            Some(c) => c.to_path_buf(),
            None => std::env::current_dir().map_err(|source| Error::Os {
                what: "read the current directory",
                source,
            })?,
        };
        // SAFETY: getuid/getgid have no preconditions.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        Ok(Plan {
            dir_c,
            dir,
            ops,
            cwd: cs(&cwd)?,
            full_map,
            uid,
            gid,
            layers: b.layers,
            writable: bound.into_iter().cloned().collect(),
            skeleton: skeleton_list.iter().map(|(_, p)| p.clone()).collect(),
            skeleton_list,
        })
    }

    /// The view paths whose writes are captured (allowed by the policy).
    pub(crate) fn captured(&self) -> impl Iterator<Item = &Path> {
        self.layers.iter().map(|l| l.view.as_path())
    }

    /// The image directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// In the supervisor: write the child's id maps.
    pub(crate) fn write_maps(&self, pid: i32) -> Result<()> {
        let w = |name: &str, data: &str| {
            std::fs::write(format!("/proc/{pid}/{name}"), data).map_err(|source| {
                Error::ImageSetup {
                    what: "write the user namespace's id map",
                    hint: " (writing /proc/<pid>/uid_map was refused)",
                    source,
                }
            })
        };
        if self.full_map {
            w("uid_map", "0 0 4294967295\n")?;
            w("gid_map", "0 0 4294967295\n")?;
        } else {
            w("setgroups", "deny")?;
            w("uid_map", &format!("{0} {0} 1\n", self.uid))?;
            w("gid_map", &format!("{0} {0} 1\n", self.gid))?;
        }
        Ok(())
    }

    /// In the supervisor, while the child waits in the view's root: take
    /// handles on the tmpfs, the root and each overlay.
    pub(crate) fn handles(&self, pid: i32) -> Result<Handles> {
        let os = |what: &'static str| move |source| Error::Os { what, source };
        let root =
            open_path(&format!("/proc/{pid}/cwd"), None).map_err(os("open the view's root"))?;
        let tmpfs =
            open_path("..", Some(root.as_raw_fd())).map_err(os("open the image's tmpfs"))?;
        let mut overlays = Vec::with_capacity(self.layers.len());
        for l in &self.layers {
            let rel = l.view.strip_prefix("/").unwrap_or(&l.view);
            overlays.push(
                open_path(&rel.to_string_lossy(), Some(root.as_raw_fd()))
                    .map_err(os("open a captured directory"))?,
            );
        }
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime into a local timespec.
        unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts) };
        Ok(Handles {
            tmpfs,
            root,
            overlays,
            since: (ts.tv_sec, ts.tv_nsec),
        })
    }

    /// In the child, after `fork`: enter the namespaces. Only system calls.
    pub(crate) fn child_unshare(&self) -> std::result::Result<(), Step> {
        // SAFETY: unshare with constant flags; the child is single-threaded.
        if unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS) } != 0 {
            return Err(Step::Unshare);
        }
        Ok(())
    }

    /// In the child, once its ids are mapped: build the view and wait in its
    /// root. Only system calls on prepared arguments.
    pub(crate) fn child_build(&self) -> std::result::Result<(), Step> {
        // SAFETY: every call below gets valid NUL-terminated strings that
        // live in `self` (prepared before fork) or are literals.
        unsafe {
            if libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ) != 0
            {
                return Err(Step::Private);
            }
            if libc::mount(
                c"catbox-image".as_ptr(),
                self.dir_c.as_ptr(),
                c"tmpfs".as_ptr(),
                0,
                c"mode=0755".as_ptr() as *const libc::c_void,
            ) != 0
                || libc::chdir(self.dir_c.as_ptr()) != 0
            {
                return Err(Step::Tmpfs);
            }
            if libc::mkdir(c"root".as_ptr(), 0o755) != 0 {
                return Err(Step::Mkdir);
            }
            if libc::mount(
                c"root".as_ptr(),
                c"root".as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            ) != 0
            {
                return Err(Step::Bind);
            }
            for op in &self.ops {
                let ok = match op {
                    Op::Mkdir(p, mode) => {
                        libc::mkdir(p.as_ptr(), *mode) == 0
                            || (*libc::__errno_location() == libc::EEXIST)
                    }
                    Op::Symlink(t, l) => libc::symlink(t.as_ptr(), l.as_ptr()) == 0,
                    Op::File(p) => {
                        let fd = libc::open(
                            p.as_ptr(),
                            libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
                            0o600,
                        );
                        fd >= 0 && libc::close(fd) == 0
                    }
                    Op::Bind {
                        src,
                        dst,
                        recursive,
                    } => {
                        let rec = if *recursive { libc::MS_REC } else { 0 };
                        libc::mount(
                            src.as_ptr(),
                            dst.as_ptr(),
                            std::ptr::null(),
                            libc::MS_BIND | rec,
                            std::ptr::null(),
                        ) == 0
                    }
                    Op::Overlay { dst, opts } => {
                        libc::mount(
                            c"overlay".as_ptr(),
                            dst.as_ptr(),
                            c"overlay".as_ptr(),
                            0,
                            opts.as_ptr() as *const libc::c_void,
                        ) == 0
                    }
                    Op::Umount(p) => libc::umount2(p.as_ptr(), libc::MNT_DETACH) == 0,
                };
                if !ok {
                    return Err(match op {
                        Op::Mkdir(..) => Step::Mkdir,
                        Op::Symlink(..) => Step::Symlink,
                        Op::File(..) => Step::File,
                        Op::Bind { .. } => Step::Bind,
                        Op::Overlay { .. } => Step::Overlay,
                        Op::Umount(..) => Step::Umount,
                    });
                }
            }
            if libc::chdir(c"root".as_ptr()) != 0 {
                return Err(Step::Pivot);
            }
        }
        Ok(())
    }

    /// In the child, after the supervisor took its handles: make the view
    /// the root and go back to the starting directory.
    pub(crate) fn child_enter(&self) -> std::result::Result<(), Step> {
        // SAFETY: system calls on literals and a prepared C string.
        unsafe {
            if libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) != 0
                || libc::umount2(c".".as_ptr(), libc::MNT_DETACH) != 0
                || libc::chdir(c"/".as_ptr()) != 0
            {
                return Err(Step::Pivot);
            }
            // The starting directory may be missing from the view (e.g. under
            // a pseudo file system that was not bound); `/` then.
            libc::chdir(self.cwd.as_ptr());
        }
        Ok(())
    }

    /// After the run: copy the upper layers into the image directory and
    /// say what it holds.
    pub(crate) fn collect(&self, h: &Handles) -> Result<ImageReport> {
        let mut c = Collector {
            plan: self,
            report: ImageReport {
                dir: self.dir.clone(),
                ..ImageReport::default()
            },
            links: HashMap::new(),
            made: BTreeSet::new(),
            // SAFETY: geteuid has no preconditions.
            root: unsafe { libc::geteuid() } == 0,
            skip_skeleton: false,
        };
        let tmp = format!("/proc/self/fd/{}", h.tmpfs.as_raw_fd());
        let err = |source| Error::Os {
            what: "copy the build's files into the image directory",
            source,
        };
        // Skeleton directories are listed only if they changed in the run
        // (the ctime of a tmpfs directory moves with each entry made,
        // removed or renamed in it); each is visited on its own.
        let changed = |rel: &Path| -> bool {
            let Ok(c) = CString::new(rel.as_os_str().as_bytes()) else {
                return true;
            };
            // SAFETY: fstatat into a local buffer with a valid C string.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            let r = unsafe {
                libc::fstatat(
                    h.tmpfs.as_raw_fd(),
                    c.as_ptr(),
                    &mut st,
                    libc::AT_SYMLINK_NOFOLLOW,
                )
            };
            // ctime, not mtime: overlayfs puts a directory's mtime back
            // after a copy-up into it; nothing can put a ctime back.
            r == 0 && (st.st_ctime, st.st_ctime_nsec) >= h.since
        };
        c.skip_skeleton = !self.skeleton.is_empty();
        for l in &self.layers {
            if !c.skip_skeleton || changed(Path::new(&format!("up/{}", l.n))) {
                let src = PathBuf::from(format!("{tmp}/up/{}", l.n));
                c.dir(&src, &l.view, false).map_err(err)?;
            }
        }
        let mut whole: Vec<PathBuf> = Vec::new();
        for (n, view) in &self.skeleton_list {
            if whole.iter().any(|w| view.starts_with(w)) {
                continue;
            }
            let Some(layer) = self.layers.iter().find(|l| l.n == *n) else {
                continue;
            };
            let rel = Path::new("up")
                .join(n.to_string())
                .join(view.strip_prefix(&layer.view).unwrap_or(view));
            if !changed(&rel) {
                continue;
            }
            let src = Path::new(&tmp).join(&rel);
            if !std::fs::symlink_metadata(&src).is_ok_and(|m| m.is_dir()) {
                // Removed (a whiteout), or replaced by a file or a symlink:
                // its parent changed too, and its visit reports the entry.
                // Nothing below it is the build's.
                whole.push(view.clone());
                continue;
            }
            if opaque(&src) {
                // Removed and made again: the build's own directory.
                if std::fs::symlink_metadata(view).is_ok() {
                    c.report.removed.push(view.clone());
                }
                c.make_dirs(view, &src).map_err(err)?;
                c.report.added.push(view.clone());
                c.dir(&src, view, true).map_err(err)?;
                whole.push(view.clone());
            } else {
                c.dir(&src, view, false).map_err(err)?;
            }
        }
        c.report.added.sort();
        c.report.modified.sort();
        c.report.removed.sort();
        if !c.report.removed.is_empty() {
            let mut text = Vec::new();
            for p in &c.report.removed {
                for &ch in p.as_os_str().as_bytes() {
                    match ch {
                        b'\\' => text.extend_from_slice(b"\\\\"),
                        b'\n' => text.extend_from_slice(b"\\n"),
                        _ => text.push(ch),
                    }
                }
                text.push(b'\n');
            }
            std::fs::write(self.dir.join(REMOVED_FILE), text).map_err(|source| Error::Os {
                what: "write the image's removal list",
                source,
            })?;
        }
        Ok(c.report)
    }

    /// The (dev, ino) the build saw at `view` (a path in the view), looked up
    /// after the run.
    pub(crate) fn view_identity(&self, h: &Handles, view: &Path) -> Option<(u64, u64)> {
        let md = self.view_metadata(h, view)?;
        Some((md.dev(), md.ino()))
    }

    /// `lstat` of `view` (a path in the view) as the build saw it, after the
    /// run: through the overlay that holds it (the namespace is gone, but
    /// catbox holds each overlay), or the host's own file for a path bound
    /// into the view as it is (a writable path).
    pub(crate) fn view_metadata(&self, h: &Handles, view: &Path) -> Option<std::fs::Metadata> {
        let layer = self
            .layers
            .iter()
            .zip(&h.overlays)
            .filter(|(l, _)| view.starts_with(&l.view))
            .max_by_key(|(l, _)| l.view.as_os_str().len());
        let bound = self.writable.iter().any(|w| view.starts_with(w));
        match layer {
            Some((l, fd)) if !bound => {
                let rel = view.strip_prefix(&l.view).ok()?;
                let base = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
                let p = if rel.as_os_str().is_empty() {
                    base
                } else {
                    base.join(rel)
                };
                std::fs::symlink_metadata(p).ok()
            }
            _ => std::fs::symlink_metadata(view).ok(),
        }
    }
}

/// Copy-up for an unprivileged view: a host file the build may not write
/// (another owner, or a group outside the namespace's map) cannot be copied
/// up by the overlay, so before a call that changes it the supervisor
/// replaces it with a copy the caller owns (same content, mode and times),
/// written through the view into the same directory and renamed over it.
#[derive(Debug)]
pub(crate) struct CopyUp {
    root: OwnedFd,
    uid: u32,
    gid: u32,
    /// Captured view paths, as bytes (few: one per top-level directory).
    layers: Vec<Vec<u8>>,
    seq: std::cell::Cell<u64>,
}

impl CopyUp {
    /// The copy-up of this plan's view, or `None` when the namespace maps
    /// every id (the overlay then copies up by itself).
    pub(crate) fn new(plan: &Plan, h: &Handles) -> Option<CopyUp> {
        if plan.full_map {
            return None;
        }
        Some(CopyUp {
            root: h.root.try_clone().ok()?,
            uid: plan.uid,
            gid: plan.gid,
            layers: plan
                .layers
                .iter()
                .map(|l| l.view.as_os_str().as_bytes().to_vec())
                .collect(),
            seq: std::cell::Cell::new(0),
        })
    }

    fn captured(&self, path: &[u8]) -> bool {
        self.layers
            .iter()
            .any(|l| path.starts_with(l) && matches!(path.get(l.len()), None | Some(b'/')))
    }

    /// Make the regular file at `path` (canonical, in the view) one the
    /// caller owns, if it is captured and not already. Errors are left for
    /// the call itself to meet (it then fails as it would on the host).
    pub(crate) fn ensure(&self, path: &[u8]) {
        if !self.captured(path) {
            return;
        }
        let rel = &path[1..];
        let Ok(rel_c) = CString::new(rel) else { return };
        let root = self.root.as_raw_fd();
        // SAFETY: fstatat into a local buffer with a valid C string.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstatat(root, rel_c.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) } != 0
            || st.st_mode & libc::S_IFMT != libc::S_IFREG
            || (st.st_uid == self.uid && st.st_gid == self.gid)
        {
            return;
        }
        let _ = self.replace(rel, &rel_c, &st);
    }

    fn replace(&self, rel: &[u8], rel_c: &CString, st: &libc::stat) -> std::io::Result<()> {
        let root = self.root.as_raw_fd();
        let n = self.seq.get() + 1;
        self.seq.set(n);
        let dir = match rel.iter().rposition(|&c| c == b'/') {
            Some(i) => &rel[..=i],
            None => b"".as_slice(),
        };
        let mut tmp = dir.to_vec();
        tmp.extend_from_slice(format!(".catbox-copy-up-{}-{n}", std::process::id()).as_bytes());
        let tmp_c =
            CString::new(tmp).map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
        let fd = |r: libc::c_int| -> std::io::Result<OwnedFd> {
            if r < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // SAFETY: r was just returned by openat and is owned by nobody else.
            Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(r) })
        };
        // SAFETY: openat with valid C strings relative to our root fd.
        let src =
            fd(unsafe { libc::openat(root, rel_c.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) })?;
        // SAFETY: as above.
        let dst = fd(unsafe {
            libc::openat(
                root,
                tmp_c.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
                0o600,
            )
        })?;
        let mut from = std::fs::File::from(src);
        let mut to = std::fs::File::from(dst);
        let done = std::io::copy(&mut from, &mut to).and_then(|_| {
            let times = [
                libc::timespec {
                    tv_sec: st.st_atime,
                    tv_nsec: st.st_atime_nsec,
                },
                libc::timespec {
                    tv_sec: st.st_mtime,
                    tv_nsec: st.st_mtime_nsec,
                },
            ];
            // SAFETY: fchmod/futimens on our own open fd with a local array.
            if unsafe { libc::fchmod(to.as_raw_fd(), st.st_mode & 0o7777) } != 0
                || unsafe { libc::futimens(to.as_raw_fd(), times.as_ptr()) } != 0
                || unsafe { libc::renameat(root, tmp_c.as_ptr(), root, rel_c.as_ptr()) } != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
        if done.is_err() {
            // SAFETY: unlinkat with a valid C string relative to our root fd.
            unsafe { libc::unlinkat(root, tmp_c.as_ptr(), 0) };
        }
        done
    }
}

/// Mirror the directories of the host directory `view` into `up/N`.
fn skeleton_of(
    view: &Path,
    n: usize,
    writable: &[PathBuf],
    image: &Path,
    ops: &mut Vec<Op>,
    made: &mut Vec<(usize, PathBuf)>,
) {
    if let Ok(c) = cs(format!("up/{n}")) {
        ops.push(Op::Mkdir(c, 0o755));
    }
    let Ok(c) = cs(view) else { return };
    // SAFETY: openat with a valid C string; the fd is owned below.
    let fd = unsafe {
        libc::openat(
            libc::AT_FDCWD,
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return;
    }
    // SAFETY: fd was just returned by openat and is owned by nobody else.
    let fd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let mut w = SkeletonWalk {
        n,
        writable,
        image,
        ops,
        made,
        buf: vec![0u8; 32 * 1024],
        up: PathBuf::from(format!("up/{n}")),
    };
    w.dir(&fd, view);
}

/// The walk of [`skeleton_of`]: one open, one `fstat` and the `getdents`
/// of each directory, relative to its parent's descriptor.
struct SkeletonWalk<'a> {
    n: usize,
    writable: &'a [PathBuf],
    image: &'a Path,
    ops: &'a mut Vec<Op>,
    made: &'a mut Vec<(usize, PathBuf)>,
    buf: Vec<u8>,
    /// `up/N/<the directory being walked, relative to the layer>`.
    up: PathBuf,
}

impl SkeletonWalk<'_> {
    /// The names of the subdirectories of `fd` (by `d_type`).
    fn subdirs(&mut self, fd: &OwnedFd) -> Vec<std::ffi::OsString> {
        let mut names = Vec::new();
        loop {
            // SAFETY: getdents64 writes at most buf.len() bytes into buf.
            let got = unsafe {
                libc::syscall(
                    libc::SYS_getdents64,
                    fd.as_raw_fd(),
                    self.buf.as_mut_ptr(),
                    self.buf.len(),
                )
            };
            if got <= 0 {
                return names;
            }
            let got = got as usize;
            let mut off = 0;
            // struct linux_dirent64: u64 ino, i64 off, u16 reclen, u8 type,
            // then the NUL-terminated name.
            while off + 19 <= got {
                let reclen = u16::from_ne_bytes([self.buf[off + 16], self.buf[off + 17]]) as usize;
                let dtype = self.buf[off + 18];
                let end = (off + reclen).min(got);
                let name = &self.buf[off + 19..end];
                let name = &name[..name.iter().position(|&c| c == 0).unwrap_or(name.len())];
                if dtype == libc::DT_DIR && name != b"." && name != b".." {
                    names.push(OsStr::from_bytes(name).to_os_string());
                }
                if reclen == 0 {
                    return names;
                }
                off += reclen;
            }
        }
    }

    fn dir(&mut self, fd: &OwnedFd, path: &Path) {
        for name in self.subdirs(fd) {
            let p = path.join(&name);
            if p == self.image || self.writable.iter().any(|w| p.starts_with(w)) {
                continue;
            }
            let Ok(c) = CString::new(name.as_bytes()) else {
                continue;
            };
            // SAFETY: openat relative to a live fd with a valid C string.
            let child = unsafe {
                libc::openat(
                    fd.as_raw_fd(),
                    c.as_ptr(),
                    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                )
            };
            // A directory the caller cannot list stays the host's.
            if child < 0 {
                continue;
            }
            // SAFETY: child was just returned by openat and is owned by nobody else.
            let child = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(child) };
            // SAFETY: fstat into a local buffer on a live fd.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            if unsafe { libc::fstat(child.as_raw_fd(), &mut st) } != 0 {
                continue;
            }
            self.up.push(&name);
            // Deeper than a path can name (the child makes the skeleton by
            // path): left to the overlay, like a directory we cannot list.
            if self.up.as_os_str().len() >= libc::PATH_MAX as usize - 1 {
                self.up.pop();
                continue;
            }
            if let Ok(up) = cs(&self.up) {
                self.ops.push(Op::Mkdir(up, st.st_mode & 0o7777));
                self.made.push((self.n, p.clone()));
                self.dir(&child, &p);
            }
            self.up.pop();
        }
    }
}

/// An `O_PATH` descriptor on `path` (relative to `dir` if given).
fn open_path(path: &str, dir: Option<RawFd>) -> std::io::Result<OwnedFd> {
    let c = CString::new(path).map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: c is a valid C string; the returned fd is owned by nobody else.
    let fd = unsafe {
        libc::openat(
            dir.unwrap_or(libc::AT_FDCWD),
            c.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd was just returned by openat and is owned by nobody else.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

/// The copy of the upper layers into the image directory.
struct Collector<'a> {
    plan: &'a Plan,
    report: ImageReport,
    /// Hard links seen: (dev, ino) of the upper file -> its copy.
    links: HashMap<(u64, u64), PathBuf>,
    /// Image directories made so far (by view path).
    made: BTreeSet<PathBuf>,
    root: bool,
    /// Skeleton directories are visited on their own, not from their parent.
    skip_skeleton: bool,
}

/// Give `d` the access and modification times of `md` (by path, so that a
/// read-only file or a symlink can be stamped too).
fn set_times(d: &Path, md: &std::fs::Metadata) -> std::io::Result<()> {
    let c = CString::new(d.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    let times = [
        libc::timespec {
            tv_sec: md.atime(),
            tv_nsec: md.atime_nsec(),
        },
        libc::timespec {
            tv_sec: md.mtime(),
            tv_nsec: md.mtime_nsec(),
        },
    ];
    // SAFETY: a valid C string and a local array of two timespecs.
    let r = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn is_whiteout(md: &std::fs::Metadata) -> bool {
    md.file_type().is_char_device() && md.rdev() == 0
}

fn opaque(p: &Path) -> bool {
    let Ok(c) = CString::new(p.as_os_str().as_bytes()) else {
        return false;
    };
    let mut v = [0u8; 4];
    // SAFETY: valid C strings and a buffer of the given size.
    let n = unsafe {
        libc::lgetxattr(
            c.as_ptr(),
            c"user.overlay.opaque".as_ptr(),
            v.as_mut_ptr() as *mut libc::c_void,
            v.len(),
        )
    };
    n == 1 && v[0] == b'y'
}

impl Collector<'_> {
    fn dest(&self, view: &Path) -> PathBuf {
        self.plan.dir.join(view.strip_prefix("/").unwrap_or(view))
    }

    /// Make the image directories down to `view` (a directory), with the
    /// modes of the upper layer's directories.
    fn make_dirs(&mut self, view: &Path, src: &Path) -> std::io::Result<()> {
        if self.made.contains(view) {
            return Ok(());
        }
        if let (Some(pv), Some(ps)) = (view.parent(), src.parent()) {
            if pv != Path::new("/") && pv != view {
                self.make_dirs(pv, ps)?;
            }
        }
        let d = self.dest(view);
        match std::fs::create_dir(&d) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        if let Ok(md) = std::fs::symlink_metadata(src) {
            if md.is_dir() {
                // Owner first: chown clears the set-id bits.
                self.own(&d, &md);
                std::fs::set_permissions(&d, std::fs::Permissions::from_mode(md.mode() & 0o7777))?;
            }
        }
        self.made.insert(view.to_path_buf());
        Ok(())
    }

    /// As root, give the copy the owner the build gave the original.
    fn own(&self, d: &Path, md: &std::fs::Metadata) {
        if self.root {
            let _ = std::os::unix::fs::lchown(d, Some(md.uid()), Some(md.gid()));
        }
    }

    /// Copy the upper directory `src` (the view's `view`); `new` if the
    /// whole directory is the build's (created, or opaque).
    fn dir(&mut self, src: &Path, view: &Path, new: bool) -> std::io::Result<()> {
        let mut names: Vec<_> = std::fs::read_dir(src)?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        names.sort();
        for name in names {
            let s = src.join(&name);
            let v = view.join(&name);
            let md = std::fs::symlink_metadata(&s)?;
            let host = std::fs::symlink_metadata(&v).ok();
            if is_whiteout(&md) {
                if host.is_some() && !new {
                    self.report.removed.push(v);
                }
                continue;
            }
            if md.is_dir() {
                if !new && self.skip_skeleton && self.plan.skeleton.contains(&v) {
                    continue;
                }
                let replaced = !new && host.is_some() && opaque(&s);
                // A skeleton directory whose host original went away during
                // the run is still no directory of the build's.
                let host_dir =
                    host.as_ref().is_some_and(|h| h.is_dir()) || self.plan.skeleton.contains(&v);
                if replaced {
                    self.report.removed.push(v.clone());
                }
                if new || replaced || !host_dir {
                    self.make_dirs(&v, &s)?;
                    self.report.added.push(v.clone());
                    self.dir(&s, &v, true)?;
                } else {
                    // A skeleton or copied-up directory: only what is in it.
                    let changed_mode = host
                        .as_ref()
                        .is_some_and(|h| h.mode() & 0o7777 != md.mode() & 0o7777)
                        && !self.plan.skeleton.contains(&v);
                    if changed_mode {
                        self.make_dirs(&v, &s)?;
                        self.report.modified.push(v.clone());
                    }
                    self.dir(&s, &v, false)?;
                }
                continue;
            }
            if let Some(p) = v.parent() {
                if p != Path::new("/") {
                    self.make_dirs(p, src)?;
                }
            }
            let d = self.dest(&v);
            let ft = md.file_type();
            if ft.is_symlink() {
                std::os::unix::fs::symlink(std::fs::read_link(&s)?, &d)?;
            } else if ft.is_file() {
                let key = (md.dev(), md.ino());
                match self.links.get(&key) {
                    Some(first) if md.nlink() > 1 => std::fs::hard_link(first, &d)?,
                    _ => {
                        std::fs::copy(&s, &d)?;
                        // Owner first: chown clears the set-id bits.
                        self.own(&d, &md);
                        std::fs::set_permissions(
                            &d,
                            std::fs::Permissions::from_mode(md.mode() & 0o7777),
                        )?;
                        set_times(&d, &md)?;
                        if md.nlink() > 1 {
                            self.links.insert(key, d.clone());
                        }
                    }
                }
            } else if ft.is_fifo() {
                let c = CString::new(d.as_os_str().as_bytes())
                    .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
                // SAFETY: valid C string.
                if unsafe { libc::mkfifo(c.as_ptr(), md.mode() & 0o7777) } != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                self.own(&d, &md);
            } else {
                // Sockets and devices (a build cannot make real devices in
                // the namespace) are not copied.
                continue;
            }
            if ft.is_symlink() {
                self.own(&d, &md);
                set_times(&d, &md)?;
            }
            if host.is_some() && !new {
                self.report.modified.push(v);
            } else {
                self.report.added.push(v);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape(br"/a\040b"), b"/a b");
        assert_eq!(unescape(br"/a\\b"), br"/a\\b");
        assert_eq!(unescape(b"/plain"), b"/plain");
    }

    #[test]
    fn steps_round_trip() {
        for (i, s) in Step::ALL.iter().enumerate() {
            assert_eq!(
                Step::from_index(i as i32).map(|x| x as i32),
                Some(*s as i32)
            );
        }
        assert!(Step::from_index(99).is_none());
        assert!(Step::from_index(-1).is_none());
    }

    #[test]
    fn overlay_options_refuse_separators() {
        assert!(overlay_safe(Path::new("/usr")));
        assert!(!overlay_safe(Path::new("/a,b")));
        assert!(!overlay_safe(Path::new("/a:b")));
    }
}
