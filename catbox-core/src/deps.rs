//! `catbox deps`: what a build read, ran and wrote, from its operation log.
//!
//! [`analyze`] reads an operation log (JSON Lines, `docs/trace-format.md`)
//! and sorts what it finds:
//!
//! * **inputs**: the files the build read (`read`, `stat` and `exec` events
//!   whose `result` is `"ok"`) outside the build directory and the ignored
//!   directories (`/tmp`, `/proc`, `/sys`, `/dev` by default), grouped by
//!   the Debian package that owns them, plus those no package owns and the
//!   directories it looked at (a directory belongs to many packages, so it
//!   is listed apart);
//! * **programs**: the programs it executed (successful `exec` events), with
//!   their packages and how many times each ran;
//! * **outputs**: the files it wrote or created under the build directory
//!   and that were still there at the end (a file created then removed,
//!   such as a `configure` test program, is not an output);
//! * **writes outside**: every write, create, remove, rename or link outside
//!   the build directory and the ignored directories, with its result
//!   (`"EACCES"` for one the sandbox denied).
//!
//! Owners come from the dpkg database ([`DpkgDb`]), found the way
//! `dpkg -S` finds them, with diversions, multi-arch package names and the
//! merged-`/usr` spellings of paths taken into account.
//!
//! Bad lines do not stop the analysis: each becomes a [`LineProblem`] and
//! every good line is still used.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::{self, Write as _};
use std::fs;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{json, Value};

/// An error that stops the analysis: an input file cannot be read.
///
/// Problems inside the log are not errors: they are [`LineProblem`]s in the
/// [`Analysis`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DepsError {
    /// The operation log cannot be opened or read.
    #[error("cannot read the operation log {}: {source}", path.display())]
    Log {
        /// The log's path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A file of the dpkg database exists but cannot be read.
    #[error("cannot read the dpkg database file {}: {source}", path.display())]
    Dpkg {
        /// The file's path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// What [`analyze`] needs besides the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepsOptions {
    /// The build directory: files under it are the build's own (its sources
    /// are not inputs; what it writes there are its outputs). Canonicalized
    /// if it exists; a relative path is taken from the current directory.
    /// Default: `.`.
    pub build_dir: PathBuf,
    /// The dpkg administrative directory, holding `info/*.list` and
    /// `diversions`. Default: `/var/lib/dpkg`. If it has no `info`
    /// directory, no package owns anything.
    pub dpkg_admin_dir: PathBuf,
    /// Directories whose files are neither inputs nor writes outside the
    /// build directory. Default: `/tmp`, `/proc`, `/sys`, `/dev`.
    pub ignore: Vec<PathBuf>,
}

impl Default for DepsOptions {
    fn default() -> DepsOptions {
        DepsOptions {
            build_dir: PathBuf::from("."),
            dpkg_admin_dir: PathBuf::from("/var/lib/dpkg"),
            ignore: ["/tmp", "/proc", "/sys", "/dev"]
                .iter()
                .map(PathBuf::from)
                .collect(),
        }
    }
}

/// What was wrong with a line of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProblemKind {
    /// The line is not a JSON object (or is empty, or not UTF-8).
    NotJson,
    /// A field the event must have is missing (or `null`).
    MissingField,
    /// A field has the wrong type (e.g. `pid` is a string).
    BadField,
    /// The last line has no newline and does not parse: the log was cut
    /// short while it was written.
    TruncatedLastLine,
}

impl ProblemKind {
    /// The name used in JSON output: `not_json`, `missing_field`,
    /// `bad_field`, `truncated_last_line`.
    pub fn name(self) -> &'static str {
        match self {
            ProblemKind::NotJson => "not_json",
            ProblemKind::MissingField => "missing_field",
            ProblemKind::BadField => "bad_field",
            ProblemKind::TruncatedLastLine => "truncated_last_line",
        }
    }
}

/// A line of the log that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    /// The line number, from 1.
    pub line: u64,
    /// What kind of problem.
    pub kind: ProblemKind,
    /// A human-readable description (e.g. the JSON parser's message, or the
    /// names of the missing fields).
    pub message: String,
}

impl fmt::Display for LineProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// A program the build executed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// The program file, as the log's `exec` event names it (resolved).
    pub path: String,
    /// The packages that own it (empty if none, or if it is under the build
    /// directory or an ignored directory).
    pub packages: Vec<String>,
    /// How many successful `exec` events ran it.
    pub runs: u64,
}

/// A write, create, remove, rename or link outside the build directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutsideWrite {
    /// The canonical path written (for a rename: each of the two names that
    /// is outside; for a link: the new name).
    pub path: String,
    /// The log's `event` (`write`, `create`, `remove`, `rename`, `link`).
    pub event: String,
    /// The system call (`op`).
    pub op: String,
    /// `"ok"` or the errno name the call returned.
    pub result: String,
    /// How many events had this path, event, op and result.
    pub count: u64,
}

/// What a build read, ran and wrote: the result of [`analyze`].
///
/// All lists are sorted by path; package names are sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Analysis {
    /// The build directory as used (canonical when it exists).
    pub build_dir: PathBuf,
    /// The dpkg administrative directory used.
    pub dpkg_admin_dir: PathBuf,
    /// How many packages the dpkg database lists (0 without one).
    pub dpkg_packages: usize,
    /// How many lines the log has.
    pub lines: u64,
    /// How many lines were good events (and were used).
    pub events: u64,
    /// Input files (not directories) by owning package: package name
    /// (`pkg` or `pkg:arch`, as `dpkg -S` prints it) → paths. A file owned
    /// by several packages is under each.
    pub inputs: BTreeMap<String, Vec<String>>,
    /// Input files that no package owns.
    pub unowned: Vec<String>,
    /// Directories the build read or checked (outside the build directory
    /// and the ignored ones).
    pub directories: Vec<String>,
    /// The programs executed.
    pub programs: Vec<Program>,
    /// The files written or created under the build directory that were
    /// not removed (or renamed away) later in the log.
    pub outputs: Vec<String>,
    /// Writes outside the build directory and the ignored directories,
    /// successful or not.
    pub writes_outside: Vec<OutsideWrite>,
    /// The lines that could not be used.
    pub problems: Vec<LineProblem>,
}

