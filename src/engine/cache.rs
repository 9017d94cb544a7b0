//! The persistent fact cache: `.tenantlint_cache/` at the project root (ruff's `.ruff_cache` is
//! the model: it carries its own `.gitignore` and a `CACHEDIR.TAG`).
//!
//! Facts depend only on a file's text, so an entry is keyed by a hash of the content (see
//! [`content_key`]), under a directory named for the tool and fact-schema versions: correct
//! whatever the file's mtime says, and no config hash is needed. All entries live in one pack file,
//! read whole at the start of a run (one read instead of one per file) and decoded on demand. New
//! entries are appended to a temporary spill file as they come (a cold run does not hold them all
//! in memory). At the end of a run that saw new content, the pack is rewritten, streaming, with
//! exactly the entries this run used, to a temporary file renamed over the old one: concurrent runs
//! never see a torn file and hold no lock; the last writer wins. A pack that is corrupt, truncated
//! or from another version is ignored and rebuilt, never an error.
//!
//! Beside the pack, `stamps.bin` remembers, per path, the file's stamp (size, mtime, ctime, inode,
//! device) and the content key it had, so a warm run takes an unchanged file's facts without
//! reading or hashing it. Any write to a file changes its mtime and ctime, and a stamp is
//! recorded only once the file has been still for two seconds (git's rule against "racily
//! clean" entries), so an unchanged stamp means unchanged content. Fixes never rely on stamps:
//! they re-read and re-hash the file before writing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap as HashMap;

use crate::facts::FileFacts;
use crate::source_io::Stamp;

/// Bump when [`FileFacts`] (or anything it holds) changes shape or meaning.
pub const SCHEMA_VERSION: u32 = 33;

const MAGIC: &[u8; 8] = b"TLFACTS\0";
const PACK: &str = "facts.pack";
const STAMPS: &str = "stamps.bin";
const STAMPS_MAGIC: &[u8; 8] = b"TLSTAMP\0";

pub type Key = [u8; 32];

/// The cache key of a file's content in a language: the same bytes as `.py` and as `.rs` have
/// different facts. XXH3-128 of the content, its length and the language: a content address,
/// not a defence against crafted collisions (whoever can write a file can write its findings
/// away too), and several times faster than a cryptographic hash on the small inputs a
/// project is made of.
pub fn content_key(lang: crate::frontend::Language, bytes: &[u8]) -> Key {
    let mut key = [0u8; 32];
    key[..16].copy_from_slice(&xxhash_rust::xxh3::xxh3_128(bytes).to_le_bytes());
    key[16..24].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
    key[24] = lang.tag();
    key
}

/// Where the cache lives: `TENANTLINT_CACHE_DIR`, else `cache-dir` from the config (relative to
/// the project root), else `<root>/.tenantlint_cache`.
pub fn cache_dir(root: &Path, configured: Option<&Path>) -> PathBuf {
    if let Some(env) = std::env::var_os("TENANTLINT_CACHE_DIR").filter(|v| !v.is_empty()) {
        return root.join(PathBuf::from(env));
    }
    match configured {
        Some(dir) => root.join(dir),
        None => root.join(".tenantlint_cache"),
    }
}

pub struct FactCache {
    dir: PathBuf,
    /// The pack as read: entry offsets into `data`.
    data: Vec<u8>,
    entries: HashMap<Key, (usize, usize)>,
    /// Path -> the stamp and content key it had when last read (`stamps.bin`).
    stamps: HashMap<PathBuf, (Stamp, Key)>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Keys of entries this run used from the old pack.
    used: Vec<Key>,
    /// New entries: where each one's encoding is in the spill file (offset, length).
    new: HashMap<Key, (u64, u32)>,
    /// New entries are appended to a temporary file beside the pack as they come, so a cold run
    /// does not hold every file's encoded facts in memory until the pack is written.
    spill: Option<Spill>,
    /// Stamps seen this run that differ from `stamps.bin`.
    new_stamps: HashMap<PathBuf, (Stamp, Key)>,
    /// The pack was written: later entries would never be (a run flushes once, after loading),
    /// so they are not spilled either (the CLI drops its workspace on a thread that does not
    /// outlive the process, and a spill file would be left behind).
    flushed: bool,
}

struct Spill {
    file: std::io::BufWriter<tempfile::NamedTempFile>,
    len: u64,
}

