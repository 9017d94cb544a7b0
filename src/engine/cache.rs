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

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap as HashMap;

use crate::facts::FileFacts;

/// Bump when [`FileFacts`] (or anything it holds) changes shape or meaning.
pub const SCHEMA_VERSION: u32 = 2;

const MAGIC: &[u8; 8] = b"TLFACTS\0";
const PACK: &str = "facts.pack";

pub type Key = [u8; 32];

pub fn content_key(bytes: &[u8]) -> Key {
    *blake3::hash(bytes).as_bytes()
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
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Keys of entries this run used from the old pack.
    used: Vec<Key>,
    /// New entries, encoded.
    new: HashMap<Key, Vec<u8>>,
}

impl FactCache {
    /// Open the cache in `dir` (created when first written). Never fails: an unreadable or
    /// invalid pack is an empty cache.
    pub fn open(dir: PathBuf) -> FactCache {
        let versioned = dir.join(format!("v{}-{}", env!("CARGO_PKG_VERSION"), SCHEMA_VERSION));
        let data = std::fs::read(versioned.join(PACK)).unwrap_or_default();
        let entries = parse_pack(&data).unwrap_or_default();
        FactCache {
            dir,
            data,
            entries,
            state: Mutex::new(State::default()),
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
        if st.new.is_empty() && used.len() == self.entries.len() {
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
        let _ = self.write(&pack);
        st.new.clear();
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
        let facts = crate::extract::extract_source("class A(models.Model):\n    x = 1\n");
        let key = content_key(b"x");
        let cache = FactCache::open(dir.path().to_path_buf());
        assert!(cache.get(key).is_none());
        cache.put(key, &facts);
        cache.flush();
        assert!(dir.path().join("CACHEDIR.TAG").exists());
        assert!(dir.path().join(".gitignore").exists());
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
}