impl Analysis {
    /// The analysis as human-readable text, one section per kind of thing,
    /// each with a count (see `docs/deps.md` for an example).
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "build directory: {}\nlog: {} lines, {} events used, {} problems\n\
             dpkg database: {} ({} packages)",
            self.build_dir.display(),
            self.lines,
            self.events,
            self.problems.len(),
            self.dpkg_admin_dir.display(),
            self.dpkg_packages
        );
        let n_files: usize = self.inputs.values().map(Vec::len).sum();
        let _ = writeln!(
            s,
            "\nInputs by package ({} packages, {} files):",
            self.inputs.len(),
            n_files
        );
        for (pkg, paths) in &self.inputs {
            let _ = writeln!(s, "  {pkg} ({})", paths.len());
            for p in paths {
                let _ = writeln!(s, "    {p}");
            }
        }
        section(&mut s, "Inputs owned by no package", &self.unowned);
        section(&mut s, "Directories looked at", &self.directories);
        let _ = writeln!(s, "\nPrograms executed ({}):", self.programs.len());
        for p in &self.programs {
            let owners = if p.packages.is_empty() {
                "no package".to_string()
            } else {
                p.packages.join(", ")
            };
            let _ = writeln!(s, "  {} [{}] x{}", p.path, owners, p.runs);
        }
        section(
            &mut s,
            &format!("Outputs (under {})", self.build_dir.display()),
            &self.outputs,
        );
        let _ = writeln!(
            s,
            "\nWrites outside {} ({}):",
            self.build_dir.display(),
            self.writes_outside.len()
        );
        for w in &self.writes_outside {
            let times = if w.count > 1 {
                format!(" x{}", w.count)
            } else {
                String::new()
            };
            let _ = writeln!(s, "  {} {} ({} {}){times}", w.result, w.path, w.event, w.op);
        }
        if !self.problems.is_empty() {
            let _ = writeln!(s, "\nProblems in the log ({}):", self.problems.len());
            for p in &self.problems {
                let _ = writeln!(s, "  {p}");
            }
        }
        s
    }

    /// The analysis as JSON, for tools. The field names are stable:
    ///
    /// ```text
    /// {
    ///   "build_dir": "/build",                 // string
    ///   "dpkg": {"admin_dir": "/var/lib/dpkg", "packages": 707},
    ///   "log": {"lines": 1200, "events": 1199},
    ///   "inputs": {
    ///     "packages": {"make": ["/usr/bin/make"], ...},   // package -> sorted paths
    ///     "unowned": ["/etc/ld.so.cache", ...],
    ///     "directories": ["/usr/include", ...]
    ///   },
    ///   "programs": [{"path": "/usr/bin/make", "packages": ["make"], "runs": 3}, ...],
    ///   "outputs": ["/build/hello", ...],
    ///   "writes_outside": [{"path": "/etc/x", "event": "write", "op": "openat",
    ///                       "result": "EACCES", "count": 1}, ...],
    ///   "problems": [{"line": 7, "kind": "not_json", "message": "..."}, ...]
    /// }
    /// ```
    ///
    /// `kind` is one of `not_json`, `missing_field`, `bad_field`,
    /// `truncated_last_line` ([`ProblemKind::name`]).
    pub fn to_json(&self) -> Value {
        json!({
            "build_dir": self.build_dir.to_string_lossy(),
            "dpkg": {
                "admin_dir": self.dpkg_admin_dir.to_string_lossy(),
                "packages": self.dpkg_packages,
            },
            "log": {"lines": self.lines, "events": self.events},
            "inputs": {
                "packages": self.inputs,
                "unowned": self.unowned,
                "directories": self.directories,
            },
            "programs": self.programs.iter().map(|p| json!({
                "path": p.path,
                "packages": p.packages,
                "runs": p.runs,
            })).collect::<Vec<_>>(),
            "outputs": self.outputs,
            "writes_outside": self.writes_outside.iter().map(|w| json!({
                "path": w.path,
                "event": w.event,
                "op": w.op,
                "result": w.result,
                "count": w.count,
            })).collect::<Vec<_>>(),
            "problems": self.problems.iter().map(|p| json!({
                "line": p.line,
                "kind": p.kind.name(),
                "message": p.message,
            })).collect::<Vec<_>>(),
        })
    }
}

fn section(s: &mut String, title: &str, items: &[String]) {
    let _ = writeln!(s, "\n{title} ({}):", items.len());
    for i in items {
        let _ = writeln!(s, "  {i}");
    }
}

// ---------------------------------------------------------------------------
// The dpkg database.

/// A dpkg diversion (`dpkg-divert`): other packages' file `from` is
/// installed at `to`; only the package `by` installs `from` itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diversion {
    /// The diverted path.
    pub from: String,
    /// Where other packages' file `from` goes.
    pub to: String,
    /// The diverting package, or `":"` for a local diversion (then every
    /// package's `from` goes to `to`).
    pub by: String,
}

/// Who owns a path: the answer of [`DpkgDb::owners`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owners {
    /// The packages whose file is at this path, sorted.
    pub packages: Vec<String>,
    /// The diversion involved, if the path is a diverted path or the
    /// target of one.
    pub diversion: Option<Diversion>,
}

/// The dpkg database, indexed once: path → owning packages.
///
/// Built from `ADMIN/info/*.list` (one per installed package, named
/// `pkg.list` or `pkg:arch.list` for a multi-arch package; the package name
/// is the file name without `.list`, as `dpkg -S` prints it) and
/// `ADMIN/diversions`.
///
/// A path is found under each of its spellings: as listed; with its parent
/// directory resolved through symlinks on this machine (so `/bin/dash` is
/// also found as `/usr/bin/dash` where `/bin` links to `/usr/bin`); and, at
/// lookup, with the merged-`/usr` alias (`/usr/bin/x` ↔ `/bin/x`, same for
/// `sbin` and `lib*`), even where the directories do not exist.
///
/// Diversions are honoured the way files are really installed, which is
/// where this differs from `dpkg -S` (which lists every package that ships
/// a path, and prints the diversion beside it): the file at a diverted path
/// belongs to the diverting package only (to none for a local diversion),
/// and the file at the diverted-to path belongs to the other packages that
/// ship the diverted path.
#[derive(Debug, Default)]
pub struct DpkgDb {
    packages: Vec<String>,
    index: HashMap<String, Vec<u32>>,
    dirs: HashSet<String>,
    div_from: HashMap<String, usize>,
    div_to: HashMap<String, usize>,
    diversions: Vec<Diversion>,
}

/// Top directories that merged-`/usr` turns into symlinks to `/usr/...`.
const USR_MERGED: &[&str] = &["bin", "sbin", "lib", "lib32", "lib64", "libx32", "libo32"];

/// The other merged-`/usr` spelling of `p`, if it has one.
fn usr_alias(p: &str) -> Option<String> {
    let (rest, add) = match p.strip_prefix("/usr/") {
        Some(r) => (r, false),
        None => (p.strip_prefix('/')?, true),
    };
    let top = rest.split('/').next()?;
    if !USR_MERGED.contains(&top) {
        return None;
    }
    Some(if add {
        format!("/usr{p}")
    } else {
        format!("/{rest}")
    })
}

/// `p` without trailing slashes (but `/` stays `/`).
fn trim_slash(p: &str) -> &str {
    let t = p.trim_end_matches('/');
    if t.is_empty() && p.starts_with('/') {
        "/"
    } else {
        t
    }
}

/// Resolves parent directories through symlinks, once each.
#[derive(Default)]
struct DirCanon {
    cache: HashMap<String, Option<String>>,
}

impl DirCanon {
    /// `p` with its parent directory canonicalized, if that differs.
    fn key(&mut self, p: &str) -> Option<String> {
        let (parent, name) = p.rsplit_once('/')?;
        if parent.is_empty() {
            return None;
        }
        let canon = self
            .cache
            .entry(parent.to_string())
            .or_insert_with(|| {
                let c = fs::canonicalize(parent).ok()?;
                let c = c.to_str()?;
                (c != parent).then(|| c.to_string())
            })
            .as_ref()?;
        Some(if canon == "/" {
            format!("/{name}")
        } else {
            format!("{canon}/{name}")
        })
    }
}

impl DpkgDb {
    /// An empty database: nothing is owned.
    pub fn empty() -> DpkgDb {
        DpkgDb::default()
    }