impl FactCache {
    /// Open the cache in `dir` (created when first written). Never fails: an unreadable or
    /// invalid pack is an empty cache.
    pub fn open(dir: PathBuf) -> FactCache {
        let versioned = dir.join(format!("v{}-{}", env!("CARGO_PKG_VERSION"), SCHEMA_VERSION));
        remove_stale_temporaries(&versioned, std::time::SystemTime::now());
        let data = std::fs::read(versioned.join(PACK)).unwrap_or_default();
        let entries = parse_pack(&data).unwrap_or_default();
        let stamps = std::fs::read(versioned.join(STAMPS))
            .ok()
            .and_then(|b| parse_stamps(&b))
            .unwrap_or_default();
        FactCache {
            dir,
            data,
            entries,
            stamps,
            state: Mutex::new(State::default()),
        }
    }

    /// The content key of the file at `path` if its stamp is the one recorded with it.
    pub fn key_for_stamp(&self, path: &Path, stamp: &Stamp) -> Option<Key> {
        match self.stamps.get(path) {
            Some((s, key)) if s == stamp => Some(*key),
            _ => None,
        }
    }

    /// Remember that the file at `path`, stamped `stamp` when opened, had content `key`. Only a
    /// settled stamp (see [`Stamp::settled`]) is kept.
    pub fn record_stamp(&self, path: &Path, stamp: Stamp, key: Key) {
        self.record_stamp_at(path, stamp, key, std::time::SystemTime::now());
    }

    fn record_stamp_at(&self, path: &Path, stamp: Stamp, key: Key, now: std::time::SystemTime) {
        if !stamp.settled(now) || self.stamps.get(path) == Some(&(stamp, key)) {
            return;
        }
        if let Ok(mut st) = self.state.lock() {
            st.new_stamps.insert(path.to_path_buf(), (stamp, key));
        }
    }

    fn versioned(&self) -> PathBuf {
        self.dir
            .join(format!("v{}-{}", env!("CARGO_PKG_VERSION"), SCHEMA_VERSION))
    }

    /// The facts of content `key`, if cached (and decodable).
    pub fn get(&self, key: Key) -> Option<Arc<FileFacts>> {
        let &(start, end) = self.entries.get(&key)?;
        let facts: FileFacts = postcard::from_bytes(&self.data[start..end]).ok()?;
        if let Ok(mut st) = self.state.lock() {
            st.used.push(key);
        }
        Some(Arc::new(facts))
    }

    pub fn put(&self, key: Key, facts: &FileFacts) {
        let Ok(bytes) = postcard::to_stdvec(facts) else {
            return;
        };
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        if st.flushed || st.new.contains_key(&key) {
            return;
        }
        if st.spill.is_none() {
            // An unwritable cache directory: nothing can be cached this run.
            let versioned = self.versioned();
            let Ok(tmp) = std::fs::create_dir_all(&versioned).and_then(|()| {
                tempfile::Builder::new()
                    .prefix(".spill-")
                    .tempfile_in(&versioned)
            }) else {
                return;
            };
            st.spill = Some(Spill {
                file: std::io::BufWriter::with_capacity(1 << 16, tmp),
                len: 0,
            });
        }
        let Some(spill) = st.spill.as_mut() else {
            return;
        };
        let at = spill.len;
        if spill.file.write_all(&bytes).is_err() {
            return;
        }
        spill.len += bytes.len() as u64;
        st.new.insert(key, (at, bytes.len() as u32));
    }

