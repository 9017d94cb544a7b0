//! The persistent fact cache: `.tenantlint_cache/` at the project root (ruff's `.ruff_cache` is
//! the model: it carries its own `.gitignore` and a `CACHEDIR.TAG`).
//!
//! Facts depend only on a file's text, so an entry is keyed by the BLAKE3 hash of the content,
//! under a directory named for the tool and fact-schema versions: correct whatever the file's
//! mtime says, and no config hash is needed. All entries live in one pack file, read whole at the
//! start of a run (one read instead of one per file) and decoded on demand. At the end of a run
//! that saw new content, the pack is rewritten with exactly the entries this run used, to a
//! temporary file renamed over the old one: concurrent runs never see a torn file and hold no
//! lock; the last writer wins. A pack that is corrupt, truncated or from another version is
//! ignored and rebuilt, never an error.
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
pub const SCHEMA_VERSION: u32 = 10;

const MAGIC: &[u8; 8] = b"TLFACTS\0";
const PACK: &str = "facts.pack";
const STAMPS: &str = "stamps.bin";
const STAMPS_MAGIC: &[u8; 8] = b"TLSTAMP\0";

pub type Key = [u8; 32];

/// The cache key of a file's content in a language: the same bytes as `.py` and as `.rs` have
/// different facts.
pub fn content_key(lang: crate::frontend::Language, bytes: &[u8]) -> Key {
    let mut h = blake3::Hasher::new();
    h.update(&[lang.tag()]);
    h.update(bytes);
    *h.finalize().as_bytes()
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
    /// New entries, encoded.
    new: HashMap<Key, Vec<u8>>,
    /// Stamps seen this run that differ from `stamps.bin`.
    new_stamps: HashMap<PathBuf, (Stamp, Key)>,
}

impl FactCache {
    /// Open the cache in `dir` (created when first written). Never fails: an unreadable or
    /// invalid pack is an empty cache.
    pub fn open(dir: PathBuf) -> FactCache {
        let versioned = dir.join(format!("v{}-{}", env!("CARGO_PKG_VERSION"), SCHEMA_VERSION));
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
        if let Ok(bytes) = postcard::to_stdvec(facts)
            && let Ok(mut st) = self.state.lock()
        {
            st.new.insert(key, bytes);
        }
    }

    /// Write the pack when this run added entries or left some unused. Errors are ignored: the
    /// cache is an optimisation.
    pub fn flush(&self) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
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
        let mut body: Vec<u8> = Vec::new();
        let mut count = 0u32;
        let mut push = |key: &Key, bytes: &[u8]| {
            body.extend_from_slice(key);
            body.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            body.extend_from_slice(bytes);
            count += 1;
        };
        for key in &used {
            if let Some(&(s, e)) = self.entries.get(key)
                && !st.new.contains_key(key)
            {
                push(key, &self.data[s..e]);
            }
        }
        let mut new: Vec<(&Key, &Vec<u8>)> = st.new.iter().collect();
        new.sort_unstable_by_key(|(k, _)| **k);
        for (key, bytes) in new {
            push(key, bytes);
        }
        let mut pack = Vec::with_capacity(body.len() + 48);
        pack.extend_from_slice(MAGIC);
        pack.extend_from_slice(&count.to_le_bytes());
        pack.extend_from_slice(&body);
        pack.extend_from_slice(blake3::hash(&pack).as_bytes());
        if self.write(&pack).is_ok() {
            let mut keys: Vec<&Key> = used.iter().collect();
            keys.extend(st.new.keys());
            let _ = self.write_stamps(&st.new_stamps, &keys);
        }
        st.new.clear();
        st.new_stamps.clear();
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

    fn write(&self, pack: &[u8]) -> std::io::Result<()> {
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
        let mut tmp = tempfile::Builder::new()
            .prefix(".facts-")
            .tempfile_in(&versioned)?;
        tmp.write_all(pack)?;
        tmp.persist(versioned.join(PACK)).map_err(|e| e.error)?;
        Ok(())
    }
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