    /// Read the database under `admin_dir` (e.g. `/var/lib/dpkg`). A
    /// missing `info` directory or `diversions` file gives an empty part;
    /// a file that exists but cannot be read is an error.
    pub fn load(admin_dir: &Path) -> Result<DpkgDb, DepsError> {
        let mut db = DpkgDb::default();
        let mut canon = DirCanon::default();
        let info = admin_dir.join("info");
        let dpkg_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| DepsError::Dpkg { path, source }
        };
        let entries = match fs::read_dir(&info) {
            Ok(e) => Some(e),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(dpkg_err(&info)(e)),
        };
        let mut lists: Vec<(String, PathBuf)> = Vec::new();
        for entry in entries.into_iter().flatten() {
            let entry = entry.map_err(dpkg_err(&info))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(pkg) = name.strip_suffix(".list") {
                lists.push((pkg.to_string(), entry.path()));
            }
        }
        lists.sort();
        let mut data = Vec::new();
        for (pkg, path) in lists {
            data.clear();
            let mut f = fs::File::open(&path).map_err(dpkg_err(&path))?;
            io::Read::read_to_end(&mut f, &mut data).map_err(dpkg_err(&path))?;
            let idx = db.packages.len() as u32;
            db.packages.push(pkg);
            for line in data.split(|&b| b == b'\n') {
                let Ok(p) = std::str::from_utf8(line) else {
                    continue;
                };
                let p = trim_slash(p);
                if p == "/." || p == "/" || !p.starts_with('/') {
                    continue;
                }
                let key = canon.key(p);
                db.add(p, idx);
                if let Some(k) = key {
                    db.add(&k, idx);
                }
            }
        }
        let div = admin_dir.join("diversions");
        match fs::read_to_string(&div) {
            Ok(text) => {
                let lines: Vec<&str> = text.lines().collect();
                for t in lines.chunks_exact(3) {
                    db.add_diversion(
                        &mut canon,
                        Diversion {
                            from: trim_slash(t[0]).to_string(),
                            to: trim_slash(t[1]).to_string(),
                            by: t[2].to_string(),
                        },
                    );
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(dpkg_err(&div)(e)),
        }
        Ok(db)
    }

    fn add(&mut self, p: &str, idx: u32) {
        if let Some((parent, _)) = p.rsplit_once('/') {
            if !parent.is_empty() && !self.dirs.contains(parent) {
                self.dirs.insert(parent.to_string());
            }
        }
        match self.index.get_mut(p) {
            Some(v) => {
                if !v.contains(&idx) {
                    v.push(idx);
                }
            }
            None => {
                self.index.insert(p.to_string(), vec![idx]);
            }
        }
    }

    fn add_diversion(&mut self, canon: &mut DirCanon, d: Diversion) {
        let i = self.diversions.len();
        for (p, map) in [(&d.from, &mut self.div_from), (&d.to, &mut self.div_to)] {
            map.insert(p.clone(), i);
            if let Some(k) = canon.key(p) {
                map.insert(k, i);
            }
        }
        self.diversions.push(d);
    }

    /// How many packages the database lists.
    pub fn package_count(&self) -> usize {
        self.packages.len()
    }

    /// The diversions read from `diversions`, in file order.
    pub fn diversions(&self) -> &[Diversion] {
        &self.diversions
    }

    /// The spellings `p` is looked up under.
    fn spellings(p: &str) -> impl Iterator<Item = Cow<'_, str>> {
        let p = trim_slash(p);
        std::iter::once(Cow::Borrowed(p)).chain(usr_alias(p).map(Cow::Owned))
    }

    /// The packages whose `.list` names `p` (under any spelling), ignoring
    /// diversions.
    fn listed(&self, p: &str) -> BTreeSet<u32> {
        let mut set = BTreeSet::new();
        for s in Self::spellings(p) {
            if let Some(v) = self.index.get(s.as_ref()) {
                set.extend(v.iter().copied());
            }
        }
        set
    }

    fn diversion_in(&self, map: &HashMap<String, usize>, p: &str) -> Option<&Diversion> {
        Self::spellings(p)
            .find_map(|s| map.get(s.as_ref()))
            .map(|&i| &self.diversions[i])
    }

    /// Whether the database knows `p` as a directory (some listed path is
    /// directly inside it).
    pub fn is_dir(&self, p: &str) -> bool {
        Self::spellings(p).any(|s| self.dirs.contains(s.as_ref()))
    }

    /// The packages whose file is at `p` (an absolute path, normally
    /// canonical), with diversions applied. See the type's documentation.
    pub fn owners(&self, p: &str) -> Owners {
        let base = |name: &str| name.split(':').next().unwrap_or("").to_string();
        let names = |set: BTreeSet<u32>, keep: &dyn Fn(&str) -> bool| {
            let mut v: Vec<String> = set
                .into_iter()
                .map(|i| self.packages[i as usize].clone())
                .filter(|n| keep(n))
                .collect();
            v.sort();
            v
        };
        if let Some(d) = self.diversion_in(&self.div_to, p) {
            // Other packages' `from` is here.
            let mut set = self.listed(&d.from);
            set.extend(self.listed(p));
            let packages = names(set, &|n| d.by == ":" || base(n) != base(&d.by));
            return Owners {
                packages,
                diversion: Some(d.clone()),
            };
        }
        if let Some(d) = self.diversion_in(&self.div_from, p) {
            // Only the diverting package's `from` is here.
            let packages = names(self.listed(p), &|n| d.by != ":" && base(n) == base(&d.by));
            return Owners {
                packages,
                diversion: Some(d.clone()),
            };
        }
        Owners {
            packages: names(self.listed(p), &|_| true),
            diversion: None,
        }
    }
}

// ---------------------------------------------------------------------------
// The log.

/// One line of the log, as far as `deps` needs it. Every field is optional
/// here so that a missing one is reported by name.
#[derive(Deserialize)]
struct RawEvent<'a> {
    t: Option<f64>,
    pid: Option<i64>,
    #[serde(borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(borrow)]
    op: Option<Cow<'a, str>>,
    #[serde(borrow)]
    path: Option<Cow<'a, str>>,
    #[serde(borrow)]
    canonical: Option<Cow<'a, str>>,
    #[serde(borrow)]
    path2: Option<Cow<'a, str>>,
    #[serde(borrow)]
    canonical2: Option<Cow<'a, str>>,
    #[serde(borrow)]
    result: Option<Cow<'a, str>>,
    #[serde(borrow)]
    dest: Option<Cow<'a, str>>,
    argv: Option<Vec<IgnoredAny>>,
    ppid: Option<i64>,
    code: Option<IgnoredAny>,
    signal: Option<IgnoredAny>,
}

impl RawEvent<'_> {
    /// The names of the fields this event must have and lacks.
    fn missing(&self) -> Vec<&'static str> {
        let mut m = Vec::new();
        let mut need = |present: bool, name: &'static str| {
            if !present {
                m.push(name);
            }
        };
        need(self.t.is_some(), "t");
        need(self.pid.is_some(), "pid");
        need(self.event.is_some(), "event");
        let file = |m: &mut dyn FnMut(bool, &'static str)| {
            m(self.op.is_some(), "op");
            m(self.path.is_some(), "path");
            m(self.canonical.is_some(), "canonical");
            m(self.result.is_some(), "result");
        };
        match self.event.as_deref() {
            Some("read" | "stat" | "write" | "create" | "remove") => file(&mut need),
            Some("rename" | "link") => {
                file(&mut need);
                need(self.path2.is_some(), "path2");
                need(self.canonical2.is_some(), "canonical2");
            }
            Some("exec") => {
                need(self.path.is_some(), "path");
                need(self.argv.is_some(), "argv");
                need(self.result.is_some(), "result");
            }
            Some("start") => need(self.ppid.is_some(), "ppid"),
            Some("net") => {
                need(self.op.is_some(), "op");
                need(self.dest.is_some(), "dest");
                need(self.result.is_some(), "result");
            }
            Some("exit") => need(self.code.is_some() || self.signal.is_some(), "code"),
            _ => {}
        }
        m
    }
}