    /// Write the pack when this run added entries or left some unused. Errors are ignored: the
    /// cache is an optimisation.
    pub fn flush(&self) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        st.flushed = true;
        let mut used = std::mem::take(&mut st.used);
        used.sort_unstable();
        used.dedup();
        // Nothing read or added since the last flush (a second flush, or a run that saw no
        // file): keep the pack as it is rather than write an empty one.
        if st.new.is_empty() && used.is_empty() {
            if !st.new_stamps.is_empty() {
                let keys: Vec<&Key> = self.entries.keys().collect();
                let _ = self.write_stamps(&st.new_stamps, &keys);
                st.new_stamps.clear();
            }
            return;
        }
        if st.new.is_empty() && used.len() == self.entries.len() {
            if !st.new_stamps.is_empty() {
                let keys: Vec<&Key> = self.entries.keys().collect();
                let _ = self.write_stamps(&st.new_stamps, &keys);
                st.new_stamps.clear();
            }
            return;
        }
        let spill = st.spill.take();
        let new = std::mem::take(&mut st.new);
        let written = spill
            .map(|s| s.file.into_inner().map_err(|e| e.into_error()))
            .transpose()
            .and_then(|spill| self.write_pack(&used, &new, spill.as_ref()));
        if written.is_ok() {
            let mut keys: Vec<&Key> = used.iter().collect();
            keys.extend(new.keys());
            let _ = self.write_stamps(&st.new_stamps, &keys);
        }
        st.new_stamps.clear();
    }

    /// Write the pack: the old entries this run used, then the new ones (sorted by key, read
    /// back from the spill file), streamed to a temporary file that is renamed over the pack.
    fn write_pack(
        &self,
        used: &[Key],
        new: &HashMap<Key, (u64, u32)>,
        spill: Option<&tempfile::NamedTempFile>,
    ) -> std::io::Result<()> {
        let old: Vec<&Key> = used.iter().filter(|k| !new.contains_key(*k)).collect();
        let old: Vec<(&Key, usize, usize)> = old
            .into_iter()
            .filter_map(|k| self.entries.get(k).map(|&(s, e)| (k, s, e)))
            .collect();
        let mut fresh: Vec<(&Key, u64, u32)> = new.iter().map(|(k, &(o, l))| (k, o, l)).collect();
        fresh.sort_unstable_by_key(|(k, _, _)| **k);
        if !fresh.is_empty() && spill.is_none() {
            return Err(std::io::Error::other("no spill file"));
        }
        let count = (old.len() + fresh.len()) as u32;
        let versioned = self.prepare_dir()?;
        let tmp = tempfile::Builder::new()
            .prefix(".facts-")
            .tempfile_in(&versioned)?;
        let mut out = HashingWriter {
            inner: std::io::BufWriter::with_capacity(1 << 16, tmp),
            hash: blake3::Hasher::new(),
        };
        out.write_all(MAGIC)?;
        out.write_all(&count.to_le_bytes())?;
        for (key, s, e) in old {
            out.write_all(key)?;
            out.write_all(&((e - s) as u32).to_le_bytes())?;
            out.write_all(&self.data[s..e])?;
        }
        let mut buf = Vec::new();
        for (key, at, len) in fresh {
            buf.resize(len as usize, 0);
            if let Some(spill) = spill {
                read_exact_at(spill.as_file(), &mut buf, at)?;
            }
            out.write_all(key)?;
            out.write_all(&len.to_le_bytes())?;
            out.write_all(&buf)?;
        }
        let sum = *out.hash.finalize().as_bytes();
        let mut file = out.inner;
        file.write_all(&sum)?;
        let tmp = file.into_inner().map_err(|e| e.into_error())?;
        tmp.persist(versioned.join(PACK)).map_err(|e| e.error)?;
        Ok(())
    }

    /// Write `stamps.bin`: the recorded stamps updated with `new`, keeping only those whose
    /// content is in the pack (`keys`).
    fn write_stamps(
        &self,
        new: &HashMap<PathBuf, (Stamp, Key)>,
        keys: &[&Key],
    ) -> std::io::Result<()> {
        let keys: rustc_hash::FxHashSet<&Key> = keys.iter().copied().collect();
        let mut all: Vec<(String, Stamp, Key)> = self
            .stamps
            .iter()
            .filter(|(p, _)| !new.contains_key(*p))
            .chain(new.iter())
            .filter(|(_, (_, k))| keys.contains(k))
            .filter_map(|(p, (s, k))| Some((p.to_str()?.to_string(), *s, *k)))
            .collect();
        all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let body = postcard::to_stdvec(&all).map_err(std::io::Error::other)?;
        let mut bytes = Vec::with_capacity(body.len() + 40);
        bytes.extend_from_slice(STAMPS_MAGIC);
        bytes.extend_from_slice(&body);
        bytes.extend_from_slice(blake3::hash(&bytes).as_bytes());
        let versioned = self.versioned();
        std::fs::create_dir_all(&versioned)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".stamps-")
            .tempfile_in(&versioned)?;
        tmp.write_all(&bytes)?;
        tmp.persist(versioned.join(STAMPS)).map_err(|e| e.error)?;
        Ok(())
    }

    /// Create the versioned directory, and the cache directory's `.gitignore` and
    /// `CACHEDIR.TAG`.
    fn prepare_dir(&self) -> std::io::Result<PathBuf> {
        let versioned = self.versioned();
        std::fs::create_dir_all(&versioned)?;
        let gitignore = self.dir.join(".gitignore");
        if !gitignore.exists() {
            std::fs::write(&gitignore, "# Automatically created by tenantlint.\n*\n")?;
        }
        let tag = self.dir.join("CACHEDIR.TAG");
        if !tag.exists() {
            std::fs::write(
                &tag,
                "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by tenantlint.\n# For information about cache directory tags see https://bford.info/cachedir/\n",
            )?;
        }
        Ok(versioned)
    }
}