/// Where a path stands relative to the build directory.
struct Places {
    build: Vec<PathBuf>,
    ignore: Vec<PathBuf>,
}

impl Places {
    fn in_build(&self, p: &str) -> bool {
        self.build.iter().any(|d| Path::new(p).starts_with(d))
    }
    fn ignored(&self, p: &str) -> bool {
        self.ignore.iter().any(|d| Path::new(p).starts_with(d))
    }
    /// Outside the build directory and the ignored ones.
    fn outside(&self, p: &str) -> bool {
        p.starts_with('/') && !self.in_build(p) && !self.ignored(p)
    }
}

/// Both spellings of a directory: absolute as given, and canonical.
fn dir_forms(d: &Path) -> Vec<PathBuf> {
    let abs = if d.is_absolute() {
        d.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|c| c.join(d))
            .unwrap_or_else(|_| d.to_path_buf())
    };
    let mut v = Vec::new();
    if let Ok(c) = fs::canonicalize(&abs) {
        v.push(c);
    }
    // Lexically clean `abs` (no `.` components) for the second form.
    let clean: PathBuf = abs.components().collect();
    if !v.contains(&clean) {
        v.push(clean);
    }
    v
}

#[derive(Default)]
struct Acc {
    inputs: BTreeSet<String>,
    programs: BTreeMap<String, u64>,
    outputs: BTreeSet<String>,
    outside: BTreeMap<(String, String, String, String), u64>,
}

impl Acc {
    fn event(&mut self, e: &RawEvent<'_>, places: &Places) {
        let ev = e.event.as_deref().unwrap_or("");
        let ok = e.result.as_deref() == Some("ok");
        let canonical = e.canonical.as_deref().unwrap_or("");
        let canonical2 = e.canonical2.as_deref().unwrap_or("");
        let outside_write = |p: &str, this: &mut Acc| {
            if places.outside(p) {
                let key = (
                    p.to_string(),
                    ev.to_string(),
                    e.op.as_deref().unwrap_or("").to_string(),
                    e.result.as_deref().unwrap_or("").to_string(),
                );
                *this.outside.entry(key).or_insert(0) += 1;
            }
        };
        match ev {
            "read" | "stat" if ok && places.outside(canonical) => {
                self.inputs.insert(trim_slash(canonical).to_string());
            }
            "exec" => {
                let prog = e
                    .canonical
                    .as_deref()
                    .or(e.path.as_deref())
                    .unwrap_or_default();
                if ok && !prog.is_empty() {
                    *self.programs.entry(prog.to_string()).or_insert(0) += 1;
                    if places.outside(prog) {
                        self.inputs.insert(trim_slash(prog).to_string());
                    }
                    // The name it was run by (`/usr/bin/gcc`, a symlink
                    // owned by another package than its target) is read too.
                    if let Some(raw) = e
                        .path
                        .as_deref()
                        .filter(|p| p.starts_with('/') && *p != prog)
                    {
                        if places.outside(raw) {
                            self.inputs.insert(trim_slash(raw).to_string());
                        }
                    }
                }
            }
            "write" | "create" => {
                if ok && places.in_build(canonical) {
                    self.outputs.insert(canonical.to_string());
                }
                outside_write(canonical, self);
            }
            "remove" => {
                if ok {
                    self.outputs.remove(canonical);
                }
                outside_write(canonical, self);
            }
            "rename" => {
                if ok {
                    self.outputs.remove(canonical);
                    if places.in_build(canonical2) {
                        self.outputs.insert(canonical2.to_string());
                    }
                }
                outside_write(canonical, self);
                outside_write(canonical2, self);
            }
            "link" => {
                if ok && places.in_build(canonical2) {
                    self.outputs.insert(canonical2.to_string());
                }
                outside_write(canonical2, self);
            }
            _ => {}
        }
    }
}