/// Remove the temporary files of runs that were killed (a spill of new entries, a pack or stamps
/// file being written) once they are an hour old: a running run's files are younger.
fn remove_stale_temporaries(versioned: &Path, now: std::time::SystemTime) {
    let Ok(entries) = std::fs::read_dir(versioned) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if ![".spill-", ".facts-", ".stamps-"]
            .iter()
            .any(|p| name.starts_with(p))
        {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age > std::time::Duration::from_secs(3600));
        if old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// A writer that hashes what goes through it (the pack's checksum, computed while streaming).
struct HashingWriter<W: Write> {
    inner: W,
    hash: blake3::Hasher,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(unix)]
fn read_exact_at(file: &std::fs::File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, at)
}

#[cfg(not(unix))]
fn read_exact_at(file: &std::fs::File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    use std::io::{Read, Seek};
    let mut f = file;
    f.seek(std::io::SeekFrom::Start(at))?;
    f.read_exact(buf)
}

/// The stamps of `stamps.bin`, or `None` when it is not a valid one.
fn parse_stamps(data: &[u8]) -> Option<HashMap<PathBuf, (Stamp, Key)>> {
    if data.len() < STAMPS_MAGIC.len() + 32 || &data[..STAMPS_MAGIC.len()] != STAMPS_MAGIC {
        return None;
    }
    let (content, sum) = data.split_at(data.len() - 32);
    if blake3::hash(content).as_bytes() != sum {
        return None;
    }
    let all: Vec<(String, Stamp, Key)> =
        postcard::from_bytes(&content[STAMPS_MAGIC.len()..]).ok()?;
    Some(
        all.into_iter()
            .map(|(p, s, k)| (PathBuf::from(p), (s, k)))
            .collect(),
    )
}

/// The entries of a pack, or `None` when it is not a valid one.
fn parse_pack(data: &[u8]) -> Option<HashMap<Key, (usize, usize)>> {
    if data.len() < MAGIC.len() + 4 + 32 || &data[..MAGIC.len()] != MAGIC {
        return None;
    }
    let (content, sum) = data.split_at(data.len() - 32);
    if blake3::hash(content).as_bytes() != sum {
        return None;
    }
    let mut pos = MAGIC.len();
    let count = u32::from_le_bytes(content.get(pos..pos + 4)?.try_into().ok()?) as usize;
    pos += 4;
    let mut entries = HashMap::with_capacity_and_hasher(count, Default::default());
    for _ in 0..count {
        let key: Key = content.get(pos..pos + 32)?.try_into().ok()?;
        pos += 32;
        let len = u32::from_le_bytes(content.get(pos..pos + 4)?.try_into().ok()?) as usize;
        pos += 4;
        content.get(pos..pos + len)?;
        entries.insert(key, (pos, pos + len));
        pos += len;
    }
    (pos == content.len()).then_some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_pack_reads_back_and_a_damaged_one_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let facts = crate::frontend::python::extract_source("class A(models.Model):\n    x = 1\n");
        let key = content_key(crate::frontend::Language::Python, b"x");
        let cache = FactCache::open(dir.path().to_path_buf());
        assert!(cache.get(key).is_none());
        cache.put(key, &facts);
        cache.flush();
        assert!(dir.path().join("CACHEDIR.TAG").exists());
        assert!(dir.path().join(".gitignore").exists());
        // A second flush with nothing new keeps the pack.
        cache.flush();
        let again = FactCache::open(dir.path().to_path_buf());
        let got = again.get(key).expect("cached");
        assert_eq!(got.classes[0].name.as_str(), "A");
        // An old entry this run used and a new one (put twice) are both in the next pack, and
        // the spill file of the new entries is gone.
        let key2 = content_key(crate::frontend::Language::Python, b"y");
        let facts2 = crate::frontend::python::extract_source("class B:\n    pass\n");
        again.put(key2, &facts2);
        again.put(key2, &facts2);
        again.flush();
        let spills = std::fs::read_dir(again.versioned())
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                name.to_string_lossy().starts_with(".spill-")
            })
            .count();
        assert_eq!(spills, 0);
        // After the flush, nothing more is written (no later flush would keep it).
        let key3 = content_key(crate::frontend::Language::Python, b"z");
        again.put(key3, &facts2);
        assert!(again.state.lock().unwrap().spill.is_none());
        let third = FactCache::open(dir.path().to_path_buf());
        assert_eq!(third.entries.len(), 2);
        assert_eq!(
            third.get(key2).expect("new entry").classes[0].name.as_str(),
            "B"
        );
        assert_eq!(
            third.get(key).expect("old entry").classes[0].name.as_str(),
            "A"
        );
        // Flip one byte: the checksum rejects the pack, the cache is empty, nothing fails.
        let pack = again.versioned().join(PACK);
        let mut bytes = std::fs::read(&pack).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        std::fs::write(&pack, &bytes).unwrap();
        assert!(FactCache::open(dir.path().to_path_buf()).get(key).is_none());
        std::fs::write(&pack, b"garbage").unwrap();
        assert!(FactCache::open(dir.path().to_path_buf()).get(key).is_none());
    }

    #[test]
    fn temporaries_of_killed_runs_are_removed_once_an_hour_old() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FactCache::open(dir.path().to_path_buf());
        let versioned = cache.versioned();
        std::fs::create_dir_all(&versioned).unwrap();
        let old = versioned.join(".spill-old");
        let young = versioned.join(".spill-young");
        let other = versioned.join("notes.txt");
        for p in [&old, &young, &other] {
            std::fs::write(p, b"x").unwrap();
        }
        let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        for p in [&old, &other] {
            std::fs::File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(two_hours_ago)
                .unwrap();
        }
        FactCache::open(dir.path().to_path_buf());
        assert!(!old.exists(), "an hour-old spill is a killed run's");
        assert!(young.exists(), "a young one may be a running run's");
        assert!(
            other.exists(),
            "only the cache's own temporaries are removed"
        );
    }

    #[test]
    fn a_settled_stamp_stands_for_the_content_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("models.py");
        std::fs::write(&file, "x = 1\n").unwrap();
        let stamp = Stamp::of_path(&file).unwrap();
        let key = content_key(crate::frontend::Language::Python, b"x = 1\n");
        let changed_at = std::time::UNIX_EPOCH
            + std::time::Duration::from_nanos(stamp.mtime_ns.max(stamp.ctime_ns) as u64);
        let cache = FactCache::open(dir.path().join("cache"));
        cache.put(key, &crate::frontend::python::extract_source("x = 1\n"));
        // Stamped in the same instant the file changed: racy, not kept.
        cache.record_stamp_at(&file, stamp, key, changed_at);
        cache.flush();
        let again = FactCache::open(dir.path().join("cache"));
        assert_eq!(again.key_for_stamp(&file, &stamp), None);
        // Three seconds later it is settled, kept, and found by the next run.
        let later = changed_at + std::time::Duration::from_secs(3);
        again.record_stamp_at(&file, stamp, key, later);
        again.get(key).unwrap();
        again.flush();
        let warm = FactCache::open(dir.path().join("cache"));
        assert_eq!(warm.key_for_stamp(&file, &stamp), Some(key));
        // A write of the same length changes the stamp: the content must be read again.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&file, "x = 2\n").unwrap();
        let now = Stamp::of_path(&file).unwrap();
        assert_ne!(now, stamp);
        assert_eq!(warm.key_for_stamp(&file, &now), None);
        // A damaged stamps file is ignored.
        let stamps = warm.versioned().join(STAMPS);
        let mut bytes = std::fs::read(&stamps).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        std::fs::write(&stamps, &bytes).unwrap();
        let damaged = FactCache::open(dir.path().join("cache"));
        assert_eq!(damaged.key_for_stamp(&file, &stamp), None);
    }
}