/// Parse one line (without its newline). `Err` is the problem.
fn parse_line(line: &[u8], last_unterminated: bool) -> Result<RawEvent<'_>, (ProblemKind, String)> {
    let not_json = |msg: String| {
        if last_unterminated {
            (
                ProblemKind::TruncatedLastLine,
                format!("truncated last line (no newline): {msg}"),
            )
        } else {
            (ProblemKind::NotJson, format!("not JSON: {msg}"))
        }
    };
    if line.iter().all(u8::is_ascii_whitespace) {
        return Err(not_json("empty line".into()));
    }
    match serde_json::from_slice::<RawEvent<'_>>(line) {
        Ok(e) => {
            let missing = e.missing();
            if missing.is_empty() {
                Ok(e)
            } else {
                let ev = e.event.as_deref().unwrap_or("?");
                Err((
                    ProblemKind::MissingField,
                    format!(
                        "missing field{} {} (event {ev})",
                        if missing.len() > 1 { "s" } else { "" },
                        missing
                            .iter()
                            .map(|m| format!("`{m}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ))
            }
        }
        Err(err) => match serde_json::from_slice::<Value>(line) {
            Ok(Value::Object(_)) => Err((ProblemKind::BadField, format!("bad field: {err}"))),
            Ok(_) => Err((ProblemKind::NotJson, "not a JSON object".into())),
            Err(err) => Err(not_json(err.to_string())),
        },
    }
}

/// Read the operation log at `log` and sort what the build read, ran and
/// wrote (see the [module documentation](self)).
///
/// The log is streamed: memory grows with the number of distinct paths, not
/// with the number of events. The dpkg database is read once.
///
/// # Errors
///
/// [`DepsError::Log`] if the log cannot be opened or read;
/// [`DepsError::Dpkg`] if a dpkg database file exists but cannot be read.
/// Bad lines are not errors: they are listed in [`Analysis::problems`].
pub fn analyze(log: &Path, opts: &DepsOptions) -> Result<Analysis, DepsError> {
    let log_err = |source| DepsError::Log {
        path: log.to_path_buf(),
        source,
    };
    let file = fs::File::open(log).map_err(log_err)?;
    let places = Places {
        build: dir_forms(&opts.build_dir),
        ignore: opts.ignore.iter().flat_map(|d| dir_forms(d)).collect(),
    };
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut acc = Acc::default();
    let mut out = Analysis {
        build_dir: places.build[0].clone(),
        dpkg_admin_dir: opts.dpkg_admin_dir.clone(),
        ..Analysis::default()
    };
    let mut buf = Vec::with_capacity(4096);
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(log_err)?;
        if n == 0 {
            break;
        }
        out.lines += 1;
        let terminated = buf.last() == Some(&b'\n');
        if terminated {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        match parse_line(&buf, !terminated) {
            Ok(e) => {
                out.events += 1;
                acc.event(&e, &places);
            }
            Err((kind, message)) => out.problems.push(LineProblem {
                line: out.lines,
                kind,
                message,
            }),
        }
    }

    let db = DpkgDb::load(&opts.dpkg_admin_dir)?;
    out.dpkg_packages = db.package_count();
    for p in acc.inputs {
        if db.is_dir(&p) || fs::metadata(&p).is_ok_and(|m| m.is_dir()) {
            out.directories.push(p);
            continue;
        }
        let owners = db.owners(&p);
        if owners.packages.is_empty() {
            out.unowned.push(p);
        } else {
            for pkg in owners.packages {
                out.inputs.entry(pkg).or_default().push(p.clone());
            }
        }
    }
    out.programs = acc
        .programs
        .into_iter()
        .map(|(path, runs)| Program {
            packages: if places.outside(&path) {
                db.owners(&path).packages
            } else {
                Vec::new()
            },
            path,
            runs,
        })
        .collect();
    out.outputs = acc.outputs.into_iter().collect();
    out.writes_outside = acc
        .outside
        .into_iter()
        .map(|((path, event, op, result), count)| OutsideWrite {
            path,
            event,
            op,
            result,
            count,
        })
        .collect();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    /// A directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            static N: AtomicUsize = AtomicUsize::new(0);
            let p = std::env::temp_dir().join(format!(
                "catbox-deps-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
        fn write(&self, rel: &str, text: &str) -> PathBuf {
            let p = self.0.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, text).unwrap();
            p
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// A synthetic dpkg admin dir: multi-arch names, merged-/usr spellings,
    /// a package diversion, a local diversion, a multi-arch diversion.
    fn synthetic_dpkg(t: &TempDir) -> PathBuf {
        t.write(
            "dpkg/info/coreutils.list",
            "/.\n/bin\n/bin/catbox-cat\n/usr\n/usr/share\n/usr/share/doc/coreutils/copyright\n",
        );
        t.write("dpkg/info/coreutils.md5sums", "0 /bin/not-a-list-file\n");
        t.write(
            "dpkg/info/libc6-dev:amd64.list",
            "/usr/include\n/usr/include/catbox-stdio.h\n/usr/include/catbox-sub/catbox-x.h\n\
             /usr/lib/x86_64-linux-gnu/catbox-libc.a\n",
        );
        t.write(
            "dpkg/info/libc6-dev:i386.list",
            "/usr/include/catbox-stdio.h\n",
        );
        t.write("dpkg/info/dashy.list", "/bin/catbox-sh\n/bin/catbox-dash\n");
        t.write(
            "dpkg/info/bashy.list",
            "/bin/catbox-sh\n/usr/bin/catbox-bash\n",
        );
        t.write("dpkg/info/perfy.list", "/usr/bin/catbox-perf\n");
        t.write("dpkg/info/makey.list", "/usr/bin/catbox-make\n");
        t.write("dpkg/info/libfoo:amd64.list", "/usr/lib/catbox-foo.so\n");
        t.write("dpkg/info/libbar:amd64.list", "/usr/lib/catbox-foo.so\n");
        t.write(
            "dpkg/diversions",
            "/bin/catbox-sh\n/bin/catbox-sh.distrib\ndashy\n\
             /usr/bin/catbox-perf\n/usr/bin/catbox-perf.orig\n:\n\
             /usr/lib/catbox-foo.so\n/usr/lib/catbox-foo.so.real\nlibfoo\n",
        );
        t.0.join("dpkg")
    }

    fn pkgs(db: &DpkgDb, p: &str) -> Vec<String> {
        db.owners(p).packages
    }

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn usr_alias_spellings() {
        assert_eq!(usr_alias("/usr/bin/dash").as_deref(), Some("/bin/dash"));
        assert_eq!(usr_alias("/bin/dash").as_deref(), Some("/usr/bin/dash"));
        assert_eq!(
            usr_alias("/usr/lib64/ld.so").as_deref(),
            Some("/lib64/ld.so")
        );
        assert_eq!(usr_alias("/sbin").as_deref(), Some("/usr/sbin"));
        assert_eq!(usr_alias("/usr/share/x"), None);
        assert_eq!(usr_alias("/binary/x"), None);
        assert_eq!(usr_alias("/usr/libexec/x"), None);
        assert_eq!(usr_alias("relative/bin"), None);
    }

    #[test]
    fn dpkg_owners_multiarch_and_usr_merge() {
        let t = TempDir::new();
        let db = DpkgDb::load(&synthetic_dpkg(&t)).unwrap();
        assert_eq!(db.package_count(), 9);
        // Listed as /bin/..., found under both spellings.
        assert_eq!(pkgs(&db, "/usr/bin/catbox-cat"), v(&["coreutils"]));
        assert_eq!(pkgs(&db, "/bin/catbox-cat"), v(&["coreutils"]));
        // Listed as /usr/lib/..., found as /lib/...
        assert_eq!(
            pkgs(&db, "/lib/x86_64-linux-gnu/catbox-libc.a"),
            v(&["libc6-dev:amd64"])
        );
        // A Multi-Arch: same file is owned by each architecture's package.
        assert_eq!(
            pkgs(&db, "/usr/include/catbox-stdio.h"),
            v(&["libc6-dev:amd64", "libc6-dev:i386"])
        );
        assert_eq!(
            pkgs(&db, "/usr/share/doc/coreutils/copyright/"),
            v(&["coreutils"])
        );
        assert_eq!(db.owners("/usr/bin/catbox-nothing"), Owners::default());
        // The root "/." line is not a path.
        assert!(pkgs(&db, "/").is_empty());
        assert!(pkgs(&db, "/.").is_empty());
        assert!(pkgs(&db, "/bin/not-a-list-file").is_empty());
        // Directories: those with listed children, under both spellings.
        assert!(db.is_dir("/usr/bin"));
        assert!(db.is_dir("/bin"));
        assert!(db.is_dir("/usr/include"));
        assert!(!db.is_dir("/usr/include/catbox-stdio.h"));
    }

    #[test]
    fn dpkg_owners_diversions() {
        let t = TempDir::new();
        let db = DpkgDb::load(&synthetic_dpkg(&t)).unwrap();
        assert_eq!(db.diversions().len(), 3);
        assert_eq!(
            db.diversions()[0],
            Diversion {
                from: "/bin/catbox-sh".into(),
                to: "/bin/catbox-sh.distrib".into(),
                by: "dashy".into(),
            }
        );
        // Both dashy and bashy list /bin/catbox-sh; dashy diverted it, so
        // the file there is dashy's, bashy's is at the diverted-to path.
        let sh = db.owners("/usr/bin/catbox-sh");
        assert_eq!(sh.packages, v(&["dashy"]));
        assert_eq!(sh.diversion.as_ref().map(|d| d.by.as_str()), Some("dashy"));
        assert_eq!(pkgs(&db, "/bin/catbox-sh"), v(&["dashy"]));
        assert_eq!(pkgs(&db, "/usr/bin/catbox-sh.distrib"), v(&["bashy"]));
        assert_eq!(pkgs(&db, "/bin/catbox-sh.distrib"), v(&["bashy"]));
        // Undiverted files of the same packages are unaffected.
        assert_eq!(pkgs(&db, "/usr/bin/catbox-dash"), v(&["dashy"]));
        // A local diversion: the packaged file is at the diverted-to path,
        // the diverted path holds the administrator's file.
        let perf = db.owners("/usr/bin/catbox-perf");
        assert!(perf.packages.is_empty());
        assert_eq!(perf.diversion.map(|d| d.by), Some(":".to_string()));
        assert_eq!(pkgs(&db, "/usr/bin/catbox-perf.orig"), v(&["perfy"]));
        // A diversion named without the architecture still matches the
        // multi-arch package name.
        assert_eq!(pkgs(&db, "/usr/lib/catbox-foo.so"), v(&["libfoo:amd64"]));
        assert_eq!(pkgs(&db, "/lib/catbox-foo.so.real"), v(&["libbar:amd64"]));
    }

    #[test]
    fn dpkg_paths_through_directory_symlinks() {
        // A package lists a path through a directory that is a symlink on
        // this machine; the log names the resolved path.
        let t = TempDir::new();
        fs::create_dir_all(t.0.join("real")).unwrap();
        std::os::unix::fs::symlink(t.0.join("real"), t.0.join("alias")).unwrap();
        let real = fs::canonicalize(t.0.join("real")).unwrap();
        let listed = format!("{}/alias/file.h\n", t.0.display());
        t.write("dpkg/info/linky.list", &listed);
        let db = DpkgDb::load(&t.0.join("dpkg")).unwrap();
        let resolved = format!("{}/file.h", real.display());
        assert_eq!(pkgs(&db, &resolved), v(&["linky"]));
        assert_eq!(pkgs(&db, listed.trim_end()), v(&["linky"]));
        assert!(db.is_dir(real.to_str().unwrap()));
    }

    #[test]
    fn dpkg_missing_dir_is_empty_and_unreadable_list_is_an_error() {
        let t = TempDir::new();
        let db = DpkgDb::load(&t.0.join("no-such-admin-dir")).unwrap();
        assert_eq!(db.package_count(), 0);
        assert!(db.diversions().is_empty());
        // A `.list` that cannot be read (here: a directory, EISDIR).
        fs::create_dir_all(t.0.join("dpkg/info/broken.list")).unwrap();
        match DpkgDb::load(&t.0.join("dpkg")) {
            Err(DepsError::Dpkg { path, .. }) => assert!(path.ends_with("broken.list")),
            other => panic!("expected a dpkg error, got {other:?}"),
        }
        // An `info` that is not a directory (ENOTDIR).
        t.write("dpkg2/info", "not a directory");
        match DpkgDb::load(&t.0.join("dpkg2")) {
            Err(DepsError::Dpkg { path, .. }) => assert!(path.ends_with("dpkg2/info")),
            other => panic!("expected a dpkg error, got {other:?}"),
        }
    }

    #[test]
    fn dpkg_index_is_fast() {
        // About the size of a big dpkg database: 3000 packages, 105k paths.
        let t = TempDir::new();
        for i in 0..3000 {
            let mut text = String::new();
            for j in 0..35 {
                let _ = writeln!(text, "/usr/share/catbox-bench/p{i}/d{}/f{j}", j % 3);
            }
            t.write(&format!("dpkg/info/pkg{i}:amd64.list"), &text);
        }
        let start = Instant::now();
        let db = DpkgDb::load(&t.0.join("dpkg")).unwrap();
        let took = start.elapsed();
        assert_eq!(db.package_count(), 3000);
        assert_eq!(
            pkgs(&db, "/usr/share/catbox-bench/p2999/d1/f34"),
            v(&["pkg2999:amd64"])
        );
        let limit = if cfg!(debug_assertions) { 4.0 } else { 1.0 };
        assert!(
            took.as_secs_f64() < limit,
            "indexing 105k paths took {took:?}"
        );
    }

    fn opts(dpkg: PathBuf) -> DepsOptions {
        DepsOptions {
            build_dir: PathBuf::from("/catbox-test-build"),
            dpkg_admin_dir: dpkg,
            ..DepsOptions::default()
        }
    }

    fn file_ev(t: f64, event: &str, op: &str, canonical: &str, result: &str) -> String {
        json!({"t": t, "pid": 100, "event": event, "op": op, "path": canonical,
               "canonical": canonical, "result": result})
        .to_string()
    }

    fn exec_ev(path: &str, result: &str) -> String {
        json!({"t": 0.1, "pid": 100, "event": "exec", "op": "execve", "path": path,
               "argv": [path, "-c"], "result": result})
        .to_string()
    }

    fn two_ev(event: &str, from: &str, to: &str) -> String {
        json!({"t": 0.2, "pid": 100, "event": event, "op": event, "path": from,
               "canonical": from, "path2": to, "canonical2": to, "result": "ok"})
        .to_string()
    }

    /// A log that touches every category once (or more).
    fn sample_log() -> String {
        let b = "/catbox-test-build";
        let lines = [
            r#"{"t":0.0,"pid":100,"event":"start","ppid":99}"#.to_string(),
            exec_ev("/usr/bin/catbox-make", "ok"),
            exec_ev("/usr/bin/catbox-gcc", "ENOENT"),
            file_ev(0.3, "read", "openat", "/usr/include/catbox-stdio.h", "ok"),
            file_ev(0.3, "stat", "newfstatat", "/usr/include", "ok"),
            // A directory only the dpkg database knows (not on this disk).
            file_ev(0.3, "stat", "newfstatat", "/usr/include/catbox-sub", "ok"),
            file_ev(
                0.3,
                "stat",
                "access",
                "/usr/include/catbox-missing.h",
                "ENOENT",
            ),
            file_ev(
                0.3,
                "read",
                "openat",
                "/usr/include/catbox-denied.h",
                "EACCES",
            ),
            file_ev(0.4, "read", "openat", &format!("{b}/hello.c"), "ok"),
            file_ev(0.4, "read", "openat", "/tmp/ccAbc.s", "ok"),
            file_ev(0.4, "read", "openat", "/proc/self/maps", "ok"),
            file_ev(0.4, "read", "openat", "/etc/catbox-unowned.conf", "ok"),
            file_ev(0.5, "create", "openat", &format!("{b}/conftest.c"), "ok"),
            file_ev(0.5, "write", "openat", &format!("{b}/conftest.c"), "ok"),
            file_ev(0.5, "remove", "unlink", &format!("{b}/conftest.c"), "ok"),
            file_ev(0.6, "write", "openat", &format!("{b}/hello.o"), "ok"),
            file_ev(0.6, "write", "openat", &format!("{b}/hello.tmp"), "ok"),
            two_ev("rename", &format!("{b}/hello.tmp"), &format!("{b}/hello")),
            file_ev(0.7, "write", "openat", "/etc/x", "EACCES"),
            file_ev(0.7, "write", "openat", "/etc/x", "EACCES"),
            file_ev(0.7, "write", "openat", "/tmp/catbox-scratch", "ok"),
            file_ev(0.7, "write", "openat", "/dev/null", "ok"),
            file_ev(0.7, "write", "openat", &format!("{b}/denied"), "EACCES"),
            exec_ev(&format!("{b}/conftest"), "ok"),
            exec_ev("/usr/bin/catbox-make", "ok"),
            exec_ev("/usr/bin/catbox-dash", "ok"),
            two_ev("link", &format!("{b}/hello"), &format!("{b}/hello-link")),
            two_ev("rename", "/home/u/.cache/a", "/home/u/.cache/b"),
            file_ev(0.8, "read", "openat", "/usr/bin/catbox-sh", "ok"),
            json!({"t": 0.8, "pid": 100, "event": "net", "op": "connect",
                   "dest": "1.2.3.4:80", "result": "ECONNREFUSED"})
            .to_string(),
            r#"{"t":0.9,"pid":100,"event":"exit","code":0}"#.to_string(),
        ];
        lines.join("\n") + "\n"
    }

    #[test]
    fn analyze_sorts_inputs_programs_outputs_and_writes() {
        let t = TempDir::new();
        let dpkg = synthetic_dpkg(&t);
        let log = t.write("trace.jsonl", &sample_log());
        let a = analyze(&log, &opts(dpkg.clone())).unwrap();
        assert!(a.problems.is_empty(), "{:?}", a.problems);
        assert_eq!(a.lines, 31);
        assert_eq!(a.events, 31);
        assert_eq!(a.build_dir, PathBuf::from("/catbox-test-build"));
        assert_eq!(a.dpkg_admin_dir, dpkg);
        assert_eq!(a.dpkg_packages, 9);
        let mut want = BTreeMap::new();
        want.insert(
            "dashy".to_string(),
            v(&["/usr/bin/catbox-dash", "/usr/bin/catbox-sh"]),
        );
        want.insert(
            "libc6-dev:amd64".to_string(),
            v(&["/usr/include/catbox-stdio.h"]),
        );
        want.insert(
            "libc6-dev:i386".to_string(),
            v(&["/usr/include/catbox-stdio.h"]),
        );
        want.insert("makey".to_string(), v(&["/usr/bin/catbox-make"]));
        assert_eq!(a.inputs, want);
        assert_eq!(a.unowned, v(&["/etc/catbox-unowned.conf"]));
        assert_eq!(
            a.directories,
            v(&["/usr/include", "/usr/include/catbox-sub"])
        );
        assert_eq!(
            a.programs,
            vec![
                Program {
                    path: "/catbox-test-build/conftest".into(),
                    packages: vec![],
                    runs: 1
                },
                Program {
                    path: "/usr/bin/catbox-dash".into(),
                    packages: v(&["dashy"]),
                    runs: 1
                },
                Program {
                    path: "/usr/bin/catbox-make".into(),
                    packages: v(&["makey"]),
                    runs: 2
                },
            ]
        );
        assert_eq!(
            a.outputs,
            v(&[
                "/catbox-test-build/hello",
                "/catbox-test-build/hello-link",
                "/catbox-test-build/hello.o"
            ])
        );
        let w = |path: &str, event: &str, op: &str, result: &str, count| OutsideWrite {
            path: path.into(),
            event: event.into(),
            op: op.into(),
            result: result.into(),
            count,
        };
        assert_eq!(
            a.writes_outside,
            vec![
                w("/etc/x", "write", "openat", "EACCES", 2),
                w("/home/u/.cache/a", "rename", "rename", "ok", 1),
                w("/home/u/.cache/b", "rename", "rename", "ok", 1),
            ]
        );
    }

    #[test]
    fn build_dir_through_a_symlink_and_relative_forms() {
        let t = TempDir::new();
        fs::create_dir_all(t.0.join("real")).unwrap();
        std::os::unix::fs::symlink(t.0.join("real"), t.0.join("link")).unwrap();
        let real = fs::canonicalize(t.0.join("real")).unwrap();
        let out = format!("{}/out.o", real.display());
        let log = t.write(
            "trace.jsonl",
            &(file_ev(0.1, "write", "openat", &out, "ok") + "\n"),
        );
        let o = DepsOptions {
            build_dir: t.0.join("link/./"),
            dpkg_admin_dir: t.0.join("no-dpkg"),
            ignore: vec![],
        };
        let a = analyze(&log, &o).unwrap();
        assert_eq!(a.build_dir, real);
        assert_eq!(a.outputs, vec![out]);
        assert!(a.writes_outside.is_empty());
        assert_eq!(a.dpkg_packages, 0);
    }

    #[test]
    fn bad_lines_are_reported_and_good_ones_used() {
        let t = TempDir::new();
        let good = |p: &str| file_ev(0.1, "read", "openat", p, "ok");
        let text = [
            good("/etc/catbox-a"),          // 1
            "this is not json".to_string(), // 2
            r#"{"t":1,"pid":1,"event":"read","op":"openat","path":"x","result":"ok"}"#.to_string(), // 3
            r#"{"t":"soon","pid":1,"event":"exit","code":0}"#.to_string(), // 4
            "[1,2,3]".to_string(),                                         // 5
            String::new(),                                                 // 6
            r#"{"t":1,"pid":1,"event":"rena"#.to_string(),                 // 7
            r#"{"pid":1,"event":"exit"}"#.to_string(),                     // 8
            good("/etc/catbox-b"),                                         // 9
            r#"{"t":1.5,"pid":1,"event":"read","op":"openat","path":"/e"#.to_string(), // 10
        ]
        .join("\n");
        let log = t.write("trace.jsonl", &text);
        let a = analyze(&log, &opts(t.0.join("no-dpkg"))).unwrap();
        assert_eq!(a.lines, 10);
        assert_eq!(a.events, 2);
        assert_eq!(a.unowned, v(&["/etc/catbox-a", "/etc/catbox-b"]));
        let got: Vec<(u64, ProblemKind)> = a.problems.iter().map(|p| (p.line, p.kind)).collect();
        assert_eq!(
            got,
            vec![
                (2, ProblemKind::NotJson),
                (3, ProblemKind::MissingField),
                (4, ProblemKind::BadField),
                (5, ProblemKind::NotJson),
                (6, ProblemKind::NotJson),
                (7, ProblemKind::NotJson),
                (8, ProblemKind::MissingField),
                (10, ProblemKind::TruncatedLastLine),
            ]
        );
        assert_eq!(
            a.problems[1].message,
            "missing field `canonical` (event read)"
        );
        assert_eq!(
            a.problems[6].message,
            "missing fields `t`, `code` (event exit)"
        );
        assert!(a.problems[7]
            .to_string()
            .starts_with("line 10: truncated last line"));
        let text = a.render_text();
        assert!(
            text.contains("Problems in the log (8):\n  line 2: not JSON"),
            "{text}"
        );
        let j = a.to_json();
        assert_eq!(j["problems"][0]["line"], 2);
        assert_eq!(j["problems"][0]["kind"], "not_json");
        assert_eq!(j["problems"][7]["kind"], "truncated_last_line");
    }

    #[test]
    fn a_complete_last_line_without_newline_is_used() {
        let t = TempDir::new();
        let text = file_ev(0.1, "read", "openat", "/etc/catbox-a", "ok")
            + "\r\n"
            + &file_ev(0.1, "read", "openat", "/etc/catbox-b", "ok");
        let log = t.write("trace.jsonl", &text);
        let a = analyze(&log, &opts(t.0.join("no-dpkg"))).unwrap();
        assert!(a.problems.is_empty(), "{:?}", a.problems);
        assert_eq!(a.unowned, v(&["/etc/catbox-a", "/etc/catbox-b"]));
    }

    #[test]
    fn a_missing_log_is_an_error() {
        let t = TempDir::new();
        let missing = t.0.join("nope.jsonl");
        match analyze(&missing, &DepsOptions::default()) {
            Err(e @ DepsError::Log { .. }) => {
                assert!(e.to_string().contains("nope.jsonl"), "{e}");
            }
            other => panic!("expected a log error, got {other:?}"),
        }
    }

    #[test]
    fn default_options() {
        let o = DepsOptions::default();
        assert_eq!(o.build_dir, PathBuf::from("."));
        assert_eq!(o.dpkg_admin_dir, PathBuf::from("/var/lib/dpkg"));
        assert_eq!(
            o.ignore,
            ["/tmp", "/proc", "/sys", "/dev"]
                .map(PathBuf::from)
                .to_vec()
        );
    }

    #[test]
    fn text_and_json_output() {
        let t = TempDir::new();
        let dpkg = synthetic_dpkg(&t);
        let log = t.write("trace.jsonl", &sample_log());
        let a = analyze(&log, &opts(dpkg)).unwrap();
        let text = a.render_text();
        for want in [
            "build directory: /catbox-test-build\n",
            "log: 31 lines, 31 events used, 0 problems\n",
            "Inputs by package (4 packages, 5 files):\n  dashy (2)\n    /usr/bin/catbox-dash\n",
            "  makey (1)\n    /usr/bin/catbox-make\n",
            "Inputs owned by no package (1):\n  /etc/catbox-unowned.conf\n",
            "Directories looked at (2):\n  /usr/include\n  /usr/include/catbox-sub\n",
            "Programs executed (3):\n  /catbox-test-build/conftest [no package] x1\n",
            "  /usr/bin/catbox-make [makey] x2\n",
            "Outputs (under /catbox-test-build) (3):\n  /catbox-test-build/hello\n",
            "Writes outside /catbox-test-build (3):\n  EACCES /etc/x (write openat) x2\n",
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
        assert!(!text.contains("Problems"), "{text}");
        let j = a.to_json();
        assert_eq!(j["build_dir"], "/catbox-test-build");
        assert_eq!(j["dpkg"]["packages"], 9);
        assert_eq!(j["log"]["lines"], 31);
        assert_eq!(j["log"]["events"], 31);
        assert_eq!(
            j["inputs"]["packages"]["makey"],
            json!(["/usr/bin/catbox-make"])
        );
        assert_eq!(j["inputs"]["unowned"], json!(["/etc/catbox-unowned.conf"]));
        assert_eq!(
            j["inputs"]["directories"],
            json!(["/usr/include", "/usr/include/catbox-sub"])
        );
        assert_eq!(
            j["programs"][2],
            json!({"path": "/usr/bin/catbox-make", "packages": ["makey"], "runs": 2})
        );
        assert_eq!(j["outputs"][2], "/catbox-test-build/hello.o");
        assert_eq!(
            j["writes_outside"][0],
            json!({"path": "/etc/x", "event": "write", "op": "openat",
                   "result": "EACCES", "count": 2})
        );
        assert_eq!(j["problems"], json!([]));
    }

    // -----------------------------------------------------------------------
    // Against the real dpkg database of this machine.

    /// The packages `dpkg -S` names for exactly `path` (not the diversion
    /// lines), or `None` if dpkg cannot be run.
    fn dpkg_s(path: &str) -> Option<BTreeSet<String>> {
        let out = Command::new("dpkg").arg("-S").arg(path).output().ok()?;
        let mut set = BTreeSet::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if line.starts_with("diversion by ") {
                continue;
            }
            if let Some((pkgs, p)) = line.split_once(": ") {
                if p == path {
                    set.extend(pkgs.split(", ").map(str::to_string));
                }
            }
        }
        Some(set)
    }

    /// `dpkg -S` over both merged-/usr spellings (dpkg itself knows only the
    /// one in the package).
    fn dpkg_s_any(path: &str) -> BTreeSet<String> {
        let mut set = dpkg_s(path).unwrap();
        if let Some(alias) = usr_alias(path) {
            set.extend(dpkg_s(&alias).unwrap());
        }
        set
    }

    fn real_dpkg() -> Option<DpkgDb> {
        let have = Command::new("dpkg")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !have || !Path::new("/var/lib/dpkg/info").is_dir() {
            eprintln!("SKIPPED: no dpkg or no /var/lib/dpkg/info on this machine");
            return None;
        }
        let start = Instant::now();
        let db = DpkgDb::load(Path::new("/var/lib/dpkg")).unwrap();
        eprintln!(
            "indexed {} packages from /var/lib/dpkg in {:?}",
            db.package_count(),
            start.elapsed()
        );
        let limit = if cfg!(debug_assertions) { 4.0 } else { 1.0 };
        assert!(start.elapsed().as_secs_f64() < limit);
        assert!(db.package_count() > 0);
        Some(db)
    }

    #[test]
    fn real_dpkg_owners_match_dpkg_s() {
        let Some(db) = real_dpkg() else { return };
        let canon = |p: &str| {
            fs::canonicalize(p)
                .ok()
                .and_then(|c| c.to_str().map(str::to_string))
        };
        // The files a C build reads and runs, canonical as in the log, and
        // two spellings that are not canonical.
        let mut files: Vec<String> = [
            "/usr/bin/make",
            "/usr/include/stdio.h",
            "/bin/sh",
            "/usr/bin/gcc",
            "/usr/bin/cc",
            "/lib64/ld-linux-x86-64.so.2",
            "/lib/x86_64-linux-gnu/libc.so.6",
        ]
        .iter()
        .filter_map(|p| canon(p))
        .collect();
        files.push("/usr/bin/gcc".into());
        files.push("/etc/ld.so.cache".into()); // no package owns it
        files.sort();
        files.dedup();
        let mut compared = 0;
        for f in &files {
            if !Path::new(f).exists() {
                continue;
            }
            let ours = db.owners(f);
            if ours.diversion.is_some() {
                continue; // compared in the diversion test
            }
            let theirs = dpkg_s_any(f);
            let ours: BTreeSet<String> = ours.packages.into_iter().collect();
            assert_eq!(ours, theirs, "owners of {f}: ours vs dpkg -S");
            eprintln!("{f}: {ours:?}");
            compared += 1;
        }
        assert!(compared >= 2, "too few files to compare: {files:?}");
    }

    #[test]
    fn real_dpkg_diversions_match_dpkg_s() {
        let Some(db) = real_dpkg() else { return };
        let divs: Vec<Diversion> = db
            .diversions()
            .iter()
            .filter(|d| d.by != ":")
            .take(3)
            .cloned()
            .collect();
        if divs.is_empty() {
            eprintln!("SKIPPED: no package diversion in /var/lib/dpkg/diversions");
            return;
        }
        for d in divs {
            // dpkg -S lists every package that ships the diverted path.
            let shippers = dpkg_s_any(&d.from);
            let base = |n: &str| n.split(':').next().unwrap().to_string();
            let at_from: BTreeSet<String> = shippers
                .iter()
                .filter(|n| base(n) == base(&d.by))
                .cloned()
                .collect();
            let at_to: BTreeSet<String> = shippers
                .iter()
                .filter(|n| base(n) != base(&d.by))
                .cloned()
                .collect();
            let ours_from = db.owners(&d.from);
            assert_eq!(ours_from.diversion.as_ref(), Some(&d));
            let ours_from: BTreeSet<String> = ours_from.packages.into_iter().collect();
            let ours_to: BTreeSet<String> = db.owners(&d.to).packages.into_iter().collect();
            assert_eq!(ours_from, at_from, "owners of {} (diverted)", d.from);
            assert_eq!(ours_to, at_to, "owners of {} (diverted-to)", d.to);
            eprintln!("{d:?}: at from {ours_from:?}, at to {ours_to:?}");
        }
    }
}
